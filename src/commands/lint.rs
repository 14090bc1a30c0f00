//! `dpatterns lint`: renders the spec in memory (every check of `validate` runs first, so
//! a spec that does not render is an error, exit 2), then reports the findings of
//! [`crate::lint`] as text, JSON or SARIF on stdout. Exit 1 when a finding of severity
//! `error` is not silenced, else 0.

use std::io::Write;
use std::path::Path;

use super::{io_err, load_spec};
use crate::catalog::Catalog;
use crate::error::Result;
use crate::lint::{self, Report};
use crate::pipeline;

/// How `lint` prints its report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LintFormat {
    #[default]
    Text,
    Json,
    Sarif,
}

/// Lints the spec at `spec_path`; returns the exit code.
pub fn lint_command(
    spec_path: &Path,
    catalog: &Catalog,
    format: LintFormat,
    color: bool,
    out: &mut dyn Write,
) -> Result<i32> {
    let report = lint_spec(spec_path, catalog)?;
    let text = match format {
        LintFormat::Json => pretty(&report.to_json()),
        LintFormat::Sarif => pretty(&lint::sarif::log(&report)),
        LintFormat::Text => text_report(&report, color),
    };
    out.write_all(text.as_bytes()).map_err(io_err)?;
    Ok(report.exit_code())
}

/// Loads, renders and lints a spec.
pub fn lint_spec(spec_path: &Path, catalog: &Catalog) -> Result<Report> {
    let spec = load_spec(spec_path)?;
    let rendered = pipeline::run(&spec, catalog)?;
    Ok(lint::lint(&spec, catalog, &rendered))
}

fn pretty(value: &serde_json::Value) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("serializes");
    text.push('\n');
    text
}

/// Each finding as a spec error is printed (snippet and caret, with its severity and rule
/// id), then the counts.
fn text_report(report: &Report, color: bool) -> String {
    let handler = crate::error::report_handler(color);
    let mut text = String::new();
    for finding in &report.findings {
        let _ = handler.render_report(&mut text, finding);
    }
    text.push_str(&report.summary());
    text.push('\n');
    text
}
