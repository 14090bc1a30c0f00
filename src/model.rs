//! The resolved model: the spec checked against the catalog, with defaults filled in, names
//! and images derived, and the component graph (who talks to whom) worked out. Everything
//! after this point (templates, policy, checks) reads only this model.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::names::crate_ident;

pub use crate::resolve::{is_quantity, resolve, split_image};

/// Kubernetes versions whose schemas the tool targets.
pub const MIN_KUBE_MINOR: u32 = 25;
pub const MAX_KUBE_MINOR: u32 = 37;
pub const DEFAULT_KUBE_VERSION: &str = "1.31";
/// Native sidecars (`initContainers[].restartPolicy: Always`) are on by default from 1.29.
pub const NATIVE_SIDECAR_MINOR: u32 = 29;
/// Version of the generated services, used as their image tag.
pub const SERVICE_VERSION: &str = "0.1.0";
/// Component names leave room for suffixes such as `-router` within 63 characters.
pub const MAX_COMPONENT_NAME: usize = 40;

#[derive(Debug, Clone)]
pub struct System {
    pub name: String,
    pub namespace: String,
    pub kube_minor: u32,
    pub registry: String,
    pub defaults: EffectiveDefaults,
    pub components: Vec<Component>,
    pub patches: Vec<Patch>,
}

/// `spec.defaults` with every hole filled by the secure built-in values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDefaults {
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
    pub run_as_user: i64,
    pub image_pull_policy: &'static str,
}

#[derive(Debug, Clone)]
pub struct Component {
    pub index: usize,
    pub name: String,
    pub pattern: String,
    pub params: BTreeMap<String, Value>,
    pub image: String,
    /// True when dpatterns generates the service (no `image:` given).
    pub generated: bool,
    pub attachments: Vec<Attachment>,
    /// Whether the pattern serves requests (so clients outside the system may call it).
    pub serving: bool,
    /// Components this one sends requests to, and those that send to it.
    pub uses: Vec<String>,
    pub used_by: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub index: usize,
    pub pattern: String,
    pub params: BTreeMap<String, Value>,
    pub image: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Patch {
    pub index: usize,
    pub kind: String,
    pub name: String,
    pub merge: Value,
}

impl System {
    pub fn native_sidecars(&self) -> bool {
        self.kube_minor >= NATIVE_SIDECAR_MINOR
    }

    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components.iter().find(|c| c.name == name)
    }

    pub fn instance(&self, component: &str) -> String {
        format!("{}-{component}", self.name)
    }

    /// Labels every object of a component carries (DESIGN §6).
    pub fn labels(&self, component: &Component) -> Value {
        json!({
            "app.kubernetes.io/name": component.name,
            "app.kubernetes.io/instance": self.instance(&component.name),
            "app.kubernetes.io/component": component.pattern,
            "app.kubernetes.io/part-of": self.name,
            "app.kubernetes.io/managed-by": "dpatterns",
        })
    }

    /// The subset of labels that selects a component's pods.
    pub fn selector(&self, component: &str) -> Value {
        json!({
            "app.kubernetes.io/name": component,
            "app.kubernetes.io/instance": self.instance(component),
        })
    }

    /// What every template sees about the system.
    pub fn system_context(&self) -> Value {
        let components: Vec<Value> = self
            .components
            .iter()
            .map(|c| self.component_summary(c))
            .collect();
        let services: Vec<Value> = self
            .components
            .iter()
            .filter(|c| c.generated)
            .map(|c| self.component_summary(c))
            .collect();
        let edges: Vec<Value> = self
            .components
            .iter()
            .flat_map(|c| c.uses.iter().map(move |t| json!({"from": c.name, "to": t})))
            .collect();
        let by_name: serde_json::Map<String, Value> = components
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap_or_default().to_string(),
                    c.clone(),
                )
            })
            .collect();
        json!({
            "name": self.name,
            "namespace": self.namespace,
            "byName": by_name,
            "registry": self.registry,
            "kubernetes": {"version": format!("1.{}", self.kube_minor), "minor": self.kube_minor},
            "nativeSidecars": self.native_sidecars(),
            "components": components,
            "services": services,
            "edges": edges,
        })
    }

    fn component_summary(&self, c: &Component) -> Value {
        json!({
            "name": c.name,
            "crate_ident": crate_ident(&c.name),
            "pattern": c.pattern,
            "image": c.image,
            "generated": c.generated,
            "port": c.params.get("port").cloned().unwrap_or(Value::Null),
            "params": c.params,
            "attachments": c.attachments.iter().map(|a| a.pattern.clone()).collect::<Vec<_>>(),
            "usedBy": c.used_by,
            "entry": c.serving && c.used_by.is_empty(),
        })
    }

    /// What a component's templates see about it.
    pub fn component_context(&self, c: &Component) -> Value {
        json!({
            "name": c.name,
            "crate_ident": crate_ident(&c.name),
            "pattern": c.pattern,
            "image": c.image,
            "generated": c.generated,
            "params": c.params,
            "labels": self.labels(c),
            "selector": self.selector(&c.name),
            "serviceAccount": c.name,
            "attachments": c.attachments.iter().map(|a| json!({
                "pattern": a.pattern,
                "name": format!("{}-{}", c.name, a.pattern),
                "params": a.params,
            })).collect::<Vec<_>>(),
            "uses": c.uses,
            "usedBy": c.used_by.iter().map(|n| json!({"name": n, "selector": self.selector(n)})).collect::<Vec<_>>(),
        })
    }
}
