//! The resolved model: the spec checked against the catalog, with defaults filled in, names
//! and images derived, and the component graph (who talks to whom) worked out. Everything
//! after this point (templates, policy, checks) reads only this model.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Value, json};

use crate::names::crate_ident;
use crate::network::{Egress, Network};

/// Kubernetes versions whose schemas the tool targets.
pub const MIN_KUBE_MINOR: u32 = 25;
pub const MAX_KUBE_MINOR: u32 = 37;
pub const DEFAULT_KUBE_VERSION: &str = "1.31";
/// Native sidecars (`initContainers[].restartPolicy: Always`) are on by default from 1.29.
pub const NATIVE_SIDECAR_MINOR: u32 = 29;
/// Component names leave room for suffixes such as `-router` within 63 characters.
pub const MAX_COMPONENT_NAME: usize = 40;

#[derive(Debug, Clone)]
pub struct System {
    pub name: String,
    pub namespace: String,
    pub kube_minor: u32,
    pub registry: String,
    pub defaults: EffectiveDefaults,
    /// Ingress namespace, exposure, monitoring: `spec.ingress` and `spec.monitoring`.
    pub network: Network,
    pub components: Vec<Component>,
    pub patches: Vec<Patch>,
    /// `serviceVersion` of the catalog: the crates' version and their images' tag.
    pub service_version: String,
    /// Where the scaffolded CI workflow installs dpatterns from (`spec.ci.dpatterns`).
    pub dpatterns: ToolSource,
    /// The crates of attachable patterns: one per program of each attached pattern, shared
    /// by every attachment of it (configured per host through the environment).
    pub shared_programs: Vec<Program>,
    /// Position in `components` of the first component of each name, so that finding a
    /// component by name (once per rendered object) does not scan them all.
    pub by_name: HashMap<String, usize>,
    /// The environments of `k8s/overlays/`, by name (sorted).
    pub environments: Vec<Environment>,
}

/// Each environment that changes something is a render of the whole system: a bound on
/// their number bounds the work a spec can ask for.
pub const MAX_ENVIRONMENTS: usize = 20;

/// The environments rendered when the spec declares none.
pub const DEFAULT_ENVIRONMENTS: &[&str] = &["dev", "prod"];

/// One environment: its name and what it changes from the base, checked against the
/// catalog. An environment without overrides renders exactly the base.
#[derive(Debug, Clone)]
pub struct Environment {
    pub name: String,
    /// Component → parameter → value, laid over the component's `params`.
    pub params: BTreeMap<String, BTreeMap<String, Value>>,
    /// Laid over `spec.defaults` field by field.
    pub defaults: Option<crate::spec::Defaults>,
}

impl Environment {
    /// The pull policy of its pods: its own `defaults`, else the base's.
    pub fn image_pull_policy(&self, base: &EffectiveDefaults) -> &'static str {
        match self.defaults.as_ref().and_then(|d| d.image_pull_policy) {
            Some(crate::spec::PullPolicy::Always) => "Always",
            Some(crate::spec::PullPolicy::IfNotPresent) => "IfNotPresent",
            None => base.image_pull_policy,
        }
    }

    /// Whether it changes anything, so whether it needs its own render.
    pub fn overrides(&self) -> bool {
        self.params.values().any(|p| !p.is_empty()) || self.defaults.is_some()
    }
}

/// A generated program: one crate of the workspace under `services/`, one Dockerfile, one
/// image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Program {
    /// The program's name in `pattern.yaml`; `None` for the one program of a pattern that
    /// declares none.
    pub name: Option<String>,
    /// The crate, its folder `services/<crate>/` and its binary.
    pub crate_name: String,
    pub image: String,
    /// The pattern it comes from, and the catalog folder of its templates.
    pub pattern: String,
    pub dir: String,
    /// The component that owns it; `None` for a shared crate of an attachable pattern.
    pub component: Option<String>,
}

impl Program {
    /// What templates see as `program` while they render the crate.
    pub fn context(&self) -> Value {
        json!({
            "name": self.name.as_deref().unwrap_or(&self.pattern),
            "crate": self.crate_name,
            "crate_ident": crate_ident(&self.crate_name),
            "image": self.image,
            "pattern": self.pattern,
            "component": self.component,
        })
    }

    /// The key of its image in `images`: the declared name, else the pattern id.
    pub fn key(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.pattern)
    }
}

/// Where CI gets dpatterns: a version published on crates.io (by default the one that
/// renders), or a git repository at a revision for a version not published (yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolSource {
    Version(String),
    Git { url: String, rev: String },
}

impl ToolSource {
    /// The arguments of `cargo install` that install it, with `--locked` so that the
    /// dependencies are those its own Cargo.lock was tested with.
    pub fn install_args(&self) -> String {
        match self {
            ToolSource::Version(v) => format!("--locked dpatterns --version {v}"),
            ToolSource::Git { url, rev } => format!("--locked --git {url} --rev {rev} dpatterns"),
        }
    }
}

/// `spec.defaults` with every hole filled by the secure built-in values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveDefaults {
    pub requests_cpu: String,
    pub requests_memory: String,
    pub limits_cpu: String,
    pub limits_memory: String,
    pub requests_ephemeral_storage: String,
    pub limits_ephemeral_storage: String,
    pub run_as_user: i64,
    pub image_pull_policy: &'static str,
}

impl Default for EffectiveDefaults {
    /// The secure built-in values, before `spec.defaults` changes any of them.
    fn default() -> Self {
        EffectiveDefaults {
            requests_cpu: "100m".into(),
            requests_memory: "128Mi".into(),
            limits_cpu: "500m".into(),
            limits_memory: "256Mi".into(),
            // The request reserves room for logs and the small `/tmp`; the limit leaves a
            // pod's emptyDirs (each capped by its own sizeLimit) room before the kubelet
            // evicts the pod for its total use.
            requests_ephemeral_storage: "64Mi".into(),
            limits_ephemeral_storage: "1Gi".into(),
            run_as_user: 10001,
            image_pull_policy: "Always",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Component {
    pub index: usize,
    pub name: String,
    pub pattern: String,
    pub params: BTreeMap<String, Value>,
    /// The image given with `image:`, or that of the first generated program.
    pub image: String,
    /// True when dpatterns generates the service (no `image:` given).
    pub generated: bool,
    /// The programs generated for this component (none when `image:` is given).
    pub programs: Vec<Program>,
    pub attachments: Vec<Attachment>,
    /// Whether the pattern serves requests (so clients outside the system may call it).
    pub serving: bool,
    /// The parameter its pattern names as the port it listens on.
    pub port_param: Option<String>,
    /// What the containers of its pattern and of its attachments' patterns need from the
    /// pod (fixed UID, writable paths), for policy.
    pub container_needs: Vec<crate::catalog::ContainerDoc>,
    /// Components this one sends requests to, and those that send to it.
    pub uses: Vec<String>,
    pub used_by: Vec<String>,
    /// The `app.kubernetes.io/version` label: the service version of a generated
    /// component, the tag of an `image:`, none for a digest only or a tag that is no
    /// label value.
    pub version: Option<String>,
    /// Destinations outside the graph the spec opens to this component (`egress:`).
    pub egress: Vec<Egress>,
}

#[derive(Debug, Clone)]
pub struct Attachment {
    pub index: usize,
    pub pattern: String,
    pub params: BTreeMap<String, Value>,
    /// The image given on the attach entry, else the generated program's image; `None`
    /// for a pattern without programs whose templates choose their own.
    pub image: Option<String>,
    /// Each generated program's image by program name (the pattern id for a pattern that
    /// declares no programs).
    pub images: BTreeMap<String, String>,
}

impl Attachment {
    /// What the attached pattern's templates see as `attachment`.
    pub fn context(&self, host: &str) -> Value {
        json!({
            "pattern": self.pattern,
            "name": format!("{host}-{}", self.pattern),
            "params": self.params,
            "image": self.image,
            "images": self.images,
        })
    }
}

#[derive(Debug, Clone)]
pub struct Patch {
    pub index: usize,
    pub kind: String,
    pub name: String,
    pub merge: Value,
}

impl System {
    /// Every generated crate, in workspace order: the components' in spec order, then the
    /// shared crates of attachable patterns.
    pub fn programs(&self) -> impl Iterator<Item = &Program> {
        self.components
            .iter()
            .flat_map(|c| c.programs.iter())
            .chain(&self.shared_programs)
    }

    pub fn native_sidecars(&self) -> bool {
        self.kube_minor >= NATIVE_SIDECAR_MINOR
    }

    pub fn component(&self, name: &str) -> Option<&Component> {
        match self.by_name.get(name).and_then(|&i| self.components.get(i)) {
            Some(c) if c.name == name => Some(c),
            // Components changed after the map was built: look the slow way.
            _ => self.components.iter().find(|c| c.name == name),
        }
    }

    /// The map for `by_name` from a list of components.
    pub fn index_by_name(components: &[Component]) -> HashMap<String, usize> {
        let mut by_name = HashMap::with_capacity(components.len());
        for (i, c) in components.iter().enumerate() {
            by_name.entry(c.name.clone()).or_insert(i);
        }
        by_name
    }

    pub fn instance(&self, component: &str) -> String {
        format!("{}-{component}", self.name)
    }

    /// Labels every object of a component carries (architecture §6).
    pub fn labels(&self, component: &Component) -> Value {
        let mut labels = json!({
            "app.kubernetes.io/name": component.name,
            "app.kubernetes.io/instance": self.instance(&component.name),
            "app.kubernetes.io/component": component.pattern,
            "app.kubernetes.io/part-of": self.name,
            "app.kubernetes.io/managed-by": "dpatterns",
        });
        if let Some(version) = &component.version {
            labels["app.kubernetes.io/version"] = json!(version);
        }
        labels
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
            .programs()
            .map(|p| {
                json!({
                    "name": p.crate_name,
                    "crate_ident": crate_ident(&p.crate_name),
                    "image": p.image,
                    "imageName": crate::reference::split_image(&p.image).0,
                    "imageTag": crate::reference::split_image(&p.image).1,
                    "pattern": p.pattern,
                    "program": p.key(),
                    "component": p.component,
                })
            })
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
            "ingress": self.network.ingress_context(),
            "monitoring": self.network.monitoring_context(),
            "serviceVersion": self.service_version,
            "components": components,
            "services": services,
            "edges": edges,
            "environments": self.environments.iter().map(|e| json!({
                "name": e.name,
                "imagePullPolicy": e.image_pull_policy(&self.defaults),
            })).collect::<Vec<_>>(),
            // The environment a local cluster runs from loaded images (first with
            // `IfNotPresent`), and the one for a registry (`prod`, else the last).
            "localEnvironment": self.environments.iter().find(|e| e.image_pull_policy(&self.defaults) == "IfNotPresent").map(|e| e.name.clone()),
            "registryEnvironment": self.environments.iter().find(|e| e.name == "prod").or(self.environments.last()).map(|e| e.name.clone()),
            "serving": self.components.iter().any(|c| c.serving),
        })
    }

    fn component_summary(&self, c: &Component) -> Value {
        json!({
            "name": c.name,
            "crate_ident": crate_ident(&c.name),
            "pattern": c.pattern,
            "image": c.image,
            "images": c.programs.iter().map(|p| (p.key().to_string(), json!(p.image))).collect::<serde_json::Map<_, _>>(),
            "generated": c.generated,
            "port": c
                .port_param
                .as_ref()
                .and_then(|p| c.params.get(p))
                .cloned()
                .unwrap_or(Value::Null),
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
            "images": c.programs.iter().map(|p| (p.key().to_string(), json!(p.image))).collect::<serde_json::Map<_, _>>(),
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
            "calls": c.uses.iter().map(|n| self.call_context(n)).collect::<Vec<_>>(),
            "version": c.version,
            "egress": c.egress.iter().map(Egress::context).collect::<Vec<_>>(),
        })
    }

    /// A component this one calls, as its egress rule needs it: the pods to reach and the
    /// port they listen on (NetworkPolicies see the pod port, after the Service).
    fn call_context(&self, name: &str) -> Value {
        let port = self
            .component(name)
            .and_then(|t| t.port_param.as_ref().and_then(|p| t.params.get(p)).cloned());
        json!({"name": name, "selector": self.selector(name), "podPort": port})
    }
}
