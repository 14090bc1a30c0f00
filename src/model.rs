//! The resolved model: the spec checked against the catalog, with defaults filled in, names
//! and images derived, and the component graph (who talks to whom) worked out. Everything
//! after this point (templates, policy, checks) reads only this model.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::catalog::{Catalog, Pattern};
use crate::error::{Error, Result, SpecError};
use crate::names::{DNS_LABEL_HELP, check_dns_label, crate_ident, did_you_mean};
use crate::params::ParamKind;
use crate::source::YamlPath;
use crate::spec::{API_VERSION, KIND, LoadedSpec, PullPolicy};

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
/// Names whose `k8s/<name>.yaml` the tool writes itself.
const RESERVED_NAMES: &[&str] = &["kustomization"];
/// Names a generated service's crate cannot take: the shared crate, the crates the
/// workspace depends on, and what Rust reserves.
const RESERVED_CRATE_NAMES: &[&str] = &[
    "common",
    "axum",
    "tokio",
    "tower",
    "tracing",
    "tracing-subscriber",
    "serde",
    "serde-json",
    "thiserror",
    "std",
    "core",
    "alloc",
    "test",
    "proc-macro",
    "self",
    "super",
    "crate",
    "async",
    "await",
    "dyn",
    "fn",
    "impl",
    "loop",
    "match",
    "mod",
    "move",
    "ref",
    "return",
    "static",
    "struct",
    "trait",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "gen",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "enum",
    "extern",
    "false",
    "for",
    "if",
    "in",
    "let",
    "mut",
    "pub",
    "true",
];

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

/// Checks the spec against the catalog and builds the model, reporting every problem found
/// (not just the first) at its place in the file.
pub fn resolve(spec: &LoadedSpec, catalog: &Catalog) -> Result<System> {
    let mut r = Resolver {
        spec,
        catalog,
        errors: Vec::new(),
    };
    let system = r.system();
    if r.errors.is_empty() {
        Ok(system)
    } else {
        r.errors.sort_by_key(|e| (e.line, e.column));
        Err(Error::Spec(r.errors))
    }
}

struct Resolver<'a> {
    spec: &'a LoadedSpec,
    catalog: &'a Catalog,
    errors: Vec<SpecError>,
}

impl<'a> Resolver<'a> {
    fn err(&mut self, path: &YamlPath, message: String, label: &str, help: Option<String>) {
        let e = self.spec.source.error_at_value(path, message, label, help);
        self.errors.push(e);
    }

    fn system(&mut self) -> System {
        let doc = &self.spec.doc;
        let root = YamlPath::root();
        if doc.api_version != API_VERSION {
            self.err(
                &root.key("apiVersion"),
                format!("unsupported apiVersion `{}`", doc.api_version),
                "unsupported",
                Some(format!("use `{API_VERSION}`")),
            );
        }
        if doc.kind != KIND {
            self.err(
                &root.key("kind"),
                format!("unsupported kind `{}`", doc.kind),
                "unsupported",
                Some(format!("use `{KIND}`")),
            );
        }
        let meta = root.key("metadata");
        self.dns_label(&meta.key("name"), &doc.metadata.name, "system name");
        let namespace = doc
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| doc.metadata.name.clone());
        if doc.metadata.namespace.is_some() {
            self.dns_label(&meta.key("namespace"), &namespace, "namespace");
        }
        let spec = root.key("spec");
        let kube_minor = self.kube_minor(&spec);
        let registry = self.registry(&spec);
        let defaults = self.defaults(&spec);

        let mut components = Vec::new();
        let list = spec.key("components");
        if doc.spec.components.is_empty() {
            self.err(
                &list,
                "the system has no components".into(),
                "empty",
                Some("add at least one; `dpatterns list` shows the patterns".into()),
            );
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, c) in doc.spec.components.iter().enumerate() {
            let path = list.index(i);
            if self.dns_label(&path.key("name"), &c.name, "component name") {
                let instance = format!("{}-{}", doc.metadata.name, c.name);
                if c.name.len() > MAX_COMPONENT_NAME {
                    self.err(
                        &path.key("name"),
                        format!(
                            "component name `{}` is longer than {MAX_COMPONENT_NAME} characters",
                            c.name
                        ),
                        "too long",
                        Some("objects derive longer names from it; pick a shorter one".into()),
                    );
                } else if instance.len() > 63 {
                    self.err(
                        &path.key("name"),
                        format!("`{instance}` (system-component) is longer than 63 characters"),
                        "too long with the system name",
                        Some("shorten the component or the system name".into()),
                    );
                }
            }
            if RESERVED_NAMES.contains(&c.name.as_str()) {
                self.err(
                    &path.key("name"),
                    format!("component name `{}` is reserved", c.name),
                    "reserved",
                    Some("its manifest file would collide with k8s/kustomization.yaml; pick another name".into()),
                );
            }
            let crate_name_taken = RESERVED_CRATE_NAMES.contains(&c.name.as_str())
                || c.name.starts_with(|ch: char| ch.is_ascii_digit());
            if c.image.is_none() && crate_name_taken {
                self.err(
                    &path.key("name"),
                    format!("`{}` cannot name a generated Rust service", c.name),
                    "reserved for the Rust workspace",
                    Some("its crate would clash with a Rust keyword, the `common` crate or a dependency, or start with a digit; pick another name, or give `image:` to run an existing image".into()),
                );
            }
            if let Some(first) = seen.get(c.name.as_str()) {
                let (line, _) = self.first_line(&list.index(*first).key("name"));
                self.err(
                    &path.key("name"),
                    format!("duplicate component `{}`", c.name),
                    "defined twice",
                    Some(format!("the first `{}` is on line {line}", c.name)),
                );
            } else {
                seen.insert(&c.name, i);
            }
            let pattern = self.pattern(&path.key("pattern"), &c.pattern, false);
            let params = pattern
                .map(|p| self.params(&path.key("params"), p, &c.params))
                .unwrap_or_default();
            if let Some(image) = &c.image {
                self.image(&path.key("image"), image);
            }
            let mut attachments = Vec::new();
            for (j, a) in c.attach.iter().enumerate() {
                let apath = path.key("attach").index(j);
                let Some(apattern) = self.pattern(&apath.key("pattern"), &a.pattern, true) else {
                    continue;
                };
                if c.attach[..j].iter().any(|b| b.pattern == a.pattern) {
                    self.err(
                        &apath.key("pattern"),
                        format!("`{}` is attached to `{}` twice", a.pattern, c.name),
                        "attached twice",
                        Some("attach each pattern once per component".into()),
                    );
                }
                let aparams = self.params(&apath.key("params"), apattern, &a.params);
                if let Some(image) = &a.image {
                    self.image(&apath.key("image"), image);
                }
                attachments.push(Attachment {
                    index: j,
                    pattern: a.pattern.clone(),
                    params: aparams,
                    image: a.image.clone(),
                });
            }
            let generated = c.image.is_none();
            if generated && pattern.is_some() && !self.catalog.has_service(&c.pattern) {
                self.err(
                    &path.key("pattern"),
                    format!(
                        "pattern `{}` generates no service, so `{}` needs an image",
                        c.pattern, c.name
                    ),
                    "no generated service",
                    Some("add `image:` with a pinned tag or digest to the component".into()),
                );
            }
            components.push(Component {
                index: i,
                name: c.name.clone(),
                pattern: c.pattern.clone(),
                params,
                image: c
                    .image
                    .clone()
                    .unwrap_or_else(|| format!("{registry}/{}:{SERVICE_VERSION}", c.name)),
                generated,
                attachments,
                serving: pattern.is_some_and(|p| p.family == crate::catalog::Family::Serving),
                uses: Vec::new(),
                used_by: Vec::new(),
            });
        }
        self.references(&list, &mut components);
        let patches = self.patches(&spec);

        System {
            name: doc.metadata.name.clone(),
            namespace,
            kube_minor,
            registry,
            defaults,
            components,
            patches,
        }
    }

    fn first_line(&self, path: &YamlPath) -> (usize, usize) {
        let e = self.spec.source.error_at_value(path, "", "", None);
        (e.line, e.column)
    }

    fn dns_label(&mut self, path: &YamlPath, value: &str, what: &str) -> bool {
        match check_dns_label(value) {
            Ok(()) => true,
            Err(why) => {
                self.err(
                    path,
                    format!("invalid {what} `{value}`: {why}"),
                    "not a DNS-1123 label",
                    Some(DNS_LABEL_HELP.into()),
                );
                false
            }
        }
    }

    fn kube_minor(&mut self, spec: &YamlPath) -> u32 {
        let Some(target) = &self.spec.doc.spec.kubernetes else {
            return DEFAULT_KUBE_VERSION[2..].parse().expect("valid default");
        };
        let minor = target
            .version
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok());
        match minor {
            Some(m) if (MIN_KUBE_MINOR..=MAX_KUBE_MINOR).contains(&m) => m,
            _ => {
                self.err(
                    &spec.key("kubernetes").key("version"),
                    format!("unsupported Kubernetes version `{}`", target.version),
                    "unsupported version",
                    Some(format!(
                        "use a version from 1.{MIN_KUBE_MINOR} to 1.{MAX_KUBE_MINOR}, written like \"1.31\""
                    )),
                );
                DEFAULT_KUBE_VERSION[2..].parse().expect("valid default")
            }
        }
    }

    fn registry(&mut self, spec: &YamlPath) -> String {
        let name = &self.spec.doc.metadata.name;
        let Some(registry) = &self.spec.doc.spec.registry else {
            return format!("registry.example.com/{name}");
        };
        let bad = registry.is_empty()
            || registry.ends_with('/')
            || registry.starts_with('/')
            || registry.contains("//")
            || registry
                .chars()
                .any(|c| c.is_whitespace() || c.is_ascii_uppercase() || c == '@');
        if bad {
            self.err(
                &spec.key("registry"),
                format!("invalid registry `{registry}`"),
                "not an image repository prefix",
                Some("write a host and path in lower case, like `ghcr.io/acme`".into()),
            );
        }
        registry.clone()
    }

    fn defaults(&mut self, spec: &YamlPath) -> EffectiveDefaults {
        let mut out = EffectiveDefaults {
            requests_cpu: "100m".into(),
            requests_memory: "128Mi".into(),
            limits_cpu: "500m".into(),
            limits_memory: "256Mi".into(),
            run_as_user: 10001,
            image_pull_policy: "Always",
        };
        let Some(d) = self.spec.doc.spec.defaults.clone() else {
            return out;
        };
        let path = spec.key("defaults");
        if let Some(uid) = d.run_as_user {
            if !(1..=i64::from(i32::MAX)).contains(&uid) {
                self.err(
                    &path.key("runAsUser"),
                    format!("runAsUser {uid} is not allowed"),
                    "must be a non-root UID",
                    Some("use a UID from 1 to 2147483647; 10001 is the default".into()),
                );
            }
            out.run_as_user = uid;
        }
        if let Some(p) = d.image_pull_policy {
            out.image_pull_policy = match p {
                PullPolicy::Always => "Always",
                PullPolicy::IfNotPresent => "IfNotPresent",
            };
        }
        if let Some(res) = d.resources {
            let rpath = path.key("resources");
            let slots = [
                (
                    "requests",
                    res.requests,
                    &mut out.requests_cpu,
                    &mut out.requests_memory,
                ),
                (
                    "limits",
                    res.limits,
                    &mut out.limits_cpu,
                    &mut out.limits_memory,
                ),
            ];
            for (key, q, cpu, memory) in slots {
                let Some(q) = q else { continue };
                for (field, value, slot) in [("cpu", q.cpu, cpu), ("memory", q.memory, memory)] {
                    let Some(v) = value else { continue };
                    if is_quantity(&v) {
                        *slot = v;
                    } else {
                        self.errors.push(self.spec.source.error_at_value(
                            &rpath.key(key).key(field),
                            format!("`{v}` is not a Kubernetes quantity"),
                            "not a quantity",
                            Some("write it like `250m`, `1`, `512Mi` or `2Gi`".into()),
                        ));
                    }
                }
            }
        }
        out
    }

    fn pattern(&mut self, path: &YamlPath, id: &str, attach: bool) -> Option<&'a Pattern> {
        let catalog: &'a Catalog = self.catalog;
        match catalog.pattern(id) {
            None => {
                let help = did_you_mean(id, catalog.pattern_ids())
                    .or_else(|| Some("`dpatterns list` shows the catalog".into()));
                self.err(
                    path,
                    format!("unknown pattern `{id}`"),
                    "not in the catalog",
                    help,
                );
                None
            }
            Some(p) if p.attachable && !attach => {
                self.err(
                    path,
                    format!("`{id}` decorates another component and cannot stand alone"),
                    "attachable pattern",
                    Some(format!(
                        "list it under a component's `attach:`, like `attach: [{{pattern: {id}}}]`"
                    )),
                );
                None
            }
            Some(p) if !p.attachable && attach => {
                self.err(
                    path,
                    format!("`{id}` is not attachable"),
                    "not attachable",
                    Some(format!(
                        "attachable patterns: {}",
                        catalog
                            .patterns()
                            .filter(|p| p.attachable)
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                None
            }
            Some(p) => Some(p),
        }
    }

    fn params(
        &mut self,
        path: &YamlPath,
        pattern: &Pattern,
        given: &BTreeMap<String, Value>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (name, value) in given {
            let Some(def) = pattern.param(name) else {
                let help = did_you_mean(name, pattern.params.iter().map(|p| p.name.as_str()))
                    .or_else(|| {
                        Some(format!(
                            "`{}` takes: {}",
                            pattern.id,
                            pattern
                                .params
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    });
                let e = self.spec.source.error_at_key(
                    &path.key(name),
                    format!("unknown parameter `{name}` for pattern `{}`", pattern.id),
                    "unknown parameter",
                    help,
                );
                self.errors.push(e);
                continue;
            };
            match def.check(value) {
                Ok(()) => {
                    out.insert(name.clone(), value.clone());
                }
                Err(problem) => self.err(
                    &path.key(name),
                    problem.message,
                    &problem.label,
                    problem.help,
                ),
            }
        }
        for def in &pattern.params {
            if out.contains_key(&def.name) || given.contains_key(&def.name) {
                continue;
            }
            match &def.default {
                Some(d) => {
                    out.insert(def.name.clone(), d.clone());
                }
                None if def.optional => {
                    out.insert(def.name.clone(), Value::Null);
                }
                None => self.err(
                    path,
                    format!("pattern `{}` needs parameter `{}`", pattern.id, def.name),
                    "missing parameter",
                    Some(format!("{}: {}", def.name, def.help)),
                ),
            }
        }
        for def in &pattern.params {
            let ParamKind::Integer {
                at_least: Some(other),
                ..
            } = &def.kind
            else {
                continue;
            };
            let (Some(value), Some(floor)) = (
                out.get(&def.name).and_then(Value::as_i64),
                out.get(other).and_then(Value::as_i64),
            ) else {
                continue;
            };
            if value < floor {
                let at = if given.contains_key(&def.name) {
                    def.name.as_str()
                } else {
                    other.as_str()
                };
                self.err(
                    &path.key(at),
                    format!(
                        "parameter `{}` is {value}, below `{other}` ({floor})",
                        def.name
                    ),
                    "below its floor",
                    Some(format!("`{}` must be at least `{other}`", def.name)),
                );
            }
        }
        out
    }

    fn image(&mut self, path: &YamlPath, image: &str) {
        let (name, tag) = split_image(image);
        let problem = if image.is_empty() || image.chars().any(char::is_whitespace) {
            Some("it is empty or contains spaces")
        } else if name.chars().any(|c| c.is_ascii_uppercase()) {
            Some("repository names are lower case")
        } else if tag.is_none() && !image.contains("@sha256:") {
            Some("it has no tag or digest, so it means `latest`")
        } else if tag == Some("latest") {
            Some("`latest` is not a version")
        } else {
            None
        };
        if let Some(why) = problem {
            self.err(
                path,
                format!("invalid image `{image}`: {why}"),
                "unpinned or malformed image",
                Some("pin a version tag or a digest, like `ghcr.io/acme/api:1.4.2`".into()),
            );
        }
    }

    /// Checks `component`-typed parameters and builds the graph from them.
    fn references(&mut self, list: &YamlPath, components: &mut [Component]) {
        let names: Vec<(String, String)> = components
            .iter()
            .map(|c| (c.name.clone(), c.pattern.clone()))
            .collect();
        let mut edges: Vec<(usize, String)> = Vec::new();
        for (i, c) in components.iter().enumerate() {
            let cpath = list.index(c.index);
            let mut sources: Vec<(YamlPath, &str, &BTreeMap<String, Value>)> =
                vec![(cpath.key("params"), c.pattern.as_str(), &c.params)];
            for a in &c.attachments {
                sources.push((
                    cpath.key("attach").index(a.index).key("params"),
                    a.pattern.as_str(),
                    &a.params,
                ));
            }
            for (ppath, pattern_id, params) in sources {
                let Some(pattern) = self.catalog.pattern(pattern_id) else {
                    continue;
                };
                for def in &pattern.params {
                    let ParamKind::Component { patterns } = &def.kind else {
                        continue;
                    };
                    let Some(target) = params.get(&def.name).and_then(Value::as_str) else {
                        continue;
                    };
                    let vpath = ppath.key(&def.name);
                    match names.iter().find(|(n, _)| n == target) {
                        None => {
                            let help = did_you_mean(target, names.iter().map(|(n, _)| n.as_str()))
                                .or_else(|| {
                                    Some(format!(
                                        "components in this spec: {}",
                                        names
                                            .iter()
                                            .map(|(n, _)| n.as_str())
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    ))
                                });
                            self.err(
                                &vpath,
                                format!("`{}` refers to `{target}`, which is not a component of this spec", def.name),
                                "no such component",
                                help,
                            );
                        }
                        Some((n, _)) if n == &c.name => self.err(
                            &vpath,
                            format!("component `{target}` refers to itself"),
                            "self reference",
                            Some("point it at another component".into()),
                        ),
                        Some((_, p)) if !patterns.iter().any(|x| x == p) => self.err(
                            &vpath,
                            format!(
                                "`{}` must refer to a {} component, but `{target}` is a {p}",
                                def.name,
                                patterns.join(" or ")
                            ),
                            "wrong kind of component",
                            None,
                        ),
                        Some(_) => edges.push((i, target.to_string())),
                    }
                }
            }
        }
        for (from, to) in edges {
            let from_name = components[from].name.clone();
            if !components[from].uses.contains(&to) {
                components[from].uses.push(to.clone());
            }
            if let Some(target) = components.iter_mut().find(|c| c.name == to)
                && !target.used_by.contains(&from_name)
            {
                target.used_by.push(from_name);
            }
        }
        for c in components.iter_mut() {
            c.uses.sort();
            c.used_by.sort();
        }
    }

    fn patches(&mut self, spec: &YamlPath) -> Vec<Patch> {
        let mut out = Vec::new();
        for (i, p) in self.spec.doc.spec.patches.iter().enumerate() {
            let path = spec.key("patches").index(i);
            if !p.merge.is_object() {
                self.err(
                    &path.key("merge"),
                    "a merge patch must be a mapping".into(),
                    "not a mapping",
                    Some(
                        "write the fields to change, like `merge: {spec: {minReadySeconds: 10}}`"
                            .into(),
                    ),
                );
                continue;
            }
            out.push(Patch {
                index: i,
                kind: p.target.kind.clone(),
                name: p.target.name.clone(),
                merge: p.merge.clone(),
            });
        }
        out
    }
}

/// `repo/name:tag@digest` -> (`repo/name`, Some(tag)).
pub fn split_image(image: &str) -> (&str, Option<&str>) {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_slash = without_digest.rfind('/').map_or(0, |n| n + 1);
    match without_digest[last_slash..].rfind(':') {
        Some(n) => (
            &without_digest[..last_slash + n],
            Some(&without_digest[last_slash + n + 1..]),
        ),
        None => (without_digest, None),
    }
}

/// A Kubernetes resource quantity: digits with an optional fraction and suffix.
pub fn is_quantity(text: &str) -> bool {
    let suffixes = [
        "", "m", "k", "M", "G", "T", "P", "E", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
    ];
    let number_end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(number_end);
    !number.is_empty()
        && number.chars().filter(|c| *c == '.').count() <= 1
        && number.chars().any(|c| c.is_ascii_digit())
        && suffixes.contains(&suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_split_into_name_and_tag() {
        assert_eq!(
            split_image("ghcr.io/acme/api:1.2"),
            ("ghcr.io/acme/api", Some("1.2"))
        );
        assert_eq!(
            split_image("localhost:5000/api"),
            ("localhost:5000/api", None)
        );
        assert_eq!(split_image("nginx@sha256:abc"), ("nginx", None));
    }

    #[test]
    fn quantities_accept_kubernetes_forms() {
        for q in ["100m", "1", "0.5", "512Mi", "2Gi", "1.5G"] {
            assert!(is_quantity(q), "{q}");
        }
        for q in ["", "m", "1.2.3", "12 Mi", "10mb"] {
            assert!(!is_quantity(q), "{q}");
        }
    }
}
