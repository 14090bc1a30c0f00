//! Defects new users found (issue 6) that show on disk or in a command's whole output, run
//! through the real binary in temporary folders: names YAML would read as another type,
//! `--set` and prompt answers across `atLeast` parameters, the JSON report's `drift`, and
//! completions of pattern ids. The messages themselves are trycmd cases in `tests/cmd/`.

use std::collections::BTreeMap;
use std::fs;

use assert_cmd::Command;
use dpatterns::Catalog;
use dpatterns::commands::{NewOptions, new_project};
use dpatterns::prompt::Prompter;
use predicates::str::contains;

fn dpatterns() -> Command {
    Command::cargo_bin("dpatterns").expect("the binary is built")
}

#[test]
fn new_with_a_numeric_folder_name_renders_and_quotes_the_name() {
    let dir = tempfile::tempdir().unwrap();
    dpatterns()
        .current_dir(dir.path())
        .args(["new", "123", "--yes"])
        .assert()
        .success();
    let spec = fs::read_to_string(dir.path().join("123/dpatterns.yaml")).unwrap();
    assert!(spec.contains("  name: '123'\n"), "{spec}");
    let system = fs::read_to_string(dir.path().join("123/k8s/base/_system.yaml")).unwrap();
    assert!(system.contains("  name: '123'\n"), "{system}");
}

#[test]
fn a_replicas_answer_above_the_default_ceiling_raises_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    dpatterns()
        .current_dir(dir.path())
        .args(["new", "big50", "--set", "replicas=50", "--yes"])
        .assert()
        .success()
        .stdout(contains(" dpatterns.yaml\n"));
    let spec = fs::read_to_string(dir.path().join("big50/dpatterns.yaml")).unwrap();
    assert!(spec.contains("replicas: 50\n"), "{spec}");
    assert!(spec.contains("maxReplicas: 50\n"), "{spec}");
}

#[test]
fn a_ceiling_left_out_of_the_spec_follows_replicas() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join("dpatterns.yaml"),
        "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  components:\n    - name: api\n      pattern: replicated-service\n      params: {replicas: 40}\n",
    )
    .unwrap();
    dpatterns()
        .current_dir(dir.path())
        .arg("validate")
        .assert()
        .success();
}

/// Answers in order; records the defaults it was offered.
struct Scripted {
    answers: Vec<String>,
    offered: BTreeMap<String, Option<String>>,
    refused: Vec<(String, String)>,
    /// The answer to every yes/no question.
    confirm: bool,
}

impl Prompter for Scripted {
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: &dyn Fn(&str) -> Result<(), String>,
    ) -> dpatterns::Result<String> {
        let key = prompt.split(' ').next().unwrap_or(prompt).to_string();
        self.offered
            .insert(key.clone(), default.map(str::to_string));
        loop {
            let answer = if self.answers.is_empty() {
                default.unwrap_or_default().to_string()
            } else {
                self.answers.remove(0)
            };
            match validate(&answer) {
                Ok(()) => return Ok(answer),
                Err(why) => self.refused.push((key.clone(), why)),
            }
        }
    }

    fn select(&mut self, _: &str, _: &[String], default: usize) -> dpatterns::Result<usize> {
        Ok(default)
    }

    fn confirm(&mut self, _: &str, _: bool) -> dpatterns::Result<bool> {
        Ok(self.confirm)
    }
}

#[test]
fn the_prompt_refuses_a_ceiling_below_replicas_and_offers_replicas_as_its_default() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::load(None).unwrap();
    // System name, component name, replicas, then maxReplicas: 5 (refused), then 30.
    let mut prompter = Scripted {
        answers: ["shop", "api", "30", "5", "30"].map(String::from).to_vec(),
        offered: BTreeMap::new(),
        refused: Vec::new(),
        confirm: false,
    };
    let opts = NewOptions {
        dir: dir.path().join("shop"),
        patterns: vec!["replicated-service".into()],
        ..NewOptions::default()
    };
    let mut out = Vec::new();
    let code = new_project(&opts, &catalog, Some(&mut prompter), &mut out).unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        prompter.refused,
        [(
            "maxReplicas".to_string(),
            "maxReplicas may not be below replicas (30)".to_string()
        )]
    );
    assert_eq!(prompter.offered["maxReplicas"].as_deref(), Some("30"));
}

#[test]
fn the_prompt_asks_a_public_component_for_its_host_and_keeps_the_metrics_port_off_the_app_port() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::load(None).unwrap();
    // replicas, maxReplicas, cpuTarget, port, servicePort, metricsPort (refused, then
    // 9091), then host, and an empty tlsSecret, which leaves it out.
    let answers = [
        "shop",
        "api",
        "3",
        "3",
        "70",
        "9090",
        "80",
        "9090",
        "9091",
        "shop.example.com",
        "",
    ];
    let mut prompter = Scripted {
        answers: answers.map(String::from).to_vec(),
        offered: BTreeMap::new(),
        refused: Vec::new(),
        confirm: true,
    };
    let opts = NewOptions {
        dir: dir.path().join("shop"),
        patterns: vec!["replicated-service".into()],
        ..NewOptions::default()
    };
    let mut out = Vec::new();
    let code = new_project(&opts, &catalog, Some(&mut prompter), &mut out).unwrap();
    assert_eq!(code, 0);
    assert_eq!(
        prompter.refused,
        [(
            "metricsPort".to_string(),
            "metricsPort may not equal port (9090)".to_string()
        )]
    );
    let spec = std::fs::read_to_string(dir.path().join("shop/dpatterns.yaml")).unwrap();
    assert!(spec.contains("host: shop.example.com"), "{spec}");
    assert!(spec.contains("metricsPort: 9091"), "{spec}");
    assert!(!spec.contains("tlsSecret"), "{spec}");
    let manifest = std::fs::read_to_string(dir.path().join("shop/k8s/base/api.yaml")).unwrap();
    assert!(manifest.contains("kind: Ingress"), "{manifest}");
}

#[test]
fn a_component_that_is_not_public_is_not_asked_for_a_host() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = Catalog::load(None).unwrap();
    let mut prompter = Scripted {
        answers: ["shop", "api"].map(String::from).to_vec(),
        offered: BTreeMap::new(),
        refused: Vec::new(),
        confirm: false,
    };
    let opts = NewOptions {
        dir: dir.path().join("shop"),
        patterns: vec!["replicated-service".into()],
        ..NewOptions::default()
    };
    let mut out = Vec::new();
    new_project(&opts, &catalog, Some(&mut prompter), &mut out).unwrap();
    assert!(!prompter.offered.contains_key("host"));
    assert!(!prompter.offered.contains_key("tlsSecret"));
    assert!(prompter.offered.contains_key("metricsPort"));
}

#[test]
fn a_dry_run_that_lists_updates_reports_drift_in_json() {
    let dir = tempfile::tempdir().unwrap();
    dpatterns()
        .current_dir(dir.path())
        .args(["new", "shop", "--yes"])
        .assert()
        .success();
    let spec = dir.path().join("shop/dpatterns.yaml");
    let text = fs::read_to_string(&spec).unwrap();
    fs::write(&spec, text.replace("replicas: 3", "replicas: 4")).unwrap();
    let output = dpatterns()
        .current_dir(dir.path().join("shop"))
        .args(["render", "--dry-run", "--format", "json"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let updates = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["action"] == "update")
        .count();
    assert!(updates > 0, "{report}");
    assert_eq!(report["drift"], true, "{report}");
}

#[test]
fn completions_offer_pattern_ids_after_show_and_eject() {
    let output = dpatterns().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    let script = String::from_utf8(output.stdout).unwrap();
    let show = script
        .split("dpatterns__subcmd__show)")
        .nth(1)
        .expect("a show section");
    let show = &show[..show.find(";;").unwrap_or(show.len())];
    assert!(show.contains("replicated-service"), "{show}");
    let eject = script
        .split("dpatterns__subcmd__eject)")
        .nth(1)
        .expect("an eject section");
    let eject = &eject[..eject.find(";;").unwrap_or(eject.len())];
    assert!(eject.contains("replicated-service"), "{eject}");
    assert!(eject.contains("_common"), "{eject}");
}

#[test]
fn check_says_one_file_differs_in_the_singular() {
    let dir = tempfile::tempdir().unwrap();
    dpatterns()
        .current_dir(dir.path())
        .args(["new", "shop", "--yes"])
        .assert()
        .success();
    let manifest = dir.path().join("shop/k8s/base/kustomization.yaml");
    let text = fs::read_to_string(&manifest).unwrap();
    fs::write(&manifest, format!("{text}# edited\n")).unwrap();
    dpatterns()
        .current_dir(dir.path().join("shop"))
        .args(["render", "--check"])
        .assert()
        .code(1)
        .stdout(contains(
            "1 file in . differs from dpatterns.yaml; run `dpatterns render` and commit the result\n",
        ));
}
