//! The typed, strict schema check: each object is decoded into its k8s-openapi type (a wrong
//! type fails, with the field path from `serde_path_to_error`), encoded again, and compared
//! with the input — a field that did not survive the round trip is one Kubernetes does not
//! know. The typed value is also what gets written, so the output has one canonical form.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use k8s_openapi::api::{apps, autoscaling, batch, coordination, core, networking, policy, rbac};

/// Decodes, checks and canonicalizes one object. `Ok` holds the object's YAML.
pub fn check_object(value: &Value) -> Result<String, Vec<String>> {
    let api_version = value["apiVersion"].as_str().unwrap_or("");
    let kind = value["kind"].as_str().unwrap_or("");
    match (api_version, kind) {
        ("v1", "Namespace") => typed::<core::v1::Namespace>(value),
        ("v1", "ServiceAccount") => typed::<core::v1::ServiceAccount>(value),
        ("v1", "Service") => typed::<core::v1::Service>(value),
        ("v1", "ConfigMap") => typed::<core::v1::ConfigMap>(value),
        ("v1", "Secret") => typed::<core::v1::Secret>(value),
        ("v1", "PersistentVolumeClaim") => typed::<core::v1::PersistentVolumeClaim>(value),
        ("v1", "Pod") => typed::<core::v1::Pod>(value),
        ("apps/v1", "Deployment") => typed::<apps::v1::Deployment>(value),
        ("apps/v1", "StatefulSet") => typed::<apps::v1::StatefulSet>(value),
        ("apps/v1", "DaemonSet") => typed::<apps::v1::DaemonSet>(value),
        ("apps/v1", "ReplicaSet") => typed::<apps::v1::ReplicaSet>(value),
        ("batch/v1", "Job") => typed::<batch::v1::Job>(value),
        ("batch/v1", "CronJob") => typed::<batch::v1::CronJob>(value),
        ("policy/v1", "PodDisruptionBudget") => typed::<policy::v1::PodDisruptionBudget>(value),
        ("autoscaling/v2", "HorizontalPodAutoscaler") => {
            typed::<autoscaling::v2::HorizontalPodAutoscaler>(value)
        }
        ("networking.k8s.io/v1", "NetworkPolicy") => typed::<networking::v1::NetworkPolicy>(value),
        ("networking.k8s.io/v1", "Ingress") => typed::<networking::v1::Ingress>(value),
        ("rbac.authorization.k8s.io/v1", "Role") => typed::<rbac::v1::Role>(value),
        ("rbac.authorization.k8s.io/v1", "RoleBinding") => typed::<rbac::v1::RoleBinding>(value),
        ("coordination.k8s.io/v1", "Lease") => typed::<coordination::v1::Lease>(value),
        _ => Err(vec![format!(
            "unsupported object `{api_version}` `{kind}`: dpatterns checks only the kinds it knows, and this is not one of them (or the apiVersion is wrong or removed)"
        )]),
    }
}

fn typed<T: DeserializeOwned + Serialize>(value: &Value) -> Result<String, Vec<String>> {
    // Tracking the path costs as much as decoding; it is only needed to explain a failure.
    let decoded: T = match T::deserialize(value) {
        Ok(decoded) => decoded,
        Err(_) => return Err(explain_decode_error::<T>(value)),
    };
    let round_trip = serde_json::to_value(&decoded).expect("k8s-openapi types serialize");
    let mut unknown = Vec::new();
    unknown_fields(value, &round_trip, &mut String::new(), &mut unknown);
    if !unknown.is_empty() {
        return Err(unknown
            .into_iter()
            .map(|p| format!("unknown field `{p}`"))
            .collect());
    }
    Ok(crate::yaml_out::to_yaml(&round_trip))
}

/// Decodes again, tracking the path, to say where a wrong value is.
fn explain_decode_error<T: DeserializeOwned>(value: &Value) -> Vec<String> {
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => vec!["invalid object".to_string()],
        Err(e) => {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            if path == "." || path.is_empty() {
                vec![format!("invalid object: {inner}")]
            } else {
                vec![format!("wrong value at `.{path}`: {inner}")]
            }
        }
    }
}

/// Paths present (and not null) in `input` but missing after the round trip.
fn unknown_fields(input: &Value, output: &Value, path: &mut String, found: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, value) in a {
                if value.is_null() {
                    continue;
                }
                let len = path.len();
                path.push('.');
                path.push_str(key);
                match b.get(key) {
                    Some(other) => unknown_fields(value, other, path, found),
                    None => found.push(path.clone()),
                }
                path.truncate(len);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                unknown_fields(x, y, path, found);
                path.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "api", "namespace": "ns"},
            "spec": {
                "selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}},
                    "spec": {"containers": [{"name": "api", "image": "x:1"}]}}
            }
        })
    }

    #[test]
    fn unknown_field_is_named_by_path() {
        let mut d = deployment();
        d["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = json!("Always");
        d["spec"]["portz"] = json!(1);
        let errs = check_object(&d).unwrap_err();
        assert_eq!(
            errs,
            vec![
                "unknown field `.spec.portz`",
                "unknown field `.spec.template.spec.containers[0].imagePullPolicyy`"
            ]
        );
    }

    #[test]
    fn wrong_type_is_named_by_path() {
        let mut d = deployment();
        d["spec"]["replicas"] = json!("three");
        let errs = check_object(&d).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert!(
            errs[0].starts_with("wrong value at `.spec.replicas`"),
            "{}",
            errs[0]
        );
    }

    #[test]
    fn a_valid_object_is_canonicalized_with_api_version_first() {
        let yaml = check_object(&deployment()).unwrap();
        assert!(
            yaml.starts_with("apiVersion: apps/v1\nkind: Deployment\n"),
            "{yaml}"
        );
    }

    #[test]
    fn removed_api_versions_are_rejected() {
        let mut d = deployment();
        d["apiVersion"] = json!("extensions/v1beta1");
        assert!(check_object(&d).unwrap_err()[0].contains("unsupported object"));
    }
}
