//! The one table of lint rules: id, name, severity, the book's section and what the rule
//! says. `resolve` reads it to check `spec.lint.ignore`, the JSON Schema to list the ids,
//! `lint` to report, SARIF to describe its rules and docs/lint.md explains each row; so it
//! imports nothing from the crate and sits below every stage that reads it.

use std::fmt;

/// How much a finding matters: an `error` fails `dpatterns lint` (exit 1), a `warning`
/// and a `note` are reported only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One rule: a failure pattern of the book's chapter 16 (2nd edition) as a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// Stable id, `DDS101`: what ignores, JSON and SARIF name.
    pub id: &'static str,
    /// Stable kebab-case name, for people.
    pub name: &'static str,
    pub severity: Severity,
    /// The section of *Designing Distributed Systems*, 2nd ed., ch. 16 it comes from.
    pub section: &'static str,
    /// One sentence: what the rule finds.
    pub summary: &'static str,
}

/// The findings about `spec.lint` itself: an ignore that silenced nothing.
pub const UNUSED_IGNORE: &str = "DDS100";

/// Every rule, in id order.
pub const RULES: &[Rule] = &[
    Rule {
        id: UNUSED_IGNORE,
        name: "unused-ignore",
        severity: Severity::Warning,
        section: "Absence of Errors Is an Error",
        summary: "an entry of spec.lint.ignore silences nothing, so it would hide a future finding nobody reviewed",
    },
    Rule {
        id: "DDS101",
        name: "retry-amplification",
        severity: Severity::Warning,
        section: "Thundering Herd",
        summary: "retries multiply along a call path: the worst path's product of attempts reaches 10 or more",
    },
    Rule {
        id: "DDS102",
        name: "timeout-not-shrinking",
        severity: Severity::Warning,
        section: "Processing Obsolete Work",
        summary: "a caller gives up on a callee before the callee's own calls may end, so the callee keeps working for nobody",
    },
    Rule {
        id: "DDS103",
        name: "retries-unknown",
        severity: Severity::Note,
        section: "Thundering Herd",
        summary: "a component run from an image calls others: dpatterns cannot vouch that it backs off with jitter within a retry budget",
    },
    Rule {
        id: "DDS104",
        name: "fragile-callee",
        severity: Severity::Warning,
        section: "The Myth of Optional Components",
        summary: "a component others call runs a single replica",
    },
    Rule {
        id: "DDS105",
        name: "cache-loss",
        severity: Severity::Warning,
        section: "The Myth of Optional Components",
        summary: "a cache tier whose loss the replicas behind it could not absorb: one cache replica, or replicas that can neither grow nor shed load",
    },
    Rule {
        id: "DDS106",
        name: "bulk-deletion",
        severity: Severity::Error,
        section: "Oops, We \"Cleaned Up\" Everything",
        summary: "a program may delete records faster than one per second",
    },
    Rule {
        id: "DDS107",
        name: "queue-without-age-limit",
        severity: Severity::Note,
        section: "Processing Obsolete Work",
        summary: "a queue's consumers handle an item however old it is",
    },
    Rule {
        id: "DDS108",
        name: "no-absence-alert",
        severity: Severity::Note,
        section: "Absence of Errors Is an Error",
        summary: "an entry point has no alert for receiving no traffic at all",
    },
];

/// The rule with this id.
pub fn rule(id: &str) -> Option<&'static Rule> {
    RULES.iter().find(|r| r.id == id)
}

/// The ids a spec may silence (every rule but [`UNUSED_IGNORE`]: an unused ignore is
/// removed, not silenced).
pub fn silenceable() -> impl Iterator<Item = &'static str> {
    RULES.iter().map(|r| r.id).filter(|id| *id != UNUSED_IGNORE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_in_order() {
        let ids: Vec<&str> = RULES.iter().map(|r| r.id).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn an_unused_ignore_cannot_be_silenced() {
        assert!(!silenceable().any(|id| id == UNUSED_IGNORE));
        assert!(silenceable().any(|id| id == "DDS101"));
    }
}
