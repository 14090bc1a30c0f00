//! Three-way merge of scaffolded files. A scaffolded file is written once and then belongs
//! to the user, but the spec or the templates may later change what it should hold (a new
//! member of the Cargo workspace, a new image in the CI workflow). For each scaffolded file
//! the writer keeps the text it last rendered (the base, under `.dpatterns/base/`, whose
//! hash the lock records), so a later render can merge the user's edits (base → file on
//! disk) with the upstream change (base → new render): a clean merge is written, a conflict
//! is written with markers and listed, and the command exits 1.

use std::path::Path;

use super::lock::sha256_hex;
use super::paths::read_optional;
use crate::error::Result;

/// Where the bases live, inside the output folder. Commit it with the project: it is what
/// lets the next render merge instead of keeping or overwriting.
pub const BASE_DIR: &str = ".dpatterns/base";

/// The base of a scaffolded file at `path`.
pub fn base_path(path: &str) -> String {
    format!("{BASE_DIR}/{path}")
}

/// What a merge of a user's edits with a new render gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    Clean(String),
    /// The merged text with conflict markers around each hunk both sides changed.
    Conflict(String),
}

/// Merges an edited scaffolded file with its new render, when the base it was last
/// rendered from is known (its hash is `base_hash`, from the lock) and the render changed
/// since. `None`: nothing to merge, the file is kept as the user left it.
pub fn three_way(
    dir: &Path,
    path: &str,
    base_hash: &str,
    yours: &[u8],
    new: &str,
) -> Result<Option<Merged>> {
    let Some(base) = read_optional(&dir.join(base_path(path)))? else {
        return Ok(None);
    };
    if sha256_hex(&base) != base_hash || base == new.as_bytes() {
        return Ok(None);
    }
    let (Ok(base), Ok(yours)) = (std::str::from_utf8(&base), std::str::from_utf8(yours)) else {
        return Ok(None);
    };
    Ok(Some(merge(base, yours, new)))
}

/// The merge itself, with markers that say which side is which.
pub fn merge(base: &str, yours: &str, new: &str) -> Merged {
    let mut options = diffy::MergeOptions::new();
    options.set_conflict_style(diffy::ConflictStyle::Diff3);
    match options.merge(base, yours, new) {
        Ok(text) => Merged::Clean(text),
        Err(text) => Merged::Conflict(relabel(&text)),
    }
}

/// diffy labels the sides "ours", "original" and "theirs"; say what they are here.
fn relabel(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = match line.strip_suffix('\n') {
                Some(b) => (b, "\n"),
                None => (line, ""),
            };
            let label = match body {
                "<<<<<<< ours" => "<<<<<<< your edits",
                "||||||| original" => "||||||| last render",
                ">>>>>>> theirs" => ">>>>>>> new render",
                other => other,
            };
            format!("{label}{end}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "[workspace]\nmembers = [\"api\"]\n\n[workspace.dependencies]\nserde = \"1\"\n";

    #[test]
    fn edits_apart_from_the_upstream_change_merge_cleanly() {
        let yours = format!("{BASE}regex = \"1\"\n");
        let new = BASE.replace("[\"api\"]", "[\"api\", \"web\"]");
        let Merged::Clean(text) = merge(BASE, &yours, &new) else {
            panic!("a conflict");
        };
        assert!(text.contains("members = [\"api\", \"web\"]"), "{text}");
        assert!(text.contains("regex = \"1\""), "{text}");
    }

    #[test]
    fn edits_of_the_same_line_conflict_with_labelled_markers() {
        let yours = BASE.replace("[\"api\"]", "[\"api\", \"tools\"]");
        let new = BASE.replace("[\"api\"]", "[\"api\", \"web\"]");
        let Merged::Conflict(text) = merge(BASE, &yours, &new) else {
            panic!("a clean merge");
        };
        for marker in [
            "<<<<<<< your edits\n",
            "||||||| last render\n",
            "=======\n",
            ">>>>>>> new render\n",
        ] {
            assert!(text.contains(marker), "{marker} missing in\n{text}");
        }
    }
}
