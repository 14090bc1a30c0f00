//! The catalog of patterns, derived from the `templates/` tree and nothing else: a pattern
//! is a folder with a `pattern.yaml`, so adding one needs no second list. The embedded tree
//! can be overlaid file by file with a user folder (`--templates DIR`), the way mdBook lets a
//! theme folder override any of its templates.

use std::collections::BTreeMap;
use std::path::Path;

use include_dir::{Dir, include_dir};

use crate::error::{Blame, Error, Result};

mod pattern;
mod shared;

pub use pattern::{
    Chapter, ContainerDoc, Family, MAX_PROGRAM_NAME, Pattern, ProgramDecl, Writable, case_applies,
};
pub use shared::Shared;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The folder of files shared by every pattern (partials, the project skeleton).
pub const COMMON: &str = "_common";

/// A file of the catalog and where it came from.
#[derive(Debug, Clone)]
pub struct CatalogFile {
    pub contents: String,
    pub blame: Blame,
}

/// A program of a pattern and the catalog folder its crate is rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramSource {
    /// The declared name; `None` for the one program of a pattern that declares none.
    pub name: Option<String>,
    /// `<id>/rust/` or `<id>/rust/<name>/`.
    pub dir: String,
    /// The parameter values the program is generated for (`when:`); empty: always.
    pub when: BTreeMap<String, serde_json::Value>,
}

impl ProgramSource {
    /// Whether a component (or attachment) with these parameters gets this program.
    pub fn wanted(&self, params: &BTreeMap<String, serde_json::Value>) -> bool {
        self.when.iter().all(|(k, v)| params.get(k) == Some(v))
    }
}

/// The merged catalog: every template file by its path under `templates/`, the patterns,
/// and what `_common` declares.
#[derive(Debug, Clone)]
pub struct Catalog {
    files: BTreeMap<String, CatalogFile>,
    patterns: BTreeMap<String, Pattern>,
    programs: BTreeMap<String, Vec<ProgramSource>>,
    shared: Shared,
    reserved_crates: Vec<String>,
    /// The user folder as given (`--templates`, `DPATTERNS_TEMPLATES`).
    user_dir: Option<std::path::PathBuf>,
    /// The user folder relative to the project being rendered, when it lies inside it: the
    /// CI workflow sets `DPATTERNS_TEMPLATES` to it (see [`Catalog::placed_in`]).
    project_templates: Option<String>,
}

impl Catalog {
    /// The embedded catalog alone.
    pub fn embedded() -> Result<Self> {
        Self::load(None)
    }

    /// The embedded catalog, overlaid with a user folder if one is given.
    pub fn load(user_dir: Option<&Path>) -> Result<Self> {
        let mut files = BTreeMap::new();
        collect_embedded(&EMBEDDED, &mut files);
        if let Some(dir) = user_dir {
            collect_user(dir, &mut files)?;
        }
        let mut patterns = BTreeMap::new();
        for (path, file) in &files {
            let Some(folder) = path.strip_suffix("/pattern.yaml") else {
                continue;
            };
            if folder.contains('/') || folder == COMMON {
                continue;
            }
            let pattern: Pattern =
                serde_yaml::from_str(&file.contents).map_err(|e| Error::Catalog {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            pattern.check(folder).map_err(|message| Error::Catalog {
                path: path.clone(),
                message,
            })?;
            patterns.insert(pattern.id.clone(), pattern);
        }
        let mut programs = BTreeMap::new();
        for pattern in patterns.values() {
            check_references(pattern, &patterns)?;
            programs.insert(pattern.id.clone(), program_sources(pattern, &files)?);
        }
        let shared = load_shared(&files)?;
        let reserved_crates = files
            .get(shared::WORKSPACE_TEMPLATE)
            .map(|f| shared::workspace_dependencies(&f.contents))
            .unwrap_or_default();
        Ok(Catalog {
            files,
            patterns,
            programs,
            shared,
            reserved_crates,
            user_dir: user_dir.map(Path::to_path_buf),
            project_templates: None,
        })
    }

    /// Tells the catalog which project folder it renders into. Returns where the user
    /// folder lies: `Ok(None)` without one, `Ok(Some(path))` relative to the project when
    /// it is inside it (CI can find it there), `Err(folder)` when it is outside (CI cannot).
    pub fn placed_in(&mut self, project: &Path) -> std::result::Result<Option<String>, String> {
        let Some(user) = &self.user_dir else {
            return Ok(None);
        };
        let user_abs = user.canonicalize().unwrap_or_else(|_| user.clone());
        let relative = existing_prefix(project)
            .and_then(|p| user_abs.strip_prefix(p).ok().map(Path::to_path_buf))
            .and_then(|rel| {
                let parts: Option<Vec<&str>> =
                    rel.components().map(|c| c.as_os_str().to_str()).collect();
                parts.map(|p| {
                    if p.is_empty() {
                        ".".to_string()
                    } else {
                        p.join("/")
                    }
                })
            });
        self.project_templates = relative.clone();
        match relative {
            Some(rel) => Ok(Some(rel)),
            None => Err(user.display().to_string()),
        }
    }

    /// The user folder relative to the project, when the render was placed in one and
    /// the folder lies inside it.
    pub fn project_templates(&self) -> Option<&str> {
        self.project_templates.as_deref()
    }

    /// What `_common/common.yaml` declares.
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// Crate names the generated workspace already uses (its `[workspace.dependencies]`,
    /// the `common` crate among them), so no generated service may take them.
    pub fn reserved_crate_names(&self) -> &[String] {
        &self.reserved_crates
    }

    /// The programs a pattern generates, in declaration order; empty when it has no
    /// `rust/` folder.
    pub fn programs(&self, id: &str) -> &[ProgramSource] {
        self.programs.get(id).map_or(&[], Vec::as_slice)
    }

    pub fn patterns(&self) -> impl Iterator<Item = &Pattern> {
        self.patterns.values()
    }

    pub fn pattern(&self, id: &str) -> Option<&Pattern> {
        self.patterns.get(id)
    }

    pub fn pattern_ids(&self) -> impl Iterator<Item = &str> {
        self.patterns.keys().map(String::as_str)
    }

    pub fn file(&self, path: &str) -> Option<&CatalogFile> {
        self.files.get(path)
    }

    /// Files under a folder of the catalog (`replicated-service/k8s/`), in path order.
    pub fn files_under<'a>(
        &'a self,
        prefix: &'a str,
    ) -> impl Iterator<Item = (&'a str, &'a CatalogFile)> + 'a {
        self.files
            .range(prefix.to_string()..)
            .take_while(move |(p, _)| p.starts_with(prefix))
            .map(|(p, f)| (p.as_str(), f))
    }

    /// Whether the pattern generates a Rust service (it has a `rust/` folder); one that
    /// does not needs `image:` on every component.
    pub fn has_service(&self, id: &str) -> bool {
        !self.programs(id).is_empty()
    }

    /// The example spec a pattern ships (`<id>/example.yaml`), used by `show`, the fixtures
    /// and the docs test.
    pub fn example(&self, id: &str) -> Option<&str> {
        self.files
            .get(&format!("{id}/example.yaml"))
            .map(|f| f.contents.as_str())
    }
}

/// `atLeast` must name an integer parameter of the same pattern, and a `component`
/// parameter may only accept patterns of the catalog.
fn check_references(pattern: &Pattern, all: &BTreeMap<String, Pattern>) -> Result<()> {
    use crate::params::ParamKind;
    let fail = |message: String| Error::Catalog {
        path: format!("{}/pattern.yaml", pattern.id),
        message,
    };
    for param in &pattern.params {
        match &param.kind {
            ParamKind::Integer {
                at_least,
                differs_from,
                ..
            } => {
                let rules = [("atLeast", at_least), ("differsFrom", differs_from)];
                for (rule, other) in rules {
                    let Some(other) = other else { continue };
                    let is_integer = pattern
                        .param(other)
                        .is_some_and(|p| matches!(p.kind, ParamKind::Integer { .. }));
                    if !is_integer || other == &param.name {
                        return Err(fail(format!(
                            "`{}` has {rule} `{other}`, which is not another integer parameter",
                            param.name
                        )));
                    }
                }
            }
            ParamKind::Component { patterns } => {
                if let Some(missing) = patterns.iter().find(|p| !all.contains_key(*p)) {
                    return Err(fail(format!(
                        "`{}` accepts pattern `{missing}`, which is not in the catalog",
                        param.name
                    )));
                }
            }
            ParamKind::List { fields, .. } => {
                crate::params::check_list_declaration(param, &|n| pattern.param(n))
                    .map_err(fail)?;
                // A component reference inside the elements (monitoring's objectives).
                for field in fields {
                    if let ParamKind::Component { patterns } = &field.kind
                        && let Some(missing) = patterns.iter().find(|p| !all.contains_key(*p))
                    {
                        return Err(fail(format!(
                            "key `{}` of `{}` accepts pattern `{missing}`, which is not in the catalog",
                            field.name, param.name
                        )));
                    }
                }
            }
            _ => {}
        }
    }
    if let Some(host) = &pattern.new_host {
        if !pattern.attachable {
            return Err(fail(format!(
                "`newHost` is for attachable patterns; `{}` stands alone",
                pattern.id
            )));
        }
        if all.get(host).is_none_or(|h| h.attachable) {
            return Err(fail(format!(
                "newHost `{host}` is not a pattern of the catalog that stands alone"
            )));
        }
    }
    if let Some(missing) = pattern.new_with.iter().find(|w| {
        all.get(*w)
            .is_none_or(|p| p.attachable || *w == &pattern.id)
    }) {
        return Err(fail(format!(
            "newWith `{missing}` is not another pattern of the catalog that stands alone"
        )));
    }
    Ok(())
}

/// Where each program's templates are: a pattern without `programs:` has at most one, its
/// `rust/` folder; one with `programs:` has a folder `rust/<name>/` per program and no
/// template outside them.
fn program_sources(
    pattern: &Pattern,
    files: &BTreeMap<String, CatalogFile>,
) -> Result<Vec<ProgramSource>> {
    let rust = format!("{}/rust/", pattern.id);
    let mut under = files
        .range(rust.clone()..)
        .take_while(|(p, _)| p.starts_with(&rust))
        .map(|(p, _)| p.as_str());
    if pattern.programs.is_empty() {
        return Ok(match under.next() {
            Some(_) => vec![ProgramSource {
                name: None,
                dir: rust,
                when: BTreeMap::new(),
            }],
            None => Vec::new(),
        });
    }
    let fail = |message: String| Error::Catalog {
        path: format!("{}/pattern.yaml", pattern.id),
        message,
    };
    let dirs: Vec<String> = pattern
        .programs
        .iter()
        .map(|p| format!("{rust}{}/", p.name))
        .collect();
    let mut used = vec![false; dirs.len()];
    for path in under {
        match dirs.iter().position(|d| path.starts_with(d.as_str())) {
            Some(i) => used[i] = true,
            None => {
                return Err(fail(format!(
                    "`{path}` is in no declared program's folder (programs: {})",
                    pattern
                        .programs
                        .iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
    }
    if let Some(i) = used.iter().position(|u| !u) {
        return Err(fail(format!(
            "program `{}` has no templates: add `{}`",
            pattern.programs[i].name, dirs[i]
        )));
    }
    Ok(pattern
        .programs
        .iter()
        .zip(dirs)
        .map(|(p, dir)| ProgramSource {
            name: Some(p.name.clone()),
            dir,
            when: p.when.clone(),
        })
        .collect())
}

fn load_shared(files: &BTreeMap<String, CatalogFile>) -> Result<Shared> {
    let fail = |message: String| Error::Catalog {
        path: shared::SHARED_FILE.into(),
        message,
    };
    let file = files
        .get(shared::SHARED_FILE)
        .ok_or_else(|| fail("missing: the catalog declares its shared settings here".into()))?;
    let shared: Shared = serde_yaml::from_str(&file.contents).map_err(|e| fail(e.to_string()))?;
    shared.check().map_err(fail)?;
    Ok(shared)
}

fn collect_embedded(dir: &Dir<'static>, files: &mut BTreeMap<String, CatalogFile>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            files.insert(
                file.path().to_string_lossy().replace('\\', "/"),
                CatalogFile {
                    contents: text.to_string(),
                    blame: Blame::Dpatterns,
                },
            );
        }
    }
    for sub in dir.dirs() {
        collect_embedded(sub, files);
    }
}

fn collect_user(dir: &Path, files: &mut BTreeMap<String, CatalogFile>) -> Result<()> {
    if !dir.is_dir() {
        return Err(Error::Usage {
            message: format!("--templates {} is not a directory", dir.display()),
            help: Some("`dpatterns eject PATTERN DIR` creates one to start from".into()),
        });
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Read {
            path: dir.to_path_buf(),
            source: e.into(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir yields paths under its root");
        let key = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/");
        let contents = std::fs::read_to_string(entry.path()).map_err(|source| Error::Read {
            path: entry.path().to_path_buf(),
            source,
        })?;
        files.insert(
            key,
            CatalogFile {
                contents,
                blame: Blame::UserTemplates(dir.to_path_buf()),
            },
        );
    }
    Ok(())
}

/// The canonical form of a folder that may not exist yet: its nearest existing ancestor,
/// canonicalized, with the missing rest appended.
fn existing_prefix(folder: &Path) -> Option<std::path::PathBuf> {
    let absolute = std::path::absolute(folder).ok()?;
    let mut rest = Vec::new();
    let mut at = absolute.as_path();
    loop {
        if let Ok(found) = at.canonicalize() {
            return Some(rest.iter().rev().fold(found, |p, part| p.join(part)));
        }
        rest.push(at.file_name()?.to_os_string());
        at = at.parent()?;
    }
}
