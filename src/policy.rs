//! Policy: the conventions and secure defaults of DESIGN §6, applied to every object after
//! composition and patches, so a pattern's templates (embedded or a user's) only write what
//! is particular to the pattern. Policy fills what is missing and never overrides a value a
//! template or a patch set — that is the escape hatch.

use serde_json::{Value, json};

use crate::manifest::Object;
use crate::model::System;

/// Kinds that live in a namespace, from the table of kinds.
pub use crate::kinds::is_namespaced;

/// Applies labels, namespace, and the pod and container hardening to every object.
pub fn apply(objects: &mut [Object], system: &System) {
    for object in objects.iter_mut() {
        let labels = match &object.component {
            Some(name) => system
                .component(name)
                .map(|c| system.labels(c))
                .unwrap_or_else(|| system_labels(system)),
            None => system_labels(system),
        };
        let kind = object.kind().to_string();
        let metadata = &mut object.value["metadata"];
        fill_map(&mut metadata["labels"], &labels);
        if is_namespaced(&kind) && metadata["namespace"].is_null() {
            metadata["namespace"] = json!(system.namespace);
        }
        if let Some(template) = object.pod_template_mut() {
            fill_map(&mut template["metadata"]["labels"], &labels);
            harden_pod(&mut template["spec"], system);
        }
    }
}

fn system_labels(system: &System) -> Value {
    json!({
        "app.kubernetes.io/name": system.name,
        "app.kubernetes.io/part-of": system.name,
        "app.kubernetes.io/managed-by": "dpatterns",
    })
}

/// Sets each key of `defaults` that `target` does not have yet.
fn fill_map(target: &mut Value, defaults: &Value) {
    if !target.is_object() {
        *target = json!({});
    }
    let (Some(target), Some(defaults)) = (target.as_object_mut(), defaults.as_object()) else {
        return;
    };
    for (key, value) in defaults {
        target.entry(key.clone()).or_insert_with(|| value.clone());
    }
}

/// Deep version of [`fill_map`]: nested mappings are filled key by key.
fn fill_deep(target: &mut Value, defaults: &Value) {
    if target.is_null() {
        *target = defaults.clone();
        return;
    }
    let (Some(target), Some(defaults)) = (target.as_object_mut(), defaults.as_object()) else {
        return;
    };
    for (key, value) in defaults {
        match target.get_mut(key) {
            Some(existing) => fill_deep(existing, value),
            None => {
                target.insert(key.clone(), value.clone());
            }
        }
    }
}

fn harden_pod(pod: &mut Value, system: &System) {
    let d = &system.defaults;
    if pod["automountServiceAccountToken"].is_null() {
        pod["automountServiceAccountToken"] = json!(false);
    }
    fill_deep(
        &mut pod["securityContext"],
        &json!({
            "runAsNonRoot": true,
            "runAsUser": d.run_as_user,
            "runAsGroup": d.run_as_user,
            "fsGroup": d.run_as_user,
            "seccompProfile": {"type": "RuntimeDefault"},
        }),
    );
    let container_security = json!({
        "allowPrivilegeEscalation": false,
        "readOnlyRootFilesystem": true,
        "runAsNonRoot": true,
        "runAsUser": d.run_as_user,
        "runAsGroup": d.run_as_user,
        "capabilities": {"drop": ["ALL"]},
    });
    let resources = json!({
        "requests": {"cpu": d.requests_cpu, "memory": d.requests_memory},
        "limits": {"cpu": d.limits_cpu, "memory": d.limits_memory},
    });
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod[list].as_array_mut() else {
            continue;
        };
        for container in containers {
            fill_deep(&mut container["securityContext"], &container_security);
            fill_deep(&mut container["resources"], &resources);
            if container["imagePullPolicy"].is_null() {
                container["imagePullPolicy"] = json!(d.image_pull_policy);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_deep_keeps_what_is_set() {
        let mut target = json!({"runAsUser": 42, "seccompProfile": {"type": "Localhost"}});
        fill_deep(
            &mut target,
            &json!({"runAsUser": 1, "runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}}),
        );
        assert_eq!(
            target,
            json!({"runAsUser": 42, "runAsNonRoot": true, "seccompProfile": {"type": "Localhost"}})
        );
    }
}
