//! A bounded fuzz of spec reading: thousands of generated inputs (mutations of the specs in
//! the repository, and random YAML structures with anchors and aliases) go through decoding
//! and resolution. Every one must be answered with a spec or with located errors, without
//! a panic, and every error must point inside the file. `PROPTEST_CASES=N` runs more.
//!
//! A failure found here is kept below as a named test with its input.

use std::sync::OnceLock;

use dpatterns::error::{Error, SpecError};
use dpatterns::source::SourceFile;
use dpatterns::{Catalog, resolve, spec};
use proptest::prelude::*;
use proptest::test_runner::Config;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::load(None).expect("the embedded catalog loads"))
}

/// The specs in the repository, the seeds of every mutation.
fn seeds() -> &'static [String] {
    static SEEDS: OnceLock<Vec<String>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = env!("CARGO_MANIFEST_DIR");
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(format!("{root}/tests/cmd"))
            .unwrap()
            .filter_map(|e| {
                let p = e.unwrap().path().join("dpatterns.yaml");
                p.is_file().then_some(p)
            })
            .collect();
        for dir in ["tests/fixtures/specs", "templates/replicated-service"] {
            for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "yaml")
                    && p.file_name().unwrap() != "pattern.yaml"
                {
                    paths.push(p);
                }
            }
        }
        paths.sort();
        paths
            .iter()
            .filter_map(|p| std::fs::read_to_string(p).ok())
            .collect()
    })
}

/// Decodes and resolves `text`; panics (failing the case) unless the answer is a model or
/// spec errors that each point inside the text.
fn answer(text: &str) {
    let lines = text.split('\n').count();
    let check = |errors: &[SpecError]| {
        assert!(!errors.is_empty(), "an error without any spec error");
        for e in errors {
            assert!(
                e.line >= 1 && e.line <= lines,
                "line {} of {lines}: {}",
                e.line,
                e.message
            );
            assert!(e.column >= 1, "column {}: {}", e.column, e.message);
            let report = format!("{:?}", miette::Report::new(e.clone()));
            assert!(!report.is_empty());
        }
    };
    match spec::parse(SourceFile::new("fuzz.yaml", text)) {
        Ok(loaded) => match resolve::resolve(&loaded, catalog()) {
            Ok(_) => {}
            Err(Error::Spec(errors)) => check(&errors),
            Err(other) => panic!("resolution failed with a non-spec error: {other}"),
        },
        Err(Error::Spec(errors)) => check(&errors),
        Err(other) => panic!("decoding failed with a non-spec error: {other}"),
    }
}

/// Pieces of YAML syntax that mutations insert.
const TOKENS: &[&str] = &[
    "[",
    "]",
    "{",
    "}",
    ":",
    ": ",
    "- ",
    ",",
    "&a ",
    "*a",
    "&b [*a, *a]",
    "!!str ",
    "!!binary ",
    "\"",
    "'",
    "\n",
    "\n  ",
    "  ",
    "\t",
    "#",
    "\n---\n",
    "? ",
    "|\n",
    ">-\n",
    "0",
    "-1",
    "99999999999999999999",
    "1e3",
    "0x1F",
    "true",
    "null",
    "~",
    "ü",
    "\u{FEFF}",
    "\r\n",
    "\\",
    "%YAML 1.2\n",
    "<<: *a",
    "name",
    "pattern",
    "params",
    "components",
    "replicas",
    "image",
    "attach",
    "patches",
    "merge",
    "replicated-service",
    "api",
    "nginx:1.27",
    "@sha256:",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, token: usize },
    Duplicate { at: usize, len: usize },
    SwapLines { a: usize, b: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..40usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (any::<usize>(), 1..80usize).prop_map(|(at, len)| Mutation::Duplicate { at, len }),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
    ]
}

/// A byte offset on a character boundary, from any number.
fn boundary(text: &str, n: usize) -> usize {
    let mut at = n % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(mut text: String, mutations: &[Mutation]) -> String {
    for m in mutations {
        match *m {
            Mutation::Delete { at, len } => {
                let a = boundary(&text, at);
                let b = boundary(&text, (a + len).min(text.len()));
                text.replace_range(a..b.max(a), "");
            }
            Mutation::Insert { at, token } => {
                let a = boundary(&text, at);
                text.insert_str(a, TOKENS[token]);
            }
            Mutation::Duplicate { at, len } => {
                let a = boundary(&text, at);
                let b = boundary(&text, (a + len).min(text.len())).max(a);
                let piece = text[a..b].to_string();
                text.insert_str(b, &piece);
            }
            Mutation::SwapLines { a, b } => {
                let mut lines: Vec<&str> = text.split('\n').collect();
                let (a, b) = (a % lines.len(), b % lines.len());
                lines.swap(a, b);
                text = lines.join("\n");
            }
        }
    }
    text
}

/// A random YAML value, written in block or flow style, with anchors and aliases.
#[derive(Debug, Clone)]
enum Node {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    Anchored(String, Box<Node>),
    Alias(String),
}

fn node() -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![
        "[a-z]{0,8}".prop_map(Node::Scalar),
        (-5i64..100000).prop_map(|n| Node::Scalar(n.to_string())),
        prop::sample::select(vec![
            "true",
            "null",
            "\"x y\"",
            "'q'",
            "1.30",
            "ghcr.io/x:1",
            "*"
        ])
        .prop_map(|s| Node::Scalar(s.to_string())),
        prop::sample::select(vec!["a", "b", "c"]).prop_map(|s| Node::Alias(s.to_string())),
    ];
    leaf.prop_recursive(6, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Node::Seq),
            prop::collection::vec(
                (
                    prop::sample::select(vec![
                        "apiVersion",
                        "kind",
                        "metadata",
                        "name",
                        "spec",
                        "components",
                        "pattern",
                        "params",
                        "replicas",
                        "port",
                        "image",
                        "attach",
                        "k",
                        "<<",
                    ]),
                    inner.clone()
                ),
                0..6
            )
            .prop_map(|kvs| Node::Map(kvs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())),
            (prop::sample::select(vec!["a", "b", "c"]), inner)
                .prop_map(|(a, n)| Node::Anchored(a.to_string(), Box::new(n))),
        ]
    })
}

fn flow(n: &Node, out: &mut String) {
    match n {
        Node::Scalar(s) => out.push_str(if s.is_empty() { "''" } else { s }),
        Node::Alias(a) => out.push_str(&format!("*{a}")),
        Node::Anchored(a, inner) => {
            out.push_str(&format!("&{a} "));
            flow(inner, out);
        }
        Node::Seq(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                flow(item, out);
            }
            out.push(']');
        }
        Node::Map(kvs) => {
            out.push('{');
            for (i, (k, v)) in kvs.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(k);
                out.push_str(": ");
                flow(v, out);
            }
            out.push('}');
        }
    }
}

fn block(n: &Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match n {
        Node::Seq(items) if !items.is_empty() => {
            for item in items {
                out.push_str(&format!("\n{pad}- "));
                block(item, indent + 2, out);
            }
        }
        Node::Map(kvs) if !kvs.is_empty() => {
            for (k, v) in kvs {
                out.push_str(&format!("\n{pad}{k}: "));
                block(v, indent + 2, out);
            }
        }
        other => flow(other, out),
    }
}

/// Header keys the decoder needs, so that random structures reach resolution too.
const HEAD: &str =
    "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: fuzz\nspec:\n  components:";

fn config(cases: u32) -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(cases),
        failure_persistence: None,
        ..Config::default()
    }
}

proptest! {
    #![proptest_config(config(8000))]

    #[test]
    fn mutated_specs_are_answered_with_a_model_or_located_errors(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..8),
    ) {
        let seeds = seeds();
        answer(&apply(seeds[seed.index(seeds.len())].clone(), &mutations));
    }
}

proptest! {
    #![proptest_config(config(8000))]

    #[test]
    fn random_structures_are_answered_with_a_model_or_located_errors(
        components in prop::collection::vec(node(), 0..4),
        in_flow in any::<bool>(),
        whole in node(),
    ) {
        let mut text = HEAD.to_string();
        for c in &components {
            text.push_str("\n    - ");
            if in_flow { flow(c, &mut text) } else { block(c, 6, &mut text) }
        }
        text.push('\n');
        answer(&text);
        let mut alone = String::new();
        block(&whole, 0, &mut alone);
        answer(&alone);
    }
}

/// Found by `random_structures…`: a decoding error on a long line, one or two characters
/// past where the snippet's window starts, made the column arithmetic overflow.
#[test]
fn an_error_just_inside_a_cut_window_of_a_long_line_is_located() {
    let text = "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: fuzz\nspec:\n  components:\n    - {name: 100, apiVersion: {replicas: aaaaa, components: *, apiVersion: '', k: [aaaaaaaa, bbbbbbbb, cccccccc, dddddddd, eeeeeeee, ffffffff, gggggggg, hhhhhhhh, iiiiiiii]}}\n";
    answer(text);
}
