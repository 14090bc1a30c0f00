//! The catalog of patterns, derived from the `templates/` tree and nothing else: a pattern
//! is a folder with a `pattern.yaml`, so adding one needs no second list. The embedded tree
//! can be overlaid file by file with a user folder (`--templates DIR`), the way mdBook lets a
//! theme folder override any of its templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use serde::{Deserialize, Serialize};

use crate::error::{Blame, Error, Result};
use crate::params::ParamDef;

static EMBEDDED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/templates");

/// The folder of files shared by every pattern (partials, the project skeleton).
pub const COMMON: &str = "_common";

/// A file of the catalog and where it came from.
#[derive(Debug, Clone)]
pub struct CatalogFile {
    pub contents: String,
    pub blame: Blame,
}

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

/// A container the pattern puts in its pods, for `show`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerDoc {
    pub name: String,
    pub role: String,
}

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
    /// The component name `new` proposes (`api` for a replicated service).
    #[serde(default)]
    pub default_name: Option<String>,
    pub containers: Vec<ContainerDoc>,
    #[serde(default)]
    pub params: Vec<ParamDef>,
}

impl Pattern {
    pub fn param(&self, name: &str) -> Option<&ParamDef> {
        self.params.iter().find(|p| p.name == name)
    }
}

/// The merged catalog: every template file by its path under `templates/`, and the patterns.
#[derive(Debug, Clone)]
pub struct Catalog {
    files: BTreeMap<String, CatalogFile>,
    patterns: BTreeMap<String, Pattern>,
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
            if pattern.id != folder {
                return Err(Error::Catalog {
                    path: path.clone(),
                    message: format!("id `{}` differs from its folder `{folder}`", pattern.id),
                });
            }
            crate::names::check_dns_label(&pattern.id).map_err(|why| Error::Catalog {
                path: path.clone(),
                message: format!("id `{}` is not a DNS-1123 label: {why}", pattern.id),
            })?;
            for param in &pattern.params {
                if let Some(default) = &param.default
                    && let Err(problem) = param.check(default)
                {
                    return Err(Error::Catalog {
                        path: path.clone(),
                        message: format!("default of {}", problem.message),
                    });
                }
            }
            patterns.insert(pattern.id.clone(), pattern);
        }
        for pattern in patterns.values() {
            check_references(pattern, &patterns)?;
        }
        Ok(Catalog { files, patterns })
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
        self.files_under(&format!("{id}/rust/")).next().is_some()
    }

    /// The example spec a pattern ships (`<id>/example.yaml`), used by `show`, the fixtures
    /// and the docs test.
    pub fn example(&self, id: &str) -> Option<&str> {
        self.files
            .get(&format!("{id}/example.yaml"))
            .map(|f| f.contents.as_str())
    }

    /// Copies a pattern's folder (embedded files merged with any user override) to `dest`.
    pub fn eject(&self, id: &str, dest: &Path, force: bool) -> Result<Vec<PathBuf>> {
        if id != COMMON && !self.patterns.contains_key(id) {
            return Err(Error::Usage {
                message: format!("unknown pattern `{id}`"),
                help: crate::names::did_you_mean(id, self.pattern_ids())
                    .or_else(|| Some("`dpatterns list` shows the catalog".into())),
            });
        }
        let target = dest.join(id);
        if target.exists() && !force {
            return Err(Error::Usage {
                message: format!("{} already exists", target.display()),
                help: Some("pass --force to overwrite it".into()),
            });
        }
        let prefix = format!("{id}/");
        let mut written = Vec::new();
        for (path, file) in self.files_under(&prefix) {
            let out = dest.join(path);
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent).map_err(|source| Error::Write {
                    path: parent.to_path_buf(),
                    source,
                })?;
            }
            std::fs::write(&out, &file.contents).map_err(|source| Error::Write {
                path: out.clone(),
                source,
            })?;
            written.push(out);
        }
        Ok(written)
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
                at_least: Some(other),
                ..
            } => {
                let is_integer = pattern
                    .param(other)
                    .is_some_and(|p| matches!(p.kind, ParamKind::Integer { .. }));
                if !is_integer {
                    return Err(fail(format!(
                        "`{}` has atLeast `{other}`, which is not an integer parameter",
                        param.name
                    )));
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
            _ => {}
        }
    }
    Ok(())
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
