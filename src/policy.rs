//! Policy: the conventions and secure defaults of DESIGN §6, applied to every object after
//! composition and patches, so a pattern's templates (embedded or a user's) only write what
//! is particular to the pattern. Policy fills what is missing and never overrides a value a
//! template or a patch set — that is the escape hatch.

use serde_json::{Value, json};

use crate::catalog::ContainerDoc;
use crate::manifest::Object;
use crate::model::{EffectiveDefaults, System};

/// Kinds that live in a namespace, from the table of kinds.
pub use crate::kinds::is_namespaced;

/// Applies labels, namespace, and the pod and container hardening to every object.
pub fn apply(objects: &mut [Object], system: &System) {
    for object in objects.iter_mut() {
        let component = object
            .component
            .as_deref()
            .and_then(|n| system.component(n));
        let labels = match component {
            Some(c) => system.labels(c),
            None => system_labels(system),
        };
        let needs = component.map_or(&[][..], |c| c.container_needs.as_slice());
        let kind = object.kind().to_string();
        let metadata = &mut object.value["metadata"];
        fill_map(&mut metadata["labels"], &labels);
        if is_namespaced(&kind) && metadata["namespace"].is_null() {
            metadata["namespace"] = json!(system.namespace);
        }
        if let Some(template) = object.pod_template_mut() {
            fill_map(&mut template["metadata"]["labels"], &labels);
            for need in needs {
                apply_needs(&mut template["spec"], need);
            }
            harden_pod(&mut template["spec"], &system.defaults);
        }
    }
}

/// What `pattern.yaml` declares a container needs (an off-the-shelf image's UID, the
/// paths it writes), added to every container of that name in the pod: an `emptyDir` per
/// writable path, mounted there, and the UID/GID on the container. Fill-only like the rest:
/// a template's or patch's mount at the path, or its own UID, is kept. The restricted
/// profile still holds, since the declaration cannot name root (checked when the catalog
/// loads) and the hardening below fills everything else.
fn apply_needs(pod: &mut Value, need: &ContainerDoc) {
    let mut volumes: Vec<Value> = Vec::new();
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod[list].as_array_mut() else {
            continue;
        };
        for container in containers
            .iter_mut()
            .filter(|c| c["name"].as_str() == Some(need.name.as_str()))
        {
            let security = &mut container["securityContext"];
            if let Some(uid) = need.run_as_user {
                fill_map(security, &json!({"runAsUser": uid}));
            }
            if let Some(gid) = need.run_as_group.or(need.run_as_user) {
                fill_map(security, &json!({"runAsGroup": gid}));
            }
            for w in &need.writable {
                if !container["volumeMounts"].is_array() {
                    container["volumeMounts"] = json!([]);
                }
                let mounts = container["volumeMounts"].as_array_mut().expect("set above");
                if mounts
                    .iter()
                    .any(|m| m["mountPath"].as_str() == Some(w.path.as_str()))
                {
                    continue;
                }
                let volume = w.volume_name(&need.name);
                mounts.push(json!({"name": volume, "mountPath": w.path}));
                volumes.push(json!({"name": volume, "emptyDir": {"sizeLimit": w.size_limit}}));
            }
        }
    }
    if volumes.is_empty() {
        return;
    }
    if !pod["volumes"].is_array() {
        pod["volumes"] = json!([]);
    }
    let existing = pod["volumes"].as_array_mut().expect("set above");
    for volume in volumes {
        if !existing.iter().any(|v| v["name"] == volume["name"]) {
            existing.push(volume);
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

fn harden_pod(pod: &mut Value, d: &EffectiveDefaults) {
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

    fn cache_needs() -> ContainerDoc {
        serde_yaml::from_str(
            "{name: cache, role: redis, runAsUser: 999, writable: [{path: /data, sizeLimit: 1Gi}, {path: /tmp}]}",
        )
        .unwrap()
    }

    #[test]
    fn declared_needs_add_volumes_mounts_and_the_uid_to_that_container_only() {
        let mut pod = json!({"containers": [
            {"name": "app", "image": "a:1"},
            {"name": "cache", "image": "redis:7.4.1", "volumeMounts": [{"name": "own", "mountPath": "/tmp"}]},
        ]});
        apply_needs(&mut pod, &cache_needs());
        assert_eq!(
            pod["containers"][1],
            json!({"name": "cache", "image": "redis:7.4.1",
            "securityContext": {"runAsUser": 999, "runAsGroup": 999},
            "volumeMounts": [
                {"name": "own", "mountPath": "/tmp"},
                {"name": "cache-data", "mountPath": "/data"},
            ]})
        );
        assert_eq!(
            pod["volumes"],
            json!([{"name": "cache-data", "emptyDir": {"sizeLimit": "1Gi"}}])
        );
        assert_eq!(pod["containers"][0], json!({"name": "app", "image": "a:1"}));
    }

    #[test]
    fn hardening_after_needs_keeps_the_pod_restricted() {
        let mut pod = json!({"containers": [{"name": "cache", "image": "redis:7.4.1",
            "securityContext": {"runAsUser": 1234}}]});
        apply_needs(&mut pod, &cache_needs());
        let security = &pod["containers"][0]["securityContext"];
        assert_eq!(security["runAsUser"], 1234, "a template's own UID is kept");
        assert_eq!(security["runAsGroup"], 999);
        let defaults = EffectiveDefaults {
            requests_cpu: "100m".into(),
            requests_memory: "128Mi".into(),
            limits_cpu: "500m".into(),
            limits_memory: "256Mi".into(),
            run_as_user: 10001,
            image_pull_policy: "Always",
        };
        harden_pod(&mut pod, &defaults);
        let security = &pod["containers"][0]["securityContext"];
        assert_eq!(security["runAsNonRoot"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["capabilities"], json!({"drop": ["ALL"]}));
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    }

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
