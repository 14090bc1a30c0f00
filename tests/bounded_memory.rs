//! Hostile specs and lock files, each run through the real binary under an address-space
//! limit (`ulimit -v`, so the operating system, not the test, enforces the bound): an alias
//! expansion made wide or deep, a mebibyte of nesting, a mebibyte-long flat list, and a lock
//! that is a link to `/dev/zero`. Each must end with exit 2 and a message naming the
//! problem; before the limits existed the first of them was killed at 6 GB.
#![cfg(unix)]

use std::fs;
use std::path::Path;
use std::process::Command;

/// Address space the binary may map, in KiB: far above what a real spec needs (a debug
/// build with its threads' arenas and stacks maps about 200 MiB), far below what an
/// unbounded expansion takes.
const LIMIT_KIB: u64 = 768 * 1024;

const HEAD: &str = "apiVersion: dpatterns/v1alpha1
kind: System
metadata:
  name: demo
spec:
  components:
    - name: api
      pattern: replicated-service
      image: nginx:1.27
      params:
";

/// Runs `dpatterns ARGS` in `dir` under the limit; returns its exit code and stderr.
fn run_bounded(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let bin = assert_cmd::cargo::cargo_bin("dpatterns");
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {LIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(bin)
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("sh runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn refused_within_the_limit(spec: &str, expected: &str) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("dpatterns.yaml"), spec).unwrap();
    let (code, stderr) = run_bounded(dir.path(), &["validate"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(expected), "{stderr}");
}

#[test]
fn a_wide_alias_expansion_is_refused_in_bounded_memory() {
    let mut spec = HEAD.to_string();
    spec.push_str("        l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        let items = vec![format!("*l{p}"); 10].join(", ");
        spec.push_str(&format!("        l{i}: &l{i} [{items}]\n"));
    }
    refused_within_the_limit(&spec, "the spec holds more than 250000 values");
}

#[test]
fn a_deep_alias_expansion_is_refused_in_bounded_memory() {
    // Each anchor names a mapping holding two aliases of the one before: 2^40 values.
    let mut spec = HEAD.to_string();
    spec.push_str("        d0: &d0 {x: lol}\n");
    for i in 1..40 {
        let p = i - 1;
        spec.push_str(&format!("        d{i}: &d{i} {{a: *d{p}, b: *d{p}}}\n"));
    }
    refused_within_the_limit(&spec, "the spec holds more than 250000 values");
}

#[test]
fn a_mebibyte_of_nesting_is_refused_in_bounded_memory() {
    let mut spec = String::from("apiVersion: ");
    spec.push_str(&"[".repeat(1024 * 1024 - 64));
    refused_within_the_limit(&spec, "nested");
}

#[test]
fn a_mebibyte_long_flat_list_is_refused_in_bounded_memory() {
    let mut spec = HEAD.to_string();
    spec.push_str("        many: [");
    spec.push_str(&"1,".repeat(500_000));
    spec.push_str("1]\n");
    assert!(spec.len() < 1024 * 1024);
    refused_within_the_limit(&spec, "the spec holds more than 250000 values");
}

#[test]
fn a_lock_linked_to_dev_zero_is_refused_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let spec = format!("{HEAD}        replicas: 2\n");
    fs::write(dir.path().join("dpatterns.yaml"), spec).unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.path().join("dpatterns.lock")).unwrap();
    let (code, stderr) = run_bounded(dir.path(), &["render"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("dpatterns.lock"), "{stderr}");
}
