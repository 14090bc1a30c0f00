//! The all-or-nothing write, safe against a kill at any moment.
//!
//! A transaction first writes a journal (`.dpatterns-journal`) naming every file it will
//! write, with the hash of its final contents, and every file it will delete. Then it
//! writes each new file beside its target (`.NAME.dpatterns-new`, flushed to disk) and
//! links each file it will replace or delete to a backup (`.NAME.dpatterns-old`), all
//! without touching a single target. Only then does it mark the journal committed and move
//! the new files over their targets, one atomic rename each, the lock file last; the
//! backups and the journal go once everything is in place.
//!
//! So a target is never half written, and the lock only ever names files that are in
//! place. A command killed part-way leaves the journal behind, and the next command calls
//! [`recover`] (in [`super::journal`]) before it looks at the folder. A failure that is
//! not a kill (a full disk, an immutable file) undoes everything at once.

use std::collections::{BTreeSet, HashSet};
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::journal::{COMMIT, END, HEADER};
use super::lock::sha256_hex;
use super::paths::{check_no_symlink, check_relative, read_optional, regular_file_at, sibling};

pub use super::journal::{JOURNAL, pending, recover};
use crate::error::{Error, Result};

/// One change to one path: write `contents` there, or delete the file when `None`.
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub path: &'a str,
    pub contents: Option<&'a str>,
}

/// Carries out every change, or none. The changes are made in the order given, so the one
/// that must land last (the lock) goes last.
pub fn apply(dir: &Path, changes: &[Change<'_>]) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    let mut checked = HashSet::new();
    for change in changes {
        check_relative(change.path)?;
        check_no_symlink(dir, change.path, &mut checked)?;
    }
    let mut tx = Transaction::new(dir);
    match tx.prepare(changes).and_then(|()| tx.commit()) {
        Ok(()) => {
            tx.finish();
            Ok(())
        }
        Err(e) => {
            tx.undo();
            Err(e)
        }
    }
}

/// One target of a transaction and the hidden files beside it.
#[derive(Debug)]
struct Step {
    target: PathBuf,
    contents: Option<String>,
    /// Where the new contents are staged (`None`: a deletion).
    temp: Option<PathBuf>,
    /// Where the current file is kept until the end (`None`: nothing is there yet).
    backup: Option<PathBuf>,
    permissions: Option<fs::Permissions>,
}

#[derive(Debug)]
struct Transaction {
    dir: PathBuf,
    journal: PathBuf,
    /// The output folder and its parents that this transaction created, outermost first.
    made_root: Vec<PathBuf>,
    /// Folders created inside the output folder, parents first.
    made_dirs: Vec<PathBuf>,
    steps: Vec<Step>,
    /// Hidden files created so far (staged copies and backups).
    made_files: Vec<PathBuf>,
    journal_written: bool,
    committed: bool,
    /// How many steps are in place.
    done: usize,
}

impl Transaction {
    fn new(dir: &Path) -> Self {
        Transaction {
            dir: dir.to_path_buf(),
            journal: dir.join(JOURNAL),
            made_root: Vec::new(),
            made_dirs: Vec::new(),
            steps: Vec::new(),
            made_files: Vec::new(),
            journal_written: false,
            committed: false,
            done: 0,
        }
    }

    /// Everything that can fail, done beside the targets: nothing a user sees changes.
    fn prepare(&mut self, changes: &[Change<'_>]) -> Result<()> {
        self.make_root()?;
        let mut known_dirs: HashSet<PathBuf> = HashSet::new();
        let mut missing: BTreeSet<String> = BTreeSet::new();
        for change in changes {
            let target = self.dir.join(change.path);
            let existing = regular_file_at(&target)?;
            if existing.is_none() && change.contents.is_none() {
                continue;
            }
            if change.contents.is_some() {
                missing_parents(&self.dir, change.path, &mut known_dirs, &mut missing);
            }
            self.steps.push(Step {
                temp: change.contents.map(|_| sibling(&target, "new")),
                backup: existing.as_ref().map(|_| sibling(&target, "old")),
                permissions: existing.map(|m| m.permissions()),
                contents: change.contents.map(str::to_string),
                target,
            });
        }
        let missing: Vec<String> = missing.into_iter().collect();
        self.write_journal(changes, &missing)?;
        for rel in &missing {
            let path = self.dir.join(rel);
            io_step(&path, || fs::create_dir(&path))?;
            self.made_dirs.push(path);
        }
        let (made, staged) = for_each_io(&self.steps, stage);
        self.made_files.extend(made);
        staged?;
        // The staged files' names must be on disk before the commit promises them.
        sync_parents(&self.steps);
        Ok(())
    }

    /// Creates the output folder and any missing parent (`render -o a/b/c`).
    fn make_root(&mut self) -> Result<()> {
        let mut missing = Vec::new();
        let mut cur = self.dir.as_path();
        while !cur.as_os_str().is_empty() && fs::symlink_metadata(cur).is_err() {
            missing.push(cur.to_path_buf());
            match cur.parent() {
                Some(p) => cur = p,
                None => break,
            }
        }
        for dir in missing.into_iter().rev() {
            io_step(&dir, || fs::create_dir(&dir))?;
            self.made_root.push(dir);
        }
        Ok(())
    }

    fn write_journal(&mut self, changes: &[Change<'_>], missing: &[String]) -> Result<()> {
        let mut text = String::from(HEADER);
        for rel in missing {
            text.push_str(&format!("mkdir {rel}\n"));
        }
        for change in changes {
            match change.contents {
                Some(c) => text.push_str(&format!(
                    "write {} {}\n",
                    sha256_hex(c.as_bytes()),
                    change.path
                )),
                None => text.push_str(&format!("delete {}\n", change.path)),
            }
        }
        text.push_str(END);
        let file = create_new(&self.journal).map_err(|e| match e {
            Error::Write { source, .. } if source.kind() == std::io::ErrorKind::AlreadyExists => {
                Error::Journal {
                    path: self.journal.clone(),
                    message: "another render is under way here, or one was interrupted".into(),
                }
            }
            other => other,
        })?;
        self.journal_written = true;
        write_synced(file, &self.journal, text.as_bytes())?;
        sync_dir(&self.dir);
        Ok(())
    }

    /// The point of no return: from here on an interrupted transaction is finished, not
    /// undone.
    fn commit(&mut self) -> Result<()> {
        let mut journal = fs::OpenOptions::new()
            .append(true)
            .open(&self.journal)
            .map_err(|source| Error::Write {
                path: self.journal.clone(),
                source,
            })?;
        io_step(&self.journal, || {
            journal.write_all(COMMIT.as_bytes())?;
            journal.sync_all()
        })?;
        self.committed = true;
        for step in &self.steps {
            io_step(&step.target, || match &step.temp {
                Some(temp) => fs::rename(temp, &step.target),
                None => fs::remove_file(&step.target),
            })?;
            self.done += 1;
        }
        sync_parents(&self.steps);
        Ok(())
    }

    /// Removes the backups, then the journal. Every file is in place already, so nothing
    /// here fails the command: a backup that cannot be removed keeps the journal, and the
    /// next command's [`recover`] removes both.
    fn finish(self) {
        let mut clean = true;
        for step in &self.steps {
            if let Some(backup) = &step.backup {
                clean &= io_step(backup, || fs::remove_file(backup)).is_ok();
            }
        }
        if clean {
            let _ = io_step(&self.journal, || fs::remove_file(&self.journal));
        }
        sync_dir(&self.dir);
    }

    /// Puts back what was there, after a failure that is not a kill.
    fn undo(self) {
        for step in self.steps[..self.done].iter().rev() {
            match &step.backup {
                Some(backup) => {
                    let _ = fs::rename(backup, &step.target);
                }
                None => {
                    let _ = fs::remove_file(&step.target);
                }
            }
        }
        for file in &self.made_files {
            let _ = fs::remove_file(file);
        }
        for dir in self.made_dirs.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
        if self.journal_written {
            let _ = fs::remove_file(&self.journal);
        }
        for dir in self.made_root.iter().rev() {
            let _ = fs::remove_dir(dir);
        }
    }
}

/// Writes one new file beside its target and keeps a link to the file it replaces;
/// `made` collects what it created, for the undo.
fn stage(step: &Step, made: &mut Vec<PathBuf>) -> Result<()> {
    if let Some(backup) = &step.backup {
        clear_leftover(backup)?;
        // Not an `io_step`: a failed link is no failed change, since the copy below takes
        // its place, so the test hooks must not count it (a fault injected here would be
        // absorbed, and which change it hit varies with the writer threads).
        if fs::hard_link(&step.target, backup).is_err() {
            // A file system without hard links: a copy serves as well.
            let bytes = read_optional(&step.target)?.unwrap_or_default();
            let file = create_new(backup)?;
            made.push(backup.clone());
            write_synced(file, backup, &bytes)?;
        }
        made.push(backup.clone());
    }
    if let Some(temp) = &step.temp {
        clear_leftover(temp)?;
        let file = create_new(temp)?;
        made.push(temp.clone());
        if let Some(permissions) = &step.permissions {
            // A replaced file keeps its mode: 0600 stays 0600.
            file.set_permissions(permissions.clone())
                .map_err(|source| Error::Write {
                    path: temp.clone(),
                    source,
                })?;
        }
        let contents = step.contents.as_deref().unwrap_or_default();
        write_synced(file, temp, contents.as_bytes())?;
    }
    Ok(())
}

/// Makes the names in every folder a step touched durable.
fn sync_parents(steps: &[Step]) {
    let parents: BTreeSet<&Path> = steps.iter().filter_map(|s| s.target.parent()).collect();
    let parents: Vec<&Path> = parents.into_iter().collect();
    let _ = for_each_io(&parents, |dir, _| {
        sync_dir(dir);
        Ok(())
    });
}

/// Runs `f` over `items` on several threads when there are many: writing and syncing
/// files waits on the disk, not on a core, and a file system commits the syncs of many
/// threads together (thousands of files one after the other would wait minutes). Returns
/// every path `f` created, and the first error in the order of `items`.
fn for_each_io<T: Sync>(
    items: &[T],
    f: impl Fn(&T, &mut Vec<PathBuf>) -> Result<()> + Sync,
) -> (Vec<PathBuf>, Result<()>) {
    const MAX_THREADS: usize = 16;
    const PER_THREAD: usize = 32;
    let run = |part: &[T]| {
        let mut made = Vec::new();
        for item in part {
            if let Err(e) = f(item, &mut made) {
                return (made, Err(e));
            }
        }
        (made, Ok(()))
    };
    let threads = (items.len() / PER_THREAD).clamp(1, MAX_THREADS);
    if threads == 1 {
        return run(items);
    }
    let chunk = items.len().div_ceil(threads);
    let parts: Vec<(Vec<PathBuf>, Result<()>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || run(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a writer thread panicked"))
            .collect()
    });
    let mut made = Vec::new();
    let mut result = Ok(());
    for (part_made, part_result) in parts {
        made.extend(part_made);
        if result.is_ok() {
            result = part_result;
        }
    }
    (made, result)
}

/// Adds to `missing` the folders on the way to `path` that do not exist yet, as paths
/// relative to `root`; `known` caches the folders that do, so each is looked at once.
fn missing_parents(
    root: &Path,
    path: &str,
    known: &mut HashSet<PathBuf>,
    missing: &mut BTreeSet<String>,
) {
    let Some((parents, _)) = path.rsplit_once('/') else {
        return;
    };
    let mut rel = String::new();
    for part in parents.split('/') {
        if !rel.is_empty() {
            rel.push('/');
        }
        rel.push_str(part);
        if missing.contains(&rel) {
            continue;
        }
        let full = root.join(&rel);
        if known.contains(&full) {
            continue;
        }
        if fs::symlink_metadata(&full).is_ok() {
            known.insert(full);
        } else {
            missing.insert(rel.clone());
        }
    }
}

/// A staged copy or backup left by an older dpatterns, or by a command that was killed
/// without a journal to say so, is ours to remove; anything else at that name is refused.
fn clear_leftover(path: &Path) -> Result<()> {
    if regular_file_at(path)?.is_some() {
        io_step(path, || fs::remove_file(path))?;
    }
    Ok(())
}

/// Creates a file that must not exist yet.
fn create_new(path: &Path) -> Result<fs::File> {
    io_step(path, || {
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
    })
}

/// Writes the whole contents and flushes them to disk before the file is used. Written in
/// two halves in test builds, so a kill can land in the middle of a file.
fn write_synced(mut file: fs::File, path: &Path, bytes: &[u8]) -> Result<()> {
    let (first, second) = bytes.split_at(bytes.len() / 2);
    io_step(path, || file.write_all(first))?;
    io_step(path, || {
        file.write_all(second)?;
        file.sync_all()
    })
}

/// Makes the names created or renamed in a folder durable. A file system that cannot sync
/// a folder loses only durability across a power cut, not correctness.
pub(super) fn sync_dir(dir: &Path) {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

/// One change to the disk, named by the path it changes, so every failure says where.
pub(super) fn io_step<T>(path: &Path, op: impl FnOnce() -> std::io::Result<T>) -> Result<T> {
    fault_point()
        .and_then(|()| op())
        .map_err(|source| Error::Write {
            path: path.to_path_buf(),
            source,
        })
}

/// Test hooks, read only in debug builds (a release binary has no such variables), that
/// count the changes a transaction makes to the disk: `DPATTERNS_TEST_KILL_AT=N` aborts the
/// process just before the N-th, as a SIGKILL would (no destructor, no cleanup), and
/// `DPATTERNS_TEST_FAIL_AT=N` makes the N-th fail as a full disk would.
#[cfg(debug_assertions)]
fn fault_point() -> std::io::Result<()> {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};
    static AT: OnceLock<(Option<usize>, Option<usize>)> = OnceLock::new();
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    let var = |name| std::env::var(name).ok().and_then(|v| v.parse().ok());
    let (kill, fail) =
        *AT.get_or_init(|| (var("DPATTERNS_TEST_KILL_AT"), var("DPATTERNS_TEST_FAIL_AT")));
    if kill.is_none() && fail.is_none() {
        return Ok(());
    }
    let n = COUNT.fetch_add(1, Ordering::SeqCst) + 1;
    if kill == Some(n) {
        std::process::abort();
    }
    if fail == Some(n) {
        return Err(std::io::Error::other(
            "failure injected by DPATTERNS_TEST_FAIL_AT",
        ));
    }
    Ok(())
}

#[cfg(not(debug_assertions))]
fn fault_point() -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transaction_lands_every_file_and_leaves_nothing_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("a/b");
        fs::create_dir_all(&root).unwrap();
        fs::write(root.join("old.txt"), "old").unwrap();
        fs::write(root.join("gone.txt"), "gone").unwrap();
        apply(
            &root,
            &[
                Change {
                    path: "x/y/new.txt",
                    contents: Some("new"),
                },
                Change {
                    path: "old.txt",
                    contents: Some("replaced"),
                },
                Change {
                    path: "gone.txt",
                    contents: None,
                },
            ],
        )
        .unwrap();
        assert_eq!(fs::read_to_string(root.join("x/y/new.txt")).unwrap(), "new");
        assert_eq!(
            fs::read_to_string(root.join("old.txt")).unwrap(),
            "replaced"
        );
        assert!(!root.join("gone.txt").exists());
        let names: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(
            !names.iter().any(|n| n.contains(".dpatterns-")),
            "{names:?}"
        );
    }

    #[test]
    fn hundreds_of_files_are_staged_on_several_threads_and_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let paths: Vec<String> = (0..300).map(|i| format!("d{}/f{i}.txt", i % 7)).collect();
        fs::create_dir(dir.path().join("d0")).unwrap();
        fs::write(dir.path().join("d0/f0.txt"), "old").unwrap();
        let changes: Vec<Change<'_>> = paths
            .iter()
            .map(|p| Change {
                path: p,
                contents: Some(p),
            })
            .collect();
        apply(dir.path(), &changes).unwrap();
        for p in &paths {
            assert_eq!(fs::read_to_string(dir.path().join(p)).unwrap(), *p);
        }
        assert!(!pending(dir.path()));
    }

    #[cfg(unix)]
    #[test]
    fn a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("secret.txt");
        fs::write(&file, "old").unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        apply(
            dir.path(),
            &[Change {
                path: "secret.txt",
                contents: Some("new"),
            }],
        )
        .unwrap();
        let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
}
