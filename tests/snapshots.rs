//! One snapshot per pattern fixture: every file a pattern's example renders, joined under
//! `==== path ====` headers, so one review covers one render. Re-bless with
//! `INSTA_UPDATE=always cargo test --test snapshots` (or `cargo insta review`).

use std::path::Path;

use dpatterns::Catalog;
use dpatterns::source::SourceFile;
use dpatterns::{pipeline, spec};

pub const USER_CATALOG: &str = "tests/fixtures/user-catalog";

fn uber_snapshot(catalog: &Catalog, id: &str) -> String {
    let example = catalog
        .example(id)
        .unwrap_or_else(|| panic!("pattern `{id}` has no example.yaml"));
    render_joined(catalog, &format!("{id}/example.yaml"), example)
}

fn render_joined(catalog: &Catalog, name: &str, text: &str) -> String {
    let loaded = spec::parse(SourceFile::new(name, text))
        .unwrap_or_else(|e| panic!("{name} does not parse: {e:?}"));
    let rendered =
        pipeline::run(&loaded, catalog).unwrap_or_else(|e| panic!("{name} does not render: {e:?}"));
    let mut out = String::new();
    for file in &rendered.files {
        out.push_str(&format!("==== {} ({:?}) ====\n", file.path, file.kind));
        out.push_str(&file.contents);
        if !file.contents.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

#[test]
fn every_embedded_pattern_renders_its_example_as_snapshotted() {
    let catalog = Catalog::embedded().unwrap();
    for pattern in catalog.patterns() {
        insta::assert_snapshot!(
            format!("pattern-{}", pattern.id),
            uber_snapshot(&catalog, &pattern.id)
        );
    }
}

#[test]
fn every_user_catalog_pattern_renders_its_example_as_snapshotted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(USER_CATALOG);
    if !dir.join("batch-job/pattern.yaml").exists() {
        panic!("the user catalog fixture is missing at {}", dir.display());
    }
    let catalog = Catalog::load(Some(&dir)).unwrap();
    let embedded = Catalog::embedded().unwrap();
    for pattern in catalog.patterns() {
        if embedded.pattern(&pattern.id).is_some() {
            continue;
        }
        insta::assert_snapshot!(
            format!("user-{}", pattern.id),
            uber_snapshot(&catalog, &pattern.id)
        );
    }
}

#[test]
fn every_fixture_spec_renders_as_snapshotted() {
    let catalog = Catalog::embedded().unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs");
    let mut specs: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    specs.sort();
    assert!(!specs.is_empty());
    for path in specs {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(&path).unwrap();
        // Only the manifests: the generated code is covered by the pattern snapshots.
        let joined = render_joined(&catalog, &name, &text);
        let manifests: String = joined
            .split("==== ")
            .filter(|part| part.starts_with("k8s/"))
            .map(|part| format!("==== {part}"))
            .collect();
        insta::assert_snapshot!(format!("spec-{name}"), manifests);
    }
}
