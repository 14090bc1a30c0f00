//! Mistakes in the spec's text that the YAML decoder reports at the wrong place, with a
//! confusing message, or not at all: control characters, tabs used for indentation,
//! duplicate keys (which YAML libraries silently resolve to the last one), an unclosed `{`
//! or `[`, and a second document after `---`. One event-level pass (saphyr) finds them
//! before decoding, so each is reported where it stands in the file with a hint; anything
//! else is left to the decoder. A UTF-8 byte-order mark is not a mistake and is dropped.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScanError};

use crate::error::SpecError;
use crate::source::SourceFile;

const BOM: char = '\u{feff}';

/// The spec without a leading byte-order mark, which some editors on Windows write.
pub fn without_bom(source: SourceFile) -> SourceFile {
    match source.text.strip_prefix(BOM) {
        Some(rest) => SourceFile::new(source.name.clone(), rest),
        None => source,
    }
}

/// The first textual mistake of the spec, located; `None` lets the decoder proceed.
pub fn check(source: &SourceFile) -> Option<SpecError> {
    control_character(source).or_else(|| walk(source))
}

/// A character a terminal would act on (or a NUL), shown in the snippet as its visible
/// symbol (`␀`, `␛`) so the report itself stays safe to print.
fn control_character(source: &SourceFile) -> Option<SpecError> {
    let (byte, c) = source
        .text
        .char_indices()
        .find(|(_, c)| is_forbidden_control(*c))?;
    let visible: String = source.text.chars().map(visible_control).collect();
    let shown = SourceFile::new(source.name.clone(), visible);
    let start = byte_of_char(&shown.text, source.text[..byte].chars().count());
    Some(shown.error_at_span(
        start,
        visible_control(c).len_utf8(),
        format!(
            "the spec contains the control character U+{:04X}",
            u32::from(c)
        ),
        "control character",
        Some("remove it: a spec is plain text".into()),
    ))
}

fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// U+2400.. "control pictures" for C0 controls and DEL; other characters unchanged.
fn visible_control(c: char) -> char {
    if !is_forbidden_control(c) {
        return c;
    }
    match u32::from(c) {
        n @ 0..=0x1f => char::from_u32(0x2400 + n).unwrap_or('\u{fffd}'),
        0x7f => '\u{2421}',
        _ => '\u{fffd}',
    }
}

fn byte_of_char(text: &str, chars: usize) -> usize {
    text.char_indices()
        .nth(chars)
        .map_or(text.len(), |(b, _)| b)
}

/// Character index to byte offset in constant time: the parser counts characters, and a
/// walk from the start for each node would make a large spec quadratic.
enum CharBytes {
    /// ASCII text: characters are bytes.
    Ascii(usize),
    /// The byte offset of every character, then the text's length.
    Table(Vec<usize>),
}

impl CharBytes {
    fn new(text: &str) -> Self {
        if text.is_ascii() {
            CharBytes::Ascii(text.len())
        } else {
            let mut table: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
            table.push(text.len());
            CharBytes::Table(table)
        }
    }

    fn byte(&self, chars: usize) -> usize {
        match self {
            CharBytes::Ascii(len) => chars.min(*len),
            CharBytes::Table(table) => table[chars.min(table.len() - 1)],
        }
    }
}

struct Frame {
    /// Keys seen so far, with the line of each; `None` for a sequence.
    keys: Option<HashMap<String, usize>>,
    /// In a mapping: whether the next node is a key.
    want_key: bool,
    /// Character index of the `{` or `[` that opened a flow collection.
    flow_open: Option<usize>,
}

/// One pass over the events: duplicate keys and extra documents as they come, and a
/// scanner error explained when a tab or an unclosed bracket caused it.
fn walk(source: &SourceFile) -> Option<SpecError> {
    let text: &str = &source.text;
    let bytes = CharBytes::new(text);
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(e) => return explain_scan_error(source, &stack, &e, &bytes),
        };
        let start = span.start.index();
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    let byte = bytes.byte(start);
                    let len = if text[byte..].starts_with("---") {
                        3
                    } else {
                        1
                    };
                    return Some(source.error_at_span(
                        byte,
                        len,
                        "the spec holds more than one YAML document",
                        "a second document starts here",
                        Some("a spec is one document: remove this `---` and what follows it, or move it to a file of its own".into()),
                    ));
                }
            }
            Event::Scalar(value, ..) => {
                if let Some(frame) = stack.last_mut()
                    && let Some(keys) = frame.keys.as_mut()
                    && frame.want_key
                {
                    frame.want_key = false;
                    let line = span.start.line();
                    if let Some(first) = keys.get(value.as_ref()) {
                        let byte = bytes.byte(start);
                        let len = bytes.byte(span.end.index()).saturating_sub(byte);
                        return Some(source.error_at_span(
                            byte,
                            len.max(1),
                            format!("duplicate key `{value}`"),
                            "given a second time",
                            Some(format!(
                                "the first `{value}` is on line {first}; a key may appear once in a mapping, so remove one of them"
                            )),
                        ));
                    }
                    keys.insert(value.into_owned(), line);
                } else {
                    node_seen(&mut stack);
                }
            }
            Event::Alias(_) => node_seen(&mut stack),
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                node_seen(&mut stack);
                let opener = text[bytes.byte(start)..].chars().next();
                stack.push(Frame {
                    keys: matches!(event, Event::MappingStart(..)).then(HashMap::new),
                    want_key: true,
                    flow_open: matches!(opener, Some('{' | '[')).then_some(start),
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    None
}

/// A node other than a scalar key: in a mapping, the slot after it alternates key/value.
fn node_seen(stack: &mut [Frame]) {
    if let Some(frame) = stack.last_mut()
        && frame.keys.is_some()
    {
        frame.want_key = !frame.want_key;
    }
}

/// A scanner error caused by a tab or an unclosed bracket, said as such; `None` leaves the
/// error to the decoder.
fn explain_scan_error(
    source: &SourceFile,
    stack: &[Frame],
    e: &ScanError,
    bytes: &CharBytes,
) -> Option<SpecError> {
    let text: &str = &source.text;
    let error_byte = bytes.byte(e.marker().index());
    let upto_error_line = text[error_byte..]
        .find('\n')
        .map_or(text.len(), |n| error_byte + n);
    let mut line_start = 0;
    for line in text[..upto_error_line].split_inclusive('\n') {
        let indent = &line[..line.len() - line.trim_start_matches([' ', '\t']).len()];
        if let Some(tab) = indent.find('\t') {
            return Some(source.error_at_span(
                line_start + tab,
                1,
                "a tab indents this line",
                "tab",
                Some("YAML indents with spaces only: replace the tabs at the start of the line with spaces".into()),
            ));
        }
        line_start += line.len();
    }
    let open = stack.iter().rev().find_map(|f| f.flow_open)?;
    let byte = bytes.byte(open);
    let bracket = if text[byte..].starts_with('{') {
        ('{', '}')
    } else {
        ('[', ']')
    };
    Some(source.error_at_span(
        byte,
        1,
        format!("this `{}` is never closed", bracket.0),
        "opened here",
        Some(format!(
            "close it with `{}` after its last entry, or write the entries as an indented block",
            bracket.1
        )),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(text: &str) -> SpecError {
        check(&SourceFile::new("s.yaml", text)).expect("a problem")
    }

    #[test]
    fn a_duplicate_key_is_reported_at_the_second_one() {
        let e = problem("a: 1\nb:\n  c: 1\n  c: 2\n");
        assert_eq!(e.message, "duplicate key `c`");
        assert_eq!((e.line, e.column), (4, 3));
        assert!(e.help.unwrap().starts_with("the first `c` is on line 3"));
    }

    #[test]
    fn places_after_non_ascii_text_are_counted_in_characters() {
        let e = problem("a: ünïcödé\nb: {x: 1, x: 2}\n");
        assert_eq!((e.line, e.column), (2, 11));
    }

    #[test]
    fn a_duplicate_key_in_a_flow_mapping_is_found() {
        let e = problem("p: {replicas: 3, replicas: 5}\n");
        assert_eq!((e.line, e.column), (1, 18));
    }

    #[test]
    fn equal_keys_in_different_mappings_are_fine() {
        let text = "a: {x: 1}\nb: {x: 2}\nl:\n  - x: 1\n  - x: 2\n";
        assert!(check(&SourceFile::new("s.yaml", text)).is_none());
    }

    #[test]
    fn values_equal_to_keys_are_not_keys() {
        let text = "name: name\nlist: [name, name]\nm: {k: name}\n";
        assert!(check(&SourceFile::new("s.yaml", text)).is_none());
    }

    #[test]
    fn a_second_document_is_reported_at_its_dashes() {
        let e = problem("a: 1\n---\nb: 2\n");
        assert_eq!((e.line, e.column), (2, 1));
        assert_eq!(e.message, "the spec holds more than one YAML document");
    }

    #[test]
    fn an_unclosed_brace_is_reported_at_the_brace() {
        let e = problem("a:\n  - {x: 1, y: 2\n");
        assert_eq!(e.message, "this `{` is never closed");
        assert_eq!((e.line, e.column), (2, 5));
    }

    #[test]
    fn tab_indentation_gets_a_hint() {
        let e = problem("a:\n\tb: 1\n");
        assert_eq!(e.message, "a tab indents this line");
        assert_eq!((e.line, e.column), (2, 1));
    }

    #[test]
    fn a_nul_is_reported_where_it_is() {
        let e = problem("a: 1\nb: x\0y\n");
        assert_eq!(e.message, "the spec contains the control character U+0000");
        assert_eq!((e.line, e.column), (2, 5));
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let src = without_bom(SourceFile::new("s.yaml", "\u{feff}a: 1\n"));
        assert_eq!(&*src.text, "a: 1\n");
    }
}
