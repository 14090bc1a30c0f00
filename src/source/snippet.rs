//! The few lines of the spec an error report shows, cut to a window around the error when
//! a line is long. A report then costs the size of its snippet, not of the file: a 1 MiB
//! spec on one line gives a readable caret instead of a megabyte of output, and a thousand
//! errors do not each hand the whole file to the report printer.

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use super::text::TextIndex;

/// Lines a snippet keeps on each side of the error's line (the printer shows one).
const CONTEXT: usize = 2;
/// Lines up to this many characters are shown whole.
const MAX_LINE: usize = 160;
/// Characters of a longer line that are shown, around the error's column.
const WINDOW: usize = 120;
const ELLIPSIS: &str = "…";

/// The text of an error's snippet and where it stands in the spec.
#[derive(Debug, Clone)]
pub struct Snippet {
    name: String,
    text: String,
    /// 0-based line of the spec that the snippet's first line is.
    first_line: usize,
    /// 0-based line of the snippet where the error starts.
    error_line: usize,
    /// Bytes of the error's line that the cut removed, less the ellipsis put in their
    /// place (so possibly negative), so that the printed column is the column in the spec.
    byte_shift: isize,
}

impl Snippet {
    /// The spec's name, as the user wrote its path.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The snippet for the `len` bytes at `start` in `text`, and that span inside it.
    pub(crate) fn cut(
        name: &str,
        text: &str,
        index: &TextIndex,
        start: usize,
        len: usize,
    ) -> (Snippet, SourceSpan) {
        let line = index.line_of(start);
        let first = line.saturating_sub(CONTEXT);
        let last = (line + CONTEXT).min(index.line_count() - 1);
        let (_, column) = index.line_col(text, start);
        let window_start = (column - 1).saturating_sub(WINDOW / 2);

        let mut out = String::new();
        let mut span_start = 0;
        let mut span_len = len;
        let mut byte_shift = 0;
        for l in first..=last {
            let (ls, le) = index.line_range(text, l);
            let chars = index.char_of(text, le) - index.char_of(text, ls);
            let line_offset = out.len();
            let (ws, we) = if chars <= MAX_LINE {
                (ls, le)
            } else {
                let first_char = index.char_of(text, ls);
                let ws = index.char_to_byte(text, first_char + window_start.min(chars));
                let we = index.char_to_byte(text, first_char + (window_start + WINDOW).min(chars));
                (ws, we)
            };
            let prefix = if ws > ls { ELLIPSIS } else { "" };
            out.push_str(prefix);
            out.push_str(&text[ws..we]);
            if we < le {
                out.push_str(ELLIPSIS);
            }
            if l == line {
                let from = start.clamp(ws, we);
                span_start = line_offset + prefix.len() + (from - ws);
                span_len = len.min(we.saturating_sub(from));
                byte_shift = (ws - ls) as isize - prefix.len() as isize;
            }
            if l < index.line_count() - 1 {
                out.push('\n');
            }
        }
        let snippet = Snippet {
            name: name.to_string(),
            text: out,
            first_line: first,
            error_line: line - first,
            byte_shift,
        };
        (snippet, SourceSpan::new(span_start.into(), span_len))
    }
}

impl SourceCode for Snippet {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let inner = self
            .text
            .read_span(span, context_lines_before, context_lines_after)?;
        let column = if inner.line() == self.error_line {
            inner.column().saturating_add_signed(self.byte_shift)
        } else {
            inner.column()
        };
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            column,
            inner.line_count(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snippet_of(text: &str, start: usize, len: usize) -> (String, usize, usize, usize) {
        let index = TextIndex::new(text);
        let (s, span) = Snippet::cut("f", text, &index, start, len);
        let contents = s.read_span(&span, 0, 0).unwrap();
        let shown = &s.text[span.offset()..span.offset() + span.len()];
        (
            shown.to_string(),
            contents.line() + 1,
            contents.column() + 1,
            s.text.len(),
        )
    }

    #[test]
    fn a_short_line_is_shown_whole_with_its_place() {
        let text = "a: 1\nb: two\nc: 3\n";
        let (shown, line, column, _) = snippet_of(text, 8, 3);
        assert_eq!((shown.as_str(), line, column), ("two", 2, 4));
    }

    #[test]
    fn a_long_line_is_cut_around_the_error_and_keeps_its_column() {
        let text = format!("k: [{}oops]\n", "1, ".repeat(100_000));
        let start = text.find("oops").unwrap();
        let (shown, line, column, size) = snippet_of(&text, start, 4);
        assert_eq!((shown.as_str(), line, column), ("oops", 1, start + 1));
        assert!(size < 4 * WINDOW, "snippet of {size} bytes");
    }

    #[test]
    fn a_line_cut_a_character_in_keeps_its_column() {
        // Found by the fuzz: the ellipsis is longer in bytes than the one or two
        // characters it replaces.
        for skipped in 1..4 {
            let text = format!("{}E{}\n", "x".repeat(WINDOW / 2 + skipped), "y".repeat(200));
            let start = text.find('E').unwrap();
            let (shown, _, column, _) = snippet_of(&text, start, 1);
            assert_eq!((shown.as_str(), column), ("E", start + 1));
        }
    }

    #[test]
    fn a_cut_line_is_marked_with_ellipses() {
        let text = format!("{}X{}\n", "a".repeat(500), "b".repeat(500));
        let index = TextIndex::new(&text);
        let (s, span) = Snippet::cut("f", &text, &index, 500, 1);
        assert!(s.text.starts_with(ELLIPSIS) && s.text.trim_end().ends_with(ELLIPSIS));
        assert_eq!(&s.text[span.offset()..span.offset() + 1], "X");
    }
}
