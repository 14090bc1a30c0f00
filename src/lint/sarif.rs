//! The lint's findings as SARIF 2.1.0, the format code-scanning views read (GitHub's
//! `upload-sarif`). One run; the tool's driver lists every rule with its book section and
//! its docs (`helpUri`); each result names its rule, level, message with the fix, and the
//! spec's line and column, the file as the command was given it (the generated CI
//! workflow runs from the project's root, so that is the path in the repository). A
//! silenced finding is a result with an `inSource` suppression carrying its reason.
//! `tests/lint.rs` validates the output against the OASIS schema.

use serde_json::{Value, json};

use super::rules::{RULES, Rule, Severity};
use super::{Located, Report, docs_url};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

fn rule_descriptor(rule: &Rule) -> Value {
    json!({
        "id": rule.id,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": format!(
            "{} (Designing Distributed Systems, 2nd ed., ch. 16, “{}”)",
            rule.summary, rule.section
        )},
        "helpUri": docs_url(rule),
        "defaultConfiguration": {"level": level(rule.severity)},
        "properties": {"section": rule.section},
    })
}

/// A file path as a relative URI reference: `/` between segments, and every byte outside
/// the unreserved characters percent-encoded. An absolute path becomes a `file:` URI.
pub fn uri(path: &str) -> String {
    let path = path.replace('\\', "/");
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(char::from(b));
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    let out = out.strip_prefix("./").map(str::to_string).unwrap_or(out);
    if out.starts_with('/') {
        format!("file://{out}")
    } else {
        out
    }
}

fn result(finding: &Located, reason: Option<&str>) -> Value {
    let index = RULES
        .iter()
        .position(|r| r.id == finding.rule.id)
        .expect("a rule of the table");
    let mut result = json!({
        "ruleId": finding.rule.id,
        "ruleIndex": index,
        "level": level(finding.severity()),
        "message": {"text": format!("{} Fix: {}", finding.message(), finding.fix)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": uri(finding.file())},
                "region": {"startLine": finding.at.line, "startColumn": finding.at.column},
            }
        }],
    });
    if let Some(component) = &finding.component {
        result["properties"] = json!({"component": component});
    }
    if let Some(reason) = reason {
        result["suppressions"] = json!([{"kind": "inSource", "justification": reason}]);
    }
    result
}

/// The SARIF log of a report.
pub fn log(report: &Report) -> Value {
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|f| result(f, None))
        .chain(
            report
                .silenced
                .iter()
                .map(|s| result(&s.finding, Some(&s.reason))),
        )
        .collect();
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": crate::TOOL_NAME,
                "version": crate::TOOL_VERSION,
                "informationUri": super::DOCS,
                "rules": RULES.iter().map(rule_descriptor).collect::<Vec<_>>(),
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::uri;

    #[test]
    fn paths_become_relative_uri_references() {
        assert_eq!(uri("dpatterns.yaml"), "dpatterns.yaml");
        assert_eq!(uri("./demo/dpatterns.yaml"), "demo/dpatterns.yaml");
        assert_eq!(uri("my specs/a#b.yaml"), "my%20specs/a%23b.yaml");
        assert_eq!(uri("/srv/p/dpatterns.yaml"), "file:///srv/p/dpatterns.yaml");
    }
}
