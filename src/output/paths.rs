//! Which paths the writer may touch. Output paths are built from validated names, so these
//! checks are the second line of defence: every path stays a plain relative path inside the
//! output folder, and no symbolic link on the way may send a write elsewhere.

use std::collections::HashSet;
use std::fs;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// Refuses a path that is not a plain relative path inside the output folder.
pub fn check_relative(path: &str) -> Result<()> {
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

/// A file's bytes, or `None` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Read {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// The hidden name beside `target` that a transaction stages under (`.NAME.dpatterns-TAG`).
pub fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.dpatterns-{tag}"))
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
