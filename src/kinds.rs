//! The one table of Kubernetes kinds dpatterns knows. Everything the tool needs to know
//! about a kind lives in its row: the typed binding that checks it, whether it lives in a
//! namespace, how its name is spelled, where its pods are, whether they run to completion,
//! and (by the row's position) where it goes in an output file. Adding a kind is adding a
//! row; nothing else in the code names kinds this way.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, networking, policy, rbac};
use kcr_gateway_networking_k8s_io::v1 as gateway;
use kcr_monitoring_coreos_com::v1 as monitoring;

/// One kind of object and what the pipeline needs to know about it.
#[derive(Debug)]
pub struct Kind {
    pub api_version: &'static str,
    pub kind: &'static str,
    /// The typed round trip: [`round_trip`] over the kind's typed binding.
    pub decode: Decoder,
    /// Whether objects of the kind live in a namespace (and so get the system's).
    pub namespaced: bool,
    /// The DNS-1123 rule the object's name follows.
    pub name: NameRule,
    /// Where the kind keeps its pods, for kinds that run any.
    pub pods: Option<Pods>,
}

/// Decodes an object into a typed binding and encodes it back; `Err` says what is wrong
/// and, when a value is, at which path.
pub type Decoder = fn(&Value) -> Result<Value, String>;

/// Which DNS-1123 rule a kind's names follow (Kubernetes validates names per kind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    /// At most 253 characters, dots allowed: most kinds.
    Subdomain,
    /// At most 63 characters, no dots: names that become DNS labels (Services, Namespaces).
    Label,
}

/// Where a workload kind keeps its pod template, and how its pods live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pods {
    /// JSON pointer to the pod template (`""` when the object is the pod itself).
    pub template: &'static str,
    pub lifecycle: Lifecycle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifecycle {
    /// A controller that keeps a set of pods running, picked by its own selector.
    Serves,
    /// Pods that finish: an extra container must be a native sidecar or the work never ends.
    Completes,
    /// A bare pod: no controller, no selector.
    Bare,
}

const NAMESPACED: bool = true;
const CLUSTER: bool = false;
const fn pods(template: &'static str, lifecycle: Lifecycle) -> Option<Pods> {
    Some(Pods {
        template,
        lifecycle,
    })
}

macro_rules! kind {
    ($api:literal, $kind:literal, $ty:ty, $scope:expr, $name:ident, $pods:expr) => {
        Kind {
            api_version: $api,
            kind: $kind,
            decode: round_trip::<$ty>,
            namespaced: $scope,
            name: NameRule::$name,
            pods: $pods,
        }
    };
}

use Lifecycle::{Bare, Completes, Serves};

/// Every kind dpatterns renders or accepts from a template, in output order: inside one
/// output file, objects are sorted by their kind's row (dependencies first), then by name.
#[rustfmt::skip]
pub static KINDS: &[Kind] = &[
    kind!("v1", "Namespace", core::v1::Namespace, CLUSTER, Label, None),
    kind!("v1", "ServiceAccount", core::v1::ServiceAccount, NAMESPACED, Subdomain, None),
    kind!("rbac.authorization.k8s.io/v1", "Role", rbac::v1::Role, NAMESPACED, Subdomain, None),
    kind!("rbac.authorization.k8s.io/v1", "RoleBinding", rbac::v1::RoleBinding, NAMESPACED, Subdomain, None),
    kind!("v1", "ConfigMap", core::v1::ConfigMap, NAMESPACED, Subdomain, None),
    kind!("v1", "Secret", core::v1::Secret, NAMESPACED, Subdomain, None),
    kind!("v1", "PersistentVolumeClaim", core::v1::PersistentVolumeClaim, NAMESPACED, Subdomain, None),
    kind!("v1", "Service", core::v1::Service, NAMESPACED, Label, None),
    kind!("apps/v1", "Deployment", apps::v1::Deployment, NAMESPACED, Subdomain, pods("/spec/template", Serves)),
    kind!("apps/v1", "StatefulSet", apps::v1::StatefulSet, NAMESPACED, Subdomain, pods("/spec/template", Serves)),
    kind!("apps/v1", "DaemonSet", apps::v1::DaemonSet, NAMESPACED, Subdomain, pods("/spec/template", Serves)),
    kind!("apps/v1", "ReplicaSet", apps::v1::ReplicaSet, NAMESPACED, Subdomain, pods("/spec/template", Serves)),
    kind!("batch/v1", "Job", batch::v1::Job, NAMESPACED, Subdomain, pods("/spec/template", Completes)),
    kind!("batch/v1", "CronJob", batch::v1::CronJob, NAMESPACED, Subdomain, pods("/spec/jobTemplate/spec/template", Completes)),
    kind!("v1", "Pod", core::v1::Pod, NAMESPACED, Subdomain, pods("", Bare)),
    kind!("coordination.k8s.io/v1", "Lease", coordination::v1::Lease, NAMESPACED, Subdomain, None),
    kind!("policy/v1", "PodDisruptionBudget", policy::v1::PodDisruptionBudget, NAMESPACED, Subdomain, None),
    kind!("autoscaling/v2", "HorizontalPodAutoscaler", autoscaling::v2::HorizontalPodAutoscaler, NAMESPACED, Subdomain, None),
    kind!("networking.k8s.io/v1", "NetworkPolicy", networking::v1::NetworkPolicy, NAMESPACED, Subdomain, None),
    kind!("networking.k8s.io/v1", "Ingress", networking::v1::Ingress, NAMESPACED, Subdomain, None),
    // Custom resources: typed bindings generated from the projects' own CRDs.
    kind!("gateway.networking.k8s.io/v1", "HTTPRoute", gateway::httproutes::HttpRoute, NAMESPACED, Subdomain, None),
    kind!("monitoring.coreos.com/v1", "PodMonitor", monitoring::podmonitors::PodMonitor, NAMESPACED, Subdomain, None),
    kind!("monitoring.coreos.com/v1", "PrometheusRule", monitoring::prometheusrules::PrometheusRule, NAMESPACED, Subdomain, None),
];

/// The row of an object's `apiVersion` and `kind`, if dpatterns knows the pair.
pub fn find(api_version: &str, kind: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.kind == kind && k.api_version == api_version)
}

/// The row of a kind by name alone, for objects whose apiVersion is wrong or not yet
/// known: its output order and pods do not depend on the version.
pub fn by_kind(kind: &str) -> Option<&'static Kind> {
    KINDS.iter().find(|k| k.kind == kind)
}

/// An object's place in its output file: its kind's row; unknown kinds go last.
pub fn rank(kind: &str) -> usize {
    KINDS
        .iter()
        .position(|k| k.kind == kind)
        .unwrap_or(KINDS.len())
}

/// Whether objects of `kind` live in a namespace. Kinds outside the table are taken to be
/// namespaced, as most kinds are; the schema check rejects them anyway.
pub fn is_namespaced(kind: &str) -> bool {
    by_kind(kind).is_none_or(|k| k.namespaced)
}

/// The kind's pods, for workload kinds.
pub fn pods_of(kind: &str) -> Option<Pods> {
    by_kind(kind).and_then(|k| k.pods)
}

/// Decodes `value` as `T` and encodes it again. The decoding error, when there is one, is
/// explained by decoding once more with the path tracked: tracking costs as much as
/// decoding, so only a failure pays for it.
pub fn round_trip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    match T::deserialize(value) {
        Ok(decoded) => Ok(serde_json::to_value(&decoded).expect("typed bindings serialize")),
        Err(_) => Err(explain_decode_error::<T>(value)),
    }
}

fn explain_decode_error<T: DeserializeOwned>(value: &Value) -> String {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => "invalid object".to_string(),
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." || path.is_empty() {
                format!("invalid object: {inner}")
            } else {
                format!("wrong value at `.{path}`: {inner}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::BTreeSet;

    /// The smallest object of each kind that its typed binding accepts.
    fn minimal(kind: &Kind) -> Value {
        let mut object = json!({
            "apiVersion": kind.api_version,
            "kind": kind.kind,
            "metadata": {"name": "x"},
        });
        if let Some(spec) = minimal_spec(kind.kind) {
            object["spec"] = spec;
        }
        object
    }

    fn minimal_spec(kind: &str) -> Option<Value> {
        let pod = json!({"containers": [{"name": "c", "image": "i:1"}]});
        let template = json!({"spec": pod});
        let selector = json!({"matchLabels": {"a": "b"}});
        Some(match kind {
            "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" => {
                json!({"selector": selector, "template": template})
            }
            "Job" => json!({"template": template}),
            "CronJob" => {
                json!({"schedule": "* * * * *", "jobTemplate": {"spec": {"template": template}}})
            }
            "Pod" => pod,
            "HorizontalPodAutoscaler" => json!({
                "maxReplicas": 2,
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "x"},
            }),
            "NetworkPolicy" => json!({"podSelector": {}}),
            "PodMonitor" => json!({"selector": {}}),
            "ServiceAccount" | "ConfigMap" | "Secret" | "Role" | "RoleBinding" => return None,
            _ => json!({}),
        })
    }

    #[test]
    fn every_row_decodes_a_minimal_object_and_encodes_it_back_unchanged() {
        for kind in KINDS {
            let mut object = minimal(kind);
            if kind.kind == "RoleBinding" {
                object["roleRef"] =
                    json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "x"});
            }
            let back = (kind.decode)(&object)
                .unwrap_or_else(|e| panic!("{} does not decode: {e}", kind.kind));
            assert_eq!(back, object, "{} changed in the round trip", kind.kind);
        }
    }

    #[test]
    fn every_row_refuses_a_wrong_value_and_names_its_path() {
        for kind in KINDS {
            let mut object = minimal(kind);
            object["metadata"]["name"] = json!(7);
            let error = (kind.decode)(&object).unwrap_err();
            assert!(
                error.starts_with("wrong value at `.metadata.name`"),
                "{}: {error}",
                kind.kind
            );
        }
    }

    #[test]
    fn no_two_rows_share_an_api_version_and_kind() {
        let mut seen = BTreeSet::new();
        for kind in KINDS {
            assert!(
                seen.insert((kind.api_version, kind.kind)),
                "{} {} has two rows",
                kind.api_version,
                kind.kind
            );
        }
    }

    #[test]
    fn kinds_are_found_by_api_version_and_kind() {
        assert_eq!(find("batch/v1", "CronJob").unwrap().kind, "CronJob");
        assert!(find("extensions/v1beta1", "Deployment").is_none());
        assert_eq!(
            pods_of("CronJob").unwrap().template,
            "/spec/jobTemplate/spec/template"
        );
        assert!(!is_namespaced("Namespace"));
        assert!(is_namespaced("Service"));
        assert!(rank("Namespace") < rank("Deployment"));
        assert_eq!(rank("NoSuchKind"), KINDS.len());
    }
}
