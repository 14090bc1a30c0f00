//! `spec.ci`: where the scaffolded CI workflow installs dpatterns from. The workflow runs
//! `cargo install` with these values in a shell, so each is held to a grammar with no
//! shell characters; the same regular expressions are in the JSON Schema.

use std::sync::LazyLock;

use regex::Regex;

use crate::TOOL_VERSION;
use crate::model::ToolSource;
use crate::source::YamlPath;

use super::Resolver;

/// A published version of the crate: `0.1.0`, `1.2.0-rc.1`.
pub const VERSION_PATTERN: &str = r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$";
/// An https URL of a git repository, without user, query or fragment.
pub const GIT_PATTERN: &str = r"^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[A-Za-z0-9._~-]+)+/?$";
/// A commit, tag or branch.
pub const REV_PATTERN: &str = r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$";

static VERSION: LazyLock<Regex> = LazyLock::new(|| Regex::new(VERSION_PATTERN).expect("compiles"));
static GIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(GIT_PATTERN).expect("compiles"));
static REV: LazyLock<Regex> = LazyLock::new(|| Regex::new(REV_PATTERN).expect("compiles"));

impl Resolver<'_> {
    pub(super) fn dpatterns_source(&mut self, spec: &YamlPath) -> ToolSource {
        let default = ToolSource::Version(TOOL_VERSION.to_string());
        let Some(source) = self
            .spec
            .doc
            .spec
            .ci
            .as_ref()
            .and_then(|c| c.dpatterns.clone())
        else {
            return default;
        };
        let path = spec.key("ci").key("dpatterns");
        let mut ok = true;
        let mut check =
            |this: &mut Self, key: &str, value: &Option<String>, re: &Regex, help: &str| {
                if let Some(v) = value
                    && !re.is_match(v)
                {
                    this.err(
                        &path.key(key),
                        format!("invalid `{key}` `{v}` for installing dpatterns"),
                        "not accepted here",
                        Some(help.into()),
                    );
                    ok = false;
                }
            };
        check(
            self,
            "version",
            &source.version,
            &VERSION,
            "a published version, like \"0.1.0\"",
        );
        check(
            self,
            "git",
            &source.git,
            &GIT,
            "an https URL of the repository, like https://github.com/acme/dpatterns",
        );
        check(
            self,
            "rev",
            &source.rev,
            &REV,
            "a commit, tag or branch of that repository",
        );
        match (source.version, source.git, source.rev) {
            (Some(_), Some(_), _) => {
                self.err(
                    &path.key("git"),
                    "`version` and `git` both say where dpatterns comes from".into(),
                    "second source",
                    Some("keep one: `version` installs from crates.io, `git` with `rev` from a repository".into()),
                );
                default
            }
            (_, None, Some(_)) => {
                self.err(
                    &path.key("rev"),
                    "`rev` without `git`".into(),
                    "no repository",
                    Some("add `git:` with the repository's https URL, or remove `rev`".into()),
                );
                default
            }
            (None, Some(_), None) => {
                self.err(
                    &path.key("git"),
                    "a git source needs `rev`".into(),
                    "no revision",
                    Some("add `rev:` with a commit (or a tag), so every CI run installs the same dpatterns".into()),
                );
                default
            }
            _ if !ok => default,
            (Some(v), None, None) => ToolSource::Version(v),
            (None, Some(url), Some(rev)) => ToolSource::Git { url, rev },
            _ => default,
        }
    }
}
