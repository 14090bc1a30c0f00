//! Policy: the conventions and secure defaults of architecture §6, applied to every object after
//! composition and patches, so a pattern's templates (embedded or a user's) only write what
//! is particular to the pattern. Policy fills what is missing and never overrides a value a
//! template or a patch set — that is the escape hatch.

use serde_json::{Value, json};

use crate::catalog::ContainerDoc;
use crate::manifest::Object;
use crate::model::{EffectiveDefaults, System};

/// Kinds that live in a namespace, from the table of kinds.
pub use crate::kinds::is_namespaced;

/// Applies labels, namespace, and the pod and container hardening to every object, then
/// the hash of the ConfigMaps each pod reads (`config_rollout`), once namespaces are set.
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
        let mut low_uids = Vec::new();
        if let Some(template) = object.pod_template_mut() {
            fill_map(&mut template["metadata"]["labels"], &labels);
            for need in needs {
                low_uids.extend(apply_needs(&mut template["spec"], need));
            }
            harden_pod(&mut template["spec"], &system.defaults);
        }
        for (container, uid) in low_uids {
            justify_low_uid(&mut object.value["metadata"], &container, uid);
        }
    }
    crate::config_rollout::annotate(objects);
}

/// checkov's CKV_K8S_40 wants UIDs of 10000 and above, which the defaults meet; an
/// upstream image built for a lower one (redis: 999) is declared in `pattern.yaml`, so the
/// workload says so where checkov reads it, as a skip annotation naming the container.
const HIGH_UID: i64 = 10000;

fn justify_low_uid(metadata: &mut Value, container: &str, uid: i64) {
    if !metadata["annotations"].is_object() {
        metadata["annotations"] = json!({});
    }
    let annotations = metadata["annotations"].as_object_mut().expect("set above");
    let reason = format!(
        "CKV_K8S_40=container {container} runs as UID {uid}, the user its image is built for (declared in pattern.yaml)"
    );
    if annotations
        .values()
        .any(|v| v.as_str() == Some(reason.as_str()))
    {
        return;
    }
    let key = (1..)
        .map(|n| format!("checkov.io/skip{n}"))
        .find(|k| !annotations.contains_key(k))
        .expect("an unused index exists");
    annotations.insert(key, json!(reason));
}

/// What `pattern.yaml` declares a container needs (an off-the-shelf image's UID, the
/// paths it writes), added to every container of that name in the pod: an `emptyDir` per
/// writable path, mounted there, and the UID/GID on the container. Fill-only like the rest:
/// a template's or patch's mount at the path, or its own UID, is kept. The restricted
/// profile still holds, since the declaration cannot name root (checked when the catalog
/// loads) and the hardening below fills everything else.
///
/// Returns the containers left with a UID below [`HIGH_UID`], for [`justify_low_uid`].
fn apply_needs(pod: &mut Value, need: &ContainerDoc) -> Vec<(String, i64)> {
    let mut volumes: Vec<Value> = Vec::new();
    let mut low_uids = Vec::new();
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
            if let Some(uid) = security["runAsUser"].as_i64()
                && uid < HIGH_UID
            {
                low_uids.push((need.name.clone(), uid));
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
        return low_uids;
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
    low_uids
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
        "requests": {
            "cpu": d.requests_cpu,
            "memory": d.requests_memory,
            "ephemeral-storage": d.requests_ephemeral_storage,
        },
        "limits": {
            "cpu": d.limits_cpu,
            "memory": d.limits_memory,
            "ephemeral-storage": d.limits_ephemeral_storage,
        },
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
        let low = apply_needs(&mut pod, &cache_needs());
        assert_eq!(low, [("cache".to_string(), 999)]);
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
        let low = apply_needs(&mut pod, &cache_needs());
        assert_eq!(low, [("cache".to_string(), 1234)]);
        let security = &pod["containers"][0]["securityContext"];
        assert_eq!(security["runAsUser"], 1234, "a template's own UID is kept");
        assert_eq!(security["runAsGroup"], 999);
        let defaults = EffectiveDefaults::default();
        harden_pod(&mut pod, &defaults);
        let security = &pod["containers"][0]["securityContext"];
        assert_eq!(security["runAsNonRoot"], true);
        assert_eq!(security["allowPrivilegeEscalation"], false);
        assert_eq!(security["readOnlyRootFilesystem"], true);
        assert_eq!(security["capabilities"], json!({"drop": ["ALL"]}));
        assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    }

    #[test]
    fn a_declared_low_uid_is_justified_for_checkov_once_beside_other_skips() {
        let mut metadata = json!({"annotations": {"checkov.io/skip1": "CKV_K8S_8=own"}});
        justify_low_uid(&mut metadata, "cache", 999);
        justify_low_uid(&mut metadata, "cache", 999);
        assert_eq!(
            metadata["annotations"],
            json!({
                "checkov.io/skip1": "CKV_K8S_8=own",
                "checkov.io/skip2": "CKV_K8S_40=container cache runs as UID 999, the user its image is built for (declared in pattern.yaml)",
            })
        );
    }

    #[test]
    fn ephemeral_storage_is_requested_and_limited_unless_the_template_says_otherwise() {
        let mut pod = json!({"containers": [
            {"name": "app", "image": "a:1"},
            {"name": "cache", "image": "c:1", "resources": {"limits": {"ephemeral-storage": "4Gi"}}},
        ]});
        harden_pod(&mut pod, &EffectiveDefaults::default());
        let app = &pod["containers"][0]["resources"];
        assert_eq!(app["requests"]["ephemeral-storage"], "64Mi");
        assert_eq!(app["limits"]["ephemeral-storage"], "1Gi");
        let cache = &pod["containers"][1]["resources"];
        assert_eq!(cache["limits"]["ephemeral-storage"], "4Gi");
        assert_eq!(cache["requests"]["ephemeral-storage"], "64Mi");
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
