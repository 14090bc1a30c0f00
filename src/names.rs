//! Names: DNS-1123 labels (every Kubernetes object and every output path is built from
//! them, which is also what keeps paths inside the output directory), Rust identifiers
//! derived from them, and the did-you-mean hint shared by every "unknown X" error.

pub const DNS_LABEL_REGEX: &str = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
pub const DNS_LABEL_HELP: &str = "use at most 63 characters: lower-case letters, digits and `-`, starting and ending with a letter or digit";

/// Checks a DNS-1123 label, saying what is wrong with it.
pub fn check_dns_label(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("it is empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "it has {} characters, at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Err(format!("`{c}` is not allowed"));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err("it must start and end with a letter or digit".into());
    }
    Ok(())
}

/// The Rust identifier for a component name: `api-gateway` -> `api_gateway`. (Names of
/// generated services never start with a digit or spell a keyword: `model` refuses them.)
pub fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

/// Names Rust itself keeps, which no generated crate may take: the standard crates and
/// the keywords (strict, reserved and edition-dependent). What the generated workspace adds
/// to them (its own crates and dependencies) comes from the catalog.
pub const RUST_RESERVED: &[&str] = &[
    "std",
    "core",
    "alloc",
    "test",
    "proc-macro",
    "self",
    "super",
    "crate",
    "async",
    "await",
    "dyn",
    "fn",
    "impl",
    "loop",
    "match",
    "mod",
    "move",
    "ref",
    "return",
    "static",
    "struct",
    "trait",
    "type",
    "unsafe",
    "use",
    "where",
    "while",
    "abstract",
    "become",
    "box",
    "do",
    "final",
    "macro",
    "override",
    "priv",
    "try",
    "typeof",
    "unsized",
    "virtual",
    "yield",
    "gen",
    "as",
    "break",
    "const",
    "continue",
    "else",
    "enum",
    "extern",
    "false",
    "for",
    "if",
    "in",
    "let",
    "mut",
    "pub",
    "true",
];

/// Why a DNS label cannot name a generated crate, if it cannot: `taken` holds the names
/// the workspace already uses.
pub fn crate_name_problem(name: &str, taken: &[String]) -> Option<&'static str> {
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        Some("it starts with a digit")
    } else if RUST_RESERVED.contains(&name) {
        Some("Rust reserves it")
    } else if taken.iter().any(|t| t == name) {
        Some(
            "the generated workspace already has a crate of that name (the `common` crate or a dependency)",
        )
    } else {
        None
    }
}

/// Turns free text (a directory name) into a DNS-1123 label, for defaults in `new`.
pub fn to_dns_label(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(63).collect();
    let trimmed = trimmed.trim_end_matches('-').to_string();
    if trimmed.is_empty() {
        "system".into()
    } else {
        trimmed
    }
}

/// Text with control characters written as escapes (`\u{1b}`), so that a value taken from
/// the user's file or command line cannot drive the terminal an error is printed on.
pub fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// "did you mean `x`?" for the closest candidate, if any is close enough to be a typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<String> {
    closest(given, candidates).map(|c| format!("did you mean `{c}`?"))
}

pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(given, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// A bound on the did-you-mean work of one run. Each suggestion compares a word with every
/// candidate, so thousands of misspelt references among thousands of components would
/// cost a product of the two (5,000 by 5,000 took 4 s). Past the budget, errors keep
/// their other hint (a list of what exists) instead of a suggestion.
#[derive(Debug, Clone)]
pub struct SuggestionBudget {
    comparisons_left: usize,
}

impl SuggestionBudget {
    /// About a tenth of a second of comparisons.
    pub const COMPARISONS: usize = 1_000_000;

    pub fn new() -> Self {
        SuggestionBudget {
            comparisons_left: Self::COMPARISONS,
        }
    }

    /// [`did_you_mean`] while the budget lasts, `None` after.
    pub fn did_you_mean(&mut self, given: &str, candidates: &[&str]) -> Option<String> {
        if candidates.len() > self.comparisons_left {
            self.comparisons_left = 0;
            return None;
        }
        self.comparisons_left -= candidates.len();
        did_you_mean(given, candidates.iter().copied())
    }
}

impl Default for SuggestionBudget {
    fn default() -> Self {
        Self::new()
    }
}

/// A list of names for a hint, cut after a few: a hint naming 5,000 components helps no
/// one, and repeated for every error it made reports quadratic in size.
pub fn some_of<'n>(names: impl Iterator<Item = &'n str>) -> String {
    const SHOWN: usize = 10;
    let names: Vec<&str> = names.collect();
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!("{}, … ({} in all)", names[..SHOWN].join(", "), names.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels_reject_upper_case_and_edges() {
        assert!(check_dns_label("api-2").is_ok());
        assert_eq!(check_dns_label("Api").unwrap_err(), "`A` is not allowed");
        assert!(check_dns_label("-api").is_err());
        assert!(check_dns_label(&"a".repeat(64)).is_err());
        assert!(check_dns_label("a/../b").is_err());
    }

    #[test]
    fn control_characters_are_escaped_for_the_terminal() {
        assert_eq!(
            escape_controls("a\u{1b}]0;x\u{7}b\0"),
            "a\\u{1b}]0;x\\u{7}b\\u{0}"
        );
        assert_eq!(escape_controls("plain ünï\nline"), "plain ünï\nline");
    }

    #[test]
    fn unknown_pattern_suggests_closest() {
        let catalog = ["sidecar", "ambassador", "replicated-service"];
        assert_eq!(
            did_you_mean("sidcar", catalog).as_deref(),
            Some("did you mean `sidecar`?")
        );
        assert_eq!(did_you_mean("zzzz", catalog), None);
    }

    #[test]
    fn directory_names_become_labels() {
        assert_eq!(to_dns_label("My Demo_App"), "my-demo-app");
        assert_eq!(to_dns_label("___"), "system");
        assert_eq!(crate_ident("api-gateway"), "api_gateway");
    }

    #[test]
    fn crate_names_avoid_rust_and_the_workspace() {
        let taken = vec!["common".to_string(), "serde-json".to_string()];
        assert_eq!(crate_name_problem("api", &taken), None);
        assert_eq!(
            crate_name_problem("match", &taken),
            Some("Rust reserves it")
        );
        assert!(
            crate_name_problem("common", &taken)
                .unwrap()
                .contains("workspace")
        );
        assert_eq!(
            crate_name_problem("2fa", &taken),
            Some("it starts with a digit")
        );
    }
}
