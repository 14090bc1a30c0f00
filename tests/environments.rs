//! `spec.environments`: each environment becomes a kustomize overlay of `k8s/base/`, computed
//! by rendering the system again with the environment's overrides; bad overrides are
//! located spec errors; an override that breaks a check of the output names the
//! environment. `scripts/validate-manifests.sh` proves with kubectl that the overlays build
//! and pass the outside validators; here the overlay's files are checked as data.

use dpatterns::source::SourceFile;
use dpatterns::{Catalog, Error, pipeline, spec};
use serde_json::Value;

const HEAD: &str = "apiVersion: dpatterns/v1alpha1
kind: System
metadata:
  name: shop
spec:
  components:
    - name: api
      pattern: replicated-service
      params: {replicas: 3, maxReplicas: 3}
    - name: web
      pattern: replicated-service
      params: {calls: api}
";

fn render(environments: &str) -> Result<pipeline::Rendered, Error> {
    let text = format!("{HEAD}{environments}");
    let catalog = Catalog::load(None).unwrap();
    pipeline::run(
        &spec::parse(SourceFile::new("dpatterns.yaml", text.as_str())).unwrap(),
        &catalog,
    )
}

/// Each error as `line:column message`.
fn spec_errors(result: Result<pipeline::Rendered, Error>) -> Vec<String> {
    match result {
        Err(Error::Spec(errors)) => errors
            .into_iter()
            .map(|e| format!("{}:{} {}", e.line, e.column, e.message))
            .collect(),
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

fn yaml(text: &str) -> Value {
    serde_yaml::from_str(text).unwrap()
}

#[test]
fn without_the_key_dev_and_prod_are_the_base_unchanged() {
    let rendered = render("").unwrap();
    for env in ["dev", "prod"] {
        let component = file(
            &rendered,
            &format!("k8s/overlays/{env}/dpatterns/kustomization.yaml"),
        );
        let doc = yaml(component);
        assert_eq!(doc["kind"], "Component");
        assert_eq!(doc["resources"], serde_json::json!([]));
        assert!(doc.get("patches").is_none());
        let overlay = yaml(file(
            &rendered,
            &format!("k8s/overlays/{env}/kustomization.yaml"),
        ));
        assert_eq!(overlay["resources"], serde_json::json!(["../../base"]));
        assert_eq!(overlay["components"], serde_json::json!(["dpatterns"]));
    }
    let overlays: Vec<&str> = paths(&rendered)
        .into_iter()
        .filter(|p| p.starts_with("k8s/overlays/"))
        .collect();
    assert_eq!(overlays.len(), 4, "{overlays:?}");
}

#[test]
fn manifests_live_in_the_base_with_its_kustomization() {
    let rendered = render("").unwrap();
    let base = yaml(file(&rendered, "k8s/base/kustomization.yaml"));
    assert_eq!(
        base["resources"],
        serde_json::json!(["_system.yaml", "api.yaml", "web.yaml"])
    );
    assert!(
        !paths(&rendered)
            .iter()
            .any(|p| p.starts_with("k8s/") && p.matches('/').count() == 1),
        "nothing is written to k8s/ itself"
    );
}

#[test]
fn the_overlay_sets_each_generated_image_where_kustomize_edit_finds_it() {
    let rendered = render("").unwrap();
    let overlay = yaml(file(&rendered, "k8s/overlays/prod/kustomization.yaml"));
    assert_eq!(
        overlay["images"],
        serde_json::json!([
            {"name": "registry.example.com/shop/api", "newName": "registry.example.com/shop/api", "newTag": "0.1.0"},
            {"name": "registry.example.com/shop/web", "newName": "registry.example.com/shop/web", "newTag": "0.1.0"},
        ])
    );
    let kind = rendered
        .files
        .iter()
        .find(|f| f.path == "k8s/overlays/prod/kustomization.yaml")
        .unwrap()
        .kind;
    assert_eq!(kind, pipeline::FileKind::Scaffolded, "the user's file");
}

#[test]
fn an_override_becomes_patches_added_and_deleted_objects() {
    let rendered = render(
        "  environments:
    dev:
      defaults: {imagePullPolicy: IfNotPresent}
      params:
        api: {replicas: 1, maxReplicas: 1}
    prod:
      params:
        api: {replicas: 4, maxReplicas: 8}
",
    )
    .unwrap();
    // dev: one replica drops the PodDisruptionBudget; the pull policy changes in place.
    let dev = yaml(file(
        &rendered,
        "k8s/overlays/dev/dpatterns/kustomization.yaml",
    ));
    let patches: Vec<&str> = dev["patches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        patches,
        [
            "patches/deployment-api.yaml",
            "patches/deployment-web.yaml",
            "patches/poddisruptionbudget-api.yaml"
        ]
    );
    let pdb = yaml(file(
        &rendered,
        "k8s/overlays/dev/dpatterns/patches/poddisruptionbudget-api.yaml",
    ));
    assert_eq!(pdb["$patch"], "delete");
    assert_eq!(pdb["metadata"]["name"], "api");
    let api = yaml(file(
        &rendered,
        "k8s/overlays/dev/dpatterns/patches/deployment-api.yaml",
    ));
    assert!(
        api.as_array()
            .unwrap()
            .iter()
            .any(|op| op
                == &serde_json::json!({"op": "replace", "path": "/spec/replicas", "value": 1})),
        "{api}"
    );
    assert!(api.as_array().unwrap().iter().any(|op| op
        == &serde_json::json!({"op": "replace", "path": "/spec/template/spec/containers/0/imagePullPolicy", "value": "IfNotPresent"})));
    // prod: maxReplicas above replicas adds an autoscaler, which the base does not have.
    let prod = file(&rendered, "k8s/overlays/prod/dpatterns/resources.yaml");
    assert!(prod.contains("kind: HorizontalPodAutoscaler"), "{prod}");
    assert!(prod.contains("maxReplicas: 8"), "{prod}");
}

#[test]
fn overlays_are_byte_identical_across_renders() {
    let envs =
        "  environments:\n    dev:\n      params:\n        api: {replicas: 1, maxReplicas: 2}\n";
    let a = render(envs).unwrap().files;
    let b = render(envs).unwrap().files;
    assert_eq!(a, b);
}

#[test]
fn bad_overrides_are_errors_at_their_place() {
    let errors = spec_errors(render(
        "  environments:
    Dev: {}
    qa:
      params:
        apii: {replicas: 1}
        api: {replicaz: 1, cpuTarget: 5, calls: nowhere}
      defaults: {runAsUser: 0}
",
    ));
    assert_eq!(
        errors,
        [
            "14:5 invalid environment name `Dev`: `D` is not allowed",
            "17:9 environment `qa` overrides `apii`, which is not a component of this spec",
            "18:15 unknown parameter `replicaz` for pattern `replicated-service`",
            "18:39 parameter `cpuTarget` is 5, outside its range 10..=95",
            "18:49 `calls` refers to `nowhere`, which is not a component of this spec",
            "19:29 runAsUser 0 is not allowed",
        ]
    );
}

#[test]
fn an_override_below_a_floor_names_the_environment() {
    let errors = spec_errors(render(
        "  environments:\n    prod:\n      params:\n        api: {replicas: 5}\n",
    ));
    assert_eq!(
        errors,
        [
            "16:25 in environment `prod`, parameter `maxReplicas` of `api` is 3, below `replicas` (5)"
        ]
    );
}

#[test]
fn an_empty_environments_key_is_an_error() {
    let errors = spec_errors(render("  environments: {}\n"));
    assert_eq!(errors, ["13:17 no environment is declared"]);
}

#[test]
fn a_patch_an_environment_leaves_without_a_target_names_the_environment() {
    let text = format!(
        "{HEAD}  patches:
    - target: {{kind: PodDisruptionBudget, name: api}}
      merge: {{spec: {{maxUnavailable: 2}}}}
  environments:
    dev:
      params:
        api: {{replicas: 1, maxReplicas: 1}}
"
    );
    let catalog = Catalog::load(None).unwrap();
    let result = pipeline::run(
        &spec::parse(SourceFile::new("dpatterns.yaml", text.as_str())).unwrap(),
        &catalog,
    );
    let errors = spec_errors(result);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0]
            == "14:15 in environment `dev`: patch target PodDisruptionBudget `api` matches no rendered object",
        "{errors:?}"
    );
}

#[test]
fn each_environment_is_checked_against_the_base_not_against_another() {
    // In `dev`, web's ceiling is 1; `prod` raises only its floor, to 5 (below the base's
    // ceiling of 10): both are fine.
    let rendered = render(
        "  environments:
    dev:
      params:
        web: {replicas: 1, maxReplicas: 1}
    prod:
      params:
        web: {replicas: 5}
",
    )
    .unwrap();
    let prod = file(
        &rendered,
        "k8s/overlays/prod/dpatterns/patches/horizontalpodautoscaler-web.yaml",
    );
    assert!(
        prod.contains("path: /spec/minReplicas\n  value: 5"),
        "{prod}"
    );
}

#[test]
fn more_environments_than_the_limit_is_an_error() {
    let many: String = (0..21).map(|i| format!("    e{i}: {{}}\n")).collect();
    let errors = spec_errors(render(&format!("  environments:\n{many}")));
    assert_eq!(
        errors,
        ["14:5 21 environments are declared; at most 20 are allowed"]
    );
}
