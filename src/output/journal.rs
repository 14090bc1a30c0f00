//! The journal of a write transaction, read back after a kill. The transaction writes it
//! before its first change: every folder it will create, every file it will write with the
//! hash of its final contents, every file it will delete, then `end`; it appends `commit`
//! once every new file is staged and synced. The next command calls [`recover`] before it
//! looks at the folder: a journal cut short or not committed is undone (the staged copies
//! and backups go, the folder is as before), a committed one is finished (each staged copy,
//! checked against its recorded hash, is moved in; the folder is as after). Only whole
//! lines count, so a kill in the middle of a line is no line.

use std::fs;
use std::path::Path;

use super::lock::sha256_hex;
use super::paths::{check_relative, is_staging_name, read_optional, regular_file_at, sibling};
use super::transaction::{io_step, sync_dir};
use crate::error::{Error, Result};

/// The journal of a transaction under way, in the folder it writes to.
pub const JOURNAL: &str = ".dpatterns-journal";

pub(super) const HEADER: &str = "dpatterns-journal 1\n";
pub(super) const END: &str = "end\n";
pub(super) const COMMIT: &str = "commit\n";

/// Whether a transaction was interrupted in `dir` and waits for [`recover`].
pub fn pending(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(JOURNAL)).is_ok()
}

/// Finishes or undoes a transaction that was interrupted in `dir`, and says which; `None`
/// when there was none.
pub fn recover(dir: &Path) -> Result<Option<String>> {
    let path = dir.join(JOURNAL);
    let Some(bytes) = read_optional(&path)? else {
        return Ok(None);
    };
    let journal = Journal::parse(&path, &bytes)?;
    let note = match journal.state {
        State::Cut => {
            "a render was interrupted before it changed anything; removed its journal".to_string()
        }
        State::Prepared => {
            for entry in &journal.entries {
                let target = dir.join(&entry.path);
                remove_if_file(&sibling(&target, "new"))?;
                remove_if_file(&sibling(&target, "old"))?;
            }
            for made in journal.dirs.iter().rev() {
                // Only if empty: anything in it now is not ours to remove.
                let _ = fs::remove_dir(dir.join(made));
            }
            format!(
                "a render was interrupted before it changed any file; undid it ({} is as it was before)",
                dir.display()
            )
        }
        State::Committed => {
            for entry in &journal.entries {
                finish_entry(dir, &path, entry)?;
            }
            for entry in &journal.entries {
                remove_if_file(&sibling(&dir.join(&entry.path), "old"))?;
            }
            format!(
                "a render was interrupted while it moved files into place; finished it ({} written, {} deleted)",
                journal
                    .entries
                    .iter()
                    .filter(|e| e.sha256.is_some())
                    .count(),
                journal
                    .entries
                    .iter()
                    .filter(|e| e.sha256.is_none())
                    .count()
            )
        }
    };
    fs::remove_file(&path).map_err(|source| Error::Write {
        path: path.clone(),
        source,
    })?;
    sync_dir(dir);
    Ok(Some(note))
}

/// Puts one file of a committed journal in place, unless it already is.
fn finish_entry(dir: &Path, journal: &Path, entry: &JournalEntry) -> Result<()> {
    let target = dir.join(&entry.path);
    let Some(hash) = &entry.sha256 else {
        return remove_if_file(&target);
    };
    let temp = sibling(&target, "new");
    let unfinished = |what: String| Error::Journal {
        path: journal.to_path_buf(),
        message: format!("{}: {what}", entry.path),
    };
    if let Some(staged) = read_optional(&temp)? {
        if sha256_hex(&staged) != *hash {
            return Err(unfinished(format!(
                "{} is not what the journal recorded",
                temp.display()
            )));
        }
        return fs::rename(&temp, &target).map_err(|source| Error::Write {
            path: target.clone(),
            source,
        });
    }
    match read_optional(&target)? {
        Some(done) if sha256_hex(&done) == *hash => Ok(()),
        _ => Err(unfinished(
            "neither the file nor its staged copy holds what the journal recorded".into(),
        )),
    }
}

fn remove_if_file(path: &Path) -> Result<()> {
    if regular_file_at(path)?.is_none() {
        return Ok(());
    }
    io_step(path, || fs::remove_file(path))
}

/// A journal as read back by [`recover`].
#[derive(Debug)]
struct Journal {
    state: State,
    dirs: Vec<String>,
    entries: Vec<JournalEntry>,
}

#[derive(Debug, PartialEq, Eq)]
enum State {
    /// Cut short while being written: nothing else had been done.
    Cut,
    /// Complete, not committed: no target had been touched.
    Prepared,
    /// Committed: targets may be partly replaced.
    Committed,
}

#[derive(Debug)]
struct JournalEntry {
    path: String,
    /// The final contents' hash; `None` for a deletion.
    sha256: Option<String>,
}

impl Journal {
    fn parse(path: &Path, bytes: &[u8]) -> Result<Journal> {
        let bad = |message: String| Error::Journal {
            path: path.to_path_buf(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| bad("it is not UTF-8".into()))?;
        // Only whole lines count: a line cut short by a kill is no line.
        let lines: Vec<&str> = text.split_inclusive('\n').collect();
        let (body, state) = match lines.iter().position(|l| *l == END) {
            None => (&lines[..], State::Cut),
            Some(end) if lines[end + 1..] == [COMMIT] => (&lines[..end], State::Committed),
            Some(end) if lines.len() <= end + 2 => (&lines[..end], State::Prepared),
            Some(_) => return Err(bad("it goes on after its end".into())),
        };
        let mut journal = Journal {
            state,
            dirs: Vec::new(),
            entries: Vec::new(),
        };
        if journal.state == State::Cut {
            return Ok(journal);
        }
        if body.first() != Some(&HEADER) {
            return Err(bad("it does not start with its header".into()));
        }
        for line in &body[1..] {
            let line = line.trim_end_matches('\n');
            let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
            let (sha256, rel) = match word {
                "mkdir" => (None, rest),
                "delete" => (None, rest),
                "write" => {
                    let (hash, rel) = rest.split_once(' ').unwrap_or(("", ""));
                    (Some(hash.to_string()), rel)
                }
                _ => return Err(bad(format!("unknown line `{}`", line.escape_debug()))),
            };
            if check_relative(rel).is_err() || is_staging_name(rel) {
                return Err(bad(format!("it names `{}`", rel.escape_debug())));
            }
            if word == "mkdir" {
                journal.dirs.push(rel.to_string());
            } else {
                journal.entries.push(JournalEntry {
                    path: rel.to_string(),
                    sha256,
                });
            }
        }
        Ok(journal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(text: &str) -> Result<Journal> {
        Journal::parse(Path::new(JOURNAL), text.as_bytes())
    }

    #[test]
    fn a_journal_cut_while_written_is_recognised() {
        let j = journal("dpatterns-journal 1\nwrite abc k8s/append\nwri").unwrap();
        assert_eq!(j.state, State::Cut);
        let j = journal("dpatterns-journal 1\nwrite abc k8s/a.yaml\nend").unwrap();
        assert_eq!(j.state, State::Cut);
    }

    #[test]
    fn only_a_whole_commit_mark_commits() {
        let base = "dpatterns-journal 1\nmkdir k8s\nwrite abc k8s/a.yaml\ndelete k8s/b.yaml\nend\n";
        assert_eq!(journal(base).unwrap().state, State::Prepared);
        assert_eq!(
            journal(&format!("{base}comm")).unwrap().state,
            State::Prepared
        );
        let done = journal(&format!("{base}commit\n")).unwrap();
        assert_eq!(done.state, State::Committed);
        assert_eq!(done.dirs, ["k8s"]);
        assert_eq!(done.entries.len(), 2);
        assert_eq!(done.entries[0].sha256.as_deref(), Some("abc"));
        assert_eq!(done.entries[1].sha256, None);
    }

    #[test]
    fn a_journal_naming_a_path_outside_the_folder_is_refused() {
        let err = journal("dpatterns-journal 1\ndelete ../x\nend\ncommit\n").unwrap_err();
        assert!(err.to_string().contains("names `../x`"), "{err}");
    }

    #[test]
    fn a_committed_journal_is_finished_and_a_prepared_one_undone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "before").unwrap();
        let hash = sha256_hex(b"after");
        let text = format!("{HEADER}write {hash} a.txt\n{END}");

        fs::write(root.join(JOURNAL), &text).unwrap();
        fs::write(root.join(".a.txt.dpatterns-new"), "after").unwrap();
        let note = recover(root).unwrap().unwrap();
        assert!(note.contains("undid it"), "{note}");
        assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "before");
        assert!(!root.join(".a.txt.dpatterns-new").exists());

        fs::write(root.join(JOURNAL), format!("{text}{COMMIT}")).unwrap();
        fs::write(root.join(".a.txt.dpatterns-new"), "after").unwrap();
        let note = recover(root).unwrap().unwrap();
        assert!(
            note.contains("finished it (1 written, 0 deleted)"),
            "{note}"
        );
        assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "after");
        assert!(!root.join(JOURNAL).exists());
        assert_eq!(recover(root).unwrap(), None);
    }

    #[test]
    fn a_staged_copy_that_differs_from_the_journal_is_never_moved_in() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::write(root.join("a.txt"), "before").unwrap();
        let hash = sha256_hex(b"after");
        fs::write(
            root.join(JOURNAL),
            format!("{HEADER}write {hash} a.txt\n{END}{COMMIT}"),
        )
        .unwrap();
        fs::write(root.join(".a.txt.dpatterns-new"), "aft").unwrap();
        let err = recover(root).unwrap_err();
        assert!(
            err.to_string().contains("not what the journal recorded"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(root.join("a.txt")).unwrap(), "before");
    }
}
