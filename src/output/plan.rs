//! The plan: what a render does to each path of the output folder, decided by comparing the
//! rendered files with what is on disk and with the lock of the previous render. Nothing is
//! written here; [`Plan::apply`] hands the changes to the transaction.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lock::{LOCK_FILE, Lock, LockEntry, sha256_hex};
use super::merge::{self, BASE_DIR, Merged, base_path};
use super::paths::{check_no_symlink, check_relative, is_internal, read_optional};
use super::transaction::{self, Change};
use crate::TOOL_VERSION;
use crate::error::{Error, Result};
use crate::files::{FileKind, OutputFile};

/// What a render does to one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Update,
    Unchanged,
    /// A scaffolded file the user changed: left alone.
    KeptEdited,
    /// A file that was there before dpatterns wrote one at its path: left alone.
    KeptExisting,
    /// A scaffolded file the user changed, overwritten because of `--force`.
    Overwrite,
    /// A scaffolded file the user changed, merged cleanly with its new render.
    Merge,
    /// A scaffolded file the user changed where both sides changed the same lines: written
    /// with conflict markers for the user to resolve.
    Conflict,
    /// A managed file no longer rendered.
    Delete,
    /// A scaffolded file no longer rendered: left alone.
    KeptOrphan,
}

impl Action {
    pub fn label(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Unchanged => "unchanged",
            Action::KeptEdited | Action::KeptExisting => "kept",
            Action::Overwrite => "overwrite",
            Action::Merge => "merge",
            Action::Conflict => "conflict",
            Action::Delete => "delete",
            Action::KeptOrphan => "orphaned",
        }
    }

    /// Whether this action changes the directory (what `--check` calls drift).
    pub fn changes(self) -> bool {
        matches!(
            self,
            Action::Create
                | Action::Update
                | Action::Overwrite
                | Action::Merge
                | Action::Conflict
                | Action::Delete
        )
    }
}

/// What this run does to one path, with the contents it would write there.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    pub path: String,
    pub kind: FileKind,
    pub action: Action,
    #[serde(skip)]
    contents: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub dir: PathBuf,
    pub entries: Vec<PlanEntry>,
    /// Merge bases to write (`Some`) or remove (`None`): bookkeeping, not listed.
    bases: Vec<(String, Option<String>)>,
}

/// The spec beside the output, which no render may touch and the lock may never name;
/// `new` writes it in the same transaction as the files rendered from it.
#[derive(Debug, Clone, Copy)]
pub struct SpecFile<'a> {
    /// Its path relative to the output folder, when it is inside it.
    pub path: Option<&'a str>,
    pub text: &'a str,
    /// Whether this command writes it (`new`).
    pub write: bool,
}

impl Plan {
    /// Compares the rendered files with the directory and its lock file. Linear in the
    /// number of files (plus the sort by path): each file is read and hashed once.
    pub fn compute(
        dir: &Path,
        files: &[OutputFile],
        spec: SpecFile<'_>,
        force: bool,
    ) -> Result<Plan> {
        let old_lock = Lock::read(dir)?;
        let old: BTreeMap<&str, &LockEntry> = match &old_lock {
            Some(lock) => lock.trusted_entries(spec.path)?,
            None => BTreeMap::new(),
        };
        let mut checked = HashSet::new();
        let mut entries = Vec::with_capacity(files.len() + 2);
        let mut lock_files = Vec::with_capacity(files.len());
        let mut bases = Vec::new();
        let mut kept_bases = HashSet::new();
        for file in files {
            check_writable(dir, &file.path, spec.path, &mut checked)?;
            let disk = read_optional(&dir.join(&file.path))?;
            let previous = old.get(file.path.as_str());
            let mut written = None;
            let action = match &disk {
                None => Action::Create,
                Some(d) if *d == file.contents.as_bytes() => Action::Unchanged,
                Some(_) if file.kind == FileKind::Managed => Action::Update,
                Some(d) => {
                    let untouched = previous.is_some_and(|p| p.sha256 == sha256_hex(d));
                    match (untouched, force, previous) {
                        (true, _, _) => Action::Update,
                        (false, true, _) => Action::Overwrite,
                        (false, false, Some(p)) => {
                            match merge::three_way(dir, &file.path, &p.sha256, d, &file.contents)? {
                                Some(Merged::Clean(text)) if text.as_bytes() != d.as_slice() => {
                                    written = Some(text);
                                    Action::Merge
                                }
                                Some(Merged::Conflict(text)) => {
                                    written = Some(text);
                                    Action::Conflict
                                }
                                _ => Action::KeptEdited,
                            }
                        }
                        (false, false, None) => Action::KeptExisting,
                    }
                }
            };
            // The lock records the hash of the base: what dpatterns last rendered here.
            let lock_hash = match (action, previous) {
                (Action::KeptEdited, Some(p)) => p.sha256.clone(),
                _ => sha256_hex(file.contents.as_bytes()),
            };
            if file.kind == FileKind::Scaffolded && action != Action::KeptExisting {
                let base = base_path(&file.path);
                let keep = action == Action::KeptEdited;
                if !keep
                    && read_optional(&dir.join(&base))?.as_deref() != Some(file.contents.as_bytes())
                {
                    bases.push((base.clone(), Some(file.contents.clone())));
                }
                kept_bases.insert(base);
            }
            // A file that was never ours stays out of the lock, so it keeps that status.
            if action != Action::KeptExisting {
                lock_files.push(LockEntry {
                    path: file.path.clone(),
                    kind: file.kind,
                    sha256: lock_hash,
                });
            }
            entries.push(PlanEntry {
                path: file.path.clone(),
                kind: file.kind,
                action,
                contents: Some(written.unwrap_or_else(|| file.contents.clone())),
            });
        }
        bases.extend(
            stale_bases(dir, &kept_bases, &mut checked)?
                .into_iter()
                .map(|b| (b, None)),
        );
        let rendered: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        for (path, entry) in &old {
            if rendered.contains(path) {
                continue;
            }
            if let Some(action) = orphan_action(dir, path, entry, &mut checked) {
                entries.push(PlanEntry {
                    path: path.to_string(),
                    kind: entry.kind,
                    action,
                    contents: None,
                });
            }
        }
        if spec.write {
            let path = spec
                .path
                .expect("a spec that is written is inside the folder");
            check_no_symlink(dir, path, &mut checked)?;
            let action = match read_optional(&dir.join(path))? {
                None => Action::Create,
                Some(d) if d == spec.text.as_bytes() => Action::Unchanged,
                Some(_) => Action::Overwrite,
            };
            entries.push(PlanEntry {
                path: path.to_string(),
                kind: FileKind::Spec,
                action,
                contents: Some(spec.text.to_string()),
            });
        }
        let lock = Lock {
            tool: TOOL_VERSION.to_string(),
            spec: sha256_hex(spec.text.as_bytes()),
            files: lock_files,
        };
        let lock_text = lock.to_text();
        check_no_symlink(dir, LOCK_FILE, &mut checked)?;
        let lock_action = match read_optional(&dir.join(LOCK_FILE))? {
            None => Action::Create,
            Some(d) if d == lock_text.as_bytes() => Action::Unchanged,
            Some(_) => Action::Update,
        };
        entries.push(PlanEntry {
            path: LOCK_FILE.into(),
            kind: FileKind::Managed,
            action: lock_action,
            contents: Some(lock_text),
        });
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(Plan {
            dir: dir.to_path_buf(),
            entries,
            bases,
        })
    }

    pub fn drift(&self) -> impl Iterator<Item = &PlanEntry> {
        self.entries.iter().filter(|e| e.action.changes())
    }

    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// Carries the plan out as one transaction: every file lands, or none does. The lock
    /// goes last, so it never names a file that is not in place.
    pub fn apply(&self) -> Result<()> {
        let (lock, files): (Vec<&PlanEntry>, Vec<&PlanEntry>) =
            self.drift().partition(|e| e.path == LOCK_FILE);
        let changes: Vec<Change<'_>> = files
            .into_iter()
            .map(|e| Change {
                path: &e.path,
                contents: e.contents.as_deref(),
            })
            .chain(self.bases.iter().map(|(path, contents)| Change {
                path,
                contents: contents.as_deref(),
            }))
            .chain(lock.into_iter().map(|e| Change {
                path: &e.path,
                contents: e.contents.as_deref(),
            }))
            .collect();
        transaction::apply(&self.dir, &changes)
    }
}

/// The merge bases under `.dpatterns/base/` that no scaffolded file of this render keeps.
fn stale_bases(
    dir: &Path,
    kept: &HashSet<String>,
    checked: &mut HashSet<PathBuf>,
) -> Result<Vec<String>> {
    let root = dir.join(BASE_DIR);
    check_no_symlink(dir, BASE_DIR, checked)?;
    if !root.is_dir() {
        return Ok(Vec::new());
    }
    let mut stale = Vec::new();
    for entry in walkdir::WalkDir::new(&root).sort_by_file_name() {
        let entry = entry.map_err(|e| Error::Read {
            path: root.clone(),
            source: e.into(),
        })?;
        if !entry.file_type().is_file() {
            continue;
        }
        let rel = entry
            .path()
            .strip_prefix(dir)
            .expect("walkdir yields paths under its root");
        let Some(rel) = rel.to_str().map(|r| r.replace('\\', "/")) else {
            continue;
        };
        if !kept.contains(&rel) {
            stale.push(rel);
        }
    }
    Ok(stale)
}

/// A rendered path must be a plain relative path inside the folder, reached through no
/// symbolic link, and none of the files the render itself owns in other ways.
fn check_writable(
    dir: &Path,
    path: &str,
    spec: Option<&str>,
    checked: &mut HashSet<PathBuf>,
) -> Result<()> {
    check_relative(path)?;
    let reserved = if path == LOCK_FILE {
        Some("it is the lock file")
    } else if Some(path) == spec {
        Some("it is the spec")
    } else if is_internal(path) {
        Some("its name is kept for dpatterns' own hidden files")
    } else {
        None
    };
    if let Some(reason) = reserved {
        return Err(Error::UnsafePath {
            path: path.to_string(),
            reason: reason.into(),
        });
    }
    check_no_symlink(dir, path, checked)
}

/// What happens to a file the lock names that is no longer rendered. Only a regular file,
/// reached through no link, is touched at all; a managed one is deleted only if it still
/// holds what the lock says dpatterns wrote there.
fn orphan_action(
    dir: &Path,
    path: &str,
    entry: &LockEntry,
    checked: &mut HashSet<PathBuf>,
) -> Option<Action> {
    check_no_symlink(dir, path, checked).ok()?;
    let disk = read_optional(&dir.join(path)).ok()??;
    match entry.kind {
        FileKind::Managed if sha256_hex(&disk) == entry.sha256 => Some(Action::Delete),
        _ => Some(Action::KeptOrphan),
    }
}
