//! Writing only where it may and never losing the user's files: `new` and `eject` refuse
//! symbolic links as `render` does, a failed `new --force` keeps the spec it would have
//! replaced, the lock is trusted only to name files dpatterns writes, and anything but a
//! regular file where a file is read or written is refused by name.

use std::fs;
use std::path::Path;
use std::time::Duration;

use assert_cmd::Command;
use predicates::str::contains;

mod common;
use common::SPEC;

fn dpatterns() -> Command {
    let mut cmd = Command::cargo_bin("dpatterns").expect("the binary is built");
    cmd.env_remove("DPATTERNS_TEST_KILL_AT")
        .env_remove("DPATTERNS_TEST_FAIL_AT")
        .timeout(Duration::from_secs(60));
    cmd
}

fn project(spec: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), spec).unwrap();
    dir
}

fn render(dir: &Path) -> assert_cmd::assert::Assert {
    dpatterns().current_dir(dir).arg("render").assert()
}

fn is_empty(dir: &Path) -> bool {
    fs::read_dir(dir).unwrap().next().is_none()
}

#[cfg(unix)]
#[test]
fn a_failed_new_force_keeps_the_users_spec() {
    let p = project(SPEC);
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path().join("k8s")).unwrap();
    dpatterns()
        .arg("new")
        .arg(p.path())
        .args(["--yes", "--force"])
        .assert()
        .code(2)
        .stderr(contains("is a symbolic link"));
    assert_eq!(
        fs::read_to_string(p.path().join("dpatterns.yaml")).unwrap(),
        SPEC
    );
    assert!(is_empty(outside.path()));
}

#[test]
fn a_new_force_that_fails_part_way_restores_the_spec_it_replaced() {
    // The spec is part of the transaction: a failure at any of its changes (here every
    // seventh, as a full disk would cause) puts the user's spec back.
    for n in (1..1000).step_by(7) {
        let p = project(SPEC);
        let out = dpatterns()
            .arg("new")
            .arg(p.path())
            .args(["--yes", "--force"])
            .env("DPATTERNS_TEST_FAIL_AT", n.to_string())
            .output()
            .unwrap();
        if out.status.code() == Some(0) {
            assert!(n > 50, "only {n} changes");
            return;
        }
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(
            fs::read_to_string(p.path().join("dpatterns.yaml")).unwrap(),
            SPEC,
            "failed at {n}"
        );
        let names: Vec<_> = fs::read_dir(p.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "failed at {n}: {names:?}");
    }
    panic!("new never finished");
}

#[cfg(unix)]
#[test]
fn new_never_writes_its_spec_through_a_symbolic_link() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let dir = root.path().join("proj");
    fs::create_dir(&dir).unwrap();
    let target = outside.path().join("elsewhere.yaml");
    std::os::unix::fs::symlink(&target, dir.join("dpatterns.yaml")).unwrap();
    dpatterns()
        .arg("new")
        .arg(&dir)
        .arg("--yes")
        .assert()
        .code(2);
    assert!(!target.exists());
    fs::write(&target, "theirs\n").unwrap();
    dpatterns()
        .arg("new")
        .arg(&dir)
        .args(["--yes", "--force"])
        .assert()
        .code(2)
        .stderr(contains("dpatterns.yaml is a symbolic link"));
    assert_eq!(fs::read_to_string(&target).unwrap(), "theirs\n");
}

#[test]
fn new_lists_the_spec_it_writes() {
    let root = tempfile::tempdir().unwrap();
    dpatterns()
        .arg("new")
        .arg(root.path().join("shop"))
        .arg("--yes")
        .assert()
        .success()
        .stdout(contains("create     dpatterns.yaml"));
}

#[cfg(unix)]
#[test]
fn eject_never_writes_through_a_symbolic_link() {
    let root = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let templates = root.path().join("templates");
    fs::create_dir(&templates).unwrap();
    std::os::unix::fs::symlink(outside.path(), templates.join("replicated-service")).unwrap();
    dpatterns()
        .current_dir(root.path())
        .args(["eject", "replicated-service", "--force"])
        .assert()
        .code(2)
        .stderr(contains("refusing to write replicated-service/"));
    assert!(is_empty(outside.path()));
    dpatterns()
        .current_dir(root.path())
        .args(["eject", "replicated-service"])
        .assert()
        .code(2)
        .stderr(contains("already exists"))
        .stderr(contains(
            "pass --force to overwrite it, or eject into another folder",
        ));
}

#[test]
fn eject_of_an_unknown_pattern_suggests_the_closest() {
    let root = tempfile::tempdir().unwrap();
    dpatterns()
        .current_dir(root.path())
        .args(["eject", "replicated-servce"])
        .assert()
        .code(2)
        .stderr(contains("unknown pattern `replicated-servce`"))
        .stderr(contains("did you mean `replicated-service`?"));
    assert!(is_empty(root.path()));
}

#[test]
fn a_lock_that_names_the_spec_is_refused_and_the_spec_kept() {
    let p = project(SPEC);
    render(p.path()).success();
    let lock = p.path().join("dpatterns.lock");
    let mut text = fs::read_to_string(&lock).unwrap();
    text.push_str("- path: dpatterns.yaml\n  kind: managed\n  sha256: '00'\n");
    fs::write(&lock, text).unwrap();
    // A render of another spec would delete every file no longer rendered.
    fs::write(
        p.path().join("dpatterns.yaml"),
        SPEC.replace("name: api", "name: web"),
    )
    .unwrap();
    render(p.path())
        .code(2)
        .stderr(contains(
            "dpatterns.lock is not a valid lock file: it names `dpatterns.yaml`, the spec",
        ))
        .stderr(contains("restore it from version control"));
    assert!(p.path().join("dpatterns.yaml").is_file());
    assert!(p.path().join("k8s/base/api.yaml").is_file());
}

#[test]
fn a_lock_entry_naming_a_folder_never_touches_it() {
    let p = project(SPEC);
    render(p.path()).success();
    let lock = p.path().join("dpatterns.lock");
    let mut text = fs::read_to_string(&lock).unwrap();
    text.push_str("- path: services\n  kind: managed\n  sha256: '00'\n");
    fs::write(&lock, text).unwrap();
    render(p.path()).success();
    assert!(p.path().join("services/api/Cargo.toml").is_file());
    let hidden: Vec<_> = fs::read_dir(p.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".dpatterns-"))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn a_managed_file_the_lock_no_longer_matches_is_not_deleted() {
    let p = project(SPEC);
    render(p.path()).success();
    // A file the user put where an old manifest was: the lock's hash is not its hash.
    fs::write(p.path().join("k8s/base/api.yaml"), "# mine now\n").unwrap();
    fs::write(
        p.path().join("dpatterns.yaml"),
        SPEC.replace("name: api", "name: web"),
    )
    .unwrap();
    render(p.path())
        .success()
        .stdout(contains("orphaned   k8s/base/api.yaml"));
    assert_eq!(
        fs::read_to_string(p.path().join("k8s/base/api.yaml")).unwrap(),
        "# mine now\n"
    );
}

#[test]
fn a_corrupted_lock_is_its_own_error_with_its_remedy() {
    let p = project(SPEC);
    render(p.path()).success();
    fs::write(p.path().join("dpatterns.lock"), "files: [[[\n").unwrap();
    render(p.path())
        .code(2)
        .stderr(contains("dpatterns.lock is not a valid lock file"))
        .stderr(contains("delete it and render again"));
}

#[cfg(unix)]
#[test]
fn a_fifo_where_a_file_goes_is_refused_by_name_without_hanging() {
    let p = project(SPEC);
    fs::create_dir_all(p.path().join("k8s/base")).unwrap();
    let fifo = p.path().join("k8s/base/api.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    render(p.path()).code(2).stderr(contains(
        "api.yaml is a named pipe (FIFO), not a regular file",
    ));
    // The lock is read under the same rule.
    fs::remove_file(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(p.path().join("dpatterns.lock"))
        .status()
        .unwrap();
    assert!(made.success());
    render(p.path()).code(2).stderr(contains(
        "dpatterns.lock is a named pipe (FIFO), not a regular file",
    ));
}

#[cfg(unix)]
#[test]
fn a_replaced_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt as _;
    let p = project(SPEC);
    render(p.path()).success();
    let manifest = p.path().join("k8s/base/api.yaml");
    fs::set_permissions(&manifest, fs::Permissions::from_mode(0o600)).unwrap();
    fs::write(
        p.path().join("dpatterns.yaml"),
        SPEC.replace("replicas: 2", "replicas: 3"),
    )
    .unwrap();
    render(p.path())
        .success()
        .stdout(contains("update     k8s/base/api.yaml"));
    let mode = fs::metadata(&manifest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn render_creates_every_missing_folder_of_its_output() {
    let p = project(SPEC);
    dpatterns()
        .current_dir(p.path())
        .args(["render", "-o", "a/b/c"])
        .assert()
        .success();
    assert!(p.path().join("a/b/c/k8s/base/api.yaml").is_file());
    dpatterns()
        .current_dir(p.path())
        .args(["render", "-o", "a/b/c", "--check"])
        .assert()
        .success();
}
