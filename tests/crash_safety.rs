//! A render killed at any moment: the real binary is aborted (as by SIGKILL: no cleanup)
//! just before each change its transaction makes to the disk in turn (every second or
//! third one, as its changes repeat per file), through the
//! `DPATTERNS_TEST_KILL_AT` hook of debug builds. After every kill, each visible file is
//! either as before or as after (never half written), the next `render` succeeds and leaves
//! exactly the tree a render without a kill leaves (so no cut-short file is kept as an
//! edit, and no hidden file is left behind), and `render --check` then passes.
//! `DPATTERNS_TEST_FAIL_AT` does the same with a failure the command sees (a full disk):
//! the folder must then be exactly as before.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

mod common;
use common::SPEC;

/// The spec with a second component (new files, updated shared files) and one more
/// replica (an updated manifest).
fn spec_with_web() -> String {
    common::spec_with_web().replace("replicas: 2", "replicas: 3")
}

/// Every file under `dir` with its bytes, hidden ones included.
fn tree(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_path_buf();
            (rel, fs::read(e.path()).unwrap())
        })
        .collect()
}

fn write_tree(dir: &Path, files: &BTreeMap<PathBuf, Vec<u8>>) {
    for (rel, bytes) in files {
        let path = dir.join(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, bytes).unwrap();
    }
}

fn is_hidden_by_dpatterns(rel: &Path) -> bool {
    rel.file_name()
        .is_some_and(|n| n.to_string_lossy().contains(".dpatterns-"))
}

fn dpatterns(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("dpatterns").expect("the binary is built");
    cmd.current_dir(dir)
        .env_remove("DPATTERNS_TEST_KILL_AT")
        .env_remove("DPATTERNS_TEST_FAIL_AT");
    cmd
}

/// The tree before (`start`, the spec of `spec` already in it) and the tree a render of
/// that spec leaves without any kill.
fn before_and_after(
    start: &BTreeMap<PathBuf, Vec<u8>>,
) -> (BTreeMap<PathBuf, Vec<u8>>, BTreeMap<PathBuf, Vec<u8>>) {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), start);
    dpatterns(dir.path()).arg("render").assert().success();
    (start.clone(), tree(dir.path()))
}

/// Kills a render of `start` at every `stride`-th change and checks what the next commands
/// find; returns how many changes there were. The kill points are tried a batch at a
/// time, one thread each.
fn kill_at_every_point(start: &BTreeMap<PathBuf, Vec<u8>>, stride: usize) -> usize {
    let (before, after) = before_and_after(start);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8));
    for batch in (1..).step_by(threads * stride) {
        let finished: Vec<bool> = std::thread::scope(|scope| {
            let handles: Vec<_> = (batch..batch + threads * stride)
                .step_by(stride)
                .map(|n| {
                    let (before, after) = (&before, &after);
                    scope.spawn(move || kill_at(n, before, after))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        if let Some(i) = finished.iter().position(|done| *done) {
            return batch + i * stride - 1;
        }
    }
    unreachable!("the loop returns once a render is not killed")
}

/// One kill at the `n`-th change; `true` when the render had fewer changes and finished.
fn kill_at(
    n: usize,
    before: &BTreeMap<PathBuf, Vec<u8>>,
    after: &BTreeMap<PathBuf, Vec<u8>>,
) -> bool {
    let dir = tempfile::tempdir().unwrap();
    write_tree(dir.path(), before);
    let killed = dpatterns(dir.path())
        .arg("render")
        .env("DPATTERNS_TEST_KILL_AT", n.to_string())
        .output()
        .unwrap();
    if killed.status.success() {
        assert_eq!(&tree(dir.path()), after, "a render that was not killed");
        return true;
    }
    assert_eq!(killed.status.code(), None, "killed at {n}: {killed:?}");

    for (rel, bytes) in tree(dir.path()) {
        if is_hidden_by_dpatterns(&rel) {
            continue;
        }
        let whole = before.get(&rel) == Some(&bytes) || after.get(&rel) == Some(&bytes);
        assert!(whole, "killed at {n}: {} is half written", rel.display());
    }

    let next = dpatterns(dir.path()).arg("render").output().unwrap();
    assert!(
        next.status.success(),
        "killed at {n}, the next render fails: {}",
        String::from_utf8_lossy(&next.stderr)
    );
    let stdout = String::from_utf8_lossy(&next.stdout);
    assert!(
        !stdout.contains("kept"),
        "killed at {n}, a file is kept as if edited:\n{stdout}"
    );
    assert_eq!(&tree(dir.path()), after, "killed at {n}, then rendered");
    dpatterns(dir.path())
        .args(["render", "--check"])
        .assert()
        .success();
    false
}

#[test]
fn a_fresh_render_killed_at_any_point_is_undone_or_finished_by_the_next() {
    let start = BTreeMap::from([(PathBuf::from("dpatterns.yaml"), SPEC.as_bytes().to_vec())]);
    // Every third change: a fresh render repeats the same four changes per file (create,
    // first half, second half, rename), so a stride of three still lands on each kind.
    let points = kill_at_every_point(&start, 3);
    assert!(points > 50, "only {points} kill points");
}

#[test]
fn an_update_killed_at_any_point_is_undone_or_finished_by_the_next() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), SPEC).unwrap();
    dpatterns(dir.path()).arg("render").assert().success();
    fs::write(dir.path().join("dpatterns.yaml"), spec_with_web()).unwrap();
    // Every other change: an update's changes also repeat per file, in fours or fives.
    let points = kill_at_every_point(&tree(dir.path()), 2);
    assert!(points > 30, "only {points} kill points");
}

#[test]
fn an_update_that_fails_at_any_change_leaves_the_folder_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), SPEC).unwrap();
    dpatterns(dir.path()).arg("render").assert().success();
    fs::write(dir.path().join("dpatterns.yaml"), spec_with_web()).unwrap();
    let (before, after) = before_and_after(&tree(dir.path()));
    // A failed hard link falls back to a copy, and the cleanup after the last rename never
    // fails the render: those points succeed. Past the last change every run succeeds, so
    // a run of successes longer than any cleanup ends the loop.
    let (mut failures, mut successes_in_a_row) = (0, 0);
    for n in 1.. {
        let dir = tempfile::tempdir().unwrap();
        write_tree(dir.path(), &before);
        let failed = dpatterns(dir.path())
            .arg("render")
            .env("DPATTERNS_TEST_FAIL_AT", n.to_string())
            .output()
            .unwrap();
        if failed.status.code() == Some(0) {
            // Every file is in place; a hidden file left by a failed cleanup goes with the
            // next command.
            let visible = |t: BTreeMap<PathBuf, Vec<u8>>| {
                t.into_iter()
                    .filter(|(p, _)| !is_hidden_by_dpatterns(p))
                    .collect::<BTreeMap<_, _>>()
            };
            assert_eq!(visible(tree(dir.path())), visible(after.clone()), "at {n}");
            dpatterns(dir.path()).arg("render").assert().success();
            assert_eq!(tree(dir.path()), after, "failure injected at {n}, absorbed");
            successes_in_a_row += 1;
            if successes_in_a_row > 30 {
                break;
            }
            continue;
        }
        successes_in_a_row = 0;
        failures += 1;
        assert_eq!(failed.status.code(), Some(2), "failed at {n}");
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(
            stderr.contains("failure injected by DPATTERNS_TEST_FAIL_AT"),
            "{stderr}"
        );
        assert_eq!(tree(dir.path()), before, "failed at {n}");
    }
    assert!(failures > 30, "only {failures} failure points");
}

#[test]
fn leftovers_of_an_older_interrupted_render_are_cleaned_up_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("dpatterns.yaml"), SPEC).unwrap();
    dpatterns(root).arg("render").assert().success();
    let after_first = tree(root);
    fs::write(root.join("dpatterns.yaml"), spec_with_web()).unwrap();
    // What a killed render of an older dpatterns (without a journal) left behind.
    fs::write(root.join("services/.Cargo.toml.dpatterns-new"), "half").unwrap();
    fs::write(root.join("k8s/base/.api.yaml.dpatterns-old"), "old").unwrap();
    dpatterns(root).arg("render").assert().success();
    dpatterns(root)
        .args(["render", "--check"])
        .assert()
        .success();
    let hidden: Vec<PathBuf> = tree(root)
        .into_keys()
        .filter(|p| is_hidden_by_dpatterns(p))
        .collect();
    assert!(hidden.is_empty(), "{hidden:?}");
    assert_ne!(tree(root), after_first);
}

#[test]
fn check_reports_an_interrupted_render_as_drift_and_render_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    fs::write(root.join("dpatterns.yaml"), SPEC).unwrap();
    dpatterns(root).arg("render").assert().success();
    fs::write(root.join("dpatterns.yaml"), spec_with_web()).unwrap();
    // Killed just after the commit mark: the next command must finish the render.
    let mut n = 1;
    loop {
        let probe = tempfile::tempdir().unwrap();
        write_tree(probe.path(), &tree(root));
        dpatterns(probe.path())
            .arg("render")
            .env("DPATTERNS_TEST_KILL_AT", n.to_string())
            .output()
            .unwrap();
        let journal = probe.path().join(".dpatterns-journal");
        if fs::read_to_string(&journal).is_ok_and(|j| j.ends_with("commit\n")) {
            let check = dpatterns(probe.path())
                .args(["render", "--check"])
                .output()
                .unwrap();
            assert_eq!(check.status.code(), Some(1));
            let stdout = String::from_utf8_lossy(&check.stdout);
            assert!(
                stdout.contains("drift: a render was interrupted"),
                "{stdout}"
            );
            let next = dpatterns(probe.path()).arg("render").output().unwrap();
            let stdout = String::from_utf8_lossy(&next.stdout);
            assert!(
                stdout.contains(
                    "note: a render was interrupted while it moved files into place; finished it"
                ),
                "{stdout}"
            );
            return;
        }
        n += 1;
        assert!(n < 500, "no kill point leaves a committed journal");
    }
}
