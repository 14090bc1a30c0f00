//! Cross-object invariants: the bugs no per-object schema can see — a PDB that selects no
//! pod, a Service aiming at a port no container opens, a ServiceAccount that was never
//! rendered. Each rule names the object and says what to fix.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::kinds::{self, Lifecycle, NameRule};
use crate::manifest::Object;
use crate::model::split_image;
use crate::policy::is_namespaced;

/// A failed invariant: the object it concerns, the rule, and the explanation.
pub type Finding = (usize, &'static str, String);

pub fn check(objects: &[Object], namespace: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let index = Index::new(objects);
    for (i, object) in objects.iter().enumerate() {
        let mut fail = |rule: &'static str, message: String| findings.push((i, rule, message));
        names(object, &mut fail);
        if is_namespaced(object.kind()) {
            match object.namespace() {
                None => fail("namespace", "no namespace set".into()),
                Some(ns) if ns != namespace => fail(
                    "namespace",
                    format!("namespace `{ns}` differs from the system's `{namespace}`"),
                ),
                Some(_) => {}
            }
        }
        if index.seen_before(i) {
            fail("unique", format!("{} is rendered twice", object.describe()));
        }
        match object.kind() {
            "Service" => service(object, &index, &mut fail),
            "PodDisruptionBudget" => selector_matches(
                &object.value["spec"]["selector"],
                object,
                &index,
                "selector",
                &mut fail,
            ),
            "NetworkPolicy" => network_policy(object, &index, &mut fail),
            "HorizontalPodAutoscaler" => hpa(object, &index, &mut fail),
            "StatefulSet" => stateful_set(object, &index, &mut fail),
            "RoleBinding" => role_binding(object, &index, &mut fail),
            "Role" => role(object, &mut fail),
            _ => {}
        }
        if let Some(template) = object.pod_template() {
            workload(object, template, &index, objects, &mut fail);
        }
    }
    findings
}

/// Lookups over all objects of the render.
struct Index<'a> {
    objects: &'a [Object],
    by_key: BTreeMap<(String, String), Vec<usize>>,
    /// Every workload's pod template with its labels, worked out once: selectors are
    /// matched against them many times.
    pod_labels: Vec<(&'a Object, &'a Value, BTreeMap<String, String>)>,
}

impl<'a> Index<'a> {
    fn new(objects: &'a [Object]) -> Self {
        let mut by_key: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        for (i, o) in objects.iter().enumerate() {
            by_key
                .entry((o.kind().to_string(), o.name().to_string()))
                .or_default()
                .push(i);
        }
        let pod_labels = objects
            .iter()
            .filter_map(|o| o.pod_template().map(|t| (o, t, labels_of(t))))
            .collect();
        Index {
            objects,
            by_key,
            pod_labels,
        }
    }

    fn get(&self, kind: &str, name: &str) -> Option<&'a Object> {
        self.by_key
            .get(&(kind.to_string(), name.to_string()))
            .and_then(|v| v.first())
            .map(|i| &self.objects[*i])
    }

    fn seen_before(&self, i: usize) -> bool {
        let o = &self.objects[i];
        self.by_key
            .get(&(o.kind().to_string(), o.name().to_string()))
            .is_some_and(|v| v.first() != Some(&i))
    }
}

fn names(object: &Object, fail: &mut impl FnMut(&'static str, String)) {
    let name = object.name();
    let label_like = kinds::by_kind(object.kind()).is_some_and(|k| k.name == NameRule::Label);
    let max = if label_like { 63 } else { 253 };
    let ok = !name.is_empty()
        && name.len() <= max
        && name.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (!label_like && c == '.')
        })
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !ok {
        fail(
            "dns-name",
            format!(
                "name `{name}` is not a DNS-1123 {}",
                if label_like { "label" } else { "subdomain" }
            ),
        );
    }
}

fn labels_of(template: &Value) -> BTreeMap<String, String> {
    string_map(&template["metadata"]["labels"])
}

fn string_map(value: &Value) -> BTreeMap<String, String> {
    value
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn is_subset(selector: &BTreeMap<String, String>, labels: &BTreeMap<String, String>) -> bool {
    selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

/// Pod templates selected by a label map.
fn selected<'a>(
    index: &Index<'a>,
    selector: &BTreeMap<String, String>,
) -> Vec<(&'a Object, &'a Value)> {
    index
        .pod_labels
        .iter()
        .filter(|(_, _, l)| is_subset(selector, l))
        .map(|(o, t, _)| (*o, *t))
        .collect()
}

fn selector_matches(
    selector: &Value,
    object: &Object,
    index: &Index,
    field: &str,
    fail: &mut impl FnMut(&'static str, String),
) {
    if selector["matchExpressions"].is_array() {
        return; // Expressions are rare here and checked by the schema only.
    }
    let wanted = string_map(&selector["matchLabels"]);
    if wanted.is_empty() {
        fail(
            "selector",
            format!(
                "{} has an empty {field}, which selects every pod",
                object.describe()
            ),
        );
    } else if selected(index, &wanted).is_empty() {
        fail(
            "selector",
            format!("{field} {} matches no pod template", render_map(&wanted)),
        );
    }
}

fn render_map(map: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = map.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{{{}}}", parts.join(","))
}

fn service(object: &Object, index: &Index, fail: &mut impl FnMut(&'static str, String)) {
    let spec = &object.value["spec"];
    let selector = string_map(&spec["selector"]);
    if selector.is_empty() {
        return; // A Service without selector points at manual endpoints.
    }
    let pods = selected(index, &selector);
    if pods.is_empty() {
        fail(
            "selector",
            format!("selector {} matches no pod template", render_map(&selector)),
        );
        return;
    }
    let ports: Vec<&Value> = pods
        .iter()
        .flat_map(|(_, t)| containers(t))
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .collect();
    for port in spec["ports"].as_array().into_iter().flatten() {
        let target = if port["targetPort"].is_null() {
            &port["port"]
        } else {
            &port["targetPort"]
        };
        let found = match target {
            Value::String(name) => ports.iter().any(|p| p["name"].as_str() == Some(name)),
            Value::Number(n) => ports
                .iter()
                .any(|p| p["containerPort"].as_i64() == n.as_i64()),
            _ => true,
        };
        if !found {
            fail(
                "target-port",
                format!("targetPort {target} is not a port of any container the Service selects"),
            );
        }
    }
    if spec["clusterIP"] == "None" && !spec["ports"].is_array() {
        fail(
            "headless",
            "a headless Service still needs its ports for DNS SRV records".into(),
        );
    }
}

fn network_policy(object: &Object, index: &Index, fail: &mut impl FnMut(&'static str, String)) {
    let pod_selector = &object.value["spec"]["podSelector"];
    let wanted = string_map(&pod_selector["matchLabels"]);
    if !wanted.is_empty() && selected(index, &wanted).is_empty() {
        fail(
            "selector",
            format!(
                "podSelector {} matches no pod template",
                render_map(&wanted)
            ),
        );
    }
    for rule in object.value["spec"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for peer in rule["from"].as_array().into_iter().flatten() {
            let from = string_map(&peer["podSelector"]["matchLabels"]);
            if !from.is_empty()
                && peer["namespaceSelector"].is_null()
                && selected(index, &from).is_empty()
            {
                fail(
                    "selector",
                    format!("ingress peer {} matches no pod template", render_map(&from)),
                );
            }
        }
    }
}

fn hpa(object: &Object, index: &Index, fail: &mut impl FnMut(&'static str, String)) {
    let spec = &object.value["spec"];
    let target = &spec["scaleTargetRef"];
    let kind = target["kind"].as_str().unwrap_or("");
    let name = target["name"].as_str().unwrap_or("");
    if index.get(kind, name).is_none() {
        fail(
            "scale-target",
            format!("scaleTargetRef {kind} `{name}` is not rendered"),
        );
    }
    let min = spec["minReplicas"].as_i64().unwrap_or(1);
    let max = spec["maxReplicas"].as_i64().unwrap_or(0);
    if min > max {
        fail(
            "replicas",
            format!("minReplicas {min} is above maxReplicas {max}"),
        );
    }
}

fn stateful_set(object: &Object, index: &Index, fail: &mut impl FnMut(&'static str, String)) {
    let Some(service) = object.value["spec"]["serviceName"].as_str() else {
        return;
    };
    match index.get("Service", service) {
        None => fail(
            "headless",
            format!("serviceName `{service}` is not a rendered Service"),
        ),
        Some(s) if s.value["spec"]["clusterIP"] != "None" => fail(
            "headless",
            format!(
                "Service `{service}` must be headless (clusterIP: None) to give pods stable DNS names"
            ),
        ),
        Some(_) => {}
    }
}

fn role_binding(object: &Object, index: &Index, fail: &mut impl FnMut(&'static str, String)) {
    let role = &object.value["roleRef"];
    if role["kind"] == "Role" {
        let name = role["name"].as_str().unwrap_or("");
        if index.get("Role", name).is_none() {
            fail(
                "reference",
                format!("roleRef Role `{name}` is not rendered"),
            );
        }
    }
    for subject in object.value["subjects"].as_array().into_iter().flatten() {
        if subject["kind"] == "ServiceAccount" {
            let name = subject["name"].as_str().unwrap_or("");
            if index.get("ServiceAccount", name).is_none() {
                fail(
                    "reference",
                    format!("subject ServiceAccount `{name}` is not rendered"),
                );
            }
        }
    }
}

fn role(object: &Object, fail: &mut impl FnMut(&'static str, String)) {
    for rule in object.value["rules"].as_array().into_iter().flatten() {
        for field in ["apiGroups", "resources", "verbs"] {
            if rule[field]
                .as_array()
                .is_some_and(|v| v.iter().any(|x| x == "*"))
            {
                fail(
                    "least-privilege",
                    format!("a rule grants `*` in {field}; name what is needed"),
                );
            }
        }
    }
}

fn containers(template: &Value) -> impl Iterator<Item = &Value> {
    let spec = &template["spec"];
    spec["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .chain(spec["initContainers"].as_array().into_iter().flatten())
}

fn workload(
    object: &Object,
    template: &Value,
    index: &Index,
    objects: &[Object],
    fail: &mut impl FnMut(&'static str, String),
) {
    let spec = &template["spec"];
    let labels = labels_of(template);
    let own_selector = &object.value["spec"]["selector"]["matchLabels"];
    let lifecycle = kinds::pods_of(object.kind()).map(|p| p.lifecycle);
    if lifecycle == Some(Lifecycle::Serves) {
        let own = string_map(own_selector);
        if own.is_empty() || !is_subset(&own, &labels) {
            fail(
                "selector",
                "spec.selector.matchLabels must match the pod template's labels".into(),
            );
        }
    }
    match spec["serviceAccountName"].as_str() {
        None => fail(
            "service-account",
            "pods have no serviceAccountName; each component runs under its own".into(),
        ),
        Some(sa) if index.get("ServiceAccount", sa).is_none() => fail(
            "reference",
            format!("serviceAccountName `{sa}` is not rendered"),
        ),
        Some(_) => {}
    }
    let mut volumes = BTreeSet::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let name = volume["name"].as_str().unwrap_or("");
        if !volumes.insert(name) {
            fail(
                "unique",
                format!("volume `{name}` is declared twice in the pod"),
            );
        }
    }
    let mut container_names = BTreeSet::new();
    for container in containers(template) {
        let cname = container["name"].as_str().unwrap_or("");
        if !container_names.insert(cname) {
            fail(
                "unique",
                format!("container name `{cname}` is used twice in the pod"),
            );
        }
        let mut paths = BTreeSet::new();
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let volume = mount["name"].as_str().unwrap_or("");
            if !volumes.contains(volume) {
                fail(
                    "reference",
                    format!(
                        "container `{cname}` mounts volume `{volume}`, which the pod does not declare"
                    ),
                );
            }
            let path = mount["mountPath"].as_str().unwrap_or("");
            if !paths.insert(path) {
                fail(
                    "unique",
                    format!("container `{cname}` mounts two volumes at `{path}`"),
                );
            }
        }
    }
    let mut config_maps = BTreeSet::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        if let Some(name) = volume["configMap"]["name"].as_str()
            && volume["configMap"]["optional"] != true
        {
            config_maps.insert(name.to_string());
        }
    }
    let long_running = lifecycle == Some(Lifecycle::Serves);
    for container in containers(template) {
        let cname = container["name"].as_str().unwrap_or("?");
        for from in container["envFrom"].as_array().into_iter().flatten() {
            if let Some(name) = from["configMapRef"]["name"].as_str()
                && from["configMapRef"]["optional"] != true
            {
                config_maps.insert(name.to_string());
            }
        }
        for env in container["env"].as_array().into_iter().flatten() {
            let key_ref = &env["valueFrom"]["configMapKeyRef"];
            if let Some(name) = key_ref["name"].as_str()
                && key_ref["optional"] != true
            {
                config_maps.insert(name.to_string());
            }
        }
        let image = container["image"].as_str().unwrap_or("");
        let (_, tag) = split_image(image);
        if image.is_empty()
            || (tag.is_none() && !image.contains("@sha256:"))
            || tag == Some("latest")
        {
            fail(
                "image",
                format!(
                    "container `{cname}` image `{image}` is not pinned to a version tag or digest"
                ),
            );
        }
        let is_sidecar = container["restartPolicy"] == "Always";
        let in_init = spec["initContainers"]
            .as_array()
            .is_some_and(|v| v.iter().any(|c| std::ptr::eq(c, container)));
        if long_running && (!in_init || is_sidecar) {
            for probe in ["livenessProbe", "readinessProbe"] {
                if container[probe].is_null() && !(in_init && probe == "readinessProbe") {
                    fail("probes", format!("container `{cname}` has no {probe}"));
                }
            }
        }
    }
    for name in config_maps {
        if index.get("ConfigMap", &name).is_none() {
            fail(
                "reference",
                format!("ConfigMap `{name}` is used by the pods but not rendered"),
            );
        }
    }
    let replicas = object.value["spec"]["replicas"].as_i64();
    let hpa_min = objects
        .iter()
        .filter(|o| o.kind() == "HorizontalPodAutoscaler")
        .filter(|o| o.value["spec"]["scaleTargetRef"]["name"].as_str() == Some(object.name()))
        .filter_map(|o| o.value["spec"]["minReplicas"].as_i64())
        .next();
    let effective = hpa_min.or(replicas).unwrap_or(1);
    if long_running && object.kind() != "DaemonSet" && effective >= 2 {
        let covered = objects
            .iter()
            .filter(|o| o.kind() == "PodDisruptionBudget")
            .any(|pdb| {
                let wanted = string_map(&pdb.value["spec"]["selector"]["matchLabels"]);
                !wanted.is_empty() && is_subset(&wanted, &labels)
            });
        if !covered {
            fail(
                "disruption-budget",
                format!("{effective} replicas but no PodDisruptionBudget covers the pods"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn job(pod: Value) -> Vec<Object> {
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "w", "namespace": "ns"}});
        let job = json!({
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "w", "namespace": "ns"},
            "spec": {"template": {"metadata": {"labels": {"a": "b"}}, "spec": pod}}
        });
        [sa, job]
            .into_iter()
            .map(|value| Object {
                component: Some("w".into()),
                template: "t".into(),
                value,
            })
            .collect()
    }

    fn messages(objects: &[Object]) -> Vec<String> {
        check(objects, "ns")
            .into_iter()
            .map(|(_, _, m)| m)
            .collect()
    }

    #[test]
    fn a_mount_of_an_undeclared_volume_is_caught() {
        let objects = job(json!({
            "serviceAccountName": "w",
            "containers": [{"name": "c", "image": "x:1", "volumeMounts": [{"name": "nowhere", "mountPath": "/x"}]}]
        }));
        assert_eq!(
            messages(&objects),
            vec!["container `c` mounts volume `nowhere`, which the pod does not declare"]
        );
    }

    #[test]
    fn duplicate_volumes_and_container_names_are_caught() {
        let objects = job(json!({
            "serviceAccountName": "w",
            "volumes": [{"name": "v", "emptyDir": {}}, {"name": "v", "emptyDir": {}}],
            "containers": [{"name": "c", "image": "x:1"}],
            "initContainers": [{"name": "c", "image": "x:1", "restartPolicy": "Always"}]
        }));
        assert_eq!(
            messages(&objects),
            vec![
                "volume `v` is declared twice in the pod",
                "container name `c` is used twice in the pod"
            ]
        );
    }

    #[test]
    fn an_unpinned_image_and_a_missing_service_account_are_caught() {
        let objects = job(json!({
            "serviceAccountName": "other",
            "containers": [{"name": "c", "image": "nginx"}]
        }));
        assert_eq!(
            messages(&objects),
            vec![
                "serviceAccountName `other` is not rendered",
                "container `c` image `nginx` is not pinned to a version tag or digest"
            ]
        );
    }
}
