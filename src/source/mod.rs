//! The user's spec as text, with a map from every YAML path to where it stands in the file.
//!
//! serde tells us *what* is wrong (`components[0].params.replicas`); this index tells us
//! *where*, so every spec error can point at `file:line:col` with a caret under the value.
//! The index is built from a second, event-level parse (saphyr), which keeps exact marks
//! for keys and values without changing how the spec itself is decoded. The same walk
//! enforces the limits that bound the work on any input (nesting, alias expansion), and
//! runs first: [`SourceFile::limit_error`] is checked before the decoder sees the text.

mod index;
mod snippet;
mod text;

use std::fmt;
use std::sync::Arc;

use crate::error::SpecError;
use index::{Exceeded, Limit, Mark, PathIndex};
pub use index::{MAX_DEPTH, MAX_NODES, MAX_SCALAR_BYTES};
pub use snippet::Snippet;
use text::TextIndex;

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

/// The spec's text, its path index, and the first limit it broke (if any).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub name: String,
    pub text: Arc<str>,
    lines: TextIndex,
    index: PathIndex,
    exceeded: Option<Exceeded>,
}

impl SourceFile {
    pub fn new(name: impl Into<String>, text: impl Into<Arc<str>>) -> Self {
        let text: Arc<str> = text.into();
        let (index, exceeded) = index::build(&text);
        SourceFile {
            name: name.into(),
            lines: TextIndex::new(&text),
            text,
            index,
            exceeded,
        }
    }

    /// The error for the first limit of `index` the spec breaks, if it breaks one: the
    /// spec must not be decoded then.
    pub fn limit_error(&self) -> Option<SpecError> {
        let Exceeded { limit, at } = self.exceeded?;
        let (message, label, help) = match limit {
            Limit::Depth { alias } => (
                format!("the spec nests deeper than {MAX_DEPTH} levels"),
                if alias {
                    format!("this alias takes it past level {MAX_DEPTH}")
                } else {
                    "nested too deep here".to_string()
                },
                "a spec needs a few levels; look for unclosed `[` or `{`".to_string(),
            ),
            Limit::Nodes { alias } => (
                format!("the spec holds more than {MAX_NODES} values"),
                if alias {
                    "this alias takes it past the limit".into()
                } else {
                    "the limit is reached here".into()
                },
                "aliases count as the values they stand for; a spec needs far fewer".to_string(),
            ),
            Limit::ScalarBytes => (
                format!(
                    "aliases expand the spec to more than {} MiB of text",
                    MAX_SCALAR_BYTES / (1024 * 1024)
                ),
                "this alias takes it past the limit".into(),
                "repeat long values less often, or not through aliases".to_string(),
            ),
            Limit::Recursive => (
                "an alias refers to a node that contains it".to_string(),
                "this alias would repeat forever".into(),
                "point the alias at a node outside the one its anchor names".to_string(),
            ),
        };
        Some(self.error_at_mark(Some(at), message, label, Some(help)))
    }

    /// A [`Problem`] found by a later stage, placed at its value in this file.
    pub fn place(&self, problem: Problem) -> SpecError {
        self.error_at_value(&problem.path, problem.message, problem.label, problem.help)
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
        let byte = text::floor_boundary(&self.text, byte.min(self.text.len()));
        let (_, line_end) = self.lines.line_range(&self.text, self.lines.line_of(byte));
        let rest = &self.text[byte..line_end.max(byte)];
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
        let start = text::floor_boundary(&self.text, start.min(self.text.len()));
        self.error_at_bytes(start, len.max(1), message.into(), label.into(), help)
    }

    /// The mark of the deepest node along `path` that the index has one for.
    fn lookup(&self, path: &YamlPath, prefer_key: bool) -> Option<Mark> {
        self.index
            .along(&path.0)
            .into_iter()
            .rev()
            .find_map(|entry| {
                if prefer_key {
                    entry.key.or(entry.value)
                } else {
                    entry.value.or(entry.key)
                }
            })
    }

    fn error_at_mark(
        &self,
        mark: Option<Mark>,
        message: String,
        label: String,
        help: Option<String>,
    ) -> SpecError {
        let (start, end) = match mark {
            Some(m) => (
                self.lines.char_to_byte(&self.text, m.start),
                self.lines.char_to_byte(&self.text, m.end),
            ),
            None => (0, 0),
        };
        // Underline one line at most: a block value spans many.
        let (_, line_end) = self.lines.line_range(&self.text, self.lines.line_of(start));
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
        let (line, column) = self.lines.line_col(&self.text, start);
        let (source_code, span) = Snippet::cut(&self.name, &self.text, &self.lines, start, len);
        // Messages quote the user's values: never let one reach the terminal raw.
        let escape = crate::names::escape_controls;
        SpecError {
            message: escape(&message),
            source_code,
            span,
            label: escape(&label),
            help: help.as_deref().map(escape),
            line,
            column,
        }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        self.lines.line_col(&self.text, byte)
    }
}

/// A problem with the spec found after it was decoded, named by its path in the spec.
/// Later stages of the pipeline (composition, patches) return these instead of holding
/// the spec's text: the caller that has the text places them ([`SourceFile::place`]), so
/// imports keep pointing down the pipeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: YamlPath,
    pub message: String,
    /// The words under the caret.
    pub label: String,
    pub help: Option<String>,
}

impl Problem {
    pub fn new(
        path: YamlPath,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> Self {
        Problem {
            path,
            message: message.into(),
            label: label.into(),
            help,
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
