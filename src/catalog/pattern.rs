//! A pattern's `pattern.yaml`: what the pattern declares about itself (its family, its
//! parameters, the programs it generates, the containers it runs and what they need from
//! the pod), and the checks that a declaration is sound on its own, run when the catalog
//! loads so that a broken pattern fails every command instead of one render.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::params::{Case, ParamDef, ParamKind};

/// Which part of the book's catalog a pattern belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    SingleNode,
    Serving,
    Batch,
    Ops,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::SingleNode => "single-node",
            Family::Serving => "serving",
            Family::Batch => "batch",
            Family::Ops => "ops",
        }
    }
}

/// Where the pattern stands in the two editions of the book.
#[derive(Debug, Clone, Copy, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Chapter {
    #[serde(default)]
    pub first: Option<u8>,
    #[serde(default)]
    pub second: Option<u8>,
}

impl std::fmt::Display for Chapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.first, self.second) {
            (Some(a), Some(b)) => write!(f, "ch. {a} (1st ed.) / {b} (2nd ed.)"),
            (None, Some(b)) => write!(f, "ch. {b} (2nd ed.)"),
            (Some(a), None) => write!(f, "ch. {a} (1st ed.)"),
            (None, None) => write!(f, "-"),
        }
    }
}

/// A container the pattern puts in its pods: its role, for `show`, and for an
/// off-the-shelf image what it needs to run under the restricted Pod Security profile
/// (a fixed UID, writable paths). Policy reads the needs and adds them to every container
/// of that name in the component's pods.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ContainerDoc {
    pub name: String,
    pub role: String,
    /// The UID the image is built to run as (redis: 999), instead of `defaults.runAsUser`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_user: Option<i64>,
    /// The GID; defaults to `runAsUser` when that is given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_as_group: Option<i64>,
    /// Paths the program writes to: each becomes an `emptyDir` mounted there, since the
    /// root filesystem is read-only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub writable: Vec<Writable>,
}

impl ContainerDoc {
    /// Whether policy has anything to add for this container.
    pub fn has_needs(&self) -> bool {
        self.run_as_user.is_some() || self.run_as_group.is_some() || !self.writable.is_empty()
    }
}

/// A writable path of a container: an `emptyDir` of at most `sizeLimit`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Writable {
    pub path: String,
    #[serde(default = "default_size_limit")]
    pub size_limit: String,
}

fn default_size_limit() -> String {
    "64Mi".into()
}

impl Writable {
    /// The volume's name: the container's name and the path, `cache` + `/data` ->
    /// `cache-data`, so two containers' volumes never collide.
    pub fn volume_name(&self, container: &str) -> String {
        let mut slug = String::new();
        for c in self.path.chars().flat_map(char::to_lowercase) {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                slug.push(c);
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
        }
        format!("{container}-{}", slug.trim_matches('-'))
    }
}

/// A program the pattern generates: its Rust crate is rendered from `rust/<name>/`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProgramDecl {
    pub name: String,
    /// What the program does, one line.
    pub summary: String,
    /// Parameters and the values they must have for the program to be generated
    /// (`{backend: http}`): a pattern whose components run an off-the-shelf server for some
    /// values generates no crate for them. Empty: always generated.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub when: BTreeMap<String, serde_json::Value>,
}

/// Program names join the component's name (at most 40 characters) in crate, image and
/// object names, which must stay within 63.
pub const MAX_PROGRAM_NAME: usize = 22;

/// A pattern's `pattern.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Pattern {
    pub id: String,
    pub family: Family,
    pub chapter: Chapter,
    pub summary: String,
    pub intent: String,
    /// Decorates another component's pods (`attach:`) instead of standing alone.
    #[serde(default)]
    pub attachable: bool,
    /// Serves requests, so a component of it that nothing in the system calls is an entry
    /// point for clients outside (the README's topology draws them).
    #[serde(default)]
    pub serves: bool,
    /// The integer parameter holding the port the component listens on, shown as `port`
    /// in the system's component summaries.
    #[serde(default)]
    pub port_param: Option<String>,
    /// The component name `new` proposes (`api` for a replicated service).
    #[serde(default)]
    pub default_name: Option<String>,
    /// At most one component of the pattern per system (monitoring: one Prometheus
    /// watches the whole system); the resolver refuses a second at its `pattern:`.
    #[serde(default)]
    pub one_per_system: bool,
    /// The pinned off-the-shelf image the pattern runs (monitoring: Prometheus), for a
    /// pattern that generates no program: a component without `image:` gets this one as
    /// `component.image`, and an `image:` given replaces it.
    #[serde(default)]
    pub image: Option<String>,
    /// For an attachable pattern: the pattern of the host `new --pattern` attaches it
    /// to (default `replicated-service`).
    #[serde(default)]
    pub new_host: Option<String>,
    /// Patterns `new --pattern` adds beside this one, which does nothing alone (a
    /// monitoring component needs a service to watch).
    #[serde(default)]
    pub new_with: Vec<String>,
    /// The programs the pattern generates, each from `rust/<name>/`; left out, a `rust/`
    /// folder is the one program.
    #[serde(default)]
    pub programs: Vec<ProgramDecl>,
    pub containers: Vec<ContainerDoc>,
    #[serde(default)]
    pub params: Vec<ParamDef>,
    /// What the parameters must be when one of them holds a value (`{field: mode, equals:
    /// shard, require: [target], forbid: [weight]}`): the shape list parameters have for
    /// their elements, here for the component's (or attach entry's) own parameters.
    #[serde(default)]
    pub cases: Vec<Case>,
}

impl Pattern {
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }

    /// Every rule a declaration must follow on its own; the message says what is wrong.
    pub fn check(&self, folder: &str) -> Result<(), String> {
        if self.id != folder {
            return Err(format!(
                "id `{}` differs from its folder `{folder}`",
                self.id
            ));
        }
        crate::names::check_dns_label(&self.id)
            .map_err(|why| format!("id `{}` is not a DNS-1123 label: {why}", self.id))?;
        if let Some(image) = &self.image {
            let (_, tag) = crate::reference::split_image(image);
            let pinned =
                crate::reference::digest(image).is_some() || tag.is_some_and(|t| t != "latest");
            if !crate::reference::is_image(image) || !pinned {
                return Err(format!(
                    "image `{image}` is not a pinned image reference (a version tag other than `latest`, or a digest)"
                ));
            }
        }
        for param in &self.params {
            if let Some(default) = &param.default
                && let Err(problem) = param.check(default)
            {
                return Err(format!("default of {}", problem.message));
            }
        }
        if let Some(port) = &self.port_param {
            let is_integer = self
                .param(port)
                .is_some_and(|p| matches!(p.kind, ParamKind::Integer { .. }));
            if !is_integer {
                return Err(format!(
                    "portParam `{port}` is not an integer parameter of the pattern"
                ));
            }
        }
        for (i, program) in self.programs.iter().enumerate() {
            crate::names::check_dns_label(&program.name)
                .map_err(|why| format!("program name `{}`: {why}", program.name))?;
            if program.name.len() > MAX_PROGRAM_NAME {
                return Err(format!(
                    "program name `{}` is longer than {MAX_PROGRAM_NAME} characters",
                    program.name
                ));
            }
            if self.programs[..i].iter().any(|p| p.name == program.name) {
                return Err(format!("program `{}` is declared twice", program.name));
            }
            for (param, value) in &program.when {
                let Some(def) = self.param(param) else {
                    return Err(format!(
                        "program `{}`: `when` names `{param}`, which is not a parameter of the pattern",
                        program.name
                    ));
                };
                def.check(value).map_err(|problem| {
                    format!("program `{}`: `when` {}", program.name, problem.message)
                })?;
            }
        }
        self.check_cases()?;
        for (i, container) in self.containers.iter().enumerate() {
            if self.containers[..i]
                .iter()
                .any(|c| c.name == container.name)
            {
                return Err(format!("container `{}` is declared twice", container.name));
            }
            check_needs(container)?;
        }
        Ok(())
    }
}

impl Pattern {
    /// Each case names parameters of the pattern, and its `equals` is a value its field
    /// can hold; sizes are for the elements of a list parameter only.
    fn check_cases(&self) -> Result<(), String> {
        for case in &self.cases {
            let Some(field) = self.param(&case.field) else {
                return Err(format!(
                    "a case names `{}`, which is not a parameter of the pattern",
                    case.field
                ));
            };
            let fits = match &field.kind {
                ParamKind::Enum { values } => values.contains(&case.equals),
                ParamKind::Boolean => ["true", "false"].contains(&case.equals.as_str()),
                ParamKind::String { .. } => true,
                _ => false,
            };
            if !fits {
                return Err(format!(
                    "a case on `{}` cannot equal `{}` (a case's field is an enum, boolean or string parameter, and `equals` one of its values)",
                    case.field, case.equals
                ));
            }
            for key in case.require.iter().chain(&case.forbid) {
                if self.param(key).is_none() {
                    return Err(format!(
                        "the case `{}: {}` names `{key}`, which is not a parameter of the pattern",
                        case.field, case.equals
                    ));
                }
            }
            if !case.sizes.is_empty() {
                return Err(format!(
                    "the case `{}: {}` has `sizes`, which only the elements of a list parameter take",
                    case.field, case.equals
                ));
            }
        }
        Ok(())
    }
}

/// Whether a parameter's value is the one a case is about (`equals` is written as text,
/// so a boolean case reads `equals: "true"`).
pub fn case_applies(case: &Case, value: Option<&serde_json::Value>) -> bool {
    match value {
        Some(serde_json::Value::String(s)) => *s == case.equals,
        Some(serde_json::Value::Bool(b)) => b.to_string() == case.equals,
        _ => false,
    }
}

/// A declared UID must keep the pod non-root, and each writable path must be an absolute
/// path of its own with a size limit Kubernetes reads.
fn check_needs(c: &ContainerDoc) -> Result<(), String> {
    for (key, id) in [("runAsUser", c.run_as_user), ("runAsGroup", c.run_as_group)] {
        if let Some(id) = id
            && !(1..=i64::from(i32::MAX)).contains(&id)
        {
            return Err(format!(
                "container `{}`: {key} {id} is not allowed (1 to 2147483647: the restricted profile forbids root)",
                c.name
            ));
        }
    }
    if c.has_needs() {
        crate::names::check_dns_label(&c.name).map_err(|why| {
            format!(
                "container `{}` declares needs but is not a DNS-1123 label: {why}",
                c.name
            )
        })?;
    }
    for (i, w) in c.writable.iter().enumerate() {
        let fail = |why: &str| {
            Err(format!(
                "container `{}`: writable `{}` {why}",
                c.name, w.path
            ))
        };
        if !w.path.starts_with('/') || w.path == "/" {
            return fail("must be an absolute path below /");
        }
        if w.path.split('/').any(|part| part == ".." || part == ".") {
            return fail("must not contain `.` or `..`");
        }
        if c.writable[..i].iter().any(|o| o.path == w.path) {
            return fail("is declared twice");
        }
        if !crate::quantity::is_quantity(&w.size_limit) {
            return fail(&format!(
                "has sizeLimit `{}`, which is not a Kubernetes quantity",
                w.size_limit
            ));
        }
        let volume = w.volume_name(&c.name);
        if crate::names::check_dns_label(&volume).is_err()
            || c.writable[..i]
                .iter()
                .any(|o| o.volume_name(&c.name) == volume)
        {
            return fail(&format!(
                "gives the volume name `{volume}`, which is not a unique DNS-1123 label"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(yaml: &str) -> ContainerDoc {
        serde_yaml::from_str(yaml).unwrap()
    }

    fn pattern_with_programs(programs: &str) -> Pattern {
        let yaml = format!(
            "{{id: kv, family: serving, chapter: {{}}, summary: s, intent: i, containers: [], \
             params: [{{name: backend, type: enum, values: [http, redis], default: http, help: h}}], \
             programs: {programs}}}"
        );
        serde_yaml::from_str(&yaml).unwrap()
    }

    #[test]
    fn a_programs_when_must_name_a_parameter_and_fit_it() {
        let ok = pattern_with_programs("[{name: router, summary: r, when: {backend: http}}]");
        assert_eq!(ok.check("kv"), Ok(()));
        let unknown = pattern_with_programs("[{name: router, summary: r, when: {backnd: http}}]");
        assert_eq!(
            unknown.check("kv").unwrap_err(),
            "program `router`: `when` names `backnd`, which is not a parameter of the pattern"
        );
        let misfit = pattern_with_programs("[{name: router, summary: r, when: {backend: grpc}}]");
        assert!(
            misfit
                .check("kv")
                .unwrap_err()
                .starts_with("program `router`: `when` parameter `backend` does not allow `grpc`"),
        );
    }

    fn pattern_with_cases(cases: &str) -> Pattern {
        let yaml = format!(
            "{{id: amb, family: single-node, chapter: {{}}, summary: s, intent: i, containers: [], \
             params: [{{name: mode, type: enum, values: [shard, split], default: shard, help: h}}, \
             {{name: target, type: string, optional: true, help: h}}], cases: {cases}}}"
        );
        serde_yaml::from_str(&yaml).unwrap()
    }

    #[test]
    fn a_case_must_name_parameters_and_a_value_its_field_holds() {
        let ok = pattern_with_cases("[{field: mode, equals: shard, require: [target]}]");
        assert_eq!(ok.check("amb"), Ok(()));
        let field = pattern_with_cases("[{field: mdoe, equals: shard}]");
        assert!(
            field
                .check("amb")
                .unwrap_err()
                .contains("`mdoe`, which is not a parameter")
        );
        let value = pattern_with_cases("[{field: mode, equals: tee}]");
        assert!(
            value
                .check("amb")
                .unwrap_err()
                .contains("cannot equal `tee`")
        );
        let key = pattern_with_cases("[{field: mode, equals: split, forbid: [targte]}]");
        assert!(key.check("amb").unwrap_err().contains("names `targte`"));
        let sizes = pattern_with_cases("[{field: mode, equals: split, sizes: {target: {max: 1}}}]");
        assert!(
            sizes
                .check("amb")
                .unwrap_err()
                .contains("only the elements of a list")
        );
    }

    #[test]
    fn an_off_the_shelf_image_must_be_pinned() {
        let with_image = |image: &str| -> Pattern {
            let yaml = format!(
                "{{id: mon, family: ops, chapter: {{}}, summary: s, intent: i, containers: [], image: '{image}'}}"
            );
            serde_yaml::from_str(&yaml).unwrap()
        };
        assert_eq!(
            with_image("quay.io/prometheus/prometheus:v2.55.1").check("mon"),
            Ok(())
        );
        for unpinned in ["quay.io/prometheus/prometheus", "prometheus:latest"] {
            let err = with_image(unpinned).check("mon").unwrap_err();
            assert!(
                err.contains("is not a pinned image reference"),
                "{unpinned}: {err}"
            );
        }
    }

    #[test]
    fn writable_paths_name_their_volume_after_container_and_path() {
        let w = Writable {
            path: "/var/lib/Redis_data/".into(),
            size_limit: "1Gi".into(),
        };
        assert_eq!(w.volume_name("cache"), "cache-var-lib-redis-data");
    }

    #[test]
    fn a_declared_root_uid_is_refused() {
        let c = container("{name: cache, role: r, runAsUser: 0}");
        assert!(check_needs(&c).unwrap_err().contains("forbids root"));
    }

    #[test]
    fn writable_paths_must_be_absolute_unique_and_sized() {
        let relative = container("{name: cache, role: r, writable: [{path: data}]}");
        assert!(check_needs(&relative).unwrap_err().contains("absolute"));
        let twice = container("{name: cache, role: r, writable: [{path: /data}, {path: /data}]}");
        assert!(check_needs(&twice).unwrap_err().contains("twice"));
        let size = container("{name: cache, role: r, writable: [{path: /data, sizeLimit: lots}]}");
        assert!(check_needs(&size).unwrap_err().contains("quantity"));
        let dots = container("{name: cache, role: r, writable: [{path: /data/../etc}]}");
        assert!(check_needs(&dots).unwrap_err().contains("`..`"));
        let ok = container("{name: cache, role: r, runAsUser: 999, writable: [{path: /data}]}");
        assert_eq!(check_needs(&ok), Ok(()));
        assert_eq!(ok.writable[0].size_limit, "64Mi");
    }
}
