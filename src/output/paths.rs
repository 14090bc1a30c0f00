//! Which paths the writer may touch, and how it reads them. Output paths are built from
//! validated names, so these checks are the second line of defence: every path stays a
//! plain relative path inside the output folder, no symbolic link on the way may send a
//! write elsewhere, and only regular files of bounded size are read or replaced (a FIFO
//! would hang the command, a link to `/dev/zero` would fill memory).

use std::collections::HashSet;
use std::fs;
use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// No file the tool reads or replaces in an output folder is larger (the lock of a
/// 5,000-component system is about 1 MiB).
pub const READ_LIMIT: u64 = 64 * 1024 * 1024;

/// The suffix of the hidden files a transaction stages beside their targets.
const STAGING_MARK: &str = ".dpatterns-";

/// Refuses a path that is not a plain relative path inside the output folder.
pub fn check_relative(path: &str) -> Result<()> {
    let p = Path::new(path);
    let bad = path.is_empty()
        || p.is_absolute()
        || path.chars().any(char::is_control)
        || p.components().any(|c| !matches!(c, Component::Normal(_)));
    if bad {
        return Err(Error::UnsafePath {
            path: path.escape_debug().to_string(),
            reason: "it is not a plain relative path inside the output directory".into(),
        });
    }
    Ok(())
}

/// Whether a path is dpatterns' own bookkeeping (a staged copy, a backup, the journal, a
/// merge base under `.dpatterns/`): never a file a render produces or the lock names.
pub fn is_internal(path: &str) -> bool {
    path.starts_with(".dpatterns/") || is_staging_name(path)
}

/// Whether a path names one of the transaction's own hidden files (a staged copy, a
/// backup, the journal): never a file the tool renders or the lock may name.
pub fn is_staging_name(path: &str) -> bool {
    Path::new(path)
        .file_name()
        .is_some_and(|n| n.to_string_lossy().contains(STAGING_MARK))
}

/// A symlinked folder inside the output directory could send a write elsewhere, and a
/// symlinked file would be written through. `checked` remembers the folders already known
/// to be real, so each is looked at once.
pub fn check_no_symlink(root: &Path, path: &str, checked: &mut HashSet<PathBuf>) -> Result<()> {
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

/// What is at `path` without following a link: `None` when nothing is. Anything but a
/// regular file is refused by name.
pub fn regular_file_at(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_file() => Ok(Some(meta)),
        Ok(meta) => Err(Error::NotRegularFile {
            path: path.to_path_buf(),
            what: describe(&meta.file_type()),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A regular file's bytes, or `None` when nothing is there; anything else (a folder, a
/// FIFO, a device, a symbolic link) is refused by name, and so is a file over the limit.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    let read_err = |source| Error::Read {
        path: path.to_path_buf(),
        source,
    };
    if regular_file_at(path)?.is_none() {
        return Ok(None);
    }
    let file = fs::File::open(path).map_err(read_err)?;
    // Looked at again through the open file: what was checked may have been swapped.
    let meta = file.metadata().map_err(read_err)?;
    if !meta.is_file() {
        return Err(Error::NotRegularFile {
            path: path.to_path_buf(),
            what: describe(&meta.file_type()),
        });
    }
    let mut bytes = Vec::with_capacity(meta.len().min(READ_LIMIT) as usize);
    file.take(READ_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > READ_LIMIT {
        return Err(Error::TooLarge {
            path: path.to_path_buf(),
            limit: READ_LIMIT,
        });
    }
    Ok(Some(bytes))
}

fn describe(kind: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_fifo() {
        "a named pipe (FIFO)"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_block_device() || kind.is_char_device() {
        "a device"
    } else {
        "not a plain file"
    }
}

/// The hidden name beside `target` that a transaction stages under (`.NAME.dpatterns-TAG`).
pub fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}{STAGING_MARK}{tag}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_escaping_the_output_are_refused() {
        for p in ["../x", "/etc/passwd", "a/../../b", "", "k8s/a\u{1b}[2J"] {
            assert!(check_relative(p).is_err(), "{p}");
        }
        assert!(check_relative("k8s/api.yaml").is_ok());
    }

    #[test]
    fn staging_names_are_recognised_wherever_they_are() {
        assert!(is_staging_name("k8s/.api.yaml.dpatterns-new"));
        assert!(is_staging_name(".dpatterns-journal"));
        assert!(!is_staging_name("k8s/api.yaml"));
    }

    #[test]
    fn a_fifo_is_refused_by_name_instead_of_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let err = read_optional(&fifo).unwrap_err();
        assert!(
            err.to_string()
                .contains("is a named pipe (FIFO), not a regular file"),
            "{err}"
        );
    }
}
