//! The commands of architecture §1 as library functions over plain types. The binary's `cli.rs`
//! turns arguments into these calls; nothing here knows about clap or the terminal, so
//! every command is testable in-process.

mod lint;
mod new;
mod next_steps;
mod render;
mod sets;

use std::io::Write;
use std::path::Path;

pub use lint::{LintFormat, lint_command, lint_spec};
pub use new::{NewOptions, new_project};
pub use render::{Format, RenderOptions, Verbosity, render_command, spec_dir, validate_command};

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::input::{MAX_SPEC_BYTES, read_regular};
use crate::output::transaction::{self, Change};
use crate::source::SourceFile;
use crate::spec::{self, LoadedSpec};

/// The spec file used when `-f` is not given.
pub const DEFAULT_SPEC: &str = "dpatterns.yaml";

fn io_err(e: std::io::Error) -> Error {
    Error::Stdout(e)
}

/// Reads and decodes a spec, naming it in errors as the user wrote its path. Only a
/// regular file of at most [`MAX_SPEC_BYTES`] is read.
pub fn load_spec(path: &Path) -> Result<LoadedSpec> {
    let bytes = read_regular(path, MAX_SPEC_BYTES, "a spec")?;
    let name = path.display().to_string();
    match String::from_utf8(bytes) {
        Ok(text) => spec::parse(SourceFile::new(name, text)),
        Err(e) => {
            let valid_up_to = e.utf8_error().valid_up_to();
            let error = spec::not_utf8(name, e.as_bytes(), valid_up_to);
            Err(Error::Spec(vec![error]))
        }
    }
}

/// `dpatterns list`: the catalog, one pattern a line.
pub fn list(catalog: &Catalog, out: &mut dyn Write) -> Result<()> {
    let rows: Vec<[String; 4]> = catalog
        .patterns()
        .map(|p| {
            let id = if p.attachable {
                format!("{} (attach)", p.id)
            } else {
                p.id.clone()
            };
            [
                id,
                p.family.as_str().to_string(),
                p.chapter.to_string(),
                p.summary.clone(),
            ]
        })
        .collect();
    let header = ["PATTERN", "FAMILY", "BOOK", "SUMMARY"].map(String::from);
    let width = |i: usize| {
        rows.iter()
            .chain([&header])
            .map(|r| r[i].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    for row in [&header].into_iter().chain(&rows) {
        writeln!(
            out,
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0], row[1], row[2], row[3]
        )
        .map_err(io_err)?;
    }
    Ok(())
}

/// `dpatterns show PATTERN`: everything a user needs to pick and configure a pattern.
pub fn show(catalog: &Catalog, id: &str, out: &mut dyn Write) -> Result<()> {
    let pattern = catalog
        .pattern(id)
        .ok_or_else(|| Error::unknown_pattern(id, catalog.pattern_ids()))?;
    let mut text = String::new();
    text.push_str(&format!("{} — {}\n", pattern.id, pattern.summary));
    text.push_str(&format!(
        "family: {}   book: {}{}\n\n",
        pattern.family.as_str(),
        pattern.chapter,
        if pattern.attachable {
            "   attachable: yes (use under `attach:`)"
        } else {
            ""
        }
    ));
    text.push_str(pattern.intent.trim_end());
    text.push_str("\n\nCONTAINERS\n");
    for c in &pattern.containers {
        text.push_str(&format!("  {:<12} {}\n", c.name, c.role));
    }
    text.push_str("\nPARAMETERS\n");
    if pattern.params.is_empty() {
        text.push_str("  (none)\n");
    }
    let w = pattern
        .params
        .iter()
        .map(|p| p.name.len())
        .max()
        .unwrap_or(0)
        .max(12);
    for p in &pattern.params {
        let default = match &p.default {
            Some(d) => format!("default {d}"),
            None if p.optional => "optional".to_string(),
            None => "required".to_string(),
        };
        text.push_str(&format!(
            "  {:<w$}  {} ({default})\n",
            p.name,
            p.type_label()
        ));
        text.push_str(&format!("  {:<w$}  {}\n", "", p.help));
    }
    if let Some(example) = catalog.example(id) {
        text.push_str("\nOBJECTS (for the example below)\n");
        let spec = spec::parse(SourceFile::new(format!("{id}/example.yaml"), example))?;
        let rendered = crate::pipeline::run(&spec, catalog)?;
        for o in &rendered.objects {
            text.push_str(&format!("  {:<24} {}\n", o.kind(), o.name()));
        }
        text.push_str("\nEXAMPLE\n");
        for line in example.lines() {
            text.push_str(&format!("  {line}\n"));
        }
    }
    out.write_all(text.as_bytes()).map_err(io_err)
}

/// `dpatterns schema`: the spec's JSON Schema.
pub fn schema(catalog: &Catalog, out: &mut dyn Write) -> Result<()> {
    let schema = crate::json_schema::json_schema(catalog);
    let text = serde_json::to_string_pretty(&schema).expect("a schema serializes");
    writeln!(out, "{text}").map_err(io_err)
}

/// `dpatterns eject PATTERN [DIR]`: copies templates out for `--templates DIR`, through
/// the same transaction as a render: every file or none, never through a symbolic link.
pub fn eject(
    catalog: &Catalog,
    id: &str,
    dir: &Path,
    force: bool,
    out: &mut dyn Write,
) -> Result<()> {
    if id != crate::catalog::COMMON && catalog.pattern(id).is_none() {
        return Err(Error::unknown_pattern(id, catalog.pattern_ids()));
    }
    let target = dir.join(id);
    if std::fs::symlink_metadata(&target).is_ok() && !force {
        return Err(Error::EjectExists { path: target });
    }
    if let Some(note) = transaction::recover(dir)? {
        writeln!(out, "note: {note}").map_err(io_err)?;
    }
    let prefix = format!("{id}/");
    let changes: Vec<Change<'_>> = catalog
        .files_under(&prefix)
        .map(|(path, file)| Change {
            path,
            contents: Some(&file.contents),
        })
        .collect();
    transaction::apply(dir, &changes)?;
    for change in &changes {
        writeln!(out, "wrote {}", dir.join(change.path).display()).map_err(io_err)?;
    }
    writeln!(
        out,
        "ejected {} files; edit them and render with `--templates {}`",
        changes.len(),
        dir.display()
    )
    .map_err(io_err)
}
