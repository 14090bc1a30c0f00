//! The `traffic` rule: the two NetworkPolicies on a path between pods of the system agree.
//! Traffic from pod A to pod B on a port passes only when A's policies allow the egress
//! and B's allow the ingress; a `calls` edge rendered on one side only is a connection
//! that times out in the cluster and passes every schema. So every egress rule towards
//! pods of the system must be admitted by the ingress policies of those pods, and every
//! ingress rule from pods of the system must be allowed by those pods' egress policies.
//! Pods no policy selects for a direction are open in that direction, as in Kubernetes.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Index, render_map, selected_positions, string_map};
use crate::manifest::Object;

/// For each pod template of the index (by position), the NetworkPolicies selecting it.
pub(super) struct Policies<'a> {
    by_pod: Vec<Vec<&'a Object>>,
}

impl<'a> Policies<'a> {
    pub(super) fn new(index: &Index<'a>) -> Self {
        let mut by_pod = vec![Vec::new(); index.pod_labels.len()];
        for object in index.objects.iter().filter(|o| o.kind() == "NetworkPolicy") {
            let selector = &object.value["spec"]["podSelector"];
            if selector["matchExpressions"].is_array() {
                continue; // Left to the cluster: expressions are not rendered here.
            }
            for pod in selected_positions(index, &string_map(&selector["matchLabels"])) {
                by_pod[pod].push(object);
            }
        }
        Policies { by_pod }
    }
}

pub(super) fn check(
    policy: &Object,
    index: &Index,
    policies: &Policies,
    fail: &mut impl FnMut(&'static str, String),
) {
    let spec = &policy.value["spec"];
    if spec["podSelector"]["matchExpressions"].is_array() {
        return;
    }
    let ns = policy.namespace();
    let own_pods = selected_positions(index, &string_map(&spec["podSelector"]["matchLabels"]));
    let own_labels: Vec<&BTreeMap<String, String>> =
        own_pods.iter().map(|&i| &index.pod_labels[i].2).collect();
    if own_labels.is_empty() {
        return; // `selector` reports a policy that selects nothing.
    }
    for (direction, peers, other, other_peers) in [
        ("egress", "to", "ingress", "from"),
        ("ingress", "from", "egress", "to"),
    ] {
        for rule in spec[direction].as_array().into_iter().flatten() {
            for peer in rule[peers].as_array().into_iter().flatten() {
                // A rule naming every pod of the namespace is not a path to check pod by pod.
                let Some(labels) = pod_peer(peer, ns).filter(|l| !l.is_empty()) else {
                    continue;
                };
                for pod in selected_positions(index, &labels) {
                    let theirs: Vec<&&Object> = policies.by_pod[pod]
                        .iter()
                        .filter(|p| has_type(p, other))
                        .collect();
                    if theirs.is_empty() {
                        continue;
                    }
                    for port in numeric_ports(rule) {
                        let agrees = theirs.iter().any(|p| {
                            allows(&p.value["spec"][other], other_peers, &own_labels, port, ns)
                        });
                        if !agrees {
                            let names: Vec<&str> = theirs.iter().map(|p| p.name()).collect();
                            fail(
                                "traffic",
                                format!(
                                    "{direction} {} {} on port {} is not allowed by the {other} of NetworkPolicy `{}` there",
                                    if direction == "egress" { "to" } else { "from" },
                                    render_map(&labels),
                                    port.map_or("(any)".into(), |p| p.to_string()),
                                    names.join("`, `")
                                ),
                            );
                        }
                    }
                }
            }
        }
    }
}

/// The labels of a peer that names pods of the policy's own namespace `ns`: a pod
/// selector alone, or with a namespace selector naming `ns` by its
/// `kubernetes.io/metadata.name` label (the monitoring Pushgateway admits every pod of the
/// system's namespace so); no IP block, no expressions. Empty labels are every pod there.
fn pod_peer(peer: &Value, ns: Option<&str>) -> Option<BTreeMap<String, String>> {
    let selector = &peer["podSelector"];
    let namespace = &peer["namespaceSelector"];
    let own_namespace = namespace.is_null()
        || ns.is_some_and(|ns| {
            *namespace == serde_json::json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})
        });
    let plain =
        own_namespace && peer["ipBlock"].is_null() && selector["matchExpressions"].is_null();
    plain.then(|| string_map(&selector["matchLabels"]))
}

/// Whether a policy applies to a direction: `policyTypes` when written, else Ingress
/// always and Egress when it has egress rules (the API server's defaulting).
fn has_type(policy: &Object, direction: &str) -> bool {
    let spec = &policy.value["spec"];
    match spec["policyTypes"].as_array() {
        Some(types) => types.iter().any(|t| {
            t.as_str()
                .is_some_and(|t| t.eq_ignore_ascii_case(direction))
        }),
        None => direction == "ingress" || spec["egress"].is_array(),
    }
}

/// The numeric ports of a rule; `[None]` (any port) when it lists none. A named port
/// cannot be compared without the pods, so it is taken as agreeing with anything.
fn numeric_ports(rule: &Value) -> Vec<Option<i64>> {
    match rule["ports"].as_array() {
        None => vec![None],
        Some(ports) if ports.is_empty() => vec![None],
        Some(ports) => ports
            .iter()
            .filter_map(|p| p["port"].as_i64())
            .map(Some)
            .collect(),
    }
}

/// Whether one direction's rules admit pods with one of `labels` on `port`.
fn allows(
    rules: &Value,
    peers: &str,
    labels: &[&BTreeMap<String, String>],
    port: Option<i64>,
    ns: Option<&str>,
) -> bool {
    rules.as_array().into_iter().flatten().any(|rule| {
        let port_ok = match (rule["ports"].as_array(), port) {
            (None, _) => true,
            (Some(ports), _) if ports.is_empty() => true,
            (Some(_), None) => false,
            (Some(ports), Some(n)) => ports.iter().any(|p| match &p["port"] {
                Value::Number(m) => {
                    let end = p["endPort"].as_i64().unwrap_or(m.as_i64().unwrap_or(0));
                    (m.as_i64().unwrap_or(0)..=end).contains(&n)
                }
                _ => true,
            }),
        };
        let peer_ok = match rule[peers].as_array() {
            None => true,
            Some(list) if list.is_empty() => true,
            Some(list) => list.iter().any(|peer| match pod_peer(peer, ns) {
                Some(wanted) => labels.iter().any(|l| super::is_subset(&wanted, l)),
                None => false,
            }),
        };
        port_ok && peer_ok
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::manifest::Object;

    use super::super::test_object as object;

    fn deployment(name: &str) -> Object {
        object(json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"serviceAccountName": name, "containers": []}}}
        }))
    }

    fn policy(name: &str, ingress: Value, egress: Value) -> Object {
        object(json!({
            "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"podSelector": {"matchLabels": {"app": name}},
                "policyTypes": ["Ingress", "Egress"], "ingress": ingress, "egress": egress}
        }))
    }

    fn traffic(objects: &[Object]) -> Vec<String> {
        super::super::check(objects, "ns")
            .into_iter()
            .filter(|(_, rule, _)| *rule == "traffic")
            .map(|(i, _, m)| format!("{}: {m}", objects[i].name()))
            .collect()
    }

    #[test]
    fn a_call_allowed_on_both_sides_passes() {
        let objects = [
            deployment("web"),
            deployment("api"),
            policy(
                "web",
                json!([]),
                json!([{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 8080}]}]),
            ),
            policy(
                "api",
                json!([{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 8080}]}]),
                json!([]),
            ),
        ];
        assert_eq!(traffic(&objects), Vec::<String>::new());
    }

    #[test]
    fn egress_the_callee_does_not_admit_is_caught_on_the_caller() {
        let objects = [
            deployment("web"),
            deployment("api"),
            policy(
                "web",
                json!([]),
                json!([{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 9000}]}]),
            ),
            policy(
                "api",
                json!([{"from": [{"podSelector": {"matchLabels": {"app": "web"}}}], "ports": [{"port": 8080}]}]),
                json!([]),
            ),
        ];
        assert_eq!(
            traffic(&objects),
            vec![
                "web: egress to {app=api} on port 9000 is not allowed by the ingress of NetworkPolicy `api` there",
                "api: ingress from {app=web} on port 8080 is not allowed by the egress of NetworkPolicy `web` there",
            ]
        );
    }

    #[test]
    fn pods_without_a_policy_for_the_direction_are_open() {
        let objects = [
            deployment("web"),
            deployment("api"),
            policy(
                "web",
                json!([]),
                json!([{"to": [{"podSelector": {"matchLabels": {"app": "api"}}}], "ports": [{"port": 9000}]}]),
            ),
        ];
        assert_eq!(traffic(&objects), Vec::<String>::new());
    }

    #[test]
    fn a_peer_naming_the_own_namespace_admits_its_pods_and_another_namespace_does_not() {
        let pusher = |namespace: &str| {
            [
                deployment("batch"),
                deployment("push"),
                policy(
                    "batch",
                    json!([]),
                    json!([{"to": [{"podSelector": {"matchLabels": {"app": "push"}}}], "ports": [{"port": 9091}]}]),
                ),
                policy(
                    "push",
                    json!([{"from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": namespace}}}], "ports": [{"port": 9091}]}]),
                    json!([]),
                ),
            ]
        };
        assert_eq!(traffic(&pusher("ns")), Vec::<String>::new());
        assert_eq!(
            traffic(&pusher("monitoring")),
            vec![
                "batch: egress to {app=push} on port 9091 is not allowed by the ingress of NetworkPolicy `push` there"
            ]
        );
    }
}
