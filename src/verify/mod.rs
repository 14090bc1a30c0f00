//! Every check on the rendered output: the typed schema of each object, then the
//! invariants across objects. Rendering refuses to write anything that fails here, and
//! `validate` reports the same list.

pub mod floors;
pub mod invariants;
pub mod typed;

use crate::error::VerifyFailure;
use crate::manifest::Object;

/// The canonical YAML of each object (same order as the input) or every failure found.
pub fn run(objects: &[Object], namespace: &str) -> Result<Vec<String>, Vec<VerifyFailure>> {
    let mut failures = Vec::new();
    let mut canonical = Vec::with_capacity(objects.len());
    let checked = crate::par::map(objects, |o| typed::check_object(&o.value));
    for (object, result) in objects.iter().zip(checked) {
        match result {
            Ok(yaml) => canonical.push(yaml),
            Err(messages) => failures.extend(messages.into_iter().map(|message| VerifyFailure {
                file: object.file(),
                object: object.describe(),
                check: "schema",
                message,
                patch: None,
            })),
        }
    }
    for (i, rule, message) in invariants::check(objects, namespace) {
        failures.push(VerifyFailure {
            file: objects[i].file(),
            object: objects[i].describe(),
            check: rule,
            message,
            patch: None,
        });
    }
    if failures.is_empty() {
        Ok(canonical)
    } else {
        Err(failures)
    }
}
