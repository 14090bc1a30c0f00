//! The JSON Schema (`dpatterns schema`) and the spec check must give the same verdict: an
//! editor that underlines nothing must not hide a spec the tool refuses, and the other way
//! round. Every spec in `tests/fixtures/schema-corpus/` goes through both: `validate`'s own
//! function (what the binary runs) and the schema through the `jsonschema` crate. A file
//! named `good-*` must pass both, `bad-*` must fail both.
//!
//! The corpus holds only mistakes a schema can say; those that need the whole spec
//! (references between components, duplicate names, patch targets, `atLeast` floors, the
//! length of system and component name together) are the binary's alone, and duplicate
//! keys never reach a JSON value.

use std::path::{Path, PathBuf};

use dpatterns::Catalog;
use dpatterns::commands::{Format, validate_command};
use serde_json::Value;

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schema-corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the corpus folder exists")
        .map(|e| e.expect("a readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn binary_accepts(path: &Path, catalog: &Catalog) -> bool {
    let mut out = Vec::new();
    matches!(
        validate_command(path, catalog, Format::Json, &mut out),
        Ok(0)
    )
}

fn schema_accepts(path: &Path, validator: &jsonschema::Validator) -> bool {
    let text = std::fs::read_to_string(path).expect("a readable spec");
    let value: Value = serde_yaml::from_str(&text)
        .unwrap_or_else(|e| panic!("{}: the corpus holds YAML: {e}", path.display()));
    validator.is_valid(&value)
}

#[test]
fn the_schema_and_the_binary_agree_on_every_corpus_spec() {
    let catalog = Catalog::load(None).expect("the embedded catalog loads");
    let schema = dpatterns::json_schema::json_schema(&catalog);
    let validator = jsonschema::validator_for(&schema).expect("the schema is a valid schema");
    let files = corpus();
    assert!(files.len() >= 30, "the corpus has {} specs", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let expected = name.starts_with("good-");
        assert!(
            expected || name.starts_with("bad-"),
            "{name}: corpus files are named good-* or bad-*"
        );
        let binary = binary_accepts(path, &catalog);
        let schema = schema_accepts(path, &validator);
        if binary != expected || schema != expected {
            wrong.push(format!(
                "{name}: expected {}, binary {}, schema {}",
                verdict(expected),
                verdict(binary),
                verdict(schema)
            ));
        }
    }
    assert!(wrong.is_empty(), "verdicts differ:\n{}", wrong.join("\n"));
}

#[test]
fn the_corpus_has_both_verdicts() {
    let names: Vec<String> = corpus()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().filter(|n| n.starts_with("good-")).count() >= 10);
    assert!(names.iter().filter(|n| n.starts_with("bad-")).count() >= 20);
}

fn verdict(accepts: bool) -> &'static str {
    if accepts { "accepts" } else { "refuses" }
}
