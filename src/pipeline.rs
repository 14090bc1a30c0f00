//! The render pipeline of architecture §3 as one pure function: spec and catalog in, every output
//! file in memory out. No clock, no randomness, no map-order dependence: the same input
//! gives byte-identical files.

use std::collections::BTreeMap;

use crate::catalog::Catalog;
use crate::error::{Blame, Error, Result};
use crate::lockfile;
use crate::manifest::{self, Object};
use crate::model::System;
use crate::patch_checks::Warning;
use crate::source::Problem;
use crate::spec::LoadedSpec;
use crate::templating;

pub use crate::files::{FileKind, OutputFile, managed_header};
pub use crate::manifest::BASE_DIR;

/// Everything one render produces, sorted by path.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub system: System,
    pub files: Vec<OutputFile>,
    /// The checked objects, in output order, for `validate` and `show`.
    pub objects: Vec<Object>,
    /// Settings the spec may make but should know about (hardening its patches undo).
    pub warnings: Vec<Warning>,
}

/// Places the problems a later stage found at their lines in the spec, in file order.
fn place(spec: &LoadedSpec, problems: Vec<Problem>) -> Error {
    let mut errors: Vec<_> = problems.into_iter().map(|p| spec.source.place(p)).collect();
    errors.sort_by_key(|e| (e.line, e.column));
    Error::Spec(errors)
}

/// Settings of the spec's patches worth a second look, with their places, in file order.
fn locate_warnings(spec: &LoadedSpec, weakened: Vec<Problem>) -> Vec<Warning> {
    let mut warnings: Vec<Warning> = weakened
        .into_iter()
        .map(|p| {
            let message = p.message.clone();
            let at = spec.source.place(p);
            Warning {
                message,
                file: spec.source.name.clone(),
                line: at.line,
                column: at.column,
            }
        })
        .collect();
    warnings.sort_by_key(|w| (w.line, w.column));
    warnings
}

/// Renders a spec completely, running every check: the base, then each environment that
/// changes it, as an overlay of the base.
pub fn run(spec: &LoadedSpec, catalog: &Catalog) -> Result<Rendered> {
    let base = checked_objects(spec, catalog)?;
    let (lock, unpinned) = cargo_lock(&base.project_files, &base.system, catalog)?;
    let mut warnings = base.warnings;
    warnings.extend(locate_warnings(spec, unpinned));
    let floors = crate::verify::floors::version_floors(&base.objects, base.system.kube_minor);
    warnings.extend(locate_warnings(spec, floors));
    let mut files: Vec<OutputFile> = base
        .project_files
        .into_iter()
        .chain(lock)
        .map(|f| OutputFile {
            path: f.path,
            contents: f.contents,
            kind: FileKind::Scaffolded,
        })
        .collect();
    files.extend(manifest_files(&base.objects, &base.canonical));
    // An environment that changes nothing is the base: its overlay needs no render.
    for env in &base.system.environments {
        let changed = if env.overrides() {
            let env_spec = crate::overlay::environment_spec(spec, env);
            let checked = checked_objects(&env_spec, catalog)
                .map_err(|e| crate::overlay::in_environment(e, &env.name))?;
            Some(checked.canonical)
        } else {
            None
        };
        files.extend(crate::overlay::files(
            &base.system,
            env,
            &base.canonical,
            changed.as_deref(),
        ));
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(Rendered {
        system: base.system,
        files,
        objects: base.objects,
        warnings,
    })
}

/// One pass of the stages of architecture §3 over one spec: the base, or an environment's
/// spec with its overrides laid in.
#[derive(Debug)]
pub struct Checked {
    pub system: System,
    pub project_files: Vec<templating::TextFile>,
    pub objects: Vec<Object>,
    /// The canonical YAML of each object, in the order of `objects`.
    pub canonical: Vec<String>,
    pub warnings: Vec<Warning>,
}

/// Resolves, renders, composes, patches and checks one spec: everything but the files.
pub fn checked_objects(spec: &LoadedSpec, catalog: &Catalog) -> Result<Checked> {
    let system = crate::resolve::resolve(spec, catalog)?;
    let texts = templating::render_templates(&system, catalog)?;
    let parsed = manifest::parse(&texts.manifests, catalog)?;
    let composed = manifest::compose(parsed, &system)?.map_err(|p| place(spec, p))?;

    // A copy before the patches is kept only when there are patches: it is what tells a
    // failure caused by them from one caused by the templates.
    let unpatched = (!system.patches.is_empty()).then(|| composed.clone());
    let mut objects = composed;
    let weakened = manifest::apply_patches(&mut objects, &system).map_err(|p| place(spec, p))?;
    let warnings = locate_warnings(spec, weakened);
    crate::policy::apply(&mut objects, &system);
    sort_objects(&mut objects);

    let canonical = match crate::verify::run(&objects, &system.namespace) {
        Ok(c) => c,
        Err(mut failures) => {
            let blame = blame_for_failures(unpatched, &system, &objects, &failures, catalog);
            if blame.is_none() {
                name_patches(&mut failures, &system, spec);
            }
            return Err(Error::Verify { failures, blame });
        }
    };
    Ok(Checked {
        system,
        project_files: texts.files,
        objects,
        canonical,
        warnings,
    })
}

/// The rendered `services/Cargo.lock` (scaffolded), or the warnings that say why there is
/// none: a member needs a package the catalog's pinned lock does not hold.
fn cargo_lock(
    files: &[templating::TextFile],
    system: &System,
    catalog: &Catalog,
) -> Result<(Option<templating::TextFile>, Vec<Problem>)> {
    let Some(pinned) = catalog.file(lockfile::PINNED) else {
        return Ok((None, Vec::new()));
    };
    let by_path = files
        .iter()
        .map(|f| (f.path.as_str(), f.contents.as_str()))
        .collect();
    let catalog_error = |message| Error::Catalog {
        path: lockfile::PINNED.to_string(),
        message,
    };
    let missing = match lockfile::render(&by_path, &pinned.contents).map_err(catalog_error)? {
        lockfile::Outcome::NoWorkspace => return Ok((None, Vec::new())),
        lockfile::Outcome::Lock(contents) => {
            let lock = templating::TextFile {
                path: lockfile::LOCK.to_string(),
                contents,
            };
            return Ok((Some(lock), Vec::new()));
        }
        lockfile::Outcome::Unpinned(missing) => missing,
    };
    let mut by_member: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for m in &missing {
        by_member.entry(&m.member).or_default().push(&m.dependency);
    }
    let problems = by_member
        .into_iter()
        .map(|(member, deps)| {
            let message = format!(
                "no {} is rendered: the crate `{member}` needs {}, which the catalog's pinned \
                 lock ({}) does not hold; create the lock with `cargo generate-lockfile` in \
                 services/ and commit it, or pin the crate in the catalog",
                lockfile::LOCK,
                deps.join(", "),
                lockfile::PINNED,
            );
            Problem::new(crate_origin(system, member), message, "", None)
        })
        .collect();
    Ok((None, problems))
}

/// Where the spec asks for a crate: the component (or attach entry) whose pattern
/// generates it; the list of components for the shared `common` crate.
fn crate_origin(system: &System, crate_name: &str) -> crate::source::YamlPath {
    let components = crate::source::YamlPath::root()
        .key("spec")
        .key("components");
    for c in &system.components {
        if c.programs.iter().any(|p| p.crate_name == crate_name) {
            return components.index(c.index).key("pattern");
        }
    }
    let shared = system
        .shared_programs
        .iter()
        .find(|p| p.crate_name == crate_name);
    if let Some(program) = shared {
        for c in &system.components {
            if let Some(a) = c.attachments.iter().find(|a| a.pattern == program.pattern) {
                return components
                    .index(c.index)
                    .key("attach")
                    .index(a.index)
                    .key("pattern");
            }
        }
    }
    components
}

/// Points each failure of a patched object at the patch in the spec (`dpatterns.yaml:14:7`),
/// since the output file it names was never written.
fn name_patches(failures: &mut [crate::error::VerifyFailure], system: &System, spec: &LoadedSpec) {
    for failure in failures.iter_mut() {
        let patch = system.patches.iter().find(|p| {
            failure.object == format!("{} {}/{}", p.kind, system.namespace, p.name)
                || failure.object == format!("{} {}", p.kind, p.name)
        });
        if let Some(p) = patch {
            let path = crate::source::YamlPath::root()
                .key("spec")
                .key("patches")
                .index(p.index);
            let e = spec.source.error_at_value(&path, "", "", None);
            failure.patch = Some(format!("{}:{}:{}", spec.source.name, e.line, e.column));
        }
    }
}

/// Checks fail either because a template renders something wrong (blame its catalog) or
/// because the spec's patches or defaults do (blame the spec): render again without the
/// patches to tell which.
fn blame_for_failures(
    unpatched: Option<Vec<Object>>,
    system: &System,
    objects: &[Object],
    failures: &[crate::error::VerifyFailure],
    catalog: &Catalog,
) -> Option<Blame> {
    let template_blame = || {
        let first = &failures[0];
        objects
            .iter()
            .find(|o| o.describe() == first.object)
            .and_then(|o| catalog.file(&o.template))
            .map_or(Blame::Dpatterns, |f| f.blame.clone())
    };
    let Some(mut unpatched) = unpatched else {
        return Some(template_blame());
    };
    crate::policy::apply(&mut unpatched, system);
    if crate::verify::run(&unpatched, &system.namespace).is_err() {
        Some(template_blame())
    } else {
        None
    }
}

/// Stable order inside a file: by the kind's row in the table (dependencies first), then
/// by name.
fn sort_objects(objects: &mut [Object]) {
    objects.sort_by_cached_key(|o| {
        (
            o.file(),
            crate::kinds::rank(o.kind()),
            o.kind().to_string(),
            o.name().to_string(),
        )
    });
}

fn manifest_files(objects: &[Object], canonical: &[String]) -> Vec<OutputFile> {
    let mut by_file: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (object, yaml) in objects.iter().zip(canonical) {
        by_file.entry(object.file()).or_default().push(yaml);
    }
    let header = managed_header();
    let mut files: Vec<OutputFile> = by_file
        .iter()
        .map(|(path, docs)| OutputFile {
            path: path.clone(),
            contents: format!("{header}{}", docs.join("---\n")),
            kind: FileKind::Managed,
        })
        .collect();
    let mut kustomization = format!(
        "{header}apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n"
    );
    for path in by_file.keys() {
        let name = path.strip_prefix(BASE_DIR).unwrap_or(path);
        kustomization.push_str(&format!("- {name}\n"));
    }
    files.push(OutputFile {
        path: format!("{BASE_DIR}kustomization.yaml"),
        contents: kustomization,
        kind: FileKind::Managed,
    });
    files
}
