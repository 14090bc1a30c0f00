//! Objects that route outside traffic into the system, an Ingress or a Gateway API
//! HTTPRoute, must name a rendered Service and one of its ports: a backend that does not
//! exist passes every schema and answers 503 in the cluster.

use serde_json::Value;

use super::Index;
use crate::manifest::Object;

pub(super) fn ingress(object: &Object, index: &Index, fail: &mut impl FnMut(&'static str, String)) {
    let spec = &object.value["spec"];
    let default = std::iter::once(&spec["defaultBackend"]);
    let paths = spec["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["http"]["paths"].as_array().into_iter().flatten())
        .map(|p| &p["backend"]);
    for backend in default.chain(paths) {
        let service = &backend["service"];
        let Some(name) = service["name"].as_str() else {
            continue; // A resource backend, or no default backend.
        };
        let port = &service["port"];
        let wanted = if port["name"].is_string() {
            &port["name"]
        } else {
            &port["number"]
        };
        service_port(name, wanted, index, fail);
    }
}

pub(super) fn http_route(
    object: &Object,
    index: &Index,
    fail: &mut impl FnMut(&'static str, String),
) {
    let refs = object.value["spec"]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["backendRefs"].as_array().into_iter().flatten());
    for backend in refs {
        let kind = backend["kind"].as_str().unwrap_or("Service");
        let group = backend["group"].as_str().unwrap_or("");
        let elsewhere = backend["namespace"].is_string();
        let (Some(name), "Service", "", false) = (backend["name"].as_str(), kind, group, elsewhere)
        else {
            continue; // Another kind of backend, or one in another namespace.
        };
        service_port(name, &backend["port"], index, fail);
    }
}

/// The Service `name` is rendered and has the port `wanted` (a number, or a name for an
/// Ingress).
fn service_port(
    name: &str,
    wanted: &Value,
    index: &Index,
    fail: &mut impl FnMut(&'static str, String),
) {
    let Some(service) = index.get("Service", name) else {
        fail(
            "reference",
            format!("backend Service `{name}` is not rendered"),
        );
        return;
    };
    let ports = service.value["spec"]["ports"].as_array();
    let found = match wanted {
        Value::String(port) => ports
            .into_iter()
            .flatten()
            .any(|p| p["name"].as_str() == Some(port)),
        Value::Number(n) => ports
            .into_iter()
            .flatten()
            .any(|p| p["port"].as_i64() == n.as_i64()),
        _ => true,
    };
    if !found {
        fail(
            "target-port",
            format!("backend port {wanted} is not a port of Service `{name}`"),
        );
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::manifest::Object;

    use super::super::test_object as object;

    fn service() -> Object {
        object(json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "ns"},
            "spec": {"ports": [{"name": "http", "port": 80}]}
        }))
    }

    fn findings(objects: &[Object]) -> Vec<String> {
        super::super::check(objects, "ns")
            .into_iter()
            .filter(|(_, rule, _)| ["reference", "target-port"].contains(rule))
            .map(|(_, _, m)| m)
            .collect()
    }

    #[test]
    fn an_ingress_to_a_missing_service_or_port_is_caught() {
        let ingress = |name: &str, port: Value| {
            object(json!({
                "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                "metadata": {"name": "i", "namespace": "ns"},
                "spec": {"rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": name, "port": port}}}]}}]}
            }))
        };
        let objects = [
            service(),
            ingress("web", json!({"number": 80})),
            ingress("web", json!({"name": "http"})),
            ingress("web", json!({"number": 8080})),
            ingress("api", json!({"number": 80})),
        ];
        assert_eq!(
            findings(&objects),
            vec![
                "backend port 8080 is not a port of Service `web`",
                "backend Service `api` is not rendered",
            ]
        );
    }

    #[test]
    fn an_http_route_to_a_missing_port_is_caught_and_other_backends_are_left_alone() {
        let objects = [
            service(),
            object(json!({
                "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
                "metadata": {"name": "r", "namespace": "ns"},
                "spec": {"rules": [{"backendRefs": [
                    {"name": "web", "port": 80},
                    {"name": "web", "port": 81},
                    {"name": "other", "namespace": "elsewhere", "port": 80},
                ]}]}
            })),
        ];
        assert_eq!(
            findings(&objects),
            vec!["backend port 81 is not a port of Service `web`"]
        );
    }
}
