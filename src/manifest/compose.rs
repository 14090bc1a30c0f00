//! Attachments into the pods they decorate: each `PodPatch` of an attachable pattern adds
//! its containers, volumes and host-container env and mounts to the pods of its host, and
//! the host's Services, NetworkPolicies and PodMonitors follow the ports it exposes. This
//! works on parsed objects, whatever pattern rendered the host, so no pattern has to know
//! which patterns may be attached to it.

use serde_json::{Map, Value, json};

use super::{Expose, ExposeTo, Object, Parsed, PodPatch, SpecChecked, runs_to_completion};
use crate::error::{Error, Result};
use crate::model::{Component, System};
use crate::source::{Problem, YamlPath};

/// A pod-template annotation by which a pattern keeps a workload of its own (a cache
/// tier, a broker, a database it runs) from being decorated: attachments are for the
/// component's program. It is a note between template and compose, removed here, so it
/// never reaches the output.
pub const SKIP_ANNOTATION: &str = "dpatterns.io/attach";
const SKIP_VALUE: &str = "skip";

/// Adds each attachment's containers and volumes to every pod its host runs (except the
/// workloads marked with the annotation `dpatterns.io/attach: skip`). Inside Jobs they
/// become native sidecars (`initContainers` with `restartPolicy: Always`), since an
/// ordinary extra container
/// would keep the Job from ever completing. The outer `Err` is a template's fault; the
/// inner one the spec's.
pub fn compose(parsed: Parsed, system: &System) -> Result<SpecChecked<Vec<Object>>> {
    let mut objects = parsed.objects;
    let skipped: Vec<bool> = objects.iter_mut().map(take_skip_mark).collect();
    let mut errors = Vec::new();
    for patch in parsed.pod_patches {
        let host = system
            .component(&patch.host)
            .expect("pod patches come from components of the model");
        check_exposed_names(&patch)?;
        let attach_path = attach_path(host, &patch);
        // The labels of each decorated pod, for the Services, policies and monitors that
        // select it; a template's labels plus the selector policy adds to every pod.
        let mut decorated: Vec<Map<String, Value>> = Vec::new();
        for (object, _) in objects
            .iter_mut()
            .zip(&skipped)
            .filter(|(o, skip)| !**skip && o.component.as_deref() == Some(host.name.as_str()))
        {
            let kind = object.kind().to_string();
            let Some(template) = object.pod_template_mut() else {
                continue;
            };
            let native = runs_to_completion(&kind);
            if native && !system.native_sidecars() {
                errors.push(Problem::new(
                    attach_path.clone(),
                    format!(
                        "`{}` attaches a container to the {kind} of `{}`, which needs native sidecars (Kubernetes 1.{}+); the target is 1.{}",
                        patch.attachment,
                        host.name,
                        crate::model::NATIVE_SIDECAR_MINOR,
                        system.kube_minor
                    ),
                    "needs native sidecars",
                    Some(format!(
                        "raise `spec.kubernetes.version` to \"1.{}\" or later; without native sidecars the {kind} would never complete",
                        crate::model::NATIVE_SIDECAR_MINOR
                    )),
                ));
                decorated.push(Map::new());
                continue;
            }
            let mut labels = template["metadata"]["labels"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            if let Some(selector) = system.selector(&host.name).as_object() {
                labels.extend(selector.clone());
            }
            decorated.push(labels);
            decorate(&mut template["spec"], &patch, native);
        }
        if decorated.is_empty() {
            return Err(Error::Template {
                template: patch.template,
                message: format!(
                    "`{}` has no workload with pods to attach `{}` to",
                    host.name, patch.attachment
                ),
                blame: patch.blame,
            });
        }
        for expose in &patch.doc.expose {
            for object in objects.iter_mut() {
                if object.component.as_deref() == Some(host.name.as_str()) {
                    follow_exposed(object, expose, &decorated, system);
                } else if expose.from == ExposeTo::Clients && object.kind() == "NetworkPolicy" {
                    // Whoever may send to the host's application may send to the
                    // attachment's port too: its egress to those pods opens the port.
                    open_egress(&mut object.value["spec"], expose, &decorated);
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(Ok(objects))
    } else {
        Ok(Err(errors))
    }
}

/// Whether the workload's pods are kept from attachments; the mark is removed.
fn take_skip_mark(object: &mut Object) -> bool {
    let Some(template) = object.pod_template_mut() else {
        return false;
    };
    let Some(annotations) = template["metadata"]["annotations"].as_object_mut() else {
        return false;
    };
    let skip = annotations
        .remove(SKIP_ANNOTATION)
        .as_ref()
        .and_then(Value::as_str)
        == Some(SKIP_VALUE);
    if annotations.is_empty()
        && let Some(metadata) = template["metadata"].as_object_mut()
    {
        metadata.remove("annotations");
    }
    skip
}

fn attach_path(host: &Component, patch: &PodPatch) -> YamlPath {
    let attach_index = host
        .attachments
        .iter()
        .find(|a| a.pattern == patch.attachment)
        .map_or(0, |a| a.index);
    YamlPath::root()
        .key("spec")
        .key("components")
        .index(host.index)
        .key("attach")
        .index(attach_index)
        .key("pattern")
}

/// An exposed port must be a named port of one of the patch's containers: the Service
/// aims at it by name.
fn check_exposed_names(patch: &PodPatch) -> Result<()> {
    for expose in &patch.doc.expose {
        let named = patch.doc.containers.iter().any(|c| {
            c["ports"].as_array().is_some_and(|ports| {
                ports
                    .iter()
                    .any(|p| p["name"] == expose.name.as_str() && p["containerPort"] == expose.port)
            })
        });
        if !named {
            return Err(Error::Template {
                template: patch.template.clone(),
                message: format!(
                    "the PodPatch exposes `{}` on {}, which is no containerPort of its containers by that name and number",
                    expose.name, expose.port
                ),
                blame: patch.blame.clone(),
            });
        }
    }
    Ok(())
}

/// One pod spec, decorated: the host's own containers first (before any sidecar joins).
fn decorate(pod: &mut Value, patch: &PodPatch, native: bool) {
    if let Some(own) = pod["containers"].as_array_mut() {
        for container in own.iter_mut() {
            for env in &patch.doc.host_containers.env {
                push(container, "env", env.clone());
            }
            for mount in &patch.doc.host_containers.volume_mounts {
                push(container, "volumeMounts", mount.clone());
            }
        }
    }
    for container in &patch.doc.containers {
        let mut container = container.clone();
        if native {
            container["restartPolicy"] = Value::String("Always".into());
            push(pod, "initContainers", container);
        } else {
            push(pod, "containers", container);
        }
    }
    for volume in &patch.doc.volumes {
        push(pod, "volumes", volume.clone());
    }
    if let Some(share) = patch.doc.share_process_namespace {
        pod["shareProcessNamespace"] = Value::Bool(share);
    }
}

/// Whether a label selector (`matchLabels`, or a Service's plain selector) picks one of
/// the decorated pods.
fn selects(selector: &Value, decorated: &[Map<String, Value>]) -> bool {
    let Some(wanted) = selector.as_object() else {
        return false;
    };
    decorated
        .iter()
        .any(|labels| wanted.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The host's objects that route to or guard the decorated pods learn the exposed port.
fn follow_exposed(
    object: &mut Object,
    expose: &Expose,
    decorated: &[Map<String, Value>],
    system: &System,
) {
    let monitoring = system.network.monitoring_namespace.as_str();
    match (object.kind(), expose.from) {
        ("Service", ExposeTo::Clients) if selects(&object.value["spec"]["selector"], decorated) => {
            push(
                &mut object.value["spec"],
                "ports",
                json!({
                    "name": expose.name,
                    "port": expose.service_port.unwrap_or(expose.port),
                    "targetPort": expose.name,
                    "protocol": "TCP",
                }),
            );
        }
        ("NetworkPolicy", _)
            if selects(
                &object.value["spec"]["podSelector"]["matchLabels"],
                decorated,
            ) =>
        {
            admit(&mut object.value["spec"], expose, monitoring);
        }
        ("PodMonitor", ExposeTo::Monitoring)
            if selects(&object.value["spec"]["selector"]["matchLabels"], decorated) =>
        {
            push(
                &mut object.value["spec"],
                "podMetricsEndpoints",
                json!({"port": expose.name, "path": "/metrics"}),
            );
        }
        _ => {}
    }
}

/// Whether an ingress rule admits the monitoring namespace (the metrics rule).
fn is_monitoring_rule(rule: &Value, monitoring: &str) -> bool {
    rule["from"].as_array().is_some_and(|peers| {
        peers.iter().any(|p| {
            p["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"] == monitoring
        })
    })
}

/// A port for clients joins every ingress rule of the application (those with peers that
/// are not the monitoring namespace): it is reached by whoever reaches the app. A port
/// for monitoring joins the metrics rule, or gets one of its own.
fn admit(policy: &mut Value, expose: &Expose, monitoring: &str) {
    let port = json!({"port": expose.port, "protocol": "TCP"});
    let Some(rules) = policy["ingress"].as_array_mut() else {
        return;
    };
    match expose.from {
        ExposeTo::Clients => {
            for rule in rules
                .iter_mut()
                .filter(|r| r["from"].is_array() && !is_monitoring_rule(r, monitoring))
            {
                push(rule, "ports", port.clone());
            }
        }
        ExposeTo::Monitoring => {
            match rules.iter_mut().find(|r| is_monitoring_rule(r, monitoring)) {
                Some(rule) => push(rule, "ports", port),
                None => rules.push(json!({
                    "ports": [port],
                    "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": monitoring}}}],
                })),
            }
        }
    }
}

/// Adds the exposed port to each egress rule of a caller's policy that reaches the
/// decorated pods on listed ports (a rule without ports already allows every port).
fn open_egress(policy: &mut Value, expose: &Expose, decorated: &[Map<String, Value>]) {
    let Some(rules) = policy["egress"].as_array_mut() else {
        return;
    };
    for rule in rules.iter_mut() {
        let reaches = rule["to"].as_array().is_some_and(|peers| {
            peers.iter().any(|p| {
                p.get("namespaceSelector").is_none()
                    && selects(&p["podSelector"]["matchLabels"], decorated)
            })
        });
        if reaches && rule["ports"].is_array() {
            push(
                rule,
                "ports",
                json!({"port": expose.port, "protocol": "TCP"}),
            );
        }
    }
}

fn push(pod: &mut Value, key: &str, item: Value) {
    if !pod[key].is_array() {
        pod[key] = Value::Array(Vec::new());
    }
    if let Some(list) = pod[key].as_array_mut() {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expose(from: ExposeTo) -> Expose {
        Expose {
            name: "https".into(),
            port: 8443,
            service_port: Some(443),
            from,
        }
    }

    fn policy() -> Value {
        json!({"ingress": [
            {"ports": [{"port": 8080, "protocol": "TCP"}], "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "web"}}}]},
            {"ports": [{"port": 9090, "protocol": "TCP"}], "from": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}]},
        ]})
    }

    #[test]
    fn a_port_for_clients_joins_the_application_rules_only() {
        let mut p = policy();
        admit(&mut p, &expose(ExposeTo::Clients), "monitoring");
        assert_eq!(
            p["ingress"][0]["ports"][1],
            json!({"port": 8443, "protocol": "TCP"})
        );
        assert_eq!(p["ingress"][1]["ports"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_port_for_monitoring_joins_the_metrics_rule_or_gets_its_own() {
        let mut p = policy();
        admit(&mut p, &expose(ExposeTo::Monitoring), "monitoring");
        assert_eq!(p["ingress"][1]["ports"][1]["port"], 8443);
        assert_eq!(p["ingress"][0]["ports"].as_array().unwrap().len(), 1);
        let mut bare = json!({"ingress": []});
        admit(&mut bare, &expose(ExposeTo::Monitoring), "obs");
        assert_eq!(
            bare["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
            "obs"
        );
    }

    #[test]
    fn a_callers_egress_to_the_decorated_pods_opens_the_exposed_port() {
        let pod: Map<String, Value> =
            serde_json::from_value(json!({"app.kubernetes.io/name": "b"})).unwrap();
        let mut caller = json!({"egress": [
            {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "b"}}}], "ports": [{"port": 8080, "protocol": "TCP"}]},
            {"to": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "c"}}}], "ports": [{"port": 8080, "protocol": "TCP"}]},
        ]});
        open_egress(&mut caller, &expose(ExposeTo::Clients), &[pod]);
        assert_eq!(caller["egress"][0]["ports"][1]["port"], 8443);
        assert_eq!(caller["egress"][1]["ports"].as_array().unwrap().len(), 1);
    }

    #[test]
    fn a_selector_matches_when_all_its_labels_are_on_a_decorated_pod() {
        let pod: Map<String, Value> = serde_json::from_value(json!({"a": "1", "b": "2"})).unwrap();
        assert!(selects(&json!({"a": "1"}), std::slice::from_ref(&pod)));
        assert!(!selects(
            &json!({"a": "1", "c": "3"}),
            std::slice::from_ref(&pod)
        ));
        assert!(!selects(&Value::Null, &[pod]));
    }

    #[test]
    fn the_skip_mark_is_read_and_removed() {
        let mut o = Object {
            component: Some("web".into()),
            template: "t".into(),
            value: json!({"kind": "Deployment", "spec": {"template": {"metadata": {"annotations": {SKIP_ANNOTATION: "skip"}}, "spec": {}}}}),
        };
        assert!(take_skip_mark(&mut o));
        assert_eq!(o.value["spec"]["template"]["metadata"], json!({}));
        assert!(!take_skip_mark(&mut o));
    }
}
