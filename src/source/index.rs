//! The walk over the spec's YAML events that gives every value its place in the file, and
//! the limits that keep any input cheap: nesting depth, and the size of the document once
//! its aliases are expanded. The walk runs before the decoder, so a hostile spec is refused
//! here in time and memory linear in its length, before anything could expand it.
//!
//! Paths are stored as a tree (each node knows its parent and its step from it), not as a
//! full path per node, so the index takes memory proportional to the number of nodes
//! whatever their depth.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

use super::Seg;

/// Deepest nesting of mappings and sequences a spec may have (aliases count as what they
/// stand for). Real specs use about 12 levels; a merge patch into a container, about 20.
pub const MAX_DEPTH: usize = 64;
/// Most values (scalars, mappings, sequences) a spec may hold once aliases are expanded.
pub const MAX_NODES: u64 = 250_000;
/// Most bytes of scalar text a spec may hold once aliases are expanded.
pub const MAX_SCALAR_BYTES: u64 = 16 * 1024 * 1024;

/// What the YAML scanner says when flow collections nest 256 deep.
const SCANNER_DEPTH_ERROR: &str = "recursion limit exceeded";

/// Character marks (start, end) of a node, with the line and column of its start.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mark {
    pub start: usize,
    pub end: usize,
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
pub(crate) struct Entry {
    pub key: Option<Mark>,
    pub value: Option<Mark>,
}

/// Which limit a spec broke, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// Nesting deeper than [`MAX_DEPTH`]; `alias` when an alias made it so.
    Depth { alias: bool },
    /// More than [`MAX_NODES`] values; `alias` when an alias made it so.
    Nodes { alias: bool },
    /// More than [`MAX_SCALAR_BYTES`] of scalar text after alias expansion.
    ScalarBytes,
    /// An alias inside the node its anchor names: it would expand forever.
    Recursive,
}

/// Where the spec broke a limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Exceeded {
    pub limit: Limit,
    pub at: Mark,
}

/// Every key and value of the first document, by path.
#[derive(Debug, Clone, Default)]
pub(crate) struct PathIndex {
    entries: Vec<Entry>,
    children: HashMap<(u32, Seg), u32>,
}

impl PathIndex {
    /// The entries along `path` from the root, as far as the index knows it.
    pub(crate) fn along(&self, path: &[Seg]) -> Vec<Entry> {
        let mut found = Vec::new();
        if self.entries.is_empty() {
            return found;
        }
        let mut node = 0u32;
        found.push(self.entries[0]);
        for seg in path {
            // Cloning one segment to look it up keeps the map's key type simple.
            match self.children.get(&(node, seg.clone())) {
                Some(&child) => {
                    node = child;
                    found.push(self.entries[child as usize]);
                }
                None => break,
            }
        }
        found
    }

    /// The node for `seg` under `parent`, created when new.
    fn child(&mut self, parent: Option<u32>, seg: Seg) -> u32 {
        let Some(parent) = parent else {
            if self.entries.is_empty() {
                self.entries.push(Entry::default());
            }
            return 0;
        };
        let next = self.entries.len() as u32;
        let id = *self.children.entry((parent, seg)).or_insert(next);
        if id == next {
            self.entries.push(Entry::default());
        }
        id
    }
}

enum Kind {
    Map { key: Option<String> },
    Seq { next: usize },
}

struct Frame {
    /// The node this collection is in the index; `None` for a collection used as a
    /// mapping key, which has no path.
    node: Option<u32>,
    kind: Kind,
    anchor: usize,
    /// Nodes and scalar bytes counted when the collection started.
    nodes_before: u64,
    bytes_before: u64,
    /// Levels of collections in the tallest child so far (a scalar has none).
    height: usize,
}

/// Size of an anchored node, to charge every alias to it.
#[derive(Clone, Copy)]
struct Anchored {
    nodes: u64,
    bytes: u64,
    /// Levels of collections, counting the node itself.
    height: usize,
}

struct Walker {
    index: PathIndex,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: u64,
    bytes: u64,
}

/// Walks the event stream once, recording the marks of every key and value by path and
/// stopping at the first limit broken. A syntax error simply ends the walk: the decoder
/// reports it properly.
pub(crate) fn build(text: &str) -> (PathIndex, Option<Exceeded>) {
    let mut w = Walker {
        index: PathIndex::default(),
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        bytes: 0,
    };
    let mut documents = 0usize;
    for item in Parser::new_from_str(text) {
        let (event, span) = match item {
            Ok(item) => item,
            // The scanner refuses 256 levels of flow nesting itself, before it gives the
            // events of the first levels; any other syntax error is the decoder's to report.
            Err(e) if e.info() == SCANNER_DEPTH_ERROR => {
                let at = Mark {
                    start: e.marker().index(),
                    end: e.marker().index() + 1,
                };
                let limit = Limit::Depth { alias: false };
                return (w.index, Some(Exceeded { limit, at }));
            }
            Err(_) => break,
        };
        let step = match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    break;
                }
                Ok(())
            }
            Event::Scalar(value, _, anchor, _) => w.scalar(&value, anchor, span),
            Event::Alias(anchor) => w.alias(anchor, span),
            Event::MappingStart(anchor, _) => w.start(true, anchor, span),
            Event::SequenceStart(anchor, _) => w.start(false, anchor, span),
            Event::MappingEnd | Event::SequenceEnd => {
                w.end();
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(limit) = step {
            return (
                w.index,
                Some(Exceeded {
                    limit,
                    at: span.into(),
                }),
            );
        }
    }
    (w.index, None)
}

impl Walker {
    fn scalar(&mut self, value: &str, anchor: usize, span: Span) -> Result<(), Limit> {
        self.count(1, value.len() as u64, false)?;
        if anchor != 0 {
            let size = Anchored {
                nodes: 1,
                bytes: value.len() as u64,
                height: 0,
            };
            self.anchors.insert(anchor, size);
        }
        if let Some(Frame {
            node,
            kind: Kind::Map { key },
            ..
        }) = self.stack.last_mut()
            && key.is_none()
        {
            *key = Some(value.to_string());
            if let Some(parent) = *node {
                let id = self.index.child(Some(parent), Seg::Key(value.to_string()));
                self.index.entries[id as usize].key = Some(span.into());
            }
            return Ok(());
        }
        if let Some(id) = self.next_child() {
            self.index.entries[id as usize].value = Some(span.into());
        }
        Ok(())
    }

    fn alias(&mut self, anchor: usize, span: Span) -> Result<(), Limit> {
        if self.stack.iter().any(|f| f.anchor == anchor) {
            return Err(Limit::Recursive);
        }
        let size = self.anchors.get(&anchor).copied().unwrap_or(Anchored {
            nodes: 1,
            bytes: 0,
            height: 0,
        });
        if self.stack.len() + size.height > MAX_DEPTH {
            return Err(Limit::Depth { alias: true });
        }
        self.count(size.nodes, size.bytes, true)?;
        self.grow(size.height);
        if let Some(id) = self.next_child() {
            self.index.entries[id as usize].value = Some(span.into());
        }
        Ok(())
    }

    fn start(&mut self, is_map: bool, anchor: usize, span: Span) -> Result<(), Limit> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Limit::Depth { alias: false });
        }
        self.count(1, 0, false)?;
        // A collection used as a mapping key has no path of its own.
        let node = if let Some(Frame {
            kind: Kind::Map { key: None },
            ..
        }) = self.stack.last()
        {
            None
        } else {
            let id = self.next_child();
            if let Some(id) = id {
                self.index.entries[id as usize].value = Some(span.into());
            }
            id
        };
        let kind = if is_map {
            Kind::Map { key: None }
        } else {
            Kind::Seq { next: 0 }
        };
        self.stack.push(Frame {
            node,
            kind,
            anchor,
            nodes_before: self.nodes - 1,
            bytes_before: self.bytes,
            height: 0,
        });
        Ok(())
    }

    fn end(&mut self) {
        let Some(frame) = self.stack.pop() else {
            return;
        };
        let height = frame.height + 1;
        if frame.anchor != 0 {
            let size = Anchored {
                nodes: self.nodes - frame.nodes_before,
                bytes: self.bytes - frame.bytes_before,
                height,
            };
            self.anchors.insert(frame.anchor, size);
        }
        self.grow(height);
    }

    fn count(&mut self, nodes: u64, bytes: u64, alias: bool) -> Result<(), Limit> {
        self.nodes = self.nodes.saturating_add(nodes);
        self.bytes = self.bytes.saturating_add(bytes);
        if self.nodes > MAX_NODES {
            return Err(Limit::Nodes { alias });
        }
        if self.bytes > MAX_SCALAR_BYTES {
            return Err(Limit::ScalarBytes);
        }
        Ok(())
    }

    /// Records a child of the given height in the innermost collection.
    fn grow(&mut self, height: usize) {
        if let Some(frame) = self.stack.last_mut() {
            frame.height = frame.height.max(height);
        }
    }

    /// The index node of the value that the next event stands for, advancing the parent
    /// frame; `None` inside a collection that has no path.
    fn next_child(&mut self) -> Option<u32> {
        match self.stack.last_mut() {
            None => Some(self.index.child(None, Seg::Index(0))),
            Some(Frame {
                node,
                kind: Kind::Map { key },
                ..
            }) => {
                let k = key.take().unwrap_or_default();
                node.map(|parent| self.index.child(Some(parent), Seg::Key(k)))
            }
            Some(Frame {
                node,
                kind: Kind::Seq { next },
                ..
            }) => {
                let i = *next;
                *next += 1;
                node.map(|parent| self.index.child(Some(parent), Seg::Index(i)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit_of(text: &str) -> Option<(Limit, usize)> {
        build(text).1.map(|e| (e.limit, e.at.start))
    }

    #[test]
    fn nesting_past_the_limit_is_refused_where_it_starts() {
        for text in [
            "[".repeat(10_000),
            format!("a: {}", "[".repeat(10_000)),
            format!("{}{}", "[".repeat(100), "]".repeat(100)),
            "{a: ".repeat(1000),
        ] {
            let (limit, at) = limit_of(&text).expect("a limit");
            assert_eq!(limit, Limit::Depth { alias: false }, "{}", &text[..20]);
            // At the first level past the limit, or (when the scanner refuses the nesting
            // before giving any event) where the scanner stops.
            let mut opening = text.match_indices(['[', '{']).map(|(i, _)| i);
            let first_too_deep = opening.nth(MAX_DEPTH).unwrap();
            let scanner_stop = opening.nth(255 - MAX_DEPTH - 1).unwrap_or(first_too_deep);
            assert!([first_too_deep, scanner_stop].contains(&at), "at {at}");
        }
        assert_eq!(
            limit_of(&format!(
                "{}{}",
                "[".repeat(MAX_DEPTH),
                "]".repeat(MAX_DEPTH)
            )),
            None
        );
    }

    #[test]
    fn an_alias_bomb_is_refused_at_the_alias_that_crosses_the_limit() {
        let mut text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string();
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            text.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let (limit, at) = limit_of(&text).expect("a limit");
        assert_eq!(limit, Limit::Nodes { alias: true });
        // `a5` (line 6) stands for about 10^6 values: one of its aliases crosses the limit.
        let line = text[..at].matches('\n').count() + 1;
        assert_eq!(line, 6, "{}", &text[at..at + 10]);
    }

    #[test]
    fn a_long_text_repeated_through_aliases_is_refused() {
        let text = format!(
            "x: &x {}\ny: &y [{}]\nz: [{}]\n",
            "A".repeat(1000),
            vec!["*x"; 1000].join(","),
            vec!["*y"; 100].join(",")
        );
        assert_eq!(limit_of(&text).map(|l| l.0), Some(Limit::ScalarBytes));
    }

    #[test]
    fn aliases_count_as_the_depth_they_stand_for() {
        let deep = format!("{}{}", "[".repeat(40), "]".repeat(40));
        let text = format!("a: &a {deep}\nb: {}*a{}\n", "[".repeat(30), "]".repeat(30));
        assert_eq!(
            limit_of(&text).map(|l| l.0),
            Some(Limit::Depth { alias: true })
        );
        let text = format!("a: &a {deep}\nb: {}*a{}\n", "[".repeat(20), "]".repeat(20));
        assert_eq!(limit_of(&text), None);
    }

    #[test]
    fn an_alias_inside_its_own_anchor_is_refused() {
        assert_eq!(
            limit_of("a: &a [1, *a]\n").map(|l| l.0),
            Some(Limit::Recursive)
        );
    }

    #[test]
    fn ordinary_aliases_are_indexed_like_values() {
        let (index, exceeded) = build("d: &d {cpu: 1}\nc: [*d, *d]\n");
        assert!(exceeded.is_none());
        let path = [Seg::Key("c".into()), Seg::Index(1)];
        assert_eq!(index.along(&path).len(), 3);
    }
}
