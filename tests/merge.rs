//! Updating a project the user has edited: a scaffolded file the user changed is merged
//! three ways (the base dpatterns last rendered, the user's file, the new render) when the
//! spec or the templates change. Clean merges are written; conflicts are written with
//! markers, listed, and make `render` exit 1; `render --check` reports a pending merge.

use std::fs;
use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;

mod common;
use common::{SPEC, spec_with_web};

fn dpatterns(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dpatterns").expect("the binary is built");
    cmd.current_dir(dir)
        .env_remove("DPATTERNS_TEST_KILL_AT")
        .env_remove("DPATTERNS_TEST_FAIL_AT");
    cmd
}

/// A rendered one-component project.
fn rendered() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), SPEC).unwrap();
    dpatterns(dir.path()).arg("render").assert().success();
    dir
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(text.contains(from), "{from} not in {}", path.display());
    fs::write(path, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn a_dependency_the_user_added_survives_a_new_component() {
    let p = rendered();
    let cargo = p.path().join("services/Cargo.toml");
    edit(
        &cargo,
        "serde_json = \"1\"\n",
        "serde_json = \"1\"\nregex = \"1\"\n",
    );
    fs::write(p.path().join("dpatterns.yaml"), spec_with_web()).unwrap();

    dpatterns(p.path())
        .args(["render", "--check"])
        .assert()
        .code(1)
        .stdout(contains(
            "drift: services/Cargo.toml would be merged with your edits",
        ));
    dpatterns(p.path())
        .arg("render")
        .assert()
        .success()
        .stdout(contains(
            "merge      services/Cargo.toml  (your edits merged with the new render)",
        ))
        .stdout(contains("create     services/web/Cargo.toml"));
    let merged = fs::read_to_string(&cargo).unwrap();
    assert!(merged.contains("regex = \"1\"\n"), "{merged}");
    assert!(merged.contains("\"web\""), "{merged}");
    assert!(!merged.contains("<<<<<<<"), "{merged}");

    dpatterns(p.path())
        .args(["render", "--check"])
        .assert()
        .success();
    // The merge is stable: the next render keeps the merged file as the user's.
    dpatterns(p.path())
        .arg("render")
        .assert()
        .success()
        .stdout(contains("kept       services/Cargo.toml"));
    assert_eq!(fs::read_to_string(&cargo).unwrap(), merged);
}

#[test]
fn an_edit_of_the_lines_upstream_changes_is_a_listed_conflict_and_exit_1() {
    let p = rendered();
    let cargo = p.path().join("services/Cargo.toml");
    edit(
        &cargo,
        "members = [\"common\", \"api\"]",
        "members = [\"common\", \"api\", \"tools\"]",
    );
    fs::write(p.path().join("dpatterns.yaml"), spec_with_web()).unwrap();
    dpatterns(p.path())
        .arg("render")
        .assert()
        .code(1)
        .stdout(contains("conflict   services/Cargo.toml"))
        .stdout(contains("1 file has merge conflicts"));
    let text = fs::read_to_string(&cargo).unwrap();
    for marker in [
        "<<<<<<< your edits\nmembers = [\"common\", \"api\", \"tools\"]\n",
        "||||||| last render\nmembers = [\"common\", \"api\"]\n",
        ">>>>>>> new render\n",
    ] {
        assert!(text.contains(marker), "{marker} missing in\n{text}");
    }
    // Everything else of the render landed.
    assert!(p.path().join("k8s/base/web.yaml").is_file());
}

#[test]
fn a_template_change_upstream_is_merged_into_an_edited_file() {
    let p = rendered();
    let readme = p.path().join("README.md");
    let mut text = fs::read_to_string(&readme).unwrap();
    text.push_str("\n## Our notes\n\nOn call: the platform team.\n");
    fs::write(&readme, &text).unwrap();
    // A new version of the templates: a catalog whose README template changed.
    let catalog = tempfile::tempdir().unwrap();
    dpatterns(catalog.path())
        .args(["eject", "_common", "."])
        .assert()
        .success();
    edit(
        &catalog.path().join("_common/project/README.md.hbs"),
        "# {{system.name}}\n",
        "# {{system.name}}\n\nA system of the dpatterns catalog.\n",
    );
    dpatterns(p.path())
        .arg("--templates")
        .arg(catalog.path())
        .arg("render")
        .assert()
        .success()
        .stdout(contains("merge      README.md"));
    let merged = fs::read_to_string(&readme).unwrap();
    assert!(
        merged.contains("A system of the dpatterns catalog."),
        "{merged}"
    );
    assert!(merged.contains("On call: the platform team."), "{merged}");
}

#[test]
fn the_merge_bases_are_kept_for_scaffolded_files_only_and_never_listed() {
    let p = rendered();
    let bases = p.path().join(".dpatterns/base");
    assert!(bases.join("services/Cargo.toml").is_file());
    assert!(bases.join("README.md").is_file());
    assert!(!bases.join("k8s/base/api.yaml").exists());
    let lock = fs::read_to_string(p.path().join("dpatterns.lock")).unwrap();
    assert!(!lock.contains(".dpatterns/"), "{lock}");
    // A component removed: its crate stays (orphaned), and so does nothing else's base.
    fs::write(p.path().join("dpatterns.yaml"), spec_with_web()).unwrap();
    dpatterns(p.path()).arg("render").assert().success();
    assert!(bases.join("services/web/Cargo.toml").is_file());
    fs::write(
        p.path().join("dpatterns.yaml"),
        SPEC.replace("name: api", "name: web"),
    )
    .unwrap();
    dpatterns(p.path())
        .arg("render")
        .assert()
        .success()
        .stdout(contains("orphaned   services/api/Cargo.toml"));
    assert!(!bases.join("services/api/Cargo.toml").exists());
}
