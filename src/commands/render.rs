//! `render` and `validate`: the main job and its in-memory twin.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde_json::json;

use super::{io_err, load_spec};
use crate::catalog::Catalog;
use crate::error::{Error, Result, plural};
use crate::output::{Action, Plan, SpecFile, transaction};
use crate::pipeline;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    pub spec: PathBuf,
    /// Output directory; the spec's folder when `None`.
    pub out: Option<PathBuf>,
    pub check: bool,
    pub dry_run: bool,
    pub force: bool,
    pub format: Format,
    pub verbosity: Verbosity,
}

/// How much `render` says: `-q` only errors, default the changes, `-v` every file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// The spec's own folder (`-o` default): `demo/dpatterns.yaml` renders into `demo/`.
pub fn spec_dir(spec: &Path) -> PathBuf {
    match spec.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Renders, then writes, checks or only plans. Returns the exit code: 0, or 1 when
/// `--check` finds drift.
pub fn render_command(opts: &RenderOptions, catalog: &Catalog, out: &mut dyn Write) -> Result<i32> {
    let spec = load_spec(&opts.spec)?;
    let dir = opts.out.clone().unwrap_or_else(|| spec_dir(&opts.spec));
    let mut catalog = catalog.clone();
    if let Err(folder) = catalog.placed_in(&dir)
        && opts.verbosity > Verbosity::Quiet
    {
        warn_catalog_outside(&folder, &dir);
    }
    let rendered = pipeline::run(&spec, &catalog)?;
    apply_rendered(opts, &spec.source.text, None, &rendered, out)
}

/// The CI workflow can set `DPATTERNS_TEMPLATES` only to a catalog inside the project's
/// repository; one outside makes its `render --check` fail with `unknown pattern`.
pub(super) fn warn_catalog_outside(folder: &str, project: &Path) {
    eprintln!(
        "warning: the catalog {folder} lies outside {}: the scaffolded CI workflow cannot \
         find it, and its `dpatterns render --check` will fail with `unknown pattern`; keep \
         the catalog inside the project and render with `--templates` pointing there",
        project.display()
    );
}

/// Plans, then writes, checks or only reports an in-memory render of `spec_text`. With
/// `write_spec` (`new`), the spec is written at that path inside the folder, in the same
/// transaction as the rendered files.
pub(super) fn apply_rendered(
    opts: &RenderOptions,
    spec_text: &str,
    write_spec: Option<&str>,
    rendered: &pipeline::Rendered,
    out: &mut dyn Write,
) -> Result<i32> {
    let dir = opts.out.clone().unwrap_or_else(|| spec_dir(&opts.spec));
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!(
            "{} is not a directory",
            dir.display()
        )));
    }
    let writes = !opts.check && !opts.dry_run;
    // An interrupted render is finished or undone before the folder is compared, so the
    // plan sees the folder as before or as after it, never half-way.
    let recovered = if writes {
        transaction::recover(&dir)?
    } else {
        None
    };
    let interrupted = !writes && transaction::pending(&dir);
    let spec_path = write_spec
        .map(str::to_string)
        .or_else(|| spec_inside(&dir, &opts.spec));
    let spec = SpecFile {
        path: spec_path.as_deref(),
        text: spec_text,
        write: write_spec.is_some(),
    };
    let plan = Plan::compute(&dir, &rendered.files, spec, opts.force && !opts.check)?;
    let drifted: Vec<_> = plan.drift().collect();
    let drift = interrupted || !drifted.is_empty();
    if opts.format == Format::Text && opts.verbosity > Verbosity::Quiet {
        print_warnings(&rendered.warnings);
    }

    if opts.format == Format::Json {
        let mut report = json!({
            "system": rendered.system.name,
            "dir": dir.display().to_string(),
            "mode": if opts.check { "check" } else if opts.dry_run { "dry-run" } else { "write" },
            "files": plan.entries,
            "drift": drift,
            "warnings": rendered.warnings,
        });
        if let Some(note) = &recovered {
            report["recovered"] = json!(note);
        }
        if interrupted {
            report["interrupted"] = json!(true);
        }
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&report).expect("serializes")
        )
        .map_err(io_err)?;
    }
    let text = opts.format == Format::Text && opts.verbosity > Verbosity::Quiet;
    if text {
        if let Some(note) = &recovered {
            writeln!(out, "note: {note}").map_err(io_err)?;
        }
        if interrupted {
            writeln!(
                out,
                "{}: a render was interrupted in {} ({}); `dpatterns render` finishes or undoes it",
                if opts.check { "drift" } else { "note" },
                dir.display(),
                transaction::JOURNAL
            )
            .map_err(io_err)?;
        }
    }

    if opts.check {
        if text {
            for e in &drifted {
                writeln!(out, "drift: {} would be {}", e.path, past_tense(e.action))
                    .map_err(io_err)?;
            }
            if !drift {
                writeln!(
                    out,
                    "ok: {} is up to date ({})",
                    dir.display(),
                    plural(plan.entries.len(), "file")
                )
                .map_err(io_err)?;
            } else if !drifted.is_empty() {
                writeln!(
                    out,
                    "{} in {} {} from {}; run `dpatterns render` and commit the result",
                    plural(drifted.len(), "file"),
                    dir.display(),
                    if drifted.len() == 1 {
                        "differs"
                    } else {
                        "differ"
                    },
                    opts.spec.display()
                )
                .map_err(io_err)?;
            }
        }
        return Ok(if drift { 1 } else { 0 });
    }

    if writes {
        plan.apply()?;
    }
    if opts.format == Format::Text {
        print_plan(&plan, opts, out)?;
    }
    // Conflicts are written, but the project is not done until someone resolves them.
    let conflicts = plan.count(Action::Conflict);
    if conflicts > 0 && text {
        writeln!(
            out,
            "{} merge conflicts: edit the lines between `<<<<<<< your edits` and `>>>>>>> new render`, then render again",
            if conflicts == 1 { "1 file has".to_string() } else { format!("{conflicts} files have") }
        )
        .map_err(io_err)?;
    }
    Ok(if conflicts > 0 { 1 } else { 0 })
}

/// The spec's path relative to the output folder, when it lies inside it: the one file
/// there that a render must never write and the lock must never name.
fn spec_inside(dir: &Path, spec: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let folder = spec_dir(spec).canonicalize().ok()?;
    let rel = folder.strip_prefix(&dir).ok()?.join(spec.file_name()?);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_str().map(str::to_string))
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// Warnings go to stderr, beside errors, so stdout stays the plan.
fn print_warnings(warnings: &[crate::patch_checks::Warning]) {
    let mut stderr = std::io::stderr().lock();
    for w in warnings {
        let _ = writeln!(stderr, "warning: {w}");
    }
}

fn past_tense(action: Action) -> &'static str {
    match action {
        Action::Create => "created",
        Action::Update | Action::Overwrite => "updated",
        Action::Merge => "merged with your edits",
        Action::Conflict => "merged with your edits, with conflicts",
        Action::Delete => "deleted",
        _ => "left alone",
    }
}

/// A manifest where dpatterns wrote them before the base and overlays (`k8s/api.yaml`).
fn old_layout(path: &str) -> bool {
    path.strip_prefix("k8s/")
        .is_some_and(|rest| !rest.contains('/') && rest.ends_with(".yaml"))
}

fn print_plan(plan: &Plan, opts: &RenderOptions, out: &mut dyn Write) -> Result<()> {
    if opts.verbosity == Verbosity::Quiet {
        return Ok(());
    }
    for e in &plan.entries {
        if e.action == Action::Unchanged && opts.verbosity < Verbosity::Verbose {
            continue;
        }
        {
            let note = match e.action {
                Action::KeptEdited => "  (you edited it; --force overwrites)",
                Action::KeptExisting => "  (it was there before; --force overwrites)",
                Action::KeptOrphan if old_layout(&e.path) => {
                    "  (manifests moved to k8s/base/, environments to k8s/overlays/<env>/; this old one holds your edits: carry them into dpatterns.yaml, then delete it)"
                }
                Action::Delete if old_layout(&e.path) => {
                    "  (manifests moved to k8s/base/, environments to k8s/overlays/<env>/)"
                }
                Action::KeptOrphan => {
                    "  (no longer generated; kept: delete it when you no longer need it)"
                }
                Action::Merge => "  (your edits merged with the new render)",
                Action::Conflict => {
                    "  (your edits and the new render both change the same lines: resolve the markers)"
                }
                _ => "",
            };
            writeln!(out, "{:<10} {}{note}", e.action.label(), e.path).map_err(io_err)?;
        }
    }
    let counts = [
        (Action::Create, "created"),
        (Action::Update, "updated"),
        (Action::Overwrite, "overwritten"),
        (Action::Merge, "merged"),
        (Action::Conflict, "with conflicts"),
        (Action::Delete, "deleted"),
        (Action::Unchanged, "unchanged"),
        (Action::KeptEdited, "kept"),
        (Action::KeptExisting, "kept as found"),
        (Action::KeptOrphan, "orphaned"),
    ];
    let summary: Vec<String> = counts
        .iter()
        .filter(|(a, _)| {
            plan.count(*a) > 0 || matches!(a, Action::Create | Action::Update | Action::Unchanged)
        })
        .map(|(a, word)| format!("{} {word}", plan.count(*a)))
        .collect();
    let verb = if opts.dry_run {
        "dry run, nothing written"
    } else {
        "rendered"
    };
    writeln!(
        out,
        "{verb}: {} ({})",
        plan.dir.display(),
        summary.join(", ")
    )
    .map_err(io_err)
}

/// `dpatterns validate`: the spec and every check of the output, nothing written. Returns
/// 0 when all pass, 1 when a check of the output fails; spec errors stay errors (2).
pub fn validate_command(
    spec_path: &Path,
    catalog: &Catalog,
    format: Format,
    out: &mut dyn Write,
) -> Result<i32> {
    let spec = load_spec(spec_path)?;
    match pipeline::run(&spec, catalog) {
        Ok(rendered) => {
            let files = rendered.files.len();
            let objects = rendered.objects.len();
            // The lint's findings are warnings here: they never change the verdict of
            // `validate`, which is about what the API server and the checks accept. Notes
            // are left to `lint` itself (and the JSON), so that a plain spec validates
            // quietly.
            let lint = crate::lint::lint(&spec, catalog, &rendered);
            if format == Format::Text {
                print_warnings(&rendered.warnings);
                let mut stderr = std::io::stderr().lock();
                let shown = lint
                    .findings
                    .iter()
                    .filter(|f| f.severity() != crate::lint::Severity::Note);
                for f in shown {
                    let _ = writeln!(
                        stderr,
                        "warning: {} ({} of `dpatterns lint`, which shows the fix)",
                        f.one_line(),
                        f.severity()
                    );
                }
            }
            match format {
                Format::Json => writeln!(
                    out,
                    "{}",
                    json!({"ok": true, "files": files, "objects": objects, "failures": [], "warnings": rendered.warnings, "lint": lint.to_json()["findings"]})
                )
                .map_err(io_err)?,
                Format::Text => writeln!(
                    out,
                    "ok: {} valid; {} in {} passed every check",
                    spec_path.display(),
                    plural(objects, "object"),
                    plural(files, "file")
                )
                .map_err(io_err)?,
            }
            Ok(0)
        }
        Err(Error::Verify { failures, blame }) => {
            match format {
                Format::Json => writeln!(out, "{}", json!({"ok": false, "failures": failures}))
                    .map_err(io_err)?,
                Format::Text => {
                    for f in &failures {
                        writeln!(out, "fail: {f}").map_err(io_err)?;
                    }
                    let who = match blame {
                        None => "the spec's patches or defaults".to_string(),
                        Some(crate::error::Blame::Dpatterns) => {
                            "dpatterns' own templates (a bug; please report it)".to_string()
                        }
                        Some(crate::error::Blame::UserTemplates(d)) => {
                            format!("the templates in {}", d.display())
                        }
                    };
                    writeln!(
                        out,
                        "{} failed; the cause is in {who}",
                        plural(failures.len(), "check")
                    )
                    .map_err(io_err)?;
                }
            }
            Ok(1)
        }
        Err(e) => Err(e),
    }
}
