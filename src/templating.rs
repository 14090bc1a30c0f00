//! Templates to text, in memory: every template of the catalog that applies to the model is
//! rendered with handlebars in strict mode (a missing variable is an error, not an empty
//! string) and without HTML escaping (which would corrupt YAML and Rust). Nothing here
//! touches the disk; manifests are handed on as text for `manifest` to parse and check.

use handlebars::{
    Context, Handlebars, Helper, HelperResult, Output, RenderContext, RenderErrorReason,
    Renderable, no_escape,
};
use serde_json::{Value, json};

use crate::catalog::{COMMON, Catalog};
use crate::error::{Error, Result};
use crate::model::{Component, Program, System};
use crate::{TOOL_NAME, TOOL_VERSION};

/// A rendered text file of the project (code, docs, CI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFile {
    pub path: String,
    pub contents: String,
}

/// A rendered manifest template: YAML text, to be parsed into objects.
#[derive(Debug, Clone)]
pub struct ManifestText {
    /// The catalog path of the template, for errors.
    pub template: String,
    /// The component whose `k8s/<component>.yaml` receives the objects; `None` for
    /// system-wide objects (`_common/k8s`).
    pub component: Option<String>,
    /// Set when the template belongs to a pattern attached to `component`.
    pub attachment: Option<String>,
    pub text: String,
}

#[derive(Debug, Default)]
pub struct RenderedTemplates {
    pub manifests: Vec<ManifestText>,
    pub files: Vec<TextFile>,
}

/// Renders every applicable template of the catalog for the system.
pub fn render_templates(system: &System, catalog: &Catalog) -> Result<RenderedTemplates> {
    let hb = registry(catalog, system)?;
    let tool = json!({"name": TOOL_NAME, "version": TOOL_VERSION});
    let system_ctx = system.system_context();
    let base = Context::from(json!({
        "tool": tool,
        "system": system_ctx,
        "catalog": catalog.shared(),
        "ci": {
            "install": system.dpatterns.install_args(),
            "templates": catalog.project_templates(),
        },
    }));
    let mut out = RenderedTemplates::default();

    let has_services = system.programs().next().is_some();
    for (path, _) in catalog.files_under("_common/project/") {
        let Some(rel) = output_rel(path, "_common/project/") else {
            continue;
        };
        if rel.starts_with("services/") && !has_services {
            continue;
        }
        out.files.push(TextFile {
            path: rel.to_string(),
            contents: render_one(&hb, catalog, path, &base)?,
        });
    }
    for (path, _) in catalog.files_under("_common/k8s/") {
        if path.ends_with(".yaml.hbs") {
            out.manifests.push(ManifestText {
                template: path.to_string(),
                component: None,
                attachment: None,
                text: render_one(&hb, catalog, path, &base)?,
            });
        }
    }

    // Components render independently: one context per worker, changed in place.
    let parts = crate::par::map_with(
        &system.components,
        || base.clone(),
        |ctx, component| {
            let mut part = RenderedTemplates::default();
            render_component(&hb, catalog, system, component, ctx, &mut part).map(|()| part)
        },
    );
    for part in parts {
        let part = part?;
        out.manifests.extend(part.manifests);
        out.files.extend(part.files);
    }
    // The crates of attachable patterns: one per program, whatever number of hosts.
    let mut ctx = base.clone();
    for program in &system.shared_programs {
        render_program(&hb, catalog, program, &mut ctx, &mut out)?;
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

fn render_component(
    hb: &Handlebars<'static>,
    catalog: &Catalog,
    system: &System,
    component: &Component,
    ctx: &mut Context,
    out: &mut RenderedTemplates,
) -> Result<()> {
    ctx.data_mut()["component"] = system.component_context(component);

    render_manifests(hb, catalog, &component.pattern, component, None, ctx, out)?;
    for program in &component.programs {
        render_program(hb, catalog, program, ctx, out)?;
    }
    for attachment in &component.attachments {
        ctx.data_mut()["attachment"] = attachment.context(&component.name);
        let pattern = Some(attachment.pattern.as_str());
        render_manifests(
            hb,
            catalog,
            &attachment.pattern,
            component,
            pattern,
            ctx,
            out,
        )?;
    }
    if let Some(m) = ctx.data_mut().as_object_mut() {
        m.remove("attachment");
    }
    Ok(())
}

/// The manifest templates of `pattern` for `component`'s file; `attachment` names the
/// attachable pattern when the component is its host.
fn render_manifests(
    hb: &Handlebars<'static>,
    catalog: &Catalog,
    pattern: &str,
    component: &Component,
    attachment: Option<&str>,
    ctx: &Context,
    out: &mut RenderedTemplates,
) -> Result<()> {
    for (path, _) in catalog.files_under(&format!("{pattern}/k8s/")) {
        if path.ends_with(".yaml.hbs") {
            out.manifests.push(ManifestText {
                template: path.to_string(),
                component: Some(component.name.clone()),
                attachment: attachment.map(str::to_string),
                text: render_one(hb, catalog, path, ctx)?,
            });
        }
    }
    Ok(())
}

/// A program's crate: `<dir>/**.hbs` -> `services/<crate>/**`, with `program` in the
/// context beside whatever the caller put there (the owning `component`, if any).
fn render_program(
    hb: &Handlebars<'static>,
    catalog: &Catalog,
    program: &Program,
    ctx: &mut Context,
    out: &mut RenderedTemplates,
) -> Result<()> {
    ctx.data_mut()["program"] = program.context();
    for (path, _) in catalog.files_under(&program.dir) {
        let Some(rel) = output_rel(path, &program.dir) else {
            continue;
        };
        let contents = render_one(hb, catalog, path, ctx)?;
        // A source file that renders empty (its whole text inside a false `{{#if}}`) is
        // left out, so a crate holds only the code its component's parameters call for.
        if contents.trim().is_empty() {
            continue;
        }
        out.files.push(TextFile {
            path: format!("services/{}/{rel}", program.crate_name),
            contents,
        });
    }
    if let Some(m) = ctx.data_mut().as_object_mut() {
        m.remove("program");
    }
    Ok(())
}

/// `_common/project/services/Cargo.toml.hbs` -> `services/Cargo.toml`.
fn output_rel<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    path.strip_prefix(prefix)?.strip_suffix(".hbs")
}

fn render_one(
    hb: &Handlebars<'static>,
    catalog: &Catalog,
    path: &str,
    ctx: &Context,
) -> Result<String> {
    if !hb.has_template(path) {
        // No `{{` in it: the file is its own output.
        return Ok(catalog
            .file(path)
            .map(|f| f.contents.clone())
            .unwrap_or_default());
    }
    hb.render_with_context(path, ctx)
        .map_err(|e| template_error(catalog, path, &e))
}

fn template_error(catalog: &Catalog, path: &str, e: &handlebars::RenderError) -> Error {
    let place = match (e.line_no, e.column_no) {
        (Some(l), Some(c)) => format!(" (line {l}, column {c})"),
        _ => String::new(),
    };
    let what = match e.reason() {
        RenderErrorReason::MissingVariable(Some(var)) => format!("variable `{var}` is not defined"),
        RenderErrorReason::MissingVariable(None) => {
            "a value read with `lookup` or inside a helper is not defined".to_string()
        }
        RenderErrorReason::ParamNotFoundForIndex(helper, i) => format!(
            "argument {} of `{helper}` is not defined (strict mode: every variable must exist)",
            i + 1
        ),
        RenderErrorReason::ParamNotFoundForName(helper, name) => {
            format!("argument `{name}` of `{helper}` is not defined")
        }
        other => other.to_string(),
    };
    // The offending line of the template, so the expression can be seen at once.
    let source_line = e
        .line_no
        .and_then(|l| {
            catalog
                .file(path)?
                .contents
                .lines()
                .nth(l.saturating_sub(1))
        })
        .map(|line| format!(": `{}`", line.trim()))
        .unwrap_or_default();
    Error::Template {
        template: e.template_name.clone().unwrap_or_else(|| path.to_string()),
        message: format!("{what}{place}{source_line}"),
        blame: blame_of(catalog, path),
    }
}

fn blame_of(catalog: &Catalog, path: &str) -> crate::error::Blame {
    catalog
        .file(path)
        .map_or(crate::error::Blame::Dpatterns, |f| f.blame.clone())
}

/// An empty registry with the rules every template renders under: strict mode (a missing
/// variable is an error, not an empty string), no HTML escaping, and our helpers.
fn configured_handlebars() -> Handlebars<'static> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(no_escape);
    hb.register_helper("json", Box::new(json_helper));
    hb.register_helper("add", Box::new(add_helper));
    hb.register_helper("times", Box::new(times_helper));
    hb.register_helper("concat", Box::new(concat_helper));
    hb.register_helper("percent", Box::new(percent_helper));
    hb
}

/// One handlebars registry holding the shared templates and partials and those of the
/// patterns the system uses. Files without `{{` are not compiled: they are copied.
fn registry(catalog: &Catalog, system: &System) -> Result<Handlebars<'static>> {
    let mut used: Vec<String> = vec![format!("{COMMON}/")];
    for c in &system.components {
        used.push(format!("{}/", c.pattern));
        used.extend(c.attachments.iter().map(|a| format!("{}/", a.pattern)));
    }
    used.sort();
    used.dedup();
    let mut hb = configured_handlebars();
    let partials = format!("{COMMON}/partials/");
    let files = used.iter().flat_map(|prefix| catalog.files_under(prefix));
    for (path, file) in files {
        if !path.ends_with(".hbs") || !file.contents.contains("{{") {
            continue;
        }
        let result = match path.strip_prefix(&partials) {
            Some(name) => hb.register_partial(name.trim_end_matches(".hbs"), &file.contents),
            None => hb.register_template_string(path, &file.contents),
        };
        result.map_err(|e| Error::Template {
            template: path.to_string(),
            message: e.to_string(),
            blame: file.blame.clone(),
        })?;
    }
    Ok(hb)
}

/// `{{json value}}`: the value as compact JSON, which is also valid flow-style YAML.
fn json_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let value = h
        .param(0)
        .ok_or(RenderErrorReason::ParamNotFoundForIndex("json", 0))?;
    out.write(&serde_json::to_string(value.value()).map_err(RenderErrorReason::SerdeError)?)?;
    Ok(())
}

/// An integer argument of `add` or `percent`: a number, or the text of one, which is what
/// another helper gives as a subexpression (`{{add (percent ms 10) 5}}`).
fn integer_param(h: &Helper, index: usize) -> Option<i64> {
    let value = h.param(index)?.value();
    value
        .as_i64()
        .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
}

/// `{{add a b}}`: integer addition, for ordinals and port offsets.
fn add_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let mut sum = 0i64;
    for index in 0..h.params().len() {
        sum += integer_param(h, index)
            .ok_or(RenderErrorReason::InvalidParamType("add takes integers"))?;
    }
    out.write(&sum.to_string())?;
    Ok(())
}

/// `{{concat a b …}}`: strings and numbers joined into one string; as a subexpression
/// it builds a value to hand a partial (`listen=(concat "0.0.0.0:" component.params.port)`),
/// which handlebars cannot do otherwise.
fn concat_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let mut joined = String::new();
    for p in h.params() {
        match p.value() {
            Value::String(s) => joined.push_str(s),
            Value::Number(n) => joined.push_str(&n.to_string()),
            _ => {
                return Err(RenderErrorReason::InvalidParamType(
                    "concat takes strings and numbers",
                )
                .into());
            }
        }
    }
    out.write(&joined)?;
    Ok(())
}

/// `{{percent a p}}`: `p` percent of the integer `a`, rounded down, for sizes derived from
/// another (a cache's storage from its container's memory request).
fn percent_helper(
    h: &Helper,
    _: &Handlebars,
    _: &Context,
    _: &mut RenderContext,
    out: &mut dyn Output,
) -> HelperResult {
    let int = |i: usize| {
        integer_param(h, i).ok_or(RenderErrorReason::InvalidParamType(
            "percent takes two integers",
        ))
    };
    let (value, pct) = (int(0)?, int(1)?);
    let share = i128::from(value) * i128::from(pct) / 100;
    out.write(&share.to_string())?;
    Ok(())
}

/// `{{#times n}}…{{@index}}…{{/times}}`: repeats a block n times (shards, leaves).
fn times_helper<'reg, 'rc>(
    h: &Helper<'rc>,
    hb: &'reg Handlebars<'reg>,
    ctx: &'rc Context,
    rc: &mut RenderContext<'reg, 'rc>,
    out: &mut dyn Output,
) -> HelperResult {
    let n = h
        .param(0)
        .and_then(|p| p.value().as_u64())
        .ok_or(RenderErrorReason::InvalidParamType("times takes a count"))?;
    let Some(template) = h.template() else {
        return Ok(());
    };
    for i in 0..n {
        let mut block = handlebars::BlockContext::new();
        block.set_local_var("index", json!(i));
        block.set_local_var("first", json!(i == 0));
        block.set_local_var("last", json!(i + 1 == n));
        rc.push_block(block);
        template.render(hb, ctx, rc, out)?;
        rc.pop_block();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(src: &str) -> Handlebars<'static> {
        let mut hb = configured_handlebars();
        hb.register_template_string("t", src).unwrap();
        hb
    }

    #[test]
    fn strict_mode_fails_on_a_missing_variable() {
        let err = hb("a: {{nope}}").render("t", &json!({})).unwrap_err();
        assert!(matches!(
            err.reason(),
            RenderErrorReason::MissingVariable(_)
        ));
    }

    #[test]
    fn no_html_escaping_and_raw_blocks_pass_braces_through() {
        let out = hb("{{x}} {{{{raw}}}}${{ github.sha }}{{{{/raw}}}}")
            .render("t", &json!({"x": "<a&b>"}))
            .unwrap();
        assert_eq!(out, "<a&b> ${{ github.sha }}");
    }

    #[test]
    fn json_add_and_times_helpers() {
        let out = hb(
            "{{json m}} {{add 1 2}} {{#times 3}}{{@index}}{{#unless @last}},{{/unless}}{{/times}}",
        )
        .render("t", &json!({"m": {"k": "v"}}))
        .unwrap();
        assert_eq!(out, "{\"k\":\"v\"} 3 0,1,2");
    }

    #[test]
    fn concat_joins_strings_and_numbers_also_as_a_partial_argument() {
        let mut hb = hb("{{concat name \"-shard-\" 2}} {{> p listen=(concat \"0.0.0.0:\" port)}}");
        hb.register_partial("p", "[{{listen}}]").unwrap();
        let out = hb
            .render("t", &json!({"name": "items", "port": 11211}))
            .unwrap();
        assert_eq!(out, "items-shard-2 [0.0.0.0:11211]");
        let err = hb
            .render("t", &json!({"name": ["x"], "port": 1}))
            .unwrap_err();
        assert!(
            err.to_string().contains("concat takes strings and numbers"),
            "{err}"
        );
    }

    #[test]
    fn percent_takes_a_share_of_an_integer_rounded_down() {
        let out = hb("{{percent m 70}} {{percent 255 50}} {{percent 0 5}}")
            .render("t", &json!({"m": 1000}))
            .unwrap();
        assert_eq!(out, "700 127 0");
        assert!(
            hb("{{percent m 5}}")
                .render("t", &json!({"m": "x"}))
                .is_err()
        );
    }

    #[test]
    fn arithmetic_helpers_compose_as_subexpressions() {
        // Milliseconds to whole seconds, plus a margin: a helper's output is text, which
        // the next one reads as the integer it holds.
        let out = hb("{{add (percent (percent ms 10) 1) 5}}")
            .render("t", &json!({"ms": 61_999}))
            .unwrap();
        assert_eq!(out, "66");
        assert!(
            hb("{{add (concat \"x\") 1}}")
                .render("t", &json!({}))
                .is_err()
        );
    }
}
