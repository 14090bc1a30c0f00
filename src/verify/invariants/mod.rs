//! Cross-object invariants: the bugs no per-object schema can see — a PDB that selects no
//! pod, a Service aiming at a port no container opens, a ServiceAccount that was never
//! rendered. Each rule names the object and says what to fix.
//!
//! Every lookup across objects goes through `Index`, built once: objects by kind and
//! name, pod templates by label, autoscalers by target, disruption budgets by label. The
//! checks then cost time linear in the number of objects; matching each selector against
//! every pod template made a 5,000-component spec take over a minute.

mod routes;
mod traffic;
mod workload;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::kinds::is_namespaced;
use crate::kinds::{self, NameRule};
use crate::manifest::Object;

/// A failed invariant: the object it concerns, the rule, and the explanation.
pub type Finding = (usize, &'static str, String);

pub fn check(objects: &[Object], namespace: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    let index = Index::new(objects);
    let policies = traffic::Policies::new(&index);
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
            "NetworkPolicy" => {
                network_policy(object, &index, &mut fail);
                traffic::check(object, &index, &policies, &mut fail);
            }
            "HorizontalPodAutoscaler" => hpa(object, &index, &mut fail),
            "Ingress" => routes::ingress(object, &index, &mut fail),
            "HTTPRoute" => routes::http_route(object, &index, &mut fail),
            "StatefulSet" => stateful_set(object, &index, &mut fail),
            "RoleBinding" => role_binding(object, &index, &mut fail),
            "Role" => role(object, &mut fail),
            _ => {}
        }
        if let Some(template) = object.pod_template() {
            workload::check(object, template, &index, &mut fail);
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
    /// For each label `key=value`, the entries of `pod_labels` that carry it, in order.
    pods_by_label: HashMap<(String, String), Vec<usize>>,
    /// `minReplicas` of the first HorizontalPodAutoscaler aiming at each name.
    hpa_min: HashMap<&'a str, i64>,
    /// The non-empty `matchLabels` of every PodDisruptionBudget, filed under its first
    /// label: a pod is covered only by budgets filed under one of its own labels.
    pdbs_by_label: HashMap<(String, String), Vec<BTreeMap<String, String>>>,
}

impl<'a> Index<'a> {
    fn new(objects: &'a [Object]) -> Self {
        let mut by_key: BTreeMap<(String, String), Vec<usize>> = BTreeMap::new();
        let mut hpa_min = HashMap::new();
        let mut pdbs_by_label: HashMap<_, Vec<_>> = HashMap::new();
        for (i, o) in objects.iter().enumerate() {
            by_key
                .entry((o.kind().to_string(), o.name().to_string()))
                .or_default()
                .push(i);
            match o.kind() {
                "HorizontalPodAutoscaler" => {
                    let spec = &o.value["spec"];
                    if let (Some(target), Some(min)) = (
                        spec["scaleTargetRef"]["name"].as_str(),
                        spec["minReplicas"].as_i64(),
                    ) {
                        hpa_min.entry(target).or_insert(min);
                    }
                }
                "PodDisruptionBudget" => {
                    let wanted = string_map(&o.value["spec"]["selector"]["matchLabels"]);
                    if let Some((k, v)) = wanted.first_key_value() {
                        let key = (k.clone(), v.clone());
                        pdbs_by_label.entry(key).or_default().push(wanted);
                    }
                }
                _ => {}
            }
        }
        let pod_labels: Vec<_> = objects
            .iter()
            .filter_map(|o| o.pod_template().map(|t| (o, t, labels_of(t))))
            .collect();
        let mut pods_by_label: HashMap<_, Vec<usize>> = HashMap::new();
        for (i, (_, _, labels)) in pod_labels.iter().enumerate() {
            for (k, v) in labels {
                pods_by_label
                    .entry((k.clone(), v.clone()))
                    .or_default()
                    .push(i);
            }
        }
        Index {
            objects,
            by_key,
            pod_labels,
            pods_by_label,
            hpa_min,
            pdbs_by_label,
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

    /// Whether a PodDisruptionBudget selects pods with these labels.
    fn disruption_budget_covers(&self, labels: &BTreeMap<String, String>) -> bool {
        labels.iter().any(|(k, v)| {
            self.pdbs_by_label
                .get(&(k.clone(), v.clone()))
                .is_some_and(|budgets| budgets.iter().any(|b| is_subset(b, labels)))
        })
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

/// Pod templates selected by a label map, in object order. Only the templates
/// carrying the selector's rarest label are tried.
fn selected<'a>(
    index: &Index<'a>,
    selector: &BTreeMap<String, String>,
) -> Vec<(&'a Object, &'a Value)> {
    selected_positions(index, selector)
        .into_iter()
        .map(|i| (index.pod_labels[i].0, index.pod_labels[i].1))
        .collect()
}

/// [`selected`] as positions in `index.pod_labels`.
fn selected_positions(index: &Index, selector: &BTreeMap<String, String>) -> Vec<usize> {
    if selector.is_empty() {
        return (0..index.pod_labels.len()).collect();
    }
    let mut rarest: Option<&Vec<usize>> = None;
    for (k, v) in selector {
        match index.pods_by_label.get(&(k.clone(), v.clone())) {
            None => return Vec::new(),
            Some(list) if rarest.is_none_or(|r| list.len() < r.len()) => rarest = Some(list),
            Some(_) => {}
        }
    }
    rarest
        .into_iter()
        .flatten()
        .copied()
        .filter(|&i| is_subset(selector, &index.pod_labels[i].2))
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
    for (direction, peers) in [("ingress", "from"), ("egress", "to")] {
        for rule in object.value["spec"][direction]
            .as_array()
            .into_iter()
            .flatten()
        {
            for peer in rule[peers].as_array().into_iter().flatten() {
                let labels = string_map(&peer["podSelector"]["matchLabels"]);
                if !labels.is_empty()
                    && peer["namespaceSelector"].is_null()
                    && selected(index, &labels).is_empty()
                {
                    fail(
                        "selector",
                        format!(
                            "{direction} peer {} matches no pod template",
                            render_map(&labels)
                        ),
                    );
                }
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

/// An object as a test builds it: no component, a made-up template name.
#[cfg(test)]
pub(super) fn test_object(value: Value) -> Object {
    Object {
        component: None,
        template: "t".into(),
        value,
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
    fn a_mount_of_a_claim_template_is_a_declared_volume() {
        // As a StatefulSet's volumeClaimTemplates give each pod a volume by that name.
        let mut objects = job(json!({
            "serviceAccountName": "w",
            "containers": [{"name": "c", "image": "x:1", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]
        }));
        objects[1].value["spec"]["volumeClaimTemplates"] = json!([{"metadata": {"name": "data"}}]);
        assert_eq!(messages(&objects), Vec::<String>::new());
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
