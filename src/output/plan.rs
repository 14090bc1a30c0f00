//! The plan: what a render does to each path of the output folder, decided by comparing the
//! rendered files with what is on disk and with the lock of the previous render. Nothing is
//! written here; [`Plan::apply`] hands the changes to the transaction.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::lock::{LOCK_FILE, Lock, LockEntry, sha256_hex};
use super::paths::{check_relative, read_optional};
use super::transaction::{self, Change};
use crate::error::Result;
use crate::files::{FileKind, OutputFile};
use crate::render::TOOL_VERSION;

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
            Action::Delete => "delete",
            Action::KeptOrphan => "orphaned",
        }
    }

    /// Whether this action changes the directory (what `--check` calls drift).
    pub fn changes(self) -> bool {
        matches!(
            self,
            Action::Create | Action::Update | Action::Overwrite | Action::Delete
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
}

impl Plan {
    /// Compares the rendered files with the directory and its lock file.
    pub fn compute(dir: &Path, files: &[OutputFile], spec_text: &str, force: bool) -> Result<Plan> {
        let old_lock = Lock::read(dir)?;
        let old: BTreeMap<&str, &LockEntry> = old_lock
            .as_ref()
            .map(|l| l.files.iter().map(|e| (e.path.as_str(), e)).collect())
            .unwrap_or_default();
        let mut entries = Vec::new();
        let mut lock_files = Vec::new();
        for file in files {
            check_relative(&file.path)?;
            let new_hash = sha256_hex(file.contents.as_bytes());
            let disk = read_optional(&dir.join(&file.path))?;
            let previous = old.get(file.path.as_str());
            let action = match &disk {
                None => Action::Create,
                Some(d) if *d == file.contents.as_bytes() => Action::Unchanged,
                Some(_) if file.kind == FileKind::Managed => Action::Update,
                Some(d) => {
                    let untouched = previous.is_some_and(|p| p.sha256 == sha256_hex(d));
                    match (untouched, force, previous.is_some()) {
                        (true, _, _) => Action::Update,
                        (false, true, _) => Action::Overwrite,
                        (false, false, true) => Action::KeptEdited,
                        (false, false, false) => Action::KeptExisting,
                    }
                }
            };
            let lock_hash = match (action, previous) {
                (Action::KeptEdited, Some(p)) => p.sha256.clone(),
                _ => new_hash,
            };
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
                contents: Some(file.contents.clone()),
            });
        }
        let rendered: HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
        for (path, entry) in &old {
            if rendered.contains(path) || check_relative(path).is_err() {
                continue;
            }
            if !dir.join(path).exists() {
                continue;
            }
            let action = match entry.kind {
                FileKind::Managed => Action::Delete,
                FileKind::Scaffolded => Action::KeptOrphan,
            };
            entries.push(PlanEntry {
                path: path.to_string(),
                kind: entry.kind,
                action,
                contents: None,
            });
        }
        let lock = Lock {
            tool: TOOL_VERSION.to_string(),
            spec: sha256_hex(spec_text.as_bytes()),
            files: lock_files,
        };
        let lock_text = lock.to_text();
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
        })
    }

    pub fn drift(&self) -> impl Iterator<Item = &PlanEntry> {
        self.entries.iter().filter(|e| e.action.changes())
    }

    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// Carries the plan out as one transaction: every file lands, or none does.
    pub fn apply(&self) -> Result<()> {
        let changes: Vec<Change<'_>> = self
            .drift()
            .map(|e| Change {
                path: &e.path,
                contents: e.contents.as_deref(),
                create: e.action == Action::Create,
            })
            .collect();
        transaction::apply(&self.dir, &changes)
    }
}
