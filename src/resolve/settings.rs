//! Checks of single values of the spec: names, the Kubernetes version, the registry,
//! `defaults`, image references.

use crate::model::{DEFAULT_KUBE_VERSION, EffectiveDefaults, MAX_KUBE_MINOR, MIN_KUBE_MINOR};
use crate::names::{DNS_LABEL_HELP, check_dns_label};
use crate::quantity::is_quantity;
use crate::reference::split_image;
use crate::source::YamlPath;
use crate::spec::PullPolicy;

use super::Resolver;

impl Resolver<'_> {
    pub(super) fn dns_label(&mut self, path: &YamlPath, value: &str, what: &str) -> bool {
        match check_dns_label(value) {
            Ok(()) => true,
            Err(why) => {
                self.err(
                    path,
                    format!("invalid {what} `{value}`: {why}"),
                    "not a DNS-1123 label",
                    Some(DNS_LABEL_HELP.into()),
                );
                false
            }
        }
    }

    pub(super) fn kube_minor(&mut self, spec: &YamlPath) -> u32 {
        let Some(target) = &self.spec.doc.spec.kubernetes else {
            return DEFAULT_KUBE_VERSION[2..].parse().expect("valid default");
        };
        // Only the exact spelling the schema lists ("1.30", not "1.030").
        let minor = target
            .version
            .strip_prefix("1.")
            .and_then(|m| m.parse::<u32>().ok().filter(|n| n.to_string() == m));
        match minor {
            Some(m) if (MIN_KUBE_MINOR..=MAX_KUBE_MINOR).contains(&m) => m,
            _ => {
                self.err(
                    &spec.key("kubernetes").key("version"),
                    format!("unsupported Kubernetes version `{}`", target.version),
                    "unsupported version",
                    Some(format!(
                        "use a version from 1.{MIN_KUBE_MINOR} to 1.{MAX_KUBE_MINOR}, written like \"1.31\""
                    )),
                );
                DEFAULT_KUBE_VERSION[2..].parse().expect("valid default")
            }
        }
    }

    pub(super) fn registry(&mut self, spec: &YamlPath) -> String {
        let name = &self.spec.doc.metadata.name;
        let Some(registry) = &self.spec.doc.spec.registry else {
            return format!("registry.example.com/{name}");
        };
        if !crate::reference::is_registry(registry) {
            self.err(
                &spec.key("registry"),
                format!("invalid registry `{registry}`"),
                "not an image repository prefix",
                Some("write a host (with an optional port) and path in lower case letters, digits, `.`, `-` and `_`, like `ghcr.io/acme` or `localhost:5000/acme`".into()),
            );
        }
        registry.clone()
    }

    pub(super) fn defaults(&mut self, spec: &YamlPath) -> EffectiveDefaults {
        match self.spec.doc.spec.defaults.clone() {
            None => EffectiveDefaults::default(),
            Some(d) => self.check_defaults(&spec.key("defaults"), d, EffectiveDefaults::default()),
        }
    }

    /// Checks a `defaults` mapping at `path` and lays it over `out`.
    pub(super) fn check_defaults(
        &mut self,
        path: &YamlPath,
        d: crate::spec::Defaults,
        mut out: EffectiveDefaults,
    ) -> EffectiveDefaults {
        let path = path.clone();
        if let Some(uid) = d.run_as_user {
            if !(1..=i64::from(i32::MAX)).contains(&uid) {
                self.err(
                    &path.key("runAsUser"),
                    format!("runAsUser {uid} is not allowed"),
                    "must be a non-root UID",
                    Some("use a UID from 1 to 2147483647; 10001 is the default".into()),
                );
            }
            out.run_as_user = uid;
        }
        if let Some(p) = d.image_pull_policy {
            out.image_pull_policy = match p {
                PullPolicy::Always => "Always",
                PullPolicy::IfNotPresent => "IfNotPresent",
            };
        }
        if let Some(res) = d.resources {
            let rpath = path.key("resources");
            let slots = [
                (
                    "requests",
                    res.requests,
                    [
                        &mut out.requests_cpu,
                        &mut out.requests_memory,
                        &mut out.requests_ephemeral_storage,
                    ],
                ),
                (
                    "limits",
                    res.limits,
                    [
                        &mut out.limits_cpu,
                        &mut out.limits_memory,
                        &mut out.limits_ephemeral_storage,
                    ],
                ),
            ];
            for (key, q, [cpu, memory, storage]) in slots {
                let Some(q) = q else { continue };
                let fields = [
                    ("cpu", q.cpu, cpu),
                    ("memory", q.memory, memory),
                    ("ephemeral-storage", q.ephemeral_storage, storage),
                ];
                for (field, value, slot) in fields {
                    let Some(v) = value else { continue };
                    if is_quantity(&v) {
                        *slot = v;
                    } else {
                        self.errors.push(self.spec.source.error_at_value(
                            &rpath.key(key).key(field),
                            format!("`{v}` is not a Kubernetes quantity"),
                            "not a quantity",
                            Some("write it like `250m`, `1`, `512Mi` or `2Gi`".into()),
                        ));
                    }
                }
            }
        }
        out
    }

    pub(super) fn image(&mut self, path: &YamlPath, image: &str) {
        let (name, tag) = split_image(image);
        let digest = crate::reference::digest(image);
        // The specific reasons first; the grammar (shared with the JSON Schema) decides.
        let problem = if image.is_empty() || image.chars().any(char::is_whitespace) {
            Some("it is empty or contains spaces")
        } else if name.chars().any(|c| c.is_ascii_uppercase()) {
            Some("repository names are lower case")
        } else if digest.is_some_and(|d| !crate::reference::is_digest(d)) {
            Some("a digest is `sha256:` and 64 lower-case hex digits")
        } else if tag.is_none() && digest.is_none() {
            Some("it has no tag or digest, so it means `latest`")
        } else if tag == Some("latest") {
            Some("`latest` is not a version")
        } else if !crate::reference::is_image(image) {
            Some("it is not an image reference (`[host/]path[:tag][@sha256:digest]`)")
        } else {
            None
        };
        if let Some(why) = problem {
            self.err(
                path,
                format!("invalid image `{image}`: {why}"),
                "unpinned or malformed image",
                Some("pin a version tag or a digest, like `ghcr.io/acme/api:1.4.2`".into()),
            );
        }
    }
}
