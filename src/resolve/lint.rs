//! `spec.lint.ignore`: each entry names a rule a spec may silence and a component of the
//! system (or none, for the whole system), with a reason that is not blank. The rules come
//! from the one table in `lint::rules`; whether an entry silences anything is known only
//! after the lint ran, so an unused entry is a finding of the lint (`DDS100`), not an
//! error here.

use crate::lint::rules::{self, UNUSED_IGNORE};
use crate::model::Component;
use crate::source::YamlPath;

use super::Resolver;

impl Resolver<'_> {
    pub(super) fn lint_ignores(&mut self, spec: &YamlPath, components: &[Component]) {
        let Some(lint) = &self.spec.doc.spec.lint else {
            return;
        };
        let list = spec.key("lint").key("ignore");
        let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        let ids: Vec<&str> = rules::silenceable().collect();
        for (i, ignore) in lint.ignore.iter().enumerate() {
            let path = list.index(i);
            if ignore.rule == UNUSED_IGNORE {
                self.err(
                    &path.key("rule"),
                    format!("`{UNUSED_IGNORE}` (an unused ignore) cannot be silenced"),
                    "cannot be silenced",
                    Some("remove the ignore that silences nothing instead".into()),
                );
            } else if rules::rule(&ignore.rule).is_none() {
                let help = self
                    .suggestions
                    .did_you_mean(&ignore.rule, &ids)
                    .or_else(|| Some(format!("the rules: {}", ids.join(", "))));
                self.err(
                    &path.key("rule"),
                    format!("unknown lint rule `{}`", ignore.rule),
                    "no such rule",
                    help,
                );
            }
            if let Some(component) = &ignore.component
                && !names.contains(&component.as_str())
            {
                let help = self
                    .suggestions
                    .did_you_mean(component, &names)
                    .or_else(|| {
                        Some(format!(
                            "components in this spec: {}",
                            crate::names::some_of(names.iter().copied())
                        ))
                    });
                self.err(
                    &path.key("component"),
                    format!("`{component}` is not a component of this spec"),
                    "no such component",
                    help,
                );
            }
            if ignore.reason.trim().is_empty() {
                self.err(
                    &path.key("reason"),
                    "an ignore needs a reason".to_string(),
                    "empty reason",
                    Some(
                        "say why the finding does not apply, for whoever reviews the spec next"
                            .into(),
                    ),
                );
            }
        }
    }
}
