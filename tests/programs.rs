//! Generated programs beyond one crate per component: the crate an attachable pattern
//! shares among its hosts, several crates for a multi-program pattern, the names those
//! crates may take, and the catalog rules for `programs:`; and where an attachment's
//! container lands in a pattern with Jobs. The fixtures are the test catalog's
//! `echo-sidecar`, `pair` and `log-shipper` patterns.

use std::fs;
use std::path::{Path, PathBuf};

use dpatterns::source::SourceFile;
use dpatterns::{Catalog, Error, pipeline, spec};

fn user_catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/user-catalog")
}

fn render(catalog: &Catalog, components: &str) -> Result<pipeline::Rendered, Error> {
    let text = format!(
        "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata: {{name: shop}}\n\
         spec:\n  registry: ghcr.io/acme\n  components:\n{components}"
    );
    pipeline::run(
        &spec::parse(SourceFile::new("dpatterns.yaml", text.as_str())).unwrap(),
        catalog,
    )
}

fn spec_errors(result: Result<pipeline::Rendered, Error>) -> Vec<String> {
    match result {
        Err(Error::Spec(errors)) => errors.into_iter().map(|e| e.message).collect(),
        Err(other) => panic!("expected spec errors, got {other}"),
        Ok(_) => panic!("expected spec errors, the render passed"),
    }
}

fn file<'a>(rendered: &'a pipeline::Rendered, path: &str) -> &'a str {
    &rendered
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("{path} is not rendered"))
        .contents
}

fn paths(rendered: &pipeline::Rendered) -> Vec<&str> {
    rendered.files.iter().map(|f| f.path.as_str()).collect()
}

#[test]
fn an_attached_pattern_has_one_crate_and_image_for_all_its_hosts() {
    let catalog = Catalog::load(Some(&user_catalog())).unwrap();
    let rendered = render(
        &catalog,
        "    - {name: web, pattern: replicated-service, params: {calls: api}, attach: [{pattern: echo-sidecar}]}\n\
         \x20   - {name: api, pattern: replicated-service, attach: [{pattern: echo-sidecar, params: {greeting: hi}}]}\n",
    )
    .unwrap();
    let crates: Vec<&str> = paths(&rendered)
        .into_iter()
        .filter(|p| p.ends_with("/Cargo.toml") && p.matches('/').count() == 2)
        .collect();
    assert_eq!(
        crates,
        [
            "services/api/Cargo.toml",
            "services/common/Cargo.toml",
            "services/echo-sidecar/Cargo.toml",
            "services/web/Cargo.toml",
        ]
    );
    assert!(
        file(&rendered, "services/Cargo.toml")
            .contains(r#"members = ["common", "web", "api", "echo-sidecar"]"#)
    );
    for host in ["web", "api"] {
        let manifest = file(&rendered, &format!("k8s/base/{host}.yaml"));
        assert!(
            manifest.contains("image: ghcr.io/acme/echo-sidecar:0.1.0"),
            "{host}: {manifest}"
        );
    }
}

#[test]
fn an_image_on_the_attach_entry_replaces_the_generated_program() {
    let catalog = Catalog::load(Some(&user_catalog())).unwrap();
    let rendered = render(
        &catalog,
        "    - {name: web, pattern: replicated-service, attach: [{pattern: echo-sidecar, image: 'ghcr.io/other/echo:2.0.1'}]}\n",
    )
    .unwrap();
    assert!(!paths(&rendered).iter().any(|p| p.contains("echo-sidecar")));
    assert!(file(&rendered, "k8s/base/web.yaml").contains("image: ghcr.io/other/echo:2.0.1"));
}

#[test]
fn each_program_of_a_pattern_gets_its_crate_image_and_declared_needs() {
    let catalog = Catalog::load(Some(&user_catalog())).unwrap();
    let rendered = render(&catalog, "    - {name: counter, pattern: pair}\n").unwrap();
    for program in ["front", "back"] {
        for path in ["Cargo.toml", "Dockerfile", "src/main.rs", "src/lib.rs"] {
            file(&rendered, &format!("services/counter-{program}/{path}"));
        }
        assert!(
            file(&rendered, "k8s/base/counter.yaml")
                .contains(&format!("image: ghcr.io/acme/counter-{program}:0.1.0")),
            "{program}"
        );
    }
    // redis's UID and its writable /data come from pattern.yaml, through policy.
    let manifest = file(&rendered, "k8s/base/counter.yaml");
    assert!(manifest.contains("runAsUser: 999"), "{manifest}");
    assert!(
        manifest.contains("mountPath: /data\n          name: cache-data"),
        "{manifest}"
    );
    assert!(
        manifest.contains("sizeLimit: 256Mi\n        name: cache-data"),
        "{manifest}"
    );
}

#[test]
fn one_image_cannot_stand_for_several_programs() {
    let catalog = Catalog::load(Some(&user_catalog())).unwrap();
    let errors = spec_errors(render(
        &catalog,
        "    - {name: counter, pattern: pair, image: 'ghcr.io/acme/counter:1.0.0'}\n",
    ));
    assert_eq!(
        errors,
        ["pattern `pair` runs 2 programs (front, back); one `image:` cannot stand for them"]
    );
}

#[test]
fn two_generated_crates_cannot_share_a_name() {
    let catalog = Catalog::load(Some(&user_catalog())).unwrap();
    let errors = spec_errors(render(
        &catalog,
        "    - {name: counter, pattern: pair}\n    - {name: counter-front, pattern: replicated-service}\n",
    ));
    assert_eq!(
        errors,
        ["two generated crates would be named `counter-front`"]
    );
    let errors = spec_errors(render(
        &catalog,
        "    - {name: echo-sidecar, pattern: replicated-service}\n    - {name: web, pattern: replicated-service, attach: [{pattern: echo-sidecar}]}\n",
    ));
    assert_eq!(
        errors,
        ["two generated crates would be named `echo-sidecar`"]
    );
}

/// A user catalog in a temporary folder: `files` are (path, contents) under its root.
fn catalog_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Result<Catalog, Error>) {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, contents).unwrap();
    }
    let catalog = Catalog::load(Some(dir.path()));
    (dir, catalog)
}

#[test]
fn reserved_crate_names_follow_the_workspace_template() {
    let workspace = "_common/project/services/Cargo.toml.hbs";
    let embedded = Catalog::embedded().unwrap();
    let text = embedded.file(workspace).unwrap().contents.replace(
        "[workspace.dependencies]\n",
        "[workspace.dependencies]\nsqlx = \"0.8\"\n",
    );
    let (_dir, catalog) = catalog_with(&[(workspace, &text)]);
    let catalog = catalog.unwrap();
    let errors = spec_errors(render(
        &catalog,
        "    - {name: sqlx, pattern: replicated-service}\n",
    ));
    assert_eq!(errors, ["`sqlx` cannot name a generated Rust service"]);
    assert!(
        render(
            &embedded,
            "    - {name: sqlx, pattern: replicated-service}\n"
        )
        .is_ok()
    );
}

fn pair_with_programs(programs: &str, files: &[(&str, &str)]) -> String {
    let pattern = fs::read_to_string(user_catalog().join("pair/pattern.yaml")).unwrap();
    let start = pattern.find("\nprograms:").unwrap() + 1;
    let end = pattern.find("\ncontainers:").unwrap() + 1;
    let pattern = format!("{}{programs}{}", &pattern[..start], &pattern[end..]);
    let mut all = vec![("pair/pattern.yaml", pattern.as_str())];
    all.extend_from_slice(files);
    match catalog_with(&all).1 {
        Err(Error::Catalog { path, message }) => format!("{path}: {message}"),
        Err(other) => panic!("expected a catalog error, got {other}"),
        Ok(_) => panic!("expected a catalog error, the catalog loaded"),
    }
}

#[test]
fn every_declared_program_has_a_folder_and_every_template_a_program() {
    let front = ("pair/rust/front/Cargo.toml.hbs", "[package]\n");
    assert_eq!(
        pair_with_programs(
            "programs:\n  - {name: front, summary: f}\n  - {name: back, summary: b}\n",
            &[front]
        ),
        "pair/pattern.yaml: program `back` has no templates: add `pair/rust/back/`"
    );
    assert_eq!(
        pair_with_programs(
            "programs:\n  - {name: front, summary: f}\n",
            &[front, ("pair/rust/Cargo.toml.hbs", "[package]\n")]
        ),
        "pair/pattern.yaml: `pair/rust/Cargo.toml.hbs` is in no declared program's folder (programs: front)"
    );
}

const SHARED_234: &str = concat!(
    "serviceVersion: 2.3.4\n",
    "baseImages: {build: \"rust:1.95.0-slim-bookworm\", runtime: \"gcr.io/distroless/static-debian12:nonroot\"}\n"
);
const SHARED_LATEST: &str = concat!(
    "serviceVersion: latest\n",
    "baseImages: {build: \"rust:1.95.0-slim-bookworm\", runtime: \"gcr.io/distroless/static-debian12:nonroot\"}\n"
);

#[test]
fn the_base_images_come_from_the_catalog_and_must_be_pinned() {
    let (_dir, catalog) = catalog_with(&[("_common/common.yaml", SHARED_234)]);
    let rendered = render(
        &catalog.unwrap(),
        "    - {name: api, pattern: replicated-service}\n",
    )
    .unwrap();
    let dockerfile = file(&rendered, "services/api/Dockerfile");
    assert!(dockerfile.contains("FROM rust:1.95.0-slim-bookworm AS chef"));
    assert!(dockerfile.contains("FROM gcr.io/distroless/static-debian12:nonroot\n"));
    assert!(
        file(&rendered, "README.md")
            .contains("docker buildx imagetools inspect gcr.io/distroless/static-debian12:nonroot")
    );

    for unpinned in ["rust", "rust:latest"] {
        let shared = format!(
            "serviceVersion: 1.0.0\nbaseImages: {{build: {unpinned}, runtime: \"gcr.io/distroless/cc-debian12:nonroot\"}}\n"
        );
        let (_dir, catalog) = catalog_with(&[("_common/common.yaml", &shared)]);
        let Err(Error::Catalog { message, .. }) = catalog else {
            panic!("{unpinned} was taken as a base image");
        };
        assert!(message.contains("baseImages.build"), "{message}");
    }
}

#[test]
fn the_service_version_comes_from_the_catalog() {
    let (_dir, catalog) = catalog_with(&[("_common/common.yaml", SHARED_234)]);
    let rendered = render(
        &catalog.unwrap(),
        "    - {name: api, pattern: replicated-service}\n",
    )
    .unwrap();
    assert!(file(&rendered, "k8s/base/api.yaml").contains("image: ghcr.io/acme/api:2.3.4"));
    assert!(file(&rendered, "services/Cargo.toml").contains("version = \"2.3.4\""));
    assert!(file(&rendered, "services/api/Dockerfile").contains("ARG VERSION=2.3.4"));

    let (_dir, catalog) = catalog_with(&[("_common/common.yaml", SHARED_LATEST)]);
    assert!(matches!(catalog, Err(Error::Catalog { .. })));
}

#[test]
fn a_source_file_that_renders_empty_is_left_out_of_the_crate() {
    // replicated-service's `src/upstream.rs` is one `{{#if component.params.calls}}` block:
    // the caller's crate has it, the upstream's has none.
    let rendered = render(
        &Catalog::embedded().unwrap(),
        "    - {name: web, pattern: replicated-service, params: {calls: api}}\n\
         \x20   - {name: api, pattern: replicated-service, params: {servicePort: 8081}}\n",
    )
    .unwrap();
    let upstream = file(&rendered, "services/web/src/upstream.rs");
    assert!(upstream.contains("pub const UPSTREAM: &str = \"api\";"));
    assert!(upstream.contains("pub const DEFAULT_UPSTREAM_URL: &str = \"http://api:8081\";"));
    assert!(file(&rendered, "services/web/src/lib.rs").contains("pub mod upstream;"));
    assert!(!paths(&rendered).contains(&"services/api/src/upstream.rs"));
    assert!(!file(&rendered, "services/api/src/lib.rs").contains("upstream::"));
}

#[test]
fn a_program_declared_for_some_parameter_values_is_generated_only_for_them() {
    let catalog = Catalog::embedded().unwrap();
    let rendered = render(
        &catalog,
        "    - {name: carts, pattern: sharded-service}\n\
         \x20   - {name: sessions, pattern: sharded-service, params: {backend: memcached}}\n",
    )
    .unwrap();
    let crates: Vec<&str> = paths(&rendered)
        .into_iter()
        .filter(|p| p.ends_with("/Cargo.toml") && p.matches('/').count() == 2)
        .collect();
    assert_eq!(
        crates,
        [
            "services/carts-router/Cargo.toml",
            "services/carts-shard/Cargo.toml",
            "services/common/Cargo.toml"
        ]
    );
    let workspace = file(&rendered, "services/Cargo.toml");
    assert!(workspace.contains(r#"members = ["common", "carts-router", "carts-shard"]"#));
    let sessions = file(&rendered, "k8s/base/sessions.yaml");
    assert!(
        sessions.contains("image: malexer/twemproxy:0.5.0"),
        "{sessions}"
    );
    assert!(!sessions.contains("sessions-router:"), "{sessions}");
}

#[test]
fn a_sidecar_attached_to_a_coordinated_batch_is_a_native_sidecar_of_both_jobs() {
    // The issue's rule for batch patterns: an attachment must not keep a Job from
    // completing. The map and reduce Jobs take it as a native sidecar; redis, the
    // pattern's own backend (marked `dpatterns.io/attach: skip`), is not decorated.
    let catalog = Catalog::load(Some(&user_catalog())).unwrap();
    let rendered = render(
        &catalog,
        "    - {name: census, pattern: coordinated-batch, attach: [{pattern: log-shipper}]}\n",
    )
    .unwrap();
    let pods = |kind: &str, name: &str| {
        let object = rendered
            .objects
            .iter()
            .find(|o| o.kind() == kind && o.name() == name)
            .unwrap_or_else(|| panic!("no {kind} {name}"));
        object.value["spec"]["template"]["spec"].clone()
    };
    let names = |containers: &serde_json::Value| -> Vec<String> {
        containers
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|c| c["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    for (job, own) in [("census-map-1", "map"), ("census-reduce-1", "reduce")] {
        let spec = pods("Job", job);
        assert_eq!(names(&spec["containers"]), [own], "{job}");
        assert_eq!(names(&spec["initContainers"]), ["log-shipper"], "{job}");
        assert_eq!(
            spec["initContainers"][0]["restartPolicy"], "Always",
            "{job}"
        );
    }
    let redis = pods("Deployment", "census-redis");
    assert_eq!(names(&redis["containers"]), ["redis"]);
    assert!(names(&redis["initContainers"]).is_empty());
}
