//! Work that outlives its purpose or its records. DDS106 ("Oops, We 'Cleaned Up'
//! Everything"): a program that deletes in bulk must do it slowly enough for someone to
//! notice a wrong deletion before it has taken everything; the work queue's manager
//! deletes the Jobs and ConfigMaps of items that left the source, at most
//! `maxDeletionsPerCycle` every `pollSeconds`. DDS107 ("Processing Obsolete Work"): the
//! generated queue consumers dead-letter an item after its attempts, but none drops an
//! item for its age.

use serde_json::Value;

use super::rules::rule;
use super::{Context, Finding};

/// Deletions a second past which a program deletes in bulk.
pub const DELETIONS_PER_SECOND: i64 = 1;

/// Patterns whose generated consumers take items from a queue.
const QUEUES: &[&str] = &["work-queue", "event-pipeline"];

pub(super) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    for c in &cx.system.components {
        deletions(cx, c, out);
        if c.generated && QUEUES.contains(&c.pattern.as_str()) {
            out.push(Finding {
                rule: rule("DDS107").expect("a rule"),
                component: Some(c.name.clone()),
                message: format!(
                    "`{}` hands every item to its handler however long it waited: after an outage the backlog is worked oldest first, long after anyone wants the answers",
                    c.name
                ),
                label: "no age limit".into(),
                fix: format!(
                    "have the handler acknowledge items older than their usefulness without working on them, then silence DDS107 for `{}` saying so (or saying why its work never goes stale)",
                    c.name
                ),
                path: cx.at_name(c),
            });
        }
    }
}

fn deletions(cx: &Context<'_>, c: &crate::model::Component, out: &mut Vec<Finding>) {
    let (Some(per_cycle), Some(poll)) =
        (cx.int(c, "maxDeletionsPerCycle"), cx.int(c, "pollSeconds"))
    else {
        return;
    };
    // Only the jobs mode has a manager that deletes.
    if c.params.get("mode").and_then(Value::as_str) == Some("queue") {
        return;
    }
    if per_cycle <= poll * DELETIONS_PER_SECOND {
        return;
    }
    out.push(Finding {
        rule: rule("DDS106").expect("a rule"),
        component: Some(c.name.clone()),
        message: format!(
            "the manager of `{}` may delete {per_cycle} Jobs and ConfigMaps every {poll} s: a source that loses items by mistake has their records wiped faster than anyone can react",
            c.name
        ),
        label: format!("{per_cycle} every {poll} s"),
        fix: format!(
            "delete at most one record a second: `maxDeletionsPerCycle` at most `pollSeconds` ({poll})"
        ),
        path: cx.at_param(c, "maxDeletionsPerCycle"),
    });
}
