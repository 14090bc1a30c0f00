//! The spec as the user wrote it (architecture §2): decoding, with unknown keys and wrong types
//! reported at their line and column. Meaning (patterns, references, ranges) is checked
//! against the catalog in `resolve`, which builds the `model`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result, SpecError};
use crate::source::SourceFile;
use crate::spec_network::{EgressSpec, IngressSpec, MonitoringSpec};

pub const API_VERSION: &str = "dpatterns/v1alpha1";
pub const KIND: &str = "System";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SpecDoc {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub api_version: String,
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub kind: String,
    pub metadata: Metadata,
    pub spec: SystemSpec,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SystemSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesTarget>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub registry: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<IngressSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monitoring: Option<MonitoringSpec>,
    /// What the generated CI workflow installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiSpec>,
    pub components: Vec<ComponentSpec>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patches: Vec<PatchSpec>,
    /// The environments `k8s/overlays/<name>/` is rendered for; left out, `dev` and `prod`
    /// with no overrides. An environment written with no value (`staging:`) overrides
    /// nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environments: Option<BTreeMap<String, Option<EnvironmentSpec>>>,
    /// How `dpatterns lint` treats this system: findings silenced with a reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lint: Option<LintSpec>,
}

/// `spec.lint`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LintSpec {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore: Vec<LintIgnore>,
}

/// One silenced rule: for one component, or for the whole system when `component` is left
/// out, always with the reason a reviewer reads.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LintIgnore {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub rule: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub component: Option<String>,
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub reason: String,
}

/// What one environment changes from the base: parameters per component and `defaults`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    /// Component name → parameter → value, over the component's own `params`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, BTreeMap<String, Value>>,
    /// Laid over `spec.defaults` field by field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub defaults: Option<Defaults>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KubernetesTarget {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub version: String,
}

/// `spec.ci`: settings of the scaffolded CI workflow.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CiSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dpatterns: Option<DpatternsSource>,
}

/// `spec.ci.dpatterns`: a published `version`, or a `git` repository at a `rev`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DpatternsSource {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub version: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub git: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub rev: Option<String>,
}

/// Knobs applied to every workload by the policy step.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Defaults {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// UID and GID the containers run as (must not be 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum PullPolicy {
    Always,
    IfNotPresent,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<Quantities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<Quantities>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Quantities {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_quantity"
    )]
    pub cpu: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_quantity"
    )]
    pub memory: Option<String>,
    #[serde(
        default,
        rename = "ephemeral-storage",
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_quantity"
    )]
    pub ephemeral_storage: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ComponentSpec {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub name: String,
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub pattern: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attach: Vec<AttachSpec>,
    /// Destinations outside the system's graph this component may send to.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<EgressSpec>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachSpec {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub pattern: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, Value>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub image: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSpec {
    pub target: PatchTarget,
    pub merge: Value,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PatchTarget {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub kind: String,
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub name: String,
}

/// A decoded spec together with its text, for errors that point into it.
#[derive(Debug, Clone)]
pub struct LoadedSpec {
    pub doc: SpecDoc,
    pub source: SourceFile,
}

/// Decodes a spec; every failure is a [`SpecError`] at a place in `source`.
pub fn parse(source: SourceFile) -> Result<LoadedSpec> {
    let source = crate::spec_text::without_bom(source);
    let empty = source
        .text
        .lines()
        .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if empty {
        let e = source.error_at_byte(
            0,
            "the spec is empty",
            "nothing here",
            Some("`dpatterns new DIR` writes a spec to start from; `dpatterns show replicated-service` prints an example".into()),
        );
        return Err(Error::Spec(vec![e]));
    }
    // Limits first: past them the work of the checks below is not bounded.
    if let Some(e) = source.limit_error() {
        return Err(Error::Spec(vec![e]));
    }
    if let Some(e) = crate::spec_text::check(&source) {
        return Err(Error::Spec(vec![e]));
    }
    let doc: SpecDoc = match serde_yaml::from_str(&source.text) {
        Ok(doc) => doc,
        Err(err) => return Err(Error::Spec(vec![decode_error(&source, &err)])),
    };
    Ok(LoadedSpec { doc, source })
}

/// The error for a spec that is not UTF-8, at the first byte that is not: `text` is the
/// file with invalid bytes replaced, so everything before them keeps its place.
pub fn not_utf8(name: String, bytes: &[u8], valid_up_to: usize) -> SpecError {
    let text = String::from_utf8_lossy(bytes).into_owned();
    SourceFile::new(name, text).error_at_byte(
        valid_up_to,
        "the spec is not UTF-8 text",
        "not UTF-8",
        Some("save the file as UTF-8 (YAML specs are UTF-8 text)".into()),
    )
}

/// Turns a decoder error into a spec error: drops the decoder's own "at line … column …"
/// (the report shows the place), and adds a did-you-mean for unknown keys and variants.
fn decode_error(source: &SourceFile, err: &serde_yaml::Error) -> SpecError {
    let text = strip_locations(&err.to_string());
    let (path, message) = match text.split_once(": ") {
        Some((p, m)) if !p.contains(' ') && !p.is_empty() => (Some(p.to_string()), m.to_string()),
        _ => (None, text.clone()),
    };
    let (message, label, help) = explain(&message);
    let message = match &path {
        Some(p) => format!("{message} in `{p}`"),
        None => message,
    };
    let byte = err.location().map_or(0, |l| l.index());
    source.error_at_byte(byte, message, label, help)
}

/// Rewrites serde's wording into something a person acts on.
fn explain(message: &str) -> (String, String, Option<String>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates = backticked(expected);
        let help = crate::names::did_you_mean(field, candidates.iter().map(String::as_str))
            .or_else(|| {
                (!candidates.is_empty()).then(|| format!("allowed here: {}", candidates.join(", ")))
            });
        return (format!("unknown key `{field}`"), "unknown key".into(), help);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (variant, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let candidates = backticked(expected);
        let help = crate::names::did_you_mean(variant, candidates.iter().map(String::as_str))
            .or_else(|| Some(format!("allowed: {}", candidates.join(", "))));
        return (
            format!("unknown value `{variant}`"),
            "not an allowed value".into(),
            help,
        );
    }
    if let Some(field) = message
        .strip_prefix("missing field `")
        .and_then(|r| r.strip_suffix('`'))
    {
        return (
            format!("missing key `{field}`"),
            format!("`{field}` is required here"),
            None,
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let (found, expected) = rest.split_once(", expected ").unwrap_or((rest, "?"));
        let help = (expected == "a string").then(|| {
            "put the value in double quotes (`\"1.30\"`, `\"404\"`): unquoted, YAML reads a number, `true`, `false` or `null` as another type".to_string()
        });
        return (
            format!("wrong type: expected {expected}, found {found}"),
            format!("expected {expected}"),
            help,
        );
    }
    (message.to_string(), "YAML syntax error".into(), None)
}

/// Removes every " at line N column M" the decoder puts in its messages.
fn strip_locations(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(n) = rest.find(" at line ") {
        out.push_str(&rest[..n]);
        let tail = &rest[n + " at line ".len()..];
        let skip = tail
            .find(|c: char| !(c.is_ascii_digit() || c == ' ' || "column".contains(c)))
            .unwrap_or(tail.len());
        rest = &tail[skip..];
    }
    out.push_str(rest);
    out
}

fn backticked(text: &str) -> Vec<String> {
    text.split('`')
        .enumerate()
        .filter(|(i, _)| i % 2 == 1)
        .map(|(_, s)| s.to_string())
        .collect()
}

/// Serializes a spec document (used by `new` to write the user's file).
pub fn to_yaml(doc: &SpecDoc) -> String {
    serde_yaml::to_string(doc).expect("a spec always serializes")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_err(text: &str) -> SpecError {
        match parse(SourceFile::new("s.yaml", text)) {
            Err(Error::Spec(mut errs)) => errs.remove(0),
            other => panic!("expected a spec error, got {other:?}"),
        }
    }

    const HEAD: &str = "apiVersion: dpatterns/v1alpha1\nkind: System\nmetadata:\n  name: demo\n";

    #[test]
    fn unknown_key_suggests_the_closest_key() {
        let e = parse_err(&format!(
            "{HEAD}spec:\n  components:\n    - name: api\n      patern: x\n"
        ));
        assert_eq!(e.message, "unknown key `patern` in `spec.components[0]`");
        assert_eq!(e.help.as_deref(), Some("did you mean `pattern`?"));
        assert_eq!((e.line, e.column), (8, 7));
    }

    #[test]
    fn wrong_type_names_both_types() {
        let e = parse_err(&format!("{HEAD}spec:\n  components: 3\n"));
        assert!(
            e.message.starts_with("wrong type: expected a sequence"),
            "{}",
            e.message
        );
        assert_eq!(e.line, 6);
    }

    #[test]
    fn an_empty_spec_says_so() {
        let e = parse_err("# nothing yet\n\n");
        assert_eq!(e.message, "the spec is empty");
    }

    #[test]
    fn syntax_error_points_at_the_line() {
        let e = parse_err("apiVersion: v\nkind: [a,\nmetadata: {}\n");
        assert_eq!(e.line, 2);
    }
}
