//! "Absence of Errors Is an Error": an entry point (a serving component nothing in the
//! system calls) that receives no traffic at all looks like a quiet day on every error
//! dashboard. DDS108 asks for an alert on the silence; a system with a `monitoring`
//! component has one for each entry point.

use super::rules::rule;
use super::{Context, Finding};

/// The pattern that renders alerting rules for the system.
const MONITORING: &str = "monitoring";

pub(super) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let components = &cx.system.components;
    if components.iter().any(|c| c.pattern == MONITORING) {
        return;
    }
    let fix = if cx.catalog.pattern(MONITORING).is_some() {
        "add a `monitoring` component (it alerts when an entry point receives no requests), or alert on a zero or absent request rate elsewhere and silence DDS108 saying where".to_string()
    } else {
        "alert when the request rate of the component is zero or absent (`http_requests_total`), then silence DDS108 saying where the alert lives".to_string()
    };
    for c in components
        .iter()
        .filter(|c| c.serving && c.used_by.is_empty())
    {
        out.push(Finding {
            rule: rule("DDS108").expect("a rule"),
            component: Some(c.name.clone()),
            message: format!(
                "nothing alerts when `{}` receives no traffic at all: an outage in front of it (DNS, ingress, a client's bug) looks like a quiet day",
                c.name
            ),
            label: "an entry point nobody watches".into(),
            fix: fix.clone(),
            path: cx.at_name(c),
        });
    }
}
