//! The scaffolded CI workflow works on its first run: it installs dpatterns from where
//! `spec.ci.dpatterns` says (the published version by default, or a git repository at a
//! revision) with `--locked`, and a project rendered with its own catalog kept inside it
//! sets `DPATTERNS_TEMPLATES`, so that the workflow's `dpatterns render --check`, run from
//! the project's root as CI runs it, finds the same patterns. A catalog outside the project
//! gets a warning instead. (The workflow itself is linted by actionlint and checkov in
//! `scripts/lint-build-files.sh`.)

use std::fs;
use std::path::Path;

use assert_cmd::Command;

fn dpatterns(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dpatterns").expect("the binary is built");
    cmd.current_dir(dir).env_remove("DPATTERNS_TEMPLATES");
    cmd
}

fn spec(ci: &str) -> String {
    format!(
        "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata: {{name: shop}}\nspec:\n  registry: ghcr.io/acme\n{ci}  components:\n    - {{name: api, pattern: replicated-service}}\n"
    )
}

fn workflow(dir: &Path) -> String {
    fs::read_to_string(dir.join(".github/workflows/ci.yaml")).unwrap()
}

#[test]
fn the_workflow_installs_the_version_that_rendered_with_locked_by_default() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), spec("")).unwrap();
    dpatterns(dir.path()).arg("render").assert().success();
    let ci = workflow(dir.path());
    let version = env!("CARGO_PKG_VERSION");
    assert!(
        ci.contains(&format!(
            "run: cargo install --locked dpatterns --version {version}\n"
        )),
        "{ci}"
    );
    assert!(!ci.contains("DPATTERNS_TEMPLATES:"), "{ci}");
    assert!(ci.contains("run: cargo test --locked --offline\n"), "{ci}");
    assert!(
        ci.contains("cache-to: type=gha,mode=max,scope=${{ matrix.service }}\n"),
        "{ci}"
    );
}

#[test]
fn a_git_source_is_installed_at_its_revision() {
    let dir = tempfile::tempdir().unwrap();
    let ci = "  ci:\n    dpatterns: {git: \"https://github.com/acme/dpatterns\", rev: 3f2c9a1e}\n";
    fs::write(dir.path().join("dpatterns.yaml"), spec(ci)).unwrap();
    dpatterns(dir.path()).arg("render").assert().success();
    assert!(workflow(dir.path()).contains(
        "run: cargo install --locked --git https://github.com/acme/dpatterns --rev 3f2c9a1e dpatterns\n"
    ));
}

/// An ejected catalog inside the project, as a user keeps it in the repository.
fn eject_into(project: &Path, folder: &str) {
    dpatterns(project)
        .args(["eject", "replicated-service", folder])
        .assert()
        .success();
}

#[test]
fn a_catalog_inside_the_project_is_set_for_ci_and_its_check_passes_as_ci_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), spec("")).unwrap();
    eject_into(dir.path(), "catalog");
    dpatterns(dir.path())
        .args(["--templates", "catalog", "render"])
        .assert()
        .success();
    let ci = workflow(dir.path());
    assert!(ci.contains("        env:\n          # The project renders with its own catalog, kept in this repository.\n          DPATTERNS_TEMPLATES: \"catalog\"\n        run: dpatterns render --check\n"), "{ci}");
    // The drift job's step, from the repository's root, with the workflow's environment.
    dpatterns(dir.path())
        .env("DPATTERNS_TEMPLATES", "catalog")
        .args(["render", "--check"])
        .assert()
        .success();
}

#[test]
fn a_catalog_given_from_elsewhere_is_found_relative_to_the_project() {
    let outer = tempfile::tempdir().unwrap();
    let project = outer.path().join("shop");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("dpatterns.yaml"), spec("")).unwrap();
    eject_into(&project, "ops/catalog");
    dpatterns(outer.path())
        .args([
            "--templates",
            "shop/ops/catalog",
            "render",
            "-f",
            "shop/dpatterns.yaml",
        ])
        .assert()
        .success();
    assert!(workflow(&project).contains("DPATTERNS_TEMPLATES: \"ops/catalog\"\n"));
}

#[test]
fn a_catalog_outside_the_project_is_warned_about_and_not_set() {
    let outer = tempfile::tempdir().unwrap();
    let project = outer.path().join("shop");
    fs::create_dir_all(&project).unwrap();
    fs::write(project.join("dpatterns.yaml"), spec("")).unwrap();
    eject_into(outer.path(), "catalog");
    let assert = dpatterns(&project)
        .args(["--templates", "../catalog", "render"])
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("warning: the catalog ../catalog lies outside")
            && stderr.contains("fail with `unknown pattern`"),
        "{stderr}"
    );
    assert!(!workflow(&project).contains("DPATTERNS_TEMPLATES:"));
}

#[test]
fn the_lint_job_alone_may_write_security_events_and_its_sarif_is_produced_as_ci_runs_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), spec("")).unwrap();
    dpatterns(dir.path()).arg("render").assert().success();
    let ci = workflow(dir.path());
    assert!(ci.starts_with("# CI of the shop system"), "{ci}");
    assert!(
        ci.contains("\npermissions:\n  contents: read\n\njobs:\n"),
        "{ci}"
    );
    assert_eq!(ci.matches("security-events: write").count(), 1, "{ci}");
    let job = &ci[ci.find("\n  lint:\n").expect("a lint job")..];
    let job = &job[..job[1..].find("\n  services:").map_or(job.len(), |i| i + 1)];
    assert!(job.contains("      security-events: write\n"), "{job}");
    assert!(
        job.contains("dpatterns lint --format sarif > dpatterns-lint.sarif"),
        "{job}"
    );
    assert!(
        job.contains("uses: github/codeql-action/upload-sarif@v4"),
        "{job}"
    );
    assert!(job.contains("sarif_file: dpatterns-lint.sarif"), "{job}");

    let out = dpatterns(dir.path())
        .args(["lint", "--format", "sarif"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "dpatterns.yaml"
    );
}
