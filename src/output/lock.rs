//! The lock file (`dpatterns.lock`): for every file the last render wrote, its kind and the
//! hash of what was written. It is what tells a scaffolded file the user edited (keep it)
//! from one still as we wrote it (update it), and a managed file that is no longer rendered
//! (delete it) from a user's file that happens to share its folder (never ours to touch).

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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

    /// Reads the lock of `dir`, if there is one.
    pub fn read(dir: &Path) -> Result<Option<Lock>> {
        let path = dir.join(LOCK_FILE);
        let Some(bytes) = paths::read_optional(&path)? else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(&bytes);
        serde_yaml::from_str(&text)
            .map(Some)
            .map_err(|e| Error::Usage {
                message: format!("{} is not a valid lock file: {e}", path.display()),
                help: Some(
                    "delete it and render again; edited scaffolded files will then be kept as if new"
                        .into(),
                ),
            })
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}
