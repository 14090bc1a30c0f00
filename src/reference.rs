//! Image references and registries: one grammar (that of the OCI distribution spec, in
//! lower case) written once as regular expressions, which both the spec check and the
//! JSON Schema use, so the two cannot disagree. A registry ends up in `image:` lines and in
//! the README's `docker build` commands, so nothing outside this grammar (no shell
//! characters, no spaces) may get through.

use std::sync::LazyLock;

use regex::Regex;

/// `ghcr.io`, `localhost:5000`, `registry.example.com`.
const DOMAIN: &str =
    r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*(?::[0-9]+)?";
/// One path component: `acme`, `my_app`, `api-gateway`.
const PATH: &str = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*";
const TAG: &str = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}";
const DIGEST: &str = r"sha256:[a-f0-9]{64}";

/// A registry prefix: a host, then optional path components.
pub fn registry_regex() -> String {
    format!("^{DOMAIN}(?:/{PATH})*$")
}

/// An image reference: `[host/]path[/path…][:tag][@sha256:…]`.
pub fn image_regex() -> String {
    format!("^(?:{DOMAIN}/)?{PATH}(?:/{PATH})*(?::{TAG})?(?:@{DIGEST})?$")
}

static REGISTRY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&registry_regex()).expect("the registry grammar compiles"));
static IMAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&image_regex()).expect("the image grammar compiles"));

pub fn is_registry(text: &str) -> bool {
    REGISTRY.is_match(text)
}

pub fn is_image(text: &str) -> bool {
    IMAGE.is_match(text)
}

/// The digest part of a reference, when it has one (`sha256:…`).
pub fn digest(image: &str) -> Option<&str> {
    image.split_once('@').map(|(_, d)| d)
}

pub fn is_digest(text: &str) -> bool {
    text.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_are_hosts_with_optional_paths() {
        for ok in [
            "ghcr.io/acme",
            "localhost:5000",
            "registry.example.com/a/b_c",
            "acme",
        ] {
            assert!(is_registry(ok), "{ok}");
        }
        for bad in [
            "ghcr.io/a$(id)`x`;b",
            "a<b>&c",
            "GHCR.io/acme",
            "ghcr.io/Acme",
            "ghcr.io/acme/",
            "",
            "ghcr.io//acme",
            "ghcr.io/ac me",
        ] {
            assert!(!is_registry(bad), "{bad}");
        }
    }

    #[test]
    fn images_follow_the_reference_grammar() {
        let digest = format!("sha256:{}", "a".repeat(64));
        for ok in [
            "nginx:1.27".to_string(),
            "ghcr.io/acme/api:1.4.2".into(),
            "localhost:5000/api:V1".into(),
            format!("api@{digest}"),
            format!("api:1@{digest}"),
        ] {
            assert!(is_image(&ok), "{ok}");
        }
        for bad in ["api@sha256:abc", "Api:1", "api:1 ", "api:-x", "api:$(id)"] {
            assert!(!is_image(bad), "{bad}");
        }
    }

    #[test]
    fn digests_are_64_lower_case_hex_digits() {
        assert!(is_digest(&format!("sha256:{}", "0f".repeat(32))));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest(&format!("sha256:{}", "A".repeat(64))));
    }
}

/// `repo/name:tag@digest` -> (`repo/name`, Some(tag)).
pub fn split_image(image: &str) -> (&str, Option<&str>) {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_slash = without_digest.rfind('/').map_or(0, |n| n + 1);
    match without_digest[last_slash..].rfind(':') {
        Some(n) => (
            &without_digest[..last_slash + n],
            Some(&without_digest[last_slash + n + 1..]),
        ),
        None => (without_digest, None),
    }
}

#[cfg(test)]
mod split_tests {
    use super::*;

    #[test]
    fn images_split_into_name_and_tag() {
        assert_eq!(
            split_image("ghcr.io/acme/api:1.2"),
            ("ghcr.io/acme/api", Some("1.2"))
        );
        assert_eq!(
            split_image("localhost:5000/api"),
            ("localhost:5000/api", None)
        );
        assert_eq!(split_image("nginx@sha256:abc"), ("nginx", None));
    }
}

/// The value of an `app.kubernetes.io/version` label for an image: its tag, when the tag
/// is also a label value (at most 63 characters, starting and ending with a letter or
/// digit); `None` for a digest only, since a digest is no version a person reads.
pub fn version_label(image: &str) -> Option<&str> {
    let (_, tag) = split_image(image);
    tag.filter(|t| is_label_value(t))
}

/// A Kubernetes label value: empty, or at most 63 characters of letters, digits, `-`, `_`
/// and `.`, starting and ending with a letter or digit.
pub fn is_label_value(text: &str) -> bool {
    let edge = |c: Option<char>| c.is_none_or(|c| c.is_ascii_alphanumeric());
    text.len() <= 63
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && edge(text.chars().next())
        && edge(text.chars().last())
}

#[cfg(test)]
mod version_label_tests {
    use super::*;

    #[test]
    fn an_image_tag_becomes_the_version_label_when_it_is_a_label_value() {
        assert_eq!(version_label("ghcr.io/acme/api:1.4.2"), Some("1.4.2"));
        assert_eq!(
            version_label(&format!("api:1.0@sha256:{}", "0f".repeat(32))),
            Some("1.0")
        );
        assert_eq!(
            version_label(&format!("api@sha256:{}", "0f".repeat(32))),
            None
        );
        assert_eq!(version_label("api:1.0_"), None);
        assert_eq!(version_label(&format!("api:{}", "1".repeat(64))), None);
    }
}
