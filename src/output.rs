//! From files in memory to files on disk: the plan (what a render would create, update,
//! keep or delete), the lock file that tells a user's edit from our own output, and the
//! transactional write that either lands every file or leaves the directory as it was.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Component, Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::pipeline::{FileKind, OutputFile, managed_header};
use crate::render::TOOL_VERSION;

pub const LOCK_FILE: &str = "dpatterns.lock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub tool: String,
    pub spec: String,
    pub files: Vec<LockEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    pub path: String,
    pub kind: FileKind,
    pub sha256: String,
}

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

impl Lock {
    /// The lock file's text: fixed key order, one entry per file in path order.
    pub fn to_text(&self) -> String {
        use crate::yaml_out::scalar;
        let mut text = managed_header();
        text.push_str(&format!(
            "tool: {}\nspec: {}\nfiles:\n",
            scalar(&self.tool),
            scalar(&self.spec)
        ));
        for e in &self.files {
            let kind = match e.kind {
                FileKind::Managed => "managed",
                FileKind::Scaffolded => "scaffolded",
            };
            text.push_str(&format!(
                "- path: {}\n  kind: {kind}\n  sha256: {}\n",
                scalar(&e.path),
                scalar(&e.sha256)
            ));
        }
        text
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Plan {
    /// Compares the rendered files with the directory and its lock file.
    pub fn compute(dir: &Path, files: &[OutputFile], spec_text: &str, force: bool) -> Result<Plan> {
        let old_lock = read_lock(dir)?;
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
        let rendered: std::collections::HashSet<&str> =
            files.iter().map(|f| f.path.as_str()).collect();
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

    /// Carries the plan out. Every new file is first written beside its target, every file
    /// to replace or delete is moved aside, and only then are the new files moved in; any
    /// failure undoes what was done, so the directory ends as it was.
    pub fn apply(&self) -> Result<()> {
        let mut tx = Transaction::default();
        match self.apply_in(&mut tx) {
            Ok(()) => {
                tx.commit();
                Ok(())
            }
            Err(e) => {
                tx.rollback();
                Err(e)
            }
        }
    }

    fn apply_in(&self, tx: &mut Transaction) -> Result<()> {
        let work: Vec<&PlanEntry> = self.entries.iter().filter(|e| e.action.changes()).collect();
        let mut checked = std::collections::HashSet::new();
        for entry in &work {
            check_no_symlink(&self.dir, &entry.path, &mut checked)?;
        }
        // A new file goes straight to its place (recorded, so a failure removes it); a file
        // that replaces another is staged beside it and swapped in only at the end.
        let mut staged = Vec::new();
        for entry in &work {
            let Some(contents) = &entry.contents else {
                continue;
            };
            let target = self.dir.join(&entry.path);
            tx.create_parents(&self.dir, &target)?;
            // Each file is recorded as soon as it exists, so a failed write is undone too.
            if entry.action == Action::Create {
                let file = create_new(&target)?;
                tx.placed.push(target.clone());
                write_all(file, &target, contents)?;
            } else {
                let temp = sibling(&target, "new");
                let file = create_new(&temp)?;
                tx.staged.push((temp.clone(), target.clone()));
                write_all(file, &temp, contents)?;
                staged.push((temp, target));
            }
        }
        for entry in &work {
            if entry.action == Action::Create {
                continue;
            }
            let target = self.dir.join(&entry.path);
            if target.exists() {
                let backup = sibling(&target, "old");
                fs::rename(&target, &backup).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
                tx.backups.push((backup, target));
            }
        }
        for (from, to) in staged {
            fs::rename(&from, &to).map_err(|source| Error::Write {
                path: to.clone(),
                source,
            })?;
            tx.staged.retain(|(f, _)| f != &from);
            tx.placed.push(to);
        }
        Ok(())
    }
}

/// Creates a file that must not exist yet: one that appeared since the plan is not
/// overwritten.
fn create_new(path: &Path) -> Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

fn write_all(mut file: fs::File, path: &Path, contents: &str) -> Result<()> {
    use std::io::Write as _;
    file.write_all(contents.as_bytes())
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

#[derive(Default)]
struct Transaction {
    created_dirs: Vec<PathBuf>,
    staged: Vec<(PathBuf, PathBuf)>,
    backups: Vec<(PathBuf, PathBuf)>,
    placed: Vec<PathBuf>,
}

impl Transaction {
    fn create_parents(&mut self, root: &Path, target: &Path) -> Result<()> {
        let Some(parent) = target.parent() else {
            return Ok(());
        };
        let mut missing = Vec::new();
        let mut cur = parent;
        while !cur.exists() {
            missing.push(cur.to_path_buf());
            if cur == root {
                break;
            }
            match cur.parent() {
                Some(p) => cur = p,
                None => break,
            }
        }
        for dir in missing.into_iter().rev() {
            fs::create_dir(&dir).map_err(|source| Error::Write {
                path: dir.clone(),
                source,
            })?;
            self.created_dirs.push(dir);
        }
        Ok(())
    }

    fn commit(self) {
        for (backup, _) in self.backups {
            let _ = fs::remove_file(backup);
        }
    }

    fn rollback(self) {
        for placed in &self.placed {
            let _ = fs::remove_file(placed);
        }
        for (staged, _) in &self.staged {
            let _ = fs::remove_file(staged);
        }
        for (backup, target) in self.backups.iter().rev() {
            let _ = fs::rename(backup, target);
        }
        for dir in self.created_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

impl std::fmt::Debug for Transaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transaction")
            .field("staged", &self.staged.len())
            .field("backups", &self.backups.len())
            .finish()
    }
}

fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.dpatterns-{tag}"))
}

fn read_lock(dir: &Path) -> Result<Option<Lock>> {
    let Some(bytes) = read_optional(&dir.join(LOCK_FILE))? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    serde_yaml::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Usage {
            message: format!(
                "{} is not a valid lock file: {e}",
                dir.join(LOCK_FILE).display()
            ),
            help: Some(
                "delete it and render again; edited scaffolded files will then be kept as if new"
                    .into(),
            ),
        })
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Output paths are built from validated names; this is the second line of defence.
fn check_relative(path: &str) -> Result<()> {
    let p = Path::new(path);
    let bad = path.is_empty()
        || p.is_absolute()
        || p.components().any(|c| !matches!(c, Component::Normal(_)));
    if bad {
        return Err(Error::UnsafePath {
            path: path.to_string(),
            reason: "it is not a plain relative path inside the output directory".into(),
        });
    }
    Ok(())
}

/// A symlinked folder inside the output directory could send a write elsewhere.
/// `checked` remembers the folders already known to be real, so each is looked at once.
fn check_no_symlink(
    root: &Path,
    path: &str,
    checked: &mut std::collections::HashSet<PathBuf>,
) -> Result<()> {
    let mut cur = root.to_path_buf();
    for part in Path::new(path).components() {
        cur.push(part);
        if checked.contains(&cur) {
            continue;
        }
        match fs::symlink_metadata(&cur) {
            Ok(meta) if meta.file_type().is_symlink() => {
                return Err(Error::UnsafePath {
                    path: path.to_string(),
                    reason: format!("{} is a symbolic link", cur.display()),
                });
            }
            Ok(meta) if meta.is_dir() => {
                checked.insert(cur.clone());
            }
            // Missing: nothing below it exists either.
            Err(_) => return Ok(()),
            Ok(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_escaping_the_output_are_refused() {
        for p in ["../x", "/etc/passwd", "a/../../b", ""] {
            assert!(check_relative(p).is_err(), "{p}");
        }
        assert!(check_relative("k8s/api.yaml").is_ok());
    }
}
