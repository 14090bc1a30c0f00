//! The typed, strict schema check: each object is decoded into the typed binding of its row
//! in [`crate::kinds::KINDS`] (a wrong type fails, with the field path from
//! `serde_path_to_error`), encoded again, and compared with the input — a field that did not
//! survive the round trip is one Kubernetes does not know. The typed value is also what gets written, so the output has one canonical form.

use serde_json::Value;

use crate::kinds;

/// Decodes, checks and canonicalizes one object. `Ok` holds the object's YAML.
pub fn check_object(value: &Value) -> Result<String, Vec<String>> {
    let api_version = value["apiVersion"].as_str().unwrap_or("");
    let kind = value["kind"].as_str().unwrap_or("");
    let Some(row) = kinds::find(api_version, kind) else {
        return Err(vec![format!(
            "unsupported object `{api_version}` `{kind}`: dpatterns checks only the kinds it knows, and this is not one of them (or the apiVersion is wrong or removed)"
        )]);
    };
    let round_trip = (row.decode)(value).map_err(|message| vec![message])?;
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
    fn custom_resources_are_checked_as_strictly_as_built_in_kinds() {
        let mut monitor = json!({
            "apiVersion": "monitoring.coreos.com/v1", "kind": "PodMonitor",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"selector": {"matchLabels": {"a": "b"}},
                "podMetricsEndpoints": [{"port": "metrics", "interval": "30s"}]}
        });
        assert!(check_object(&monitor).is_ok());
        monitor["spec"]["podMetricsEndpoints"][0]["scrapeIntervall"] = json!("30s");
        assert_eq!(
            check_object(&monitor).unwrap_err(),
            vec!["unknown field `.spec.podMetricsEndpoints[0].scrapeIntervall`"]
        );
        let route = json!({
            "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"rules": [{"backendRefs": [{"name": "web", "port": "http"}]}]}
        });
        let errs = check_object(&route).unwrap_err();
        assert!(
            errs[0].starts_with("wrong value at `.spec.rules[0].backendRefs[0].port`"),
            "{errs:?}"
        );
    }

    #[test]
    fn removed_api_versions_are_rejected() {
        let mut d = deployment();
        d["apiVersion"] = json!("extensions/v1beta1");
        assert!(check_object(&d).unwrap_err()[0].contains("unsupported object"));
    }
}
