//! Checking the spec against the catalog: every rule of architecture §2 that needs more than
//! the decoder (patterns, parameters, references, names, images, defaults), reported all
//! at once at their places in the file, and the resolved [`System`] built on the way.

pub(crate) mod ci;
mod components;
mod environments;
mod lint;
mod network;
mod settings;

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::error::{Error, Result, SpecError};
use crate::model::{Attachment, Component, MAX_COMPONENT_NAME, Program, System};
use crate::names::{SuggestionBudget, crate_name_problem};
use crate::source::YamlPath;
use crate::spec::{API_VERSION, KIND, LoadedSpec};

/// Names whose `k8s/base/<name>.yaml` the tool writes itself.
pub const RESERVED_NAMES: &[&str] = &["kustomization"];
/// Checks the spec against the catalog and builds the model, reporting every problem found
/// (not just the first) at its place in the file.
pub fn resolve(spec: &LoadedSpec, catalog: &Catalog) -> Result<System> {
    let mut r = Resolver {
        spec,
        catalog,
        errors: Vec::new(),
        suggestions: SuggestionBudget::new(),
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
    /// Did-you-mean over the spec's own names (which grow with it) draws on this.
    suggestions: SuggestionBudget,
}

impl<'a> Resolver<'a> {
    fn err(&mut self, path: &YamlPath, message: String, label: &str, help: Option<String>) {
        let e = self.spec.source.error_at_value(path, message, label, help);
        self.errors.push(e);
    }

    /// A parameter's problem at its place: the value at `param`, or the element or key
    /// inside it that the problem names (a list's).
    fn param_err(&mut self, param: &YamlPath, problem: crate::params::ParamProblem) {
        let mut path = param.clone();
        path.0.extend(problem.at);
        let e = if problem.at_key {
            self.spec
                .source
                .error_at_key(&path, problem.message, &problem.label, problem.help)
        } else {
            self.spec
                .source
                .error_at_value(&path, problem.message, &problem.label, problem.help)
        };
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
        let network = self.network(&spec);
        let dpatterns = self.dpatterns_source(&spec);

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
        let version = self.catalog.shared().service_version.clone();
        // Every generated crate's name, with the place in the spec it comes from.
        let mut crates: Vec<(String, YamlPath)> = Vec::new();
        let mut shared_programs: Vec<Program> = Vec::new();
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
                    Some("its manifest file would collide with k8s/base/kustomization.yaml; pick another name".into()),
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
            if pattern.is_some_and(|p| p.one_per_system) {
                self.one_per_system(&list, &path, i);
            }
            let params = pattern
                .map(|p| self.params(&path.key("params"), p, &c.params))
                .unwrap_or_default();
            self.exposure_params(&path.key("params"), &params, &network);
            let egress = self.egress(&path.key("egress"), &c.egress);
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
                    // An attachment runs only the programs its parameters want (`when`): an
                    // adapter of one kind is one program, which one image can replace.
                    self.one_image_for_one_program(&apath.key("image"), &a.pattern, Some(&aparams));
                }
                let mut images = BTreeMap::new();
                for source in self.catalog.programs(&a.pattern) {
                    if !source.wanted(&aparams) {
                        continue;
                    }
                    let crate_name = match &source.name {
                        None => a.pattern.clone(),
                        Some(n) => format!("{}-{n}", a.pattern),
                    };
                    let program = Program {
                        image: format!("{registry}/{crate_name}:{version}"),
                        name: source.name.clone(),
                        crate_name,
                        pattern: a.pattern.clone(),
                        dir: source.dir.clone(),
                        component: None,
                    };
                    images.insert(
                        program.key().to_string(),
                        a.image.clone().unwrap_or_else(|| program.image.clone()),
                    );
                    // One crate serves every attachment of the pattern.
                    if a.image.is_none() && !shared_programs.contains(&program) {
                        crates.push((program.crate_name.clone(), apath.key("pattern")));
                        shared_programs.push(program);
                    }
                }
                attachments.push(Attachment {
                    index: j,
                    pattern: a.pattern.clone(),
                    params: aparams,
                    image: a.image.clone().or_else(|| images.values().next().cloned()),
                    images,
                });
            }
            // The image given, else the off-the-shelf one the pattern runs (monitoring).
            let image = c
                .image
                .clone()
                .or_else(|| pattern.and_then(|p| p.image.clone()));
            let generated = image.is_none();
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
            if c.image.is_some() && pattern.is_some() {
                self.one_image_for_one_program(&path.key("image"), &c.pattern, None);
            }
            let sources = if generated {
                self.catalog.programs(&c.pattern)
            } else {
                &[]
            };
            let programs: Vec<Program> = sources
                .iter()
                .filter(|source| source.wanted(&params))
                .map(|source| {
                    let crate_name = match &source.name {
                        None => c.name.clone(),
                        Some(n) => format!("{}-{n}", c.name),
                    };
                    // A duplicate component is reported as such, not as a crate clash.
                    if seen.get(c.name.as_str()) == Some(&i) {
                        crates.push((crate_name.clone(), path.key("name")));
                    }
                    Program {
                        image: format!("{registry}/{crate_name}:{version}"),
                        name: source.name.clone(),
                        crate_name,
                        pattern: c.pattern.clone(),
                        dir: source.dir.clone(),
                        component: Some(c.name.clone()),
                    }
                })
                .collect();
            let mut container_needs: Vec<_> = pattern
                .into_iter()
                .chain(
                    attachments
                        .iter()
                        .filter_map(|a| self.catalog.pattern(&a.pattern)),
                )
                .flat_map(|p| p.containers.iter().filter(|d| d.has_needs()).cloned())
                .collect();
            container_needs.dedup_by(|a, b| a.name == b.name);
            components.push(Component {
                index: i,
                name: c.name.clone(),
                pattern: c.pattern.clone(),
                params,
                image: image
                    .clone()
                    .or_else(|| programs.first().map(|p| p.image.clone()))
                    .unwrap_or_else(|| format!("{registry}/{}:{version}", c.name)),
                generated,
                programs,
                attachments,
                serving: pattern.is_some_and(|p| p.serves),
                port_param: pattern.and_then(|p| p.port_param.clone()),
                container_needs,
                uses: Vec::new(),
                used_by: Vec::new(),
                version: match &image {
                    None => Some(version.clone()),
                    Some(image) => crate::reference::version_label(image).map(String::from),
                },
                egress,
            });
        }
        self.crate_names(&crates);
        shared_programs.sort_by(|a, b| a.crate_name.cmp(&b.crate_name));
        self.references(&list, &mut components);
        let patches = self.patches(&spec);
        let environments = self.environments(&spec, &components);
        self.lint_ignores(&spec, &components);

        System {
            name: doc.metadata.name.clone(),
            namespace,
            kube_minor,
            registry,
            defaults,
            network,
            by_name: System::index_by_name(&components),
            components,
            patches,
            service_version: version,
            dpatterns,
            shared_programs,
            environments,
        }
    }

    /// A pattern declared `onePerSystem` (monitoring) refused on its second component, at
    /// that component's `pattern:`, naming the line of the first.
    fn one_per_system(&mut self, list: &YamlPath, path: &YamlPath, i: usize) {
        let spec: &'a LoadedSpec = self.spec;
        let components = &spec.doc.spec.components;
        let id = &components[i].pattern;
        let Some(first) = components[..i].iter().position(|c| &c.pattern == id) else {
            return;
        };
        let (line, _) = self.first_line(&list.index(first).key("pattern"));
        self.err(
            &path.key("pattern"),
            format!("a system has at most one `{id}` component"),
            "second of its pattern",
            Some(format!(
                "`{}` on line {line} is the system's `{id}` already; remove this one or merge their parameters",
                components[first].name
            )),
        );
    }

    /// `image:` stands for one program; a pattern generating several needs each built.
    fn one_image_for_one_program(
        &mut self,
        path: &YamlPath,
        pattern: &str,
        wanted_by: Option<&BTreeMap<String, serde_json::Value>>,
    ) {
        let programs: Vec<_> = self
            .catalog
            .programs(pattern)
            .iter()
            .filter(|p| wanted_by.is_none_or(|params| p.wanted(params)))
            .collect();
        if programs.len() > 1 {
            let names: Vec<&str> = programs.iter().filter_map(|p| p.name.as_deref()).collect();
            self.err(
                path,
                format!(
                    "pattern `{pattern}` runs {} programs ({}); one `image:` cannot stand for them",
                    names.len(),
                    names.join(", ")
                ),
                "one image for several programs",
                Some("leave `image:` out: dpatterns generates each program and its image".into()),
            );
        }
    }

    /// Each generated crate needs a name Rust and the workspace leave free, and its own.
    fn crate_names(&mut self, crates: &[(String, YamlPath)]) {
        let mut seen: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
        for (name, path) in crates {
            if let Some(why) = crate_name_problem(name, self.catalog.reserved_crate_names()) {
                self.err(
                    path,
                    format!("`{name}` cannot name a generated Rust service"),
                    "reserved for the Rust workspace",
                    Some(format!("its crate would be named `{name}`, but {why}; pick another name, or give `image:` to run an existing image")),
                );
            } else if !seen.insert(name.as_str()) {
                self.err(
                    path,
                    format!("two generated crates would be named `{name}`"),
                    "crate name taken",
                    Some("a component's crates are named `<component>` or `<component>-<program>`, an attached pattern's `<pattern>` or `<pattern>-<program>`; rename the component".into()),
                );
            }
        }
    }

    fn first_line(&self, path: &YamlPath) -> (usize, usize) {
        let e = self.spec.source.error_at_value(path, "", "", None);
        (e.line, e.column)
    }
}
