//! Config rollout: a workload whose pods read a ConfigMap the system renders (a mounted
//! file such as a VCL, an nginx.conf or a nutcracker configuration, or environment taken
//! from it) carries the hash of that ConfigMap's data in its pod template's annotations.
//! Kubernetes rolls pods when their template changes, not when a ConfigMap they read
//! changes; with the hash in the template, `kubectl apply` of a changed configuration
//! rolls exactly the workloads that read it, and no others. Part of policy (it fills an
//! annotation a template did not set and never overrides one), run after every other
//! object is final so the hash is of what is written.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use crate::files::sha256_hex;
use crate::manifest::Object;

/// The pod template annotation holding the hash.
pub const ANNOTATION: &str = "dpatterns.io/config-hash";

/// Adds [`ANNOTATION`] to the pod template of every workload that reads a ConfigMap among
/// `objects`: the SHA-256 of the names and data of those ConfigMaps, in name order.
pub fn annotate(objects: &mut [Object]) {
    let config_maps: BTreeMap<(String, String), String> = objects
        .iter()
        .filter(|o| o.kind() == "ConfigMap" && o.api_version() == "v1")
        .map(|o| {
            let key = (
                o.namespace().unwrap_or_default().to_string(),
                o.name().to_string(),
            );
            (key, data_hash(&o.value))
        })
        .collect();
    if config_maps.is_empty() {
        return;
    }
    for object in objects.iter_mut() {
        let namespace = object.namespace().unwrap_or_default().to_string();
        let Some(template) = object.pod_template_mut() else {
            continue;
        };
        let read: Vec<(&String, &String)> = config_maps_read(&template["spec"])
            .into_iter()
            .filter_map(|name| config_maps.get_key_value(&(namespace.clone(), name)))
            .map(|((_, name), hash)| (name, hash))
            .collect();
        if read.is_empty() {
            continue;
        }
        let listed: String = read
            .into_iter()
            .map(|(name, hash)| format!("{name}\0{hash}\n"))
            .collect();
        let annotations = &mut template["metadata"]["annotations"];
        if annotations.is_null() {
            *annotations = json!({});
        }
        if let Some(map) = annotations.as_object_mut() {
            map.entry(ANNOTATION)
                .or_insert_with(|| json!(sha256_hex(listed.as_bytes())));
        }
    }
}

/// The hash of a ConfigMap's `data` and `binaryData` (their JSON, keys in order).
fn data_hash(config_map: &Value) -> String {
    let text = format!(
        "data{}binaryData{}",
        config_map["data"], config_map["binaryData"]
    );
    sha256_hex(text.as_bytes())
}

/// The names of the ConfigMaps a pod reads: volumes (also projected ones), and each
/// container's `envFrom` and `env[].valueFrom`, init containers included.
fn config_maps_read(pod: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut add = |v: &Value| {
        if let Some(name) = v.as_str() {
            names.insert(name.to_string());
        }
    };
    for volume in pod["volumes"].as_array().into_iter().flatten() {
        add(&volume["configMap"]["name"]);
        for source in volume["projected"]["sources"]
            .as_array()
            .into_iter()
            .flatten()
        {
            add(&source["configMap"]["name"]);
        }
    }
    let containers = pod["containers"].as_array().into_iter().flatten();
    for container in containers.chain(pod["initContainers"].as_array().into_iter().flatten()) {
        for from in container["envFrom"].as_array().into_iter().flatten() {
            add(&from["configMapRef"]["name"]);
        }
        for env in container["env"].as_array().into_iter().flatten() {
            add(&env["valueFrom"]["configMapKeyRef"]["name"]);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(value: Value) -> Object {
        Object {
            component: Some("c".into()),
            template: "t".into(),
            value,
        }
    }

    fn config_map(name: &str, text: &str) -> Object {
        object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "ns"},
            "data": {"app.conf": text}
        }))
    }

    fn deployment(name: &str, pod: Value) -> Object {
        object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": pod}}
        }))
    }

    fn hash_of(objects: &[Object], name: &str) -> Option<String> {
        objects
            .iter()
            .find(|o| o.kind() == "Deployment" && o.name() == name)
            .and_then(|o| {
                o.value["spec"]["template"]["metadata"]["annotations"][ANNOTATION].as_str()
            })
            .map(str::to_string)
    }

    fn system(conf: &str) -> Vec<Object> {
        let mut objects = vec![
            config_map("conf", conf),
            deployment(
                "mounts",
                json!({"volumes": [{"name": "v", "configMap": {"name": "conf"}}], "containers": [{"name": "a"}]}),
            ),
            deployment(
                "env",
                json!({"containers": [{"name": "a", "envFrom": [{"configMapRef": {"name": "conf"}}]}]}),
            ),
            deployment("reads-nothing", json!({"containers": [{"name": "a"}]})),
        ];
        annotate(&mut objects);
        objects
    }

    #[test]
    fn a_changed_configuration_changes_the_hash_of_exactly_the_pods_that_read_it() {
        let before = system("a = 1");
        let after = system("a = 2");
        for name in ["mounts", "env"] {
            let (b, a) = (hash_of(&before, name), hash_of(&after, name));
            assert!(b.is_some() && a.is_some(), "{name} has no hash");
            assert_ne!(b, a, "{name}: the hash did not follow the configuration");
        }
        assert_eq!(
            hash_of(&before, "mounts"),
            hash_of(&system("a = 1"), "mounts")
        );
        assert_eq!(hash_of(&before, "reads-nothing"), None);
    }

    #[test]
    fn a_hash_set_by_the_template_is_kept() {
        let mut objects = vec![
            config_map("conf", "x"),
            deployment(
                "d",
                json!({"volumes": [{"name": "v", "configMap": {"name": "conf"}}], "containers": [{"name": "a"}]}),
            ),
        ];
        objects[1].value["spec"]["template"]["metadata"]["annotations"] =
            json!({ANNOTATION: "mine"});
        annotate(&mut objects);
        assert_eq!(hash_of(&objects, "d").as_deref(), Some("mine"));
    }

    #[test]
    fn a_config_map_the_system_does_not_render_is_not_hashed() {
        let mut objects = vec![deployment(
            "d",
            json!({"volumes": [{"name": "v", "configMap": {"name": "elsewhere"}}], "containers": [{"name": "a"}]}),
        )];
        annotate(&mut objects);
        assert_eq!(hash_of(&objects, "d"), None);
    }
}
