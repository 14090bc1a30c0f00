//! Specs no one should write, through the real binary: files too large to be a spec,
//! things that are not files (FIFOs, devices behind symlinks), and very large specs with
//! thousands of errors. Each is answered at once with exit 2 and a message naming the
//! problem. (Cases whose input fits in `tests/cmd/` live there.)

use std::fs;

use assert_cmd::Command;

fn dpatterns() -> Command {
    Command::cargo_bin("dpatterns").expect("the binary is built")
}

fn stderr_of(dir: &std::path::Path, args: &[&str]) -> String {
    let out = dpatterns()
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_spec_over_one_mebibyte_is_refused_with_the_limit_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = "# padding\n".repeat(104_858);
    text.push_str("apiVersion: dpatterns/v1alpha1\n");
    assert!(text.len() > 1024 * 1024);
    fs::write(dir.path().join("dpatterns.yaml"), text).unwrap();
    assert_eq!(
        stderr_of(dir.path(), &["validate"]),
        "  x cannot read dpatterns.yaml: it is larger than 1 MiB, the most a spec may be\n  \
         help: check that this is a spec; even thousands of components fit in far less\n"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_urandom_is_refused_without_reading_it() {
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/urandom", dir.path().join("dpatterns.yaml")).unwrap();
    assert_eq!(
        stderr_of(dir.path(), &["render", "-o", "out"]),
        "  x cannot read dpatterns.yaml: it is a character device, not a regular file\n  \
         help: give the path of a spec file; a spec is read only from a regular file\n"
    );
    assert!(!dir.path().join("out").exists());
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_instead_of_waiting_for_a_writer() {
    let dir = tempfile::tempdir().unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(dir.path().join("dpatterns.yaml"))
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let out = dpatterns()
        .current_dir(dir.path())
        .env("NO_COLOR", "1")
        .arg("validate")
        .timeout(std::time::Duration::from_secs(30))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "  x cannot read dpatterns.yaml: it is a named pipe (FIFO), not a regular file\n  \
         help: give the path of a spec file; a spec is read only from a regular file\n"
    );
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn thousands_of_errors_print_the_first_fifty_and_count_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: big\nspec:\n  components:\n",
    );
    for i in 0..5000 {
        text.push_str(&format!(
            "    - name: c{i}\n      pattern: replicated-servce\n"
        ));
    }
    fs::write(dir.path().join("dpatterns.yaml"), &text).unwrap();
    let stderr = stderr_of(dir.path(), &["validate"]);
    assert_eq!(
        stderr
            .matches("  x unknown pattern `replicated-servce`")
            .count(),
        50
    );
    assert!(stderr.ends_with(
        "… and 4950 more errors (`--format json` lists every one)\nerror: 5000 errors in the spec\n"
    ), "{}", &stderr[stderr.len() - 300..]);

    let out = dpatterns()
        .current_dir(dir.path())
        .args(["validate", "--format", "json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["errors"].as_array().unwrap().len(), 5000);
    assert_eq!(json["errors"][4999]["line"], 5000 * 2 + 6);
}
