//! `dpatterns lint`: for every rule a spec that triggers it (with the exact message and its
//! place) and one that does not; silencing with and without a reason; the exit codes; the
//! JSON shape; the SARIF output valid against the OASIS SARIF 2.1.0 schema vendored in
//! `tests/fixtures/sarif/`; and the catalog's examples (clean, or silenced with a reason).

use std::path::Path;

use assert_cmd::Command;
use dpatterns::Catalog;
use dpatterns::lint::{self, Report};
use dpatterns::source::SourceFile;
use dpatterns::{pipeline, spec};
use serde_json::Value;

const HEAD: &str =
    "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: shop\nspec:\n  components:\n";

fn report(components: &str) -> Report {
    report_with(
        &Catalog::load(None).expect("the embedded catalog loads"),
        components,
    )
}

fn report_with(catalog: &Catalog, components: &str) -> Report {
    let text = format!("{HEAD}{components}");
    let spec = spec::parse(SourceFile::new("dpatterns.yaml", text)).expect("the spec decodes");
    let rendered = pipeline::run(&spec, catalog).expect("the spec renders");
    lint::lint(&spec, catalog, &rendered)
}

/// The fix the first finding of a rule proposes.
fn fix_of<'r>(report: &'r Report, rule: &str) -> &'r str {
    &report
        .findings
        .iter()
        .find(|f| f.rule.id == rule)
        .unwrap_or_else(|| panic!("no {rule} finding"))
        .fix
}

/// The findings of one rule as `line:col message`.
fn of(report: &Report, rule: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|f| f.rule.id == rule)
        .map(|f| format!("{}:{} {}", f.at.line, f.at.column, f.message()))
        .collect()
}

fn service(name: &str, params: &str) -> String {
    format!("    - name: {name}\n      pattern: replicated-service\n      params: {{{params}}}\n")
}

fn chain(inner_params: &str) -> String {
    [
        service("a", "calls: b"),
        service("b", &format!("calls: c, {inner_params}")),
        service("c", &format!("calls: d, {inner_params}")),
        service("d", "replicas: 2"),
    ]
    .concat()
}

#[test]
fn retries_multiplying_along_a_path_are_reported_with_the_path_and_factor() {
    let r = report(&chain("replicas: 2"));
    assert_eq!(
        of(&r, "DDS101"),
        [
            "9:23 retries multiply along `a` → `b` → `c` → `d`: one request to `a` may reach `d` 27 times (3 × 3 × 3 attempts)"
        ]
    );
    assert_eq!(
        fix_of(&r, "DDS101"),
        "retry at one layer: set `callAttempts: 1` on `b` and `c`, so only `a` retries"
    );
}

#[test]
fn a_function_in_front_never_retries_so_the_first_service_keeps_its_attempts() {
    let function = "    - name: hook\n      pattern: function\n      params: {decorates: a}\n";
    let r = report(&format!("{function}{}", chain("replicas: 2")));
    assert_eq!(
        of(&r, "DDS101"),
        [
            "9:27 retries multiply along `hook` → `a` → `b` → `c` → `d`: one request to `hook` may reach `d` 27 times (1 × 3 × 3 × 3 attempts)"
        ]
    );
    assert_eq!(
        fix_of(&r, "DDS101"),
        "retry at one layer: set `callAttempts: 1` on `b` and `c`, so only `a` retries"
    );
}

#[test]
fn retries_at_one_layer_do_not_multiply() {
    let r = report(&chain("replicas: 2, callAttempts: 1"));
    assert_eq!(of(&r, "DDS101"), Vec::<String>::new());
}

#[test]
fn a_caller_giving_up_before_its_callee_is_reported_at_the_call() {
    let r = report(
        &[
            service("a", "calls: b"),
            service("b", "calls: c"),
            service("c", ""),
        ]
        .concat(),
    );
    assert_eq!(
        of(&r, "DDS102"),
        [
            "9:23 `a` gives up on an attempt to call `b` after 2000 ms, but `b` may spend 5000 ms on its own call to `c`: it goes on working for a caller that has left"
        ]
    );
}

#[test]
fn timeouts_that_shrink_from_caller_to_callee_pass() {
    let r = report(
        &[
            service(
                "a",
                "calls: b, callAttemptTimeoutMs: 3000, callDeadlineMs: 6000",
            ),
            service(
                "b",
                "calls: c, callAttemptTimeoutMs: 1000, callDeadlineMs: 2500",
            ),
            service("c", ""),
        ]
        .concat(),
    );
    assert_eq!(of(&r, "DDS102"), Vec::<String>::new());
}

#[test]
fn a_caller_run_from_an_image_is_noted() {
    let caller = "    - name: a\n      pattern: replicated-service\n      image: ghcr.io/acme/a:1.0.0\n      params: {calls: b}\n";
    let r = report(&[caller.to_string(), service("b", "")].concat());
    assert_eq!(
        of(&r, "DDS103"),
        [
            "10:23 `a` runs the image `ghcr.io/acme/a:1.0.0` and calls `b`: dpatterns cannot tell whether its retries back off with jitter and stay within a retry budget"
        ]
    );
    let generated = report(&[service("a", "calls: b"), service("b", "")].concat());
    assert_eq!(of(&generated, "DDS103"), Vec::<String>::new());
}

#[test]
fn a_callee_with_one_replica_is_reported_from_the_rendered_objects() {
    let r = report(
        &[
            service("a", "calls: b"),
            service("b", "replicas: 1, maxReplicas: 1"),
        ]
        .concat(),
    );
    assert_eq!(
        of(&r, "DDS104"),
        [
            "12:26 `b` is called by `a` but runs 1 replica: a crash, a rollout or a node drain stops its callers too"
        ]
    );
    let two = report(&[service("a", "calls: b"), service("b", "replicas: 2")].concat());
    assert_eq!(of(&two, "DDS104"), Vec::<String>::new());
}

#[test]
fn a_cache_the_replicas_could_not_do_without_is_reported() {
    let r = report(&service(
        "api",
        "cache: true, cacheReplicas: 1, replicas: 3, maxReplicas: 3",
    ));
    assert_eq!(
        of(&r, "DDS105"),
        [
            "9:23 when the cache tier of `api` is lost, every request it answered reaches the 3 replicas, which can neither grow (maxReplicas 3) nor shed load (no rateLimit)",
            "9:44 the cache tier of `api` runs 1 replica: every node drain or crash loses the whole cache at once",
        ]
    );
    let absorbed = report(&service(
        "api",
        "cache: true, replicas: 3, maxReplicas: 3, rateLimit: 50",
    ));
    assert_eq!(of(&absorbed, "DDS105"), Vec::<String>::new());
    let grows = report(&service("api", "cache: true"));
    assert_eq!(of(&grows, "DDS105"), Vec::<String>::new());
}

fn queue(params: &str) -> String {
    format!("    - name: jobs\n      pattern: work-queue\n      params: {{{params}}}\n")
}

#[test]
fn bulk_deletions_faster_than_one_a_second_are_an_error() {
    let r = report(&queue("maxDeletionsPerCycle: 100, pollSeconds: 10"));
    assert_eq!(
        of(&r, "DDS106"),
        [
            "9:38 the manager of `jobs` may delete 100 Jobs and ConfigMaps every 10 s: a source that loses items by mistake has their records wiped faster than anyone can react"
        ]
    );
    assert_eq!(r.exit_code(), 1);
    let slow = report(&queue("maxDeletionsPerCycle: 10, pollSeconds: 10"));
    assert_eq!(of(&slow, "DDS106"), Vec::<String>::new());
    assert_eq!(slow.exit_code(), 0);
}

#[test]
fn a_queue_without_an_age_limit_is_noted() {
    let r = report(&queue(""));
    assert_eq!(
        of(&r, "DDS107"),
        [
            "7:13 `jobs` hands every item to its handler however long it waited: after an outage the backlog is worked oldest first, long after anyone wants the answers"
        ]
    );
    let service_only = report(&service("api", ""));
    assert_eq!(of(&service_only, "DDS107"), Vec::<String>::new());
}

#[test]
fn an_entry_point_without_an_absence_alert_is_noted_and_callees_are_not() {
    let r = report(&[service("a", "calls: b"), service("b", "")].concat());
    assert_eq!(
        of(&r, "DDS108"),
        [
            "7:13 nothing alerts when `a` receives no traffic at all: an outage in front of it (DNS, ingress, a client's bug) looks like a quiet day"
        ]
    );
    let batch = report("    - name: census\n      pattern: coordinated-batch\n");
    assert_eq!(of(&batch, "DDS108"), Vec::<String>::new());
    let watched = report(&format!(
        "{}    - name: watch\n      pattern: monitoring\n",
        service("a", "")
    ));
    assert_eq!(of(&watched, "DDS108"), Vec::<String>::new());
}

#[test]
fn an_ignore_with_a_reason_silences_and_an_unused_one_is_reported() {
    let r = report(&format!(
        "{}  lint:\n    ignore:\n      - {{rule: DDS108, component: api, reason: \"the ingress alerts on silence\"}}\n      - {{rule: DDS104, component: api, reason: \"stale\"}}\n",
        service("api", "")
    ));
    assert_eq!(of(&r, "DDS108"), Vec::<String>::new());
    assert_eq!(r.silenced.len(), 1);
    assert_eq!(r.silenced[0].reason, "the ingress alerts on silence");
    assert_eq!(
        of(&r, "DDS100"),
        ["13:16 this ignore of DDS104 for `api` silences nothing"]
    );
}

fn write_spec(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dpatterns.yaml"), text).unwrap();
    dir
}

fn dpatterns(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("dpatterns")
        .unwrap()
        .current_dir(dir)
        .args(args)
        .args(["--color", "never"])
        .output()
        .unwrap()
}

#[test]
fn an_ignore_without_a_reason_is_a_located_spec_error() {
    let dir = write_spec(&format!(
        "{HEAD}{}  lint:\n    ignore:\n      - {{rule: DDS108, component: apj, reason: \" \"}}\n",
        service("api", "")
    ));
    let out = dpatterns(dir.path(), &["lint"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`apj` is not a component of this spec"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `api`?"), "{stderr}");
    assert!(stderr.contains("an ignore needs a reason"), "{stderr}");
    assert!(stderr.contains("[dpatterns.yaml:12:35]"), "{stderr}");
    assert!(stderr.contains("[dpatterns.yaml:12:48]"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn lint_exits_1_on_an_error_0_on_warnings_and_2_on_a_bad_spec() {
    let error = write_spec(&format!("{HEAD}{}", queue("maxDeletionsPerCycle: 100")));
    assert_eq!(dpatterns(error.path(), &["lint"]).status.code(), Some(1));
    let notes = write_spec(&format!("{HEAD}{}", queue("")));
    let out = dpatterns(notes.path(), &["lint"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .ends_with("dpatterns.yaml: 0 errors, 0 warnings, 1 note\n")
    );
    let bad = write_spec(&format!("{HEAD}    - name: x\n      pattern: nope\n"));
    assert_eq!(dpatterns(bad.path(), &["lint"]).status.code(), Some(2));
}

#[test]
fn validate_prints_the_findings_as_warnings_without_changing_its_verdict() {
    let dir = write_spec(&format!("{HEAD}{}", queue("maxDeletionsPerCycle: 100")));
    let out = dpatterns(dir.path(), &["validate"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "warning: dpatterns.yaml:9:38: [DDS106] the manager of `jobs` may delete 100 Jobs"
        ),
        "{stderr}"
    );
}

#[test]
fn the_json_report_has_its_documented_shape() {
    let dir = write_spec(&format!("{HEAD}{}", queue("maxDeletionsPerCycle: 100")));
    let out = dpatterns(dir.path(), &["lint", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["ok"], false);
    assert_eq!(json["counts"]["error"], 1);
    assert_eq!(json["counts"]["note"], 1);
    let first = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "DDS106")
        .unwrap();
    assert_eq!(first["rule"], "DDS106");
    assert_eq!(first["name"], "bulk-deletion");
    assert_eq!(first["severity"], "error");
    assert_eq!(first["component"], "jobs");
    assert_eq!(first["section"], "Oops, We \"Cleaned Up\" Everything");
    assert_eq!(
        (first["line"].as_u64(), first["column"].as_u64()),
        (Some(9), Some(38))
    );
    assert_eq!(
        first["fix"],
        "delete at most one record a second: `maxDeletionsPerCycle` at most `pollSeconds` (10)"
    );
}

#[test]
fn the_sarif_output_is_valid_sarif_2_1_0() {
    let schema_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the SARIF schema compiles");
    let dir = write_spec(&format!(
        "{HEAD}{}{}  lint:\n    ignore:\n      - {{rule: DDS107, reason: \"the work never goes stale\"}}\n",
        queue("maxDeletionsPerCycle: 100"),
        service("api", "calls: other"),
    ).replace("calls: other", "replicas: 2"));
    let out = dpatterns(dir.path(), &["lint", "--format", "sarif"]);
    assert_eq!(out.status.code(), Some(1));
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The validator must be able to fail: a result without its message is not SARIF.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]
        .as_object_mut()
        .unwrap()
        .remove("message");
    assert!(!validator.is_valid(&broken));

    let run = &sarif["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "dpatterns");
    assert_eq!(
        run["tool"]["driver"]["rules"][6]["helpUri"],
        "https://github.com/dpatterns/dpatterns/blob/main/docs/lint.md#dds106"
    );
    let results = run["results"].as_array().unwrap();
    let deletion = results.iter().find(|r| r["ruleId"] == "DDS106").unwrap();
    assert_eq!(deletion["level"], "error");
    let location = &deletion["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "dpatterns.yaml");
    assert_eq!(location["region"]["startLine"], 9);
    assert_eq!(location["region"]["startColumn"], 38);
    let silenced = results.iter().find(|r| r["ruleId"] == "DDS107").unwrap();
    assert_eq!(silenced["suppressions"][0]["kind"], "inSource");
    assert_eq!(
        silenced["suppressions"][0]["justification"],
        "the work never goes stale"
    );
}

#[test]
fn the_catalog_examples_are_clean_or_silenced_with_a_reason() {
    let catalog = Catalog::load(None).unwrap();
    let mut unclean = Vec::new();
    for id in catalog.pattern_ids() {
        let Some(example) = catalog.example(id) else {
            continue;
        };
        let spec = spec::parse(SourceFile::new(format!("{id}/example.yaml"), example)).unwrap();
        let rendered = pipeline::run(&spec, &catalog).unwrap();
        let r = lint::lint(&spec, &catalog, &rendered);
        unclean.extend(r.findings.iter().map(|f| f.one_line()));
        assert!(r.silenced.iter().all(|s| !s.reason.trim().is_empty()));
    }
    assert!(
        unclean.is_empty(),
        "fix each finding in the example, or silence it under spec.lint.ignore with a reason (docs/lint.md): {unclean:#?}"
    );
}

#[test]
fn every_fixture_spec_lints_the_same_twice() {
    let catalog = Catalog::load(None).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/specs");
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    paths.sort();
    assert!(paths.len() >= 5);
    for path in paths {
        let once = dpatterns::commands::lint_spec(&path, &catalog).unwrap();
        let twice = dpatterns::commands::lint_spec(&path, &catalog).unwrap();
        assert_eq!(once.to_json(), twice.to_json(), "{}", path.display());
    }
}

/// The generated CI workflow runs `dpatterns lint` and fails on an error: a project made
/// by `new` from any pattern's defaults must pass it on its first run.
#[test]
fn a_new_project_of_every_pattern_passes_the_lint_its_ci_runs() {
    let catalog = Catalog::load(None).unwrap();
    for id in catalog.pattern_ids() {
        if catalog.pattern(id).is_some_and(|p| p.attachable) {
            continue;
        }
        let dir = tempfile::tempdir().unwrap();
        let project = dir.path().join("p");
        let made = Command::cargo_bin("dpatterns")
            .unwrap()
            .args([
                "new",
                project.to_str().unwrap(),
                "--pattern",
                id,
                "--yes",
                "-q",
            ])
            .output()
            .unwrap();
        assert!(made.status.success(), "{id}: {made:?}");
        let out = dpatterns(&project, &["lint"]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{id}: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn docs_lint_md_describes_every_rule_with_its_name_severity_and_section() {
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lint.md"))
        .unwrap();
    for rule in lint::RULES {
        let row = format!(
            "| [{}](#{}) | {} | {} | {} |",
            rule.id,
            rule.id.to_lowercase(),
            rule.name,
            rule.severity,
            rule.section
        );
        assert!(docs.contains(&row), "docs/lint.md lacks the row `{row}`");
        assert!(
            docs.contains(&format!(
                "### {}\n\n**{}** ({}",
                rule.id, rule.name, rule.severity
            )),
            "docs/lint.md lacks the section of {}",
            rule.id
        );
    }
}
