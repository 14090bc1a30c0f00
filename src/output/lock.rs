//! The lock file (`dpatterns.lock`): for every file the last render wrote, its kind and the
//! hash of what was written. It is what tells a scaffolded file the user edited (keep it)
//! from one still as we wrote it (update it), and a managed file that is no longer rendered
//! (delete it) from a user's file that happens to share its folder (never ours to touch).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::paths;
use crate::error::{Error, Result};
use crate::files::{FileKind, managed_header};

pub const LOCK_FILE: &str = "dpatterns.lock";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub tool: String,
    pub spec: String,
    pub files: Vec<LockEntry>,
}

/// What the lock remembers of one file: what was last written at `path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LockEntry {
    pub path: String,
    pub kind: FileKind,
    pub sha256: String,
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
            text.push_str(&format!(
                "- path: {}\n  kind: {}\n  sha256: {}\n",
                scalar(&e.path),
                e.kind.as_str(),
                scalar(&e.sha256)
            ));
        }
        text
    }

    /// Reads the lock of `dir`, if there is one: a regular file of bounded size that
    /// decodes. Anything else is a [`Error::LockFile`], never silently ignored.
    pub fn read(dir: &Path) -> Result<Option<Lock>> {
        let path = dir.join(LOCK_FILE);
        let Some(bytes) = paths::read_optional(&path)? else {
            return Ok(None);
        };
        let invalid = |message: String| Error::LockFile {
            path: path.clone(),
            message,
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| invalid("it is not UTF-8".into()))?;
        serde_yaml::from_str(text)
            .map(Some)
            .map_err(|e| invalid(e.to_string()))
    }

    /// The entries by path, once each is known to name a file dpatterns could have written:
    /// inside the folder, not the spec, not the lock, not one of the transaction's hidden
    /// files. A lock that names anything else was not written by dpatterns and is refused
    /// as a whole, before any of it decides what is deleted.
    pub fn trusted_entries(&self, spec: Option<&str>) -> Result<BTreeMap<&str, &LockEntry>> {
        let mut entries = BTreeMap::new();
        for entry in &self.files {
            let path = entry.path.as_str();
            let refused = if paths::check_relative(path).is_err() {
                Some("a path outside the folder")
            } else if path == LOCK_FILE {
                Some("the lock file itself")
            } else if Some(path) == spec || entry.kind == FileKind::Spec {
                Some("the spec, which only you write")
            } else if paths::is_internal(path) {
                Some("a hidden file of dpatterns' own")
            } else {
                None
            };
            if let Some(what) = refused {
                return Err(Error::LockFile {
                    path: PathBuf::from(LOCK_FILE),
                    message: format!("it names `{}`, {what}", path.escape_debug()),
                });
            }
            entries.insert(path, entry);
        }
        Ok(entries)
    }
}

pub use crate::files::sha256_hex;
