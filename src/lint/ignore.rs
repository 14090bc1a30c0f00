//! `spec.lint.ignore` applied to the findings: an entry silences every finding of its rule
//! about its component (or about any, without one), and an entry that silenced nothing is
//! itself a finding (DDS100), so a stale ignore cannot hide the next real one unseen.
//! `resolve` has already refused unknown rules, unknown components and blank reasons.

use std::collections::HashMap;

use super::Finding;
use super::rules::{UNUSED_IGNORE, rule};
use crate::source::YamlPath;
use crate::spec::LoadedSpec;

/// The findings left, and those silenced with their reasons.
pub(super) fn apply(
    spec: &LoadedSpec,
    found: Vec<Finding>,
) -> (Vec<Finding>, Vec<(Finding, String)>) {
    let ignores = spec
        .doc
        .spec
        .lint
        .as_ref()
        .map(|l| l.ignore.as_slice())
        .unwrap_or_default();
    let mut used = vec![false; ignores.len()];
    let mut kept = Vec::new();
    let mut silenced = Vec::new();
    // The first entry for a rule and component (or for the rule alone), so that matching
    // stays linear however many findings and entries there are.
    let mut first: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    for (i, ignore) in ignores.iter().enumerate() {
        first
            .entry((ignore.rule.as_str(), ignore.component.as_deref()))
            .or_insert(i);
    }
    for finding in found {
        let rule = finding.rule.id;
        let exact = finding
            .component
            .as_deref()
            .and_then(|c| first.get(&(rule, Some(c))));
        let matching = exact
            .into_iter()
            .chain(first.get(&(rule, None)))
            .min()
            .copied();
        match matching {
            Some(i) => {
                used[i] = true;
                silenced.push((finding, ignores[i].reason.clone()));
            }
            None => kept.push(finding),
        }
    }
    let list = YamlPath::root().key("spec").key("lint").key("ignore");
    for (i, ignore) in ignores.iter().enumerate() {
        if used[i] {
            continue;
        }
        let whom = match &ignore.component {
            Some(c) => format!(" for `{c}`"),
            None => String::new(),
        };
        kept.push(Finding {
            rule: rule(UNUSED_IGNORE).expect("a rule"),
            component: ignore.component.clone(),
            message: format!("this ignore of {}{whom} silences nothing", ignore.rule),
            label: "silences nothing".into(),
            fix: "remove it: the finding it was written for is gone".into(),
            path: list.index(i).key("rule"),
        });
    }
    (kept, silenced)
}
