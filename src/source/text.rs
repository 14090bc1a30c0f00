//! Positions in the spec's text without rescanning it: one table of line starts and one of
//! character checkpoints, built once per file. Every error is located through them, so
//! reporting many errors stays linear in their number instead of re-reading the file for
//! each (20,000 errors in a large spec took 87 s when each one counted lines from the top).

/// How many characters lie between two checkpoints of the char-to-byte table.
const STRIDE: usize = 64;

/// Line and character offsets of one text.
#[derive(Debug, Clone)]
pub(crate) struct TextIndex {
    /// Byte offset where each line starts; the first is 0.
    line_starts: Vec<usize>,
    /// Byte offset of every `STRIDE`-th character; empty when the text is ASCII, where a
    /// character index is its byte offset.
    checkpoints: Vec<usize>,
    len: usize,
}

impl TextIndex {
    pub(crate) fn new(text: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        let checkpoints = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices()
                .step_by(STRIDE)
                .map(|(b, _)| b)
                .collect()
        };
        TextIndex {
            line_starts,
            checkpoints,
            len: text.len(),
        }
    }

    /// Byte offset of the `chars`-th character (the text's length past its end).
    pub(crate) fn char_to_byte(&self, text: &str, chars: usize) -> usize {
        if self.checkpoints.is_empty() {
            return chars.min(self.len);
        }
        let Some(&from) = self.checkpoints.get(chars / STRIDE) else {
            return self.len;
        };
        text[from..]
            .char_indices()
            .nth(chars % STRIDE)
            .map_or(self.len, |(b, _)| from + b)
    }

    /// Number of characters before `byte` (which must be a character boundary).
    pub(crate) fn char_of(&self, text: &str, byte: usize) -> usize {
        if self.checkpoints.is_empty() {
            return byte;
        }
        let k = self.checkpoints.partition_point(|&b| b <= byte) - 1;
        k * STRIDE + text[self.checkpoints[k]..byte].chars().count()
    }

    /// 0-based line of a byte offset.
    pub(crate) fn line_of(&self, byte: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= byte) - 1
    }

    /// Byte range of a 0-based line, without its line break.
    pub(crate) fn line_range(&self, text: &str, line: usize) -> (usize, usize) {
        let start = self.line_starts[line];
        let end = self
            .line_starts
            .get(line + 1)
            .map_or(self.len, |next| next - 1);
        let end = if text[start..end].ends_with('\r') {
            end - 1
        } else {
            end
        };
        (start, end)
    }

    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub(crate) fn line_col(&self, text: &str, byte: usize) -> (usize, usize) {
        let byte = floor_boundary(text, byte.min(self.len));
        let line = self.line_of(byte);
        let start = self.line_starts[line];
        let column = self.char_of(text, byte) - self.char_of(text, start);
        (line + 1, column + 1)
    }
}

/// The nearest character boundary at or before `byte`.
pub(crate) fn floor_boundary(text: &str, mut byte: usize) -> usize {
    while !text.is_char_boundary(byte) {
        byte -= 1;
    }
    byte
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive_line_col(text: &str, byte: usize) -> (usize, usize) {
        let before = &text[..byte];
        let line = before.matches('\n').count() + 1;
        let start = before.rfind('\n').map_or(0, |n| n + 1);
        (line, before[start..].chars().count() + 1)
    }

    #[test]
    fn line_and_column_agree_with_counting_from_the_top() {
        let text = "a: ünï\r\nbé: [x, ÿ]\n\n".repeat(40) + &"z".repeat(300) + "ö end";
        let index = TextIndex::new(&text);
        for (byte, _) in text.char_indices() {
            assert_eq!(
                index.line_col(&text, byte),
                naive_line_col(&text, byte),
                "at {byte}"
            );
        }
    }

    #[test]
    fn char_offsets_map_to_byte_offsets_in_any_text() {
        for text in [
            "plain ascii\nline",
            "ünï çødé\nwith ✓ marks and more ümläüts "
                .repeat(9)
                .as_str(),
        ] {
            let index = TextIndex::new(text);
            for (chars, (byte, _)) in text.char_indices().enumerate() {
                assert_eq!(index.char_to_byte(text, chars), byte);
            }
            assert_eq!(index.char_to_byte(text, text.chars().count()), text.len());
        }
    }
}
