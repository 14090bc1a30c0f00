//! A finding of the lint: which rule, about which component, what is wrong and how to fix
//! it, first at a path of the spec ([`Finding`]), then placed at its line and column with
//! the same snippet and caret as every spec error ([`Located`]).

use std::fmt;

use miette::{Diagnostic, LabeledSpan, SourceCode};

use super::rules::{Rule, Severity};
use crate::error::SpecError;
use crate::source::{SourceFile, YamlPath};

/// What a rule found, at a path of the spec.
#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    /// The component it is about (what `spec.lint.ignore` matches).
    pub component: Option<String>,
    pub message: String,
    /// The words under the caret.
    pub label: String,
    /// How to fix it.
    pub fix: String,
    /// Where it points: the parameter that decides it, else the component's name.
    pub path: YamlPath,
}

impl Finding {
    /// Places the finding in the spec's text.
    pub fn locate(self, source: &SourceFile) -> Located {
        let at = source.error_at_value(&self.path, &self.message, &self.label, None);
        Located {
            rule: self.rule,
            component: self.component,
            fix: crate::names::escape_controls(&self.fix),
            help: crate::names::escape_controls(&format!(
                "{}\n(the book, 2nd ed., ch. 16: “{}”; docs/lint.md#{})",
                self.fix,
                self.rule.section,
                self.rule.id.to_lowercase()
            )),
            at,
        }
    }
}

/// A finding at its line and column, printed like a spec error but with its rule's
/// severity and id.
#[derive(Debug, Clone)]
pub struct Located {
    pub rule: &'static Rule,
    pub component: Option<String>,
    pub fix: String,
    /// The fix, the book's section and the docs, as printed under the snippet.
    help: String,
    /// The message, snippet, caret, line and column.
    pub at: SpecError,
}

impl Located {
    pub fn severity(&self) -> Severity {
        self.rule.severity
    }

    pub fn message(&self) -> &str {
        &self.at.message
    }

    pub fn file(&self) -> &str {
        self.at.source_code.name()
    }

    /// The one-line form: `file:line:col: [DDS101] message`.
    pub fn one_line(&self) -> String {
        format!(
            "{}:{}:{}: [{}] {}",
            self.file(),
            self.at.line,
            self.at.column,
            self.rule.id,
            self.message()
        )
    }

    /// The JSON of `--format json`, without the reason of a silenced finding.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "rule": self.rule.id,
            "name": self.rule.name,
            "severity": self.rule.severity,
            "component": self.component,
            "message": self.message(),
            "fix": self.fix,
            "section": self.rule.section,
            "file": self.file(),
            "line": self.at.line,
            "column": self.at.column,
        })
    }
}

impl fmt::Display for Located {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Located {}

impl Diagnostic for Located {
    /// The header above the snippet: `DDS106 error: bulk-deletion`.
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!(
            "{} {}: {}",
            self.rule.id, self.rule.severity, self.rule.name
        )))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.rule.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Note => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        Some(&self.at.source_code)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let label = LabeledSpan::new_with_span(Some(self.at.label.clone()), self.at.span);
        Some(Box::new(std::iter::once(label)))
    }
}
