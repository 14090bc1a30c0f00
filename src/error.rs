//! One error type for the whole tool, so the binary can map every failure to an exit code
//! and print it the same way. The line that matters to a user is between "your spec is wrong"
//! (a [`SpecError`] pointing into their file), "your templates are wrong" (a `--templates`
//! catalog), and "dpatterns has a bug" (the embedded catalog produced something invalid).

use std::path::PathBuf;

use miette::{Diagnostic, SourceSpan};

use crate::source::Snippet;

/// Spec errors a terminal report shows in full; the rest are counted. Reports are sorted
/// by place in the file, so the first ones are the first to fix. `--format json` lists
/// every error.
pub const MAX_PRINTED_ERRORS: usize = 50;

/// A problem in the user's spec, with the place in the file it comes from.
#[derive(Debug, Clone, thiserror::Error, Diagnostic)]
#[error("{message}")]
pub struct SpecError {
    pub message: String,
    /// The lines around the error (cut when long); `span` points into them.
    #[source_code]
    pub source_code: Snippet,
    #[label("{label}")]
    pub span: SourceSpan,
    pub label: String,
    #[help]
    pub help: Option<String>,
    /// 1-based line and column, kept for the `--format json` output and tests.
    pub line: usize,
    pub column: usize,
}

/// A rendered object that failed a check, named by file, object and field path.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct VerifyFailure {
    pub file: String,
    pub object: String,
    pub check: &'static str,
    pub message: String,
    /// The spec's patch that produced the failing value (`dpatterns.yaml:14:7`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
}

impl std::fmt::Display for VerifyFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: [{}] {}",
            self.file, self.object, self.check, self.message
        )?;
        match &self.patch {
            Some(at) => write!(f, " (set by the patch at {at})"),
            None => Ok(()),
        }
    }
}

/// Where a template came from decides who has to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blame {
    /// The embedded catalog: a bug in dpatterns.
    Dpatterns,
    /// A user catalog given with `--templates`.
    UserTemplates(PathBuf),
}

impl Blame {
    fn help(&self) -> String {
        match self {
            Blame::Dpatterns => {
                "this is a bug in dpatterns; please report it with your spec".into()
            }
            Blame::UserTemplates(dir) => format!(
                "the template comes from your catalog in {}; fix it there",
                dir.display()
            ),
        }
    }
}

/// Every failure of the tool. Each one exits with status 2 (bad input, bad usage or a
/// write refused or undone); 1 is an outcome a command decides (drift, a failed check).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum Error {
    #[error("{} in the spec", plural(.0.len(), "error"))]
    Spec(#[related] Vec<SpecError>),

    #[error("cannot read {}", .path.display())]
    #[diagnostic(help("check that the file exists and is readable"))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A file that is not one to read: a device, a FIFO, a directory, or too large.
    #[error("cannot read {}: {reason}", .path.display())]
    #[diagnostic(help("{help}"))]
    Input {
        path: PathBuf,
        reason: String,
        help: String,
    },

    #[error("cannot write into {}", .path.display())]
    #[diagnostic(help("nothing was changed: files already in place were restored"))]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("cannot write to standard output")]
    #[diagnostic(help(
        "whatever reads the output stopped reading (a closed pipe?); any files were written or left as before in full, only the report is cut short"
    ))]
    Stdout(#[source] std::io::Error),

    #[error("refusing to write {path}: {reason}")]
    #[diagnostic(help(
        "dpatterns writes only plain files inside the output folder, never through a symbolic link; move the link away, or render elsewhere with -o"
    ))]
    UnsafePath { path: String, reason: String },

    #[error("{} is {what}, not a regular file", .path.display())]
    #[diagnostic(help(
        "dpatterns reads and replaces only regular files; move it out of the way and run the command again"
    ))]
    NotRegularFile { path: PathBuf, what: &'static str },

    #[error("{} is larger than {} MiB", .path.display(), .limit / (1024 * 1024))]
    #[diagnostic(help(
        "no file dpatterns reads or replaces is that large; move it out of the way"
    ))]
    TooLarge { path: PathBuf, limit: u64 },

    #[error("{} is not a valid lock file: {message}", .path.display())]
    #[diagnostic(help(
        "restore it from version control, or delete it and render again (without a lock, every scaffolded file that differs from the render is kept as found, and no longer rendered files are not deleted)"
    ))]
    LockFile { path: PathBuf, message: String },

    #[error("cannot finish or undo the interrupted render recorded in {}: {message}", .path.display())]
    #[diagnostic(help(
        "look at the hidden `.NAME.dpatterns-new` (new contents) and `.NAME.dpatterns-old` (previous contents) files beside your files, keep what you need, delete them and the journal, and render again"
    ))]
    Journal { path: PathBuf, message: String },

    #[error("{} already exists", .path.display())]
    #[diagnostic(help("pass --force to overwrite it, or eject into another folder"))]
    EjectExists { path: PathBuf },

    #[error("unknown pattern `{id}`")]
    UnknownPattern {
        id: String,
        #[help]
        help: String,
    },

    #[error("template {template} failed: {message}")]
    #[diagnostic(help("{}", .blame.help()))]
    Template {
        template: String,
        message: String,
        blame: Blame,
    },

    #[error("the catalog is invalid: {path}: {message}")]
    Catalog { path: String, message: String },

    #[error("the rendered output failed {}:\n{}", plural(.failures.len(), "check"), bullet_list(.failures))]
    #[diagnostic(help("{}", check_help(.blame)))]
    Verify {
        failures: Vec<VerifyFailure>,
        blame: Option<Blame>,
    },

    #[error("{message}")]
    Usage {
        message: String,
        #[help]
        help: Option<String>,
    },

    #[error("{0}")]
    Prompt(String),
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            help: None,
        }
    }

    /// The one way to say a pattern id is not in the catalog, with its hint.
    pub fn unknown_pattern<'a>(id: &str, known: impl IntoIterator<Item = &'a str>) -> Self {
        Error::UnknownPattern {
            id: id.to_string(),
            help: unknown_pattern_help(id, known),
        }
    }
}

/// The hint for an unknown pattern id: the closest id of the catalog, or where to look.
/// Shared by [`Error::unknown_pattern`] and the spec check, which points into the spec.
pub fn unknown_pattern_help<'a>(id: &str, known: impl IntoIterator<Item = &'a str>) -> String {
    crate::names::did_you_mean(id, known)
        .unwrap_or_else(|| "`dpatterns list` shows the catalog".into())
}

/// How every report with a snippet is drawn: 100 columns, no links; without colour, ASCII
/// characters and no styles (what tests and logs see).
pub fn report_handler(color: bool) -> miette::GraphicalReportHandler {
    use miette::{GraphicalReportHandler, GraphicalTheme, ThemeCharacters, ThemeStyles};
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme {
            characters: ThemeCharacters::ascii(),
            styles: ThemeStyles::none(),
        }
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

pub(crate) fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn bullet_list(failures: &[VerifyFailure]) -> String {
    failures
        .iter()
        .map(|f| format!("  - {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_help(blame: &Option<Blame>) -> String {
    match blame {
        None => {
            "the failing values come from `patches` or `defaults` in your spec; nothing was written"
                .into()
        }
        Some(b) => format!("{}; nothing was written", b.help()),
    }
}
