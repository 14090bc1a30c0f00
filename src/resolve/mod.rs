//! Checking the spec against the catalog: every rule of DESIGN §2 that needs more than
//! the decoder (patterns, parameters, references, names, images, defaults), reported all
//! at once at their places in the file, and the resolved [`System`] built on the way.

mod components;
mod settings;

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::error::{Error, Result, SpecError};
use crate::model::{Attachment, Component, MAX_COMPONENT_NAME, SERVICE_VERSION, System};
use crate::source::YamlPath;
use crate::spec::{API_VERSION, KIND, LoadedSpec};

pub use settings::{is_quantity, split_image};

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
}
