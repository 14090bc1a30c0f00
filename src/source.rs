//! The user's spec as text, with a map from every YAML path to where it stands in the file.
//!
//! serde tells us *what* is wrong (`components[0].params.replicas`); this index tells us
//! *where*, so every spec error can point at `file:line:col` with a caret under the value.
//! The index is built from a second, event-level parse (saphyr), which keeps exact marks
//! for keys and values without changing how the spec itself is decoded.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use miette::{NamedSource, SourceSpan};
use saphyr_parser::{Event, Parser, Span};

use crate::error::SpecError;

/// One step of a path into a YAML document.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A path into the spec, `spec.components[1].params.port`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct YamlPath(pub Vec<Seg>);

impl YamlPath {
    pub fn root() -> Self {
        YamlPath(Vec::new())
    }

    pub fn key(&self, key: &str) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Key(key.to_string()));
        YamlPath(segs)
    }

    pub fn index(&self, index: usize) -> Self {
        let mut segs = self.0.clone();
        segs.push(Seg::Index(index));
        YamlPath(segs)
    }

    fn parent(&self) -> Option<YamlPath> {
        let mut segs = self.0.clone();
        segs.pop()?;
        Some(YamlPath(segs))
    }
}

impl fmt::Display for YamlPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{k}")?,
                Seg::Key(k) => write!(f, ".{k}")?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Character marks (start, end) of a node; converted to bytes only when an error is shown.
#[derive(Debug, Clone, Copy)]
struct Mark {
    start: usize,
    end: usize,
}

impl From<Span> for Mark {
    fn from(span: Span) -> Self {
        Mark {
            start: span.start.index(),
            end: span.end.index().max(span.start.index() + 1),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    key: Option<Mark>,
    value: Option<Mark>,
}

/// The spec's text and its path index.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
    index: HashMap<YamlPath, Entry>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let index = build_index(&text);
        SourceFile {
            name: name.into(),
            text,
            index,
        }
    }

    /// An error underlining the value at `path` (or the nearest ancestor the index knows).
    pub fn error_at_value(
        &self,
        path: &YamlPath,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> SpecError {
        let mark = self.lookup(path, false);
        self.error_at_mark(mark, message.into(), label.into(), help)
    }

    /// An error underlining the key of `path` (for unknown or misplaced keys).
    pub fn error_at_key(
        &self,
        path: &YamlPath,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> SpecError {
        let mark = self.lookup(path, true);
        self.error_at_mark(mark, message.into(), label.into(), help)
    }

    /// An error at a byte offset reported by the YAML decoder, underlining the token there.
    pub fn error_at_byte(
        &self,
        byte: usize,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> SpecError {
        let byte = byte.min(self.text.len());
        let rest = &self.text[byte..];
        let len = rest
            .find([':', '\n', ',', '}', ']'])
            .unwrap_or(rest.len())
            .max(1);
        let len = rest[..len.min(rest.len())].trim_end().len().max(1);
        self.error_at_bytes(byte, len, message.into(), label.into(), help)
    }

    /// An error underlining `len` bytes from byte `start` (for places found in the text
    /// itself rather than through a path).
    pub fn error_at_span(
        &self,
        start: usize,
        len: usize,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> SpecError {
        let start = start.min(self.text.len());
        self.error_at_bytes(start, len.max(1), message.into(), label.into(), help)
    }

    fn lookup(&self, path: &YamlPath, prefer_key: bool) -> Option<Mark> {
        let mut current = Some(path.clone());
        while let Some(p) = current {
            if let Some(entry) = self.index.get(&p) {
                let mark = if prefer_key {
                    entry.key.or(entry.value)
                } else {
                    entry.value.or(entry.key)
                };
                if mark.is_some() {
                    return mark;
                }
            }
            current = p.parent();
        }
        None
    }

    fn error_at_mark(
        &self,
        mark: Option<Mark>,
        message: String,
        label: String,
        help: Option<String>,
    ) -> SpecError {
        let (start, end) = match mark {
            Some(m) => (self.char_to_byte(m.start), self.char_to_byte(m.end)),
            None => (0, 0),
        };
        // Underline one line at most: a block value spans many.
        let line_end = self.text[start..]
            .find('\n')
            .map_or(self.text.len(), |n| start + n);
        let end = end.min(line_end).max(start);
        let len = self.text[start..end].trim_end().len().max(1);
        self.error_at_bytes(start, len, message, label, help)
    }

    fn error_at_bytes(
        &self,
        start: usize,
        len: usize,
        message: String,
        label: String,
        help: Option<String>,
    ) -> SpecError {
        let len = len.min(self.text.len().saturating_sub(start));
        let (line, column) = self.line_col(start);
        // Messages quote the user's values: never let one reach the terminal raw.
        let escape = crate::names::escape_controls;
        SpecError {
            message: escape(&message),
            source_code: NamedSource::new(self.name.clone(), self.text.clone()),
            span: SourceSpan::new(start.into(), len),
            label: escape(&label),
            help: help.as_deref().map(escape),
            line,
            column,
        }
    }

    fn char_to_byte(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(b, _)| b)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let before = &self.text[..byte.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |n| n + 1);
        let column = before[line_start..].chars().count() + 1;
        (line, column)
    }
}

enum Frame {
    Map { path: YamlPath, key: Option<String> },
    Seq { path: YamlPath, next: usize },
}

/// Walks the event stream once, recording the marks of every key and value by path. A
/// syntax error simply ends the walk: the decoder reports it properly.
fn build_index(text: &str) -> HashMap<YamlPath, Entry> {
    let mut index: HashMap<YamlPath, Entry> = HashMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut documents = 0usize;

    for item in Parser::new_from_str(text) {
        let Ok((event, span)) = item else { break };
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    break;
                }
            }
            Event::Scalar(value, ..) => {
                if let Some(Frame::Map { path, key }) = stack.last_mut()
                    && key.is_none()
                {
                    let child = path.key(&value);
                    index.entry(child).or_default().key = Some(span.into());
                    *key = Some(value.into_owned());
                    continue;
                }
                let path = child_path(&mut stack);
                index.entry(path).or_default().value = Some(span.into());
            }
            Event::Alias(_) => {
                let path = child_path(&mut stack);
                index.entry(path).or_default().value = Some(span.into());
            }
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let is_map = matches!(event, Event::MappingStart(..));
                // A collection used as a mapping key has no path of its own.
                if let Some(Frame::Map { key: None, .. }) = stack.last() {
                    stack.push(Frame::Seq {
                        path: YamlPath(vec![Seg::Key("?".into())]),
                        next: 0,
                    });
                    continue;
                }
                let path = child_path(&mut stack);
                index.entry(path.clone()).or_default().value = Some(span.into());
                stack.push(if is_map {
                    Frame::Map { path, key: None }
                } else {
                    Frame::Seq { path, next: 0 }
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                stack.pop();
            }
            _ => {}
        }
    }
    index
}

/// The path of the value that the next event stands for, advancing the parent frame.
fn child_path(stack: &mut [Frame]) -> YamlPath {
    match stack.last_mut() {
        None => YamlPath::root(),
        Some(Frame::Map { path, key }) => {
            let k = key.take().unwrap_or_default();
            path.key(&k)
        }
        Some(Frame::Seq { path, next }) => {
            let p = path.index(*next);
            *next += 1;
            p
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "a:\n  b: 1\n  list:\n    - x: ünï\n      y: two\n    - 3\n";

    #[test]
    fn index_finds_nested_values_and_keys() {
        let src = SourceFile::new("t.yaml", TEXT);
        let p = YamlPath::root().key("a").key("list").index(0).key("y");
        let e = src.error_at_value(&p, "m", "l", None);
        assert_eq!((e.line, e.column), (5, 10));
        let e = src.error_at_key(&p, "m", "l", None);
        assert_eq!((e.line, e.column), (5, 7));
        let p = YamlPath::root().key("a").key("list").index(1);
        let e = src.error_at_value(&p, "m", "l", None);
        assert_eq!((e.line, e.column), (6, 7));
    }

    #[test]
    fn unknown_path_falls_back_to_nearest_ancestor() {
        let src = SourceFile::new("t.yaml", TEXT);
        let p = YamlPath::root().key("a").key("b").key("missing");
        let e = src.error_at_value(&p, "m", "l", None);
        assert_eq!((e.line, e.column), (2, 6));
    }

    #[test]
    fn path_displays_like_serde_paths() {
        let p = YamlPath::root()
            .key("spec")
            .key("components")
            .index(2)
            .key("name");
        assert_eq!(p.to_string(), "spec.components[2].name");
    }
}
