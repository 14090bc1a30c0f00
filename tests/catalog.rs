//! The catalog is the `templates/` tree; these tests keep everything that depends on it in
//! step: every pattern has an example, a docs page naming each parameter, and a snapshot,
//! and no page or snapshot outlives its pattern.

use std::fs;
use std::path::Path;

use dpatterns::Catalog;
use dpatterns::source::SourceFile;
use dpatterns::{pipeline, spec};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_pattern_has_an_example_a_docs_page_and_a_snapshot() {
    let catalog = Catalog::embedded().unwrap();
    for p in catalog.patterns() {
        assert!(
            catalog.example(&p.id).is_some(),
            "{}: no example.yaml",
            p.id
        );
        let page = root().join(format!("docs/patterns/{}.md", p.id));
        let text = fs::read_to_string(&page)
            .unwrap_or_else(|_| panic!("{}: no docs page at {}", p.id, page.display()));
        assert!(
            text.starts_with(&format!("# {}\n", p.id)),
            "{}: page must start with `# {}`",
            p.id,
            p.id
        );
        for param in &p.params {
            assert!(
                text.contains(&format!("`{}`", param.name)),
                "{}: docs page does not mention parameter `{}`",
                p.id,
                param.name
            );
        }
        let snapshot = root().join(format!("tests/snapshots/snapshots__pattern-{}.snap", p.id));
        assert!(
            snapshot.is_file(),
            "{}: no accepted snapshot at {}",
            p.id,
            snapshot.display()
        );
    }
}

#[test]
fn no_docs_page_outlives_its_pattern() {
    let catalog = Catalog::embedded().unwrap();
    for entry in fs::read_dir(root().join("docs/patterns")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        let id = name.strip_suffix(".md").unwrap_or(&name);
        assert!(
            catalog.pattern(id).is_some(),
            "docs/patterns/{name} documents no pattern"
        );
    }
}

#[test]
fn every_rendered_yaml_file_parses_and_ci_keeps_its_expressions() {
    let catalog = Catalog::embedded().unwrap();
    for p in catalog.patterns() {
        let loaded = spec::parse(SourceFile::new(
            "example.yaml",
            catalog.example(&p.id).unwrap(),
        ))
        .unwrap();
        let rendered = pipeline::run(&loaded, &catalog).unwrap();
        for file in &rendered.files {
            if file.path.ends_with(".yaml") || file.path.ends_with(".yml") {
                for doc in serde_yaml::Deserializer::from_str(&file.contents) {
                    let value: Result<serde_json::Value, _> = serde::Deserialize::deserialize(doc);
                    assert!(
                        value.is_ok(),
                        "{}: {} does not parse: {value:?}",
                        p.id,
                        file.path
                    );
                }
            }
        }
        let ci = rendered
            .files
            .iter()
            .find(|f| f.path == ".github/workflows/ci.yaml")
            .expect("a CI workflow is scaffolded");
        assert!(
            ci.contents.contains("${{ github.sha }}"),
            "raw blocks must pass `${{{{ }}}}` through"
        );
    }
}

#[test]
fn rendering_an_example_twice_gives_identical_files() {
    let catalog = Catalog::embedded().unwrap();
    for p in catalog.patterns() {
        let text = catalog.example(&p.id).unwrap();
        let a = pipeline::run(&spec::parse(SourceFile::new("a", text)).unwrap(), &catalog).unwrap();
        let b = pipeline::run(&spec::parse(SourceFile::new("a", text)).unwrap(), &catalog).unwrap();
        assert_eq!(a.files, b.files, "{}", p.id);
    }
}
