//! What the catalog declares for every pattern at once, in `_common`: the version of the
//! generated services and the base images of their Dockerfiles (`_common/common.yaml`), and the crate names the generated workspace
//! already uses (read from its `[workspace.dependencies]`). Both live in the templates, so
//! that bumping the version or adding a dependency to the generated workspace is a
//! template change only.

use serde::{Deserialize, Serialize};

/// The declaration file of `_common`.
pub const SHARED_FILE: &str = "_common/common.yaml";
/// The workspace manifest whose dependencies no generated crate may be named after.
pub const WORKSPACE_TEMPLATE: &str = "_common/project/services/Cargo.toml.hbs";

/// `_common/common.yaml`; templates see it as `catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Shared {
    /// Version of every generated service: its crate version and its image tag.
    pub service_version: String,
    /// The images every generated Dockerfile builds on, named once for the Dockerfiles and
    /// the README that tells how to pin them by digest.
    pub base_images: BaseImages,
}

/// `baseImages` of `_common/common.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BaseImages {
    /// The Rust toolchain image the build stages run in.
    pub build: String,
    /// The image the binary runs in.
    pub runtime: String,
}

impl Shared {
    pub fn check(&self) -> Result<(), String> {
        for (key, image) in [
            ("build", &self.base_images.build),
            ("runtime", &self.base_images.runtime),
        ] {
            let (_, tag) = crate::reference::split_image(image);
            let pinned =
                crate::reference::digest(image).is_some() || tag.is_some_and(|t| t != "latest");
            if !crate::reference::is_image(image) || !pinned {
                return Err(format!(
                    "baseImages.{key} `{image}` is not a pinned image reference (a version tag other than `latest`, or a digest)"
                ));
            }
        }
        let v = &self.service_version;
        let valid = !v.is_empty()
            && v.len() <= 128
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            && v != "latest"
            && !v.starts_with(['.', '-']);
        if valid {
            Ok(())
        } else {
            Err(format!(
                "serviceVersion `{v}` is not a pinned image tag (letters, digits, `.`, `-`, `_`; not `latest`)"
            ))
        }
    }
}

/// The keys of the `[workspace.dependencies]` table of a Cargo manifest (template), with
/// `_` read as `-`, since Cargo treats both spellings of a crate name as the same library.
pub fn workspace_dependencies(manifest: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == "[workspace.dependencies]";
            continue;
        }
        if !inside || line.starts_with('#') {
            continue;
        }
        if let Some((key, _)) = line.split_once('=') {
            let key = key.trim().trim_matches('"');
            if !key.is_empty() && !key.contains('.') {
                names.push(key.replace('_', "-"));
            }
        }
    }
    names.sort();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependencies_are_read_from_the_workspace_table_only() {
        let manifest = "[workspace]\nmembers = [\"common\"]\n\n[workspace.dependencies]\n\
                        common = { path = \"common\" }\n# a comment = no\nserde_json = \"1\"\n\
                        \"quoted\" = \"1\"\n\n[workspace.lints.rust]\nunsafe_code = \"forbid\"\n";
        assert_eq!(
            workspace_dependencies(manifest),
            ["common", "quoted", "serde-json"]
        );
    }

    fn shared(version: &str, build: &str) -> Shared {
        Shared {
            service_version: version.into(),
            base_images: BaseImages {
                build: build.into(),
                runtime: "gcr.io/distroless/cc-debian12:nonroot".into(),
            },
        }
    }

    #[test]
    fn service_version_must_be_a_pinned_tag() {
        assert_eq!(shared("0.1.0", "rust:1.95.0-slim-bookworm").check(), Ok(()));
        for bad in ["", "latest", "1 0", "-1"] {
            assert!(shared(bad, "rust:1.95.0").check().is_err(), "{bad}");
        }
    }

    #[test]
    fn base_images_must_be_pinned_by_tag_or_digest() {
        let digest = format!("rust@sha256:{}", "0f".repeat(32));
        assert_eq!(shared("0.1.0", &digest).check(), Ok(()));
        for bad in ["rust", "rust:latest", "Rust:1.95", ""] {
            let err = shared("0.1.0", bad).check().unwrap_err();
            assert!(err.contains("baseImages.build"), "{bad}: {err}");
        }
    }
}
