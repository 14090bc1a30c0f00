//! `dpatterns lint`: the failure patterns of the book's chapter 16 (2nd edition) as checks
//! on one system, run on the resolved model and the rendered objects that
//! [`crate::pipeline::run`] returns, after every other check passed. Each rule lives in the
//! file of the concern it checks (`calls`: retries and timeouts along the call graph;
//! `availability`: callees and caches; `work`: deletions and queues; `alerts`: entry points
//! nobody watches) and cites its section through the one table in [`rules`]. A spec
//! silences a finding in `spec.lint.ignore` with a reason (`ignore.rs`); output as text
//! (the spec errors' snippets), JSON or SARIF ([`sarif`]).
//!
//! The lint reads the base system: an environment's overrides are rendered and checked by
//! `render` and `validate`, not linted.

mod alerts;
mod availability;
mod calls;
mod finding;
mod ignore;
pub mod rules;
pub mod sarif;
mod work;

use serde_json::Value;

pub use finding::{Finding, Located};
pub use rules::{RULES, Rule, Severity};

use crate::catalog::Catalog;
use crate::manifest::Object;
use crate::model::{Component, System};
use crate::pipeline::Rendered;
use crate::source::YamlPath;
use crate::spec::LoadedSpec;

/// Where docs/lint.md is published; each rule has its anchor there.
pub const DOCS: &str = "https://github.com/dpatterns/dpatterns/blob/main/docs/lint.md";

/// The docs of one rule: its anchor in docs/lint.md.
pub fn docs_url(rule: &Rule) -> String {
    format!("{DOCS}#{}", rule.id.to_lowercase())
}

/// A silenced finding and the reason the spec gives.
#[derive(Debug, Clone)]
pub struct Silenced {
    pub finding: Located,
    pub reason: String,
}

/// Everything one lint found, in file order.
#[derive(Debug, Clone)]
pub struct Report {
    /// The spec, as the user named it.
    pub file: String,
    pub findings: Vec<Located>,
    pub silenced: Vec<Silenced>,
}

impl Report {
    /// Findings of this severity that no ignore silenced.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }

    /// The exit code of `dpatterns lint`: 1 when an error remains, else 0.
    pub fn exit_code(&self) -> i32 {
        if self.count(Severity::Error) > 0 {
            1
        } else {
            0
        }
    }

    /// The JSON of `--format json` (docs/lint.md describes its shape).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "file": self.file,
            "ok": self.exit_code() == 0,
            "counts": {
                "error": self.count(Severity::Error),
                "warning": self.count(Severity::Warning),
                "note": self.count(Severity::Note),
                "silenced": self.silenced.len(),
            },
            "findings": self.findings.iter().map(Located::to_json).collect::<Vec<_>>(),
            "silenced": self.silenced.iter().map(|s| {
                let mut v = s.finding.to_json();
                v["reason"] = Value::from(s.reason.clone());
                v
            }).collect::<Vec<_>>(),
        })
    }

    /// The last line of the text report.
    pub fn summary(&self) -> String {
        let counts: Vec<String> = [Severity::Error, Severity::Warning, Severity::Note]
            .into_iter()
            .map(|s| crate::error::plural(self.count(s), s.as_str()))
            .collect();
        let silenced = if self.silenced.is_empty() {
            String::new()
        } else {
            format!(" ({} silenced)", self.silenced.len())
        };
        format!("{}: {}{silenced}", self.file, counts.join(", "))
    }
}

/// Runs every rule on a rendered system and applies the spec's ignores.
pub fn lint(spec: &LoadedSpec, catalog: &Catalog, rendered: &Rendered) -> Report {
    let cx = Context {
        spec,
        catalog,
        system: &rendered.system,
        objects: &rendered.objects,
    };
    let mut found = Vec::new();
    calls::check(&cx, &mut found);
    availability::check(&cx, &mut found);
    work::check(&cx, &mut found);
    alerts::check(&cx, &mut found);
    let (findings, silenced) = ignore::apply(spec, found);
    let mut findings: Vec<Located> = findings
        .into_iter()
        .map(|f| f.locate(&spec.source))
        .collect();
    let mut silenced: Vec<Silenced> = silenced
        .into_iter()
        .map(|(f, reason)| Silenced {
            finding: f.locate(&spec.source),
            reason,
        })
        .collect();
    let key = |f: &Located| (f.at.line, f.at.column, f.rule.id, f.message().to_string());
    findings.sort_by_key(key);
    silenced.sort_by_key(|s| key(&s.finding));
    Report {
        file: spec.source.name.clone(),
        findings,
        silenced,
    }
}

/// What the rules read.
struct Context<'a> {
    spec: &'a LoadedSpec,
    catalog: &'a Catalog,
    system: &'a System,
    objects: &'a [Object],
}

impl Context<'_> {
    fn component_path(&self, c: &Component) -> YamlPath {
        YamlPath::root()
            .key("spec")
            .key("components")
            .index(c.index)
    }

    /// The parameter in the spec when the spec sets it, else the component's name: a
    /// finding points at what decides it, or at the component that takes the default.
    fn at_param(&self, c: &Component, param: &str) -> YamlPath {
        if self.written(c, param) {
            self.component_path(c).key("params").key(param)
        } else {
            self.at_name(c)
        }
    }

    /// Whether the spec sets the parameter (rather than leaving it to its default).
    fn written(&self, c: &Component, param: &str) -> bool {
        self.spec
            .doc
            .spec
            .components
            .get(c.index)
            .is_some_and(|s| s.params.contains_key(param))
    }

    fn at_name(&self, c: &Component) -> YamlPath {
        self.component_path(c).key("name")
    }

    /// An integer parameter (defaults are filled in by `resolve`).
    fn int(&self, c: &Component, param: &str) -> Option<i64> {
        c.params.get(param).and_then(Value::as_i64)
    }

    fn declares(&self, c: &Component, param: &str) -> bool {
        self.catalog
            .pattern(&c.pattern)
            .is_some_and(|p| p.param(param).is_some())
    }
}
