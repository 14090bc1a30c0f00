//! Command-line arguments (clap) and their translation into library calls; the only place
//! that knows about clap, colour and the terminal.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use dpatterns::commands::{self, Format, LintFormat, NewOptions, RenderOptions, Verbosity};
use dpatterns::error::MAX_PRINTED_ERRORS;
use dpatterns::names::escape_controls;
use dpatterns::prompt::{Prompter, TerminalPrompter};
use dpatterns::{Catalog, Error};

#[derive(Debug, Parser)]
#[command(
    name = "dpatterns",
    version,
    about = "Render the patterns of Designing Distributed Systems into Kubernetes manifests and Rust services",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,

    /// A catalog folder whose files override or extend the embedded templates
    #[arg(long, global = true, value_name = "DIR", env = "DPATTERNS_TEMPLATES")]
    templates: Option<PathBuf>,

    /// When to colour the output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,

    /// Print only errors
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    quiet: bool,

    /// Print every file, unchanged ones too
    #[arg(short, long, global = true)]
    verbose: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Text,
    Json,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Self {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LintFormatArg {
    Text,
    Json,
    Sarif,
}

impl From<LintFormatArg> for LintFormat {
    fn from(f: LintFormatArg) -> Self {
        match f {
            LintFormatArg::Text => LintFormat::Text,
            LintFormatArg::Json => LintFormat::Json,
            LintFormatArg::Sarif => LintFormat::Sarif,
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List the patterns of the catalog
    List,
    /// Show a pattern: intent, containers, parameters, objects, an example
    Show {
        /// Pattern id, as `dpatterns list` prints it
        pattern: String,
    },
    /// Create a project: write DIR/dpatterns.yaml (asking on a terminal), then render it
    New {
        /// Folder of the new project
        dir: PathBuf,
        /// A pattern to add as a component (repeatable)
        #[arg(long = "pattern", short = 'p', value_name = "PATTERN")]
        patterns: Vec<String>,
        /// Set a parameter: `param=value` or `component.param=value` (repeatable)
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Ask nothing; take defaults
        #[arg(long, short = 'y')]
        yes: bool,
        /// Replace an existing dpatterns.yaml and overwrite edited files
        #[arg(long)]
        force: bool,
        /// Print the result as text, or as JSON for scripts
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
    },
    /// Render the spec into manifests, services, docs and CI
    Render {
        /// The spec
        #[arg(short = 'f', long = "file", default_value = commands::DEFAULT_SPEC)]
        file: PathBuf,
        /// Output folder [default: the spec's folder]
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// Write nothing; exit 1 if any file would change
        #[arg(long, conflicts_with_all = ["dry_run", "force"])]
        check: bool,
        /// Show the plan; write nothing
        #[arg(long)]
        dry_run: bool,
        /// Overwrite scaffolded files even if you edited them
        #[arg(long)]
        force: bool,
        /// Print the plan as text, or as JSON for scripts
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
    },
    /// Check the spec and every rule on the rendered output, in memory
    Validate {
        /// The spec
        #[arg(short = 'f', long = "file", default_value = commands::DEFAULT_SPEC)]
        file: PathBuf,
        /// Print the verdict as text, or as JSON for scripts
        #[arg(long, value_enum, default_value_t = FormatArg::Text)]
        format: FormatArg,
    },
    /// Check the system against the book's failure patterns (2nd ed. ch. 16); exit 1 on an error
    Lint {
        /// The spec
        #[arg(short = 'f', long = "file", default_value = commands::DEFAULT_SPEC)]
        file: PathBuf,
        /// Print the findings as text, JSON, or SARIF 2.1.0 for code scanning
        #[arg(long, value_enum, default_value_t = LintFormatArg::Text)]
        format: LintFormatArg,
    },
    /// Print the JSON Schema of the spec
    Schema,
    /// Copy a pattern's embedded templates out, to edit and use with --templates
    Eject {
        /// Pattern id (or `_common` for the shared files)
        pattern: String,
        /// Destination catalog folder
        #[arg(default_value = "templates")]
        dir: PathBuf,
        /// Overwrite an existing copy
        #[arg(long)]
        force: bool,
    },
    /// Print shell completions
    Completions {
        /// The shell to complete in
        shell: clap_complete::Shell,
    },
}

pub fn main() -> i32 {
    let cli = Cli::parse();
    let stdout_tty = std::io::stdout().is_terminal();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
        }
    };
    let json_errors = matches!(
        cli.command,
        Command::Render {
            format: FormatArg::Json,
            ..
        } | Command::Validate {
            format: FormatArg::Json,
            ..
        } | Command::Lint {
            format: LintFormatArg::Json,
            ..
        }
    );
    // The lint's text report goes to stdout: coloured only on a terminal there.
    let stdout_color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => stdout_tty && std::env::var_os("NO_COLOR").is_none(),
    };
    match run(cli, stdout_tty, stdout_color) {
        Ok(code) => code,
        Err(e) => {
            if json_errors {
                print_json_error(&e);
            }
            print_error(&e, color);
            // Every error is bad input, bad usage or a refused write; 1 is an outcome.
            2
        }
    }
}

fn verbosity(cli: &Cli) -> Verbosity {
    if cli.quiet {
        Verbosity::Quiet
    } else if cli.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}

fn run(cli: Cli, stdout_tty: bool, stdout_color: bool) -> dpatterns::Result<i32> {
    let verbosity = verbosity(&cli);
    let mut stdout = std::io::stdout().lock();
    let out: &mut dyn Write = &mut stdout;
    let catalog = Catalog::load(cli.templates.as_deref())?;
    if let Command::Completions { shell } = &cli.command {
        clap_complete::generate(*shell, &mut completion_command(&catalog), "dpatterns", out);
        return Ok(0);
    }
    match cli.command {
        Command::List => commands::list(&catalog, out).map(|()| 0),
        Command::Show { pattern } => commands::show(&catalog, &pattern, out).map(|()| 0),
        Command::Schema => commands::schema(&catalog, out).map(|()| 0),
        Command::Lint { file, format } => {
            commands::lint_command(&file, &catalog, format.into(), stdout_color, out)
        }
        Command::Eject {
            pattern,
            dir,
            force,
        } => commands::eject(&catalog, &pattern, &dir, force, out).map(|()| 0),
        Command::Validate { file, format } => {
            commands::validate_command(&file, &catalog, format.into(), out)
        }
        Command::Render {
            file,
            output,
            check,
            dry_run,
            force,
            format,
        } => {
            let opts = RenderOptions {
                spec: file,
                out: output,
                check,
                dry_run,
                force,
                format: format.into(),
                verbosity,
            };
            commands::render_command(&opts, &catalog, out)
        }
        Command::New {
            dir,
            patterns,
            sets,
            yes,
            force,
            format,
        } => {
            let opts = NewOptions {
                dir,
                patterns,
                sets,
                force,
                format: format.into(),
                verbosity,
            };
            // Ask only a person: never with --yes, never when stdin or stdout is not a terminal.
            let interactive = !yes && std::io::stdin().is_terminal() && stdout_tty;
            let mut terminal = TerminalPrompter;
            let prompter: Option<&mut (dyn Prompter + 'static)> = if interactive {
                Some(&mut terminal)
            } else {
                None
            };
            commands::new_project(&opts, &catalog, prompter, out)
        }
        Command::Completions { .. } => unreachable!("handled above"),
    }
}

/// The command line as completions see it: `show` and `eject` complete the catalog's
/// pattern ids. (Parsing keeps taking any id, so that an unknown one gets a did-you-mean.)
fn completion_command(catalog: &Catalog) -> clap::Command {
    let ids: Vec<String> = catalog.pattern_ids().map(str::to_string).collect();
    let values = |extra: Option<&str>| {
        let mut v: Vec<clap::builder::PossibleValue> = ids
            .iter()
            .map(|id| clap::builder::PossibleValue::new(id.clone()))
            .collect();
        v.extend(extra.map(|e| clap::builder::PossibleValue::new(e.to_string())));
        clap::builder::PossibleValuesParser::new(v)
    };
    Cli::command()
        .mut_subcommand("show", |c| {
            c.mut_arg("pattern", |a| a.value_parser(values(None)))
        })
        .mut_subcommand("eject", |c| {
            // `mut_arg` moves the argument last: move `dir` after it again, so the
            // positional order stays `PATTERN [DIR]`.
            c.mut_arg("pattern", |a| a.value_parser(values(Some("_common"))))
                .mut_arg("dir", |a| a)
        })
}

fn print_error(e: &Error, color: bool) {
    let handler = dpatterns::error::report_handler(color);
    let mut text = String::new();
    match e {
        Error::Spec(errors) => {
            for spec_error in errors.iter().take(MAX_PRINTED_ERRORS) {
                let _ = handler.render_report(&mut text, spec_error);
            }
            if errors.len() > MAX_PRINTED_ERRORS {
                let more = errors.len() - MAX_PRINTED_ERRORS;
                let errors = if more == 1 { "error" } else { "errors" };
                text.push_str(&format!(
                    "… and {more} more {errors} (`--format json` lists every one)\n"
                ));
            }
            if errors.len() > 1 {
                text.push_str(&format!("error: {e}\n"));
            }
        }
        other => {
            let _ = handler.render_report(&mut text, &Escaped(other));
        }
    }
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
}

/// An error as printed, with control characters in its message and help escaped: they
/// quote what the user typed (a pattern id, a `--set` value, a path), and an escape
/// sequence there must not drive the terminal. (Spec errors escape their own texts.)
#[derive(Debug)]
struct Escaped<'a>(&'a Error);

impl std::fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&escape_controls(&self.0.to_string()))
    }
}

impl std::error::Error for Escaped<'_> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(self.0)
    }
}

impl miette::Diagnostic for Escaped<'_> {
    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        let help = self.0.help()?.to_string();
        Some(Box::new(escape_controls(&help)))
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn miette::Diagnostic> + 'a>> {
        self.0.related()
    }
}

/// With `--format json`, errors are data too: CI reads them from stdout.
fn print_json_error(e: &Error) {
    let value = match e {
        Error::Spec(errors) => serde_json::json!({
            "ok": false,
            "errors": errors.iter().map(|s| serde_json::json!({
                "message": s.message, "file": s.source_code.name(), "line": s.line,
                "column": s.column, "help": s.help,
            })).collect::<Vec<_>>()
        }),
        Error::Verify { failures, .. } => serde_json::json!({"ok": false, "failures": failures}),
        other => {
            use miette::Diagnostic as _;
            let help = other.help().map(|h| h.to_string());
            serde_json::json!({"ok": false, "errors": [{"message": other.to_string(), "help": help}]})
        }
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&value).expect("serializes")
    );
}
