//! The all-or-nothing write. Every new file is first written beside its target, every file
//! to replace or delete is moved aside, and only then are the new files moved in; any
//! failure undoes what was done, so the directory ends as it was.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use super::paths::{check_no_symlink, sibling};
use crate::error::{Error, Result};

/// One change to one path: write `contents` there, or delete the file when `None`.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub path: &'a str,
    pub contents: Option<&'a str>,
    /// The path is free: the file goes straight to its place.
    pub create: bool,
}

/// Carries out every change, or none.
pub fn apply(dir: &Path, changes: &[Change<'_>]) -> Result<()> {
    let mut tx = Transaction::default();
    match tx.run(dir, changes) {
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

#[derive(Debug, Default)]
struct Transaction {
    created_dirs: Vec<PathBuf>,
    staged: Vec<PathBuf>,
    backups: Vec<(PathBuf, PathBuf)>,
    placed: Vec<PathBuf>,
}

impl Transaction {
    fn run(&mut self, dir: &Path, changes: &[Change<'_>]) -> Result<()> {
        let mut checked = HashSet::new();
        for change in changes {
            check_no_symlink(dir, change.path, &mut checked)?;
        }
        // A new file goes straight to its place (recorded, so a failure removes it); a file
        // that replaces another is staged beside it and swapped in only at the end.
        let mut staged = Vec::new();
        for change in changes {
            let Some(contents) = change.contents else {
                continue;
            };
            let target = dir.join(change.path);
            self.create_parents(dir, &target)?;
            // Each file is recorded as soon as it exists, so a failed write is undone too.
            if change.create {
                let file = create_new(&target)?;
                self.placed.push(target.clone());
                write_all(file, &target, contents)?;
            } else {
                let temp = sibling(&target, "new");
                let file = create_new(&temp)?;
                self.staged.push(temp.clone());
                write_all(file, &temp, contents)?;
                staged.push((temp, target));
            }
        }
        for change in changes {
            if change.create {
                continue;
            }
            let target = dir.join(change.path);
            if target.exists() {
                let backup = sibling(&target, "old");
                fs::rename(&target, &backup).map_err(|source| Error::Write {
                    path: target.clone(),
                    source,
                })?;
                self.backups.push((backup, target));
            }
        }
        // Swapped in order; what is not swapped yet stays staged for the rollback.
        self.staged.clear();
        for (i, (from, to)) in staged.iter().enumerate() {
            if let Err(source) = fs::rename(from, to) {
                self.staged
                    .extend(staged[i..].iter().map(|(from, _)| from.clone()));
                return Err(Error::Write {
                    path: to.clone(),
                    source,
                });
            }
            self.placed.push(to.clone());
        }
        Ok(())
    }

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
        for staged in &self.staged {
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
