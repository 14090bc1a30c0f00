//! `dpatterns new DIR`: writes a spec (asking for what is missing when a person is at the
//! terminal) and renders it. The questions only ever fill in the spec; everything else is
//! the same render as `dpatterns render`.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use serde_json::{Value, json};

use super::render::{Format, RenderOptions, Verbosity, apply_rendered};
use super::sets::{Sets, apply_sets, differs_from, floor_param, param_value, parse_sets};
use super::{DEFAULT_SPEC, io_err};
use crate::catalog::{Catalog, Pattern};
use crate::error::{Error, Result};
use crate::names::{check_dns_label, to_dns_label};
use crate::network::{HOST_PARAM, PUBLIC_PARAM, TLS_SECRET_PARAM};
use crate::params::{ParamDef, ParamKind};
use crate::prompt::{Ask, Prompter};
use crate::source::SourceFile;
use crate::spec::{self, AttachSpec, ComponentSpec, SpecDoc};

#[derive(Debug, Clone, Default)]
pub struct NewOptions {
    pub dir: PathBuf,
    pub patterns: Vec<String>,
    /// `--set param=value` or `--set component.param=value`.
    pub sets: Vec<String>,
    pub force: bool,
    pub format: Format,
    pub verbosity: Verbosity,
}

/// The embedded default system, rendered when `new` gets no pattern and asks nothing.
const DEFAULT_SYSTEM: &str = "_common/new/default.yaml";

pub fn new_project(
    opts: &NewOptions,
    catalog: &Catalog,
    prompter: Ask<'_>,
    out: &mut dyn Write,
) -> Result<i32> {
    let spec_path = opts.dir.join(DEFAULT_SPEC);
    if std::fs::symlink_metadata(&spec_path).is_ok() && !opts.force {
        return Err(Error::Usage {
            message: format!("{} already exists", spec_path.display()),
            help: Some(format!(
                "run `dpatterns render -f {}` to render it, or pass --force to start over",
                spec_path.display()
            )),
        });
    }
    let sets = parse_sets(&opts.sets)?;
    let dir_name = opts
        .dir
        .canonicalize()
        .ok()
        .or_else(|| Some(opts.dir.clone()))
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "system".into());
    let default_name = to_dns_label(&dir_name);

    let text = match (opts.patterns.is_empty(), prompter) {
        (true, None) => {
            let template = catalog
                .file(DEFAULT_SYSTEM)
                .ok_or_else(|| Error::Catalog {
                    path: DEFAULT_SYSTEM.into(),
                    message: "the catalog has no default system".into(),
                })?
                .contents
                .replace("__NAME__", &crate::yaml_out::scalar(&default_name));
            if sets.is_empty() {
                template
            } else {
                let mut doc = parse_doc(&template)?;
                apply_sets(&mut doc, &sets, catalog)?;
                spec::to_yaml(&doc)
            }
        }
        (_, prompter) => {
            let mut doc = build_doc(opts, catalog, &default_name, &sets, prompter)?;
            apply_sets(&mut doc, &sets, catalog)?;
            spec::to_yaml(&doc)
        }
    };

    // Render in memory first, so bad input writes nothing at all.
    let source = SourceFile::new(spec_path.display().to_string(), text.clone());
    let loaded = spec::parse(source)?;
    let mut catalog = catalog.clone();
    if let Err(folder) = catalog.placed_in(&opts.dir)
        && opts.verbosity > Verbosity::Quiet
    {
        super::render::warn_catalog_outside(&folder, &opts.dir);
    }
    let rendered = crate::pipeline::run(&loaded, &catalog)?;

    // The spec is written in the same transaction as the files rendered from it: if any
    // of them cannot be written, the folder (and a spec that `--force` would replace) stays
    // as it was.
    let render = RenderOptions {
        spec: spec_path.clone(),
        out: Some(opts.dir.clone()),
        force: opts.force,
        format: opts.format,
        verbosity: opts.verbosity,
        ..RenderOptions::default()
    };
    let code = apply_rendered(&render, &text, Some(DEFAULT_SPEC), &rendered, out)?;
    if opts.format == Format::Text && opts.verbosity > Verbosity::Quiet {
        writeln!(
            out,
            "next steps, to running pods on a local cluster (README.md says more):"
        )
        .map_err(io_err)?;
        for line in super::next_steps::next_steps(&opts.dir, &rendered) {
            writeln!(out, "  {line}").map_err(io_err)?;
        }
    }
    Ok(code)
}

fn parse_doc(text: &str) -> Result<SpecDoc> {
    Ok(spec::parse(SourceFile::new(DEFAULT_SYSTEM, text))?.doc)
}

fn build_doc(
    opts: &NewOptions,
    catalog: &Catalog,
    default_name: &str,
    sets: &Sets,
    mut prompter: Ask<'_>,
) -> Result<SpecDoc> {
    let name = match prompter.as_deref_mut() {
        Some(p) => p.input("System name", Some(default_name), &|s| check_dns_label(s))?,
        None => default_name.to_string(),
    };
    let mut patterns: Vec<&Pattern> = Vec::new();
    for id in &opts.patterns {
        let pattern = catalog
            .pattern(id)
            .ok_or_else(|| Error::unknown_pattern(id, catalog.pattern_ids()))?;
        patterns.push(pattern);
        // A pattern that does nothing alone brings what it works with (monitoring: a
        // service to watch), unless the user asked for that pattern too.
        for with in &pattern.new_with {
            if !opts.patterns.contains(with) {
                patterns.push(
                    catalog
                        .pattern(with)
                        .ok_or_else(|| Error::unknown_pattern(with, catalog.pattern_ids()))?,
                );
            }
        }
    }
    let standalone: Vec<&Pattern> = catalog.patterns().filter(|p| !p.attachable).collect();
    let mut components: Vec<ComponentSpec> = Vec::new();
    let mut queue = patterns.into_iter();
    loop {
        let pattern = match (queue.next(), prompter.as_deref_mut()) {
            (Some(p), _) => p,
            (None, Some(p)) if opts.patterns.is_empty() => {
                if !components.is_empty() && !p.confirm("Add another component?", false)? {
                    break;
                }
                let items: Vec<String> = standalone
                    .iter()
                    .map(|p| format!("{} — {}", p.id, p.summary))
                    .collect();
                standalone[p.select("Pattern", &items, 0)?]
            }
            _ => break,
        };
        // An attachable pattern is rendered attached to a host of the pattern it names.
        let (pattern, attached) = if pattern.attachable {
            let host_id = pattern.new_host.as_deref().unwrap_or(DEFAULT_NEW_HOST);
            let host = catalog
                .pattern(host_id)
                .ok_or_else(|| Error::unknown_pattern(host_id, catalog.pattern_ids()))?;
            (host, Some(pattern))
        } else {
            (pattern, None)
        };
        let taken: Vec<String> = components.iter().map(|c| c.name.clone()).collect();
        let mut component_name = fresh_name(pattern, &taken);
        if let Some(p) = prompter.as_deref_mut() {
            component_name = p.input(
                &format!("Name of the {} component", pattern.id),
                Some(&component_name),
                &|s| {
                    check_dns_label(s)?;
                    if taken.iter().any(|t| t == s) {
                        return Err(format!("`{s}` is taken"));
                    }
                    Ok(())
                },
            )?;
        }
        let mut targets = Targets {
            components: &mut components,
            catalog,
            sets,
        };
        let params = targets.params(pattern, &component_name, prompter.as_deref_mut())?;
        let mut attach = Vec::new();
        if let Some(a) = attached {
            let params = targets.params(a, &component_name, prompter.as_deref_mut())?;
            attach.push(AttachSpec {
                pattern: a.id.clone(),
                params,
                image: None,
            });
        } else if let Some(p) = prompter.as_deref_mut() {
            let attachable: Vec<&Pattern> = catalog.patterns().filter(|p| p.attachable).collect();
            if !attachable.is_empty() {
                let mut items = vec!["none".to_string()];
                items.extend(
                    attachable
                        .iter()
                        .map(|a| format!("{} — {}", a.id, a.summary)),
                );
                let choice =
                    p.select(&format!("Attach a pattern to {component_name}?"), &items, 0)?;
                if choice > 0 {
                    let a = attachable[choice - 1];
                    let params = ask_params(
                        a,
                        &component_name,
                        &components,
                        sets,
                        &BTreeMap::new(),
                        Some(p),
                    )?;
                    attach.push(AttachSpec {
                        pattern: a.id.clone(),
                        params,
                        image: None,
                    });
                }
            }
        }
        components.push(ComponentSpec {
            name: component_name,
            pattern: pattern.id.clone(),
            params,
            image: None,
            attach,
            egress: Vec::new(),
        });
    }
    if components.is_empty() {
        return Err(Error::usage("no component chosen; nothing to render"));
    }
    Ok(SpecDoc {
        api_version: spec::API_VERSION.into(),
        kind: spec::KIND.into(),
        metadata: spec::Metadata {
            name,
            namespace: None,
        },
        spec: spec::SystemSpec {
            kubernetes: Some(spec::KubernetesTarget {
                version: crate::model::DEFAULT_KUBE_VERSION.into(),
            }),
            registry: None,
            defaults: None,
            ingress: None,
            monitoring: None,
            ci: None,
            components,
            patches: Vec::new(),
            environments: Some(default_environments()),
            lint: None,
        },
    })
}

/// The pattern `new` attaches an attachable pattern to when its `pattern.yaml` names none.
const DEFAULT_NEW_HOST: &str = "replicated-service";

/// The pattern's proposed component name, numbered when an earlier component has it.
fn fresh_name(pattern: &Pattern, taken: &[String]) -> String {
    let base = pattern.default_name.as_deref().unwrap_or(&pattern.id);
    let mut name = base.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    name
}

fn is_set(sets: &Sets, component: &str, param: &str) -> bool {
    sets.iter()
        .any(|((c, p), _)| p == param && c.as_deref().is_none_or(|c| c == component))
}

/// The spec being built, for the parameters of one more component or attachment.
struct Targets<'a, 'c> {
    components: &'a mut Vec<ComponentSpec>,
    catalog: &'c Catalog,
    sets: &'a Sets,
}

impl Targets<'_, '_> {
    /// The parameters of `pattern` for `component`: the targets its defaults need (added
    /// to the spec first), then the rest asked, set or left to their defaults.
    fn params(
        &mut self,
        pattern: &Pattern,
        component: &str,
        prompter: Ask<'_>,
    ) -> Result<BTreeMap<String, Value>> {
        let chosen = add_targets(pattern, component, self.components, self.catalog, self.sets)?;
        ask_params(
            pattern,
            component,
            self.components,
            self.sets,
            &chosen,
            prompter,
        )
    }
}

/// The components a pattern's parameters must refer to under its defaults (a required
/// `component` parameter, or one a case of the defaults requires) that the user did not
/// set: an earlier component of a fitting pattern, else a new one of the first pattern
/// the parameter allows, with its defaults, added before it. So `new --pattern
/// ambassador --yes` brings the sharded service it fronts.
fn add_targets(
    pattern: &Pattern,
    component: &str,
    components: &mut Vec<ComponentSpec>,
    catalog: &Catalog,
    sets: &Sets,
) -> Result<BTreeMap<String, Value>> {
    let value_of = |name: &str| -> Option<Value> {
        let def = pattern.param(name)?;
        let set = sets
            .iter()
            .find(|((c, p), _)| p == name && c.as_deref().is_none_or(|c| c == component));
        match set {
            Some((_, text)) => def.parse_text(text).ok(),
            None => def.default.clone(),
        }
    };
    let mut chosen = BTreeMap::new();
    for def in &pattern.params {
        let ParamKind::Component { patterns } = &def.kind else {
            continue;
        };
        let required_by_case = pattern.cases.iter().any(|c| {
            c.require.contains(&def.name)
                && crate::catalog::case_applies(c, value_of(&c.field).as_ref())
        });
        if is_set(sets, component, &def.name) || !(def.is_required() || required_by_case) {
            continue;
        }
        let target = match components.iter().find(|c| patterns.contains(&c.pattern)) {
            Some(earlier) => earlier.name.clone(),
            None => {
                let Some(id) = patterns.first() else { continue };
                let target = catalog
                    .pattern(id)
                    .ok_or_else(|| Error::unknown_pattern(id, catalog.pattern_ids()))?;
                let mut taken: Vec<String> = components.iter().map(|c| c.name.clone()).collect();
                taken.push(component.to_string());
                let name = fresh_name(target, &taken);
                let params = ask_params(target, &name, components, sets, &BTreeMap::new(), None)?;
                components.push(ComponentSpec {
                    name: name.clone(),
                    pattern: target.id.clone(),
                    params,
                    image: None,
                    attach: Vec::new(),
                    egress: Vec::new(),
                });
                name
            }
        };
        chosen.insert(def.name.clone(), json!(target));
    }
    Ok(chosen)
}

/// `dev` runs images loaded into a local cluster (kind, minikube) without pulling them;
/// `prod` is the system as declared.
fn default_environments() -> BTreeMap<String, Option<spec::EnvironmentSpec>> {
    let dev = spec::EnvironmentSpec {
        params: BTreeMap::new(),
        defaults: Some(spec::Defaults {
            image_pull_policy: Some(spec::PullPolicy::IfNotPresent),
            ..spec::Defaults::default()
        }),
    };
    BTreeMap::from([
        ("dev".to_string(), Some(dev)),
        ("prod".to_string(), Some(spec::EnvironmentSpec::default())),
    ])
}

/// Parameters of one component: asked on a terminal (those not given with `--set`), or
/// left to their defaults; a required one without an answer is an error.
fn ask_params(
    pattern: &Pattern,
    component: &str,
    earlier: &[ComponentSpec],
    sets: &Sets,
    chosen: &BTreeMap<String, Value>,
    mut prompter: Ask<'_>,
) -> Result<BTreeMap<String, Value>> {
    let mut params = chosen.clone();
    for def in &pattern.params {
        if is_set(sets, component, &def.name) || chosen.contains_key(&def.name) {
            continue;
        }
        // A host name and a certificate mean nothing for a component that is not public.
        let exposure_only = [HOST_PARAM, TLS_SECRET_PARAM].contains(&def.name.as_str());
        let public = pattern
            .param(PUBLIC_PARAM)
            .and_then(|d| param_value(&params, d))
            .and_then(Value::as_bool)
            == Some(true);
        if exposure_only && !public {
            continue;
        }
        let Some(p) = prompter.as_deref_mut() else {
            if def.is_required() {
                return Err(Error::Usage {
                    message: format!("pattern `{}` needs parameter `{}`", pattern.id, def.name),
                    help: Some(format!(
                        "pass --set {component}.{}=VALUE ({})",
                        def.name, def.help
                    )),
                });
            }
            continue;
        };
        // The floor of an `atLeast` parameter: the answer (or `--set`) for the other one.
        let floor = floor_param(def).and_then(|other| {
            let set = sets
                .iter()
                .find(|((c, p), _)| p == other && c.as_deref().is_none_or(|c| c == component));
            let from_set = set.and_then(|(_, text)| text.trim().parse::<i64>().ok());
            from_set.or_else(|| {
                pattern
                    .param(other)
                    .and_then(|o| param_value(&params, o))
                    .and_then(Value::as_i64)
            })
        });
        // The value a `differsFrom` parameter may not take: the other one's answer.
        let taken = differs_from(def).and_then(|other| {
            pattern
                .param(other)
                .and_then(|o| param_value(&params, o))
                .and_then(Value::as_i64)
        });
        let Some(value) = ask_one(p, def, earlier, (floor, taken))? else {
            continue;
        };
        if def.default.as_ref() != Some(&value) {
            params.insert(def.name.clone(), value);
        }
    }
    Ok(params)
}

/// One parameter's answer; `None` leaves an optional parameter out.
fn ask_one(
    p: &mut dyn Prompter,
    def: &ParamDef,
    earlier: &[ComponentSpec],
    (floor, taken): (Option<i64>, Option<i64>),
) -> Result<Option<Value>> {
    let prompt = format!("{} — {}", def.name, def.help);
    match &def.kind {
        ParamKind::Boolean => {
            let default = def
                .default
                .as_ref()
                .and_then(Value::as_bool)
                .unwrap_or(false);
            Ok(Some(json!(p.confirm(&prompt, default)?)))
        }
        ParamKind::Enum { values } => {
            let default = def
                .default
                .as_ref()
                .and_then(Value::as_str)
                .and_then(|d| values.iter().position(|v| v == d))
                .unwrap_or(0);
            Ok(Some(json!(values[p.select(&prompt, values, default)?])))
        }
        ParamKind::Component { patterns } => {
            let mut items: Vec<String> = earlier
                .iter()
                .filter(|c| patterns.contains(&c.pattern))
                .map(|c| c.name.clone())
                .collect();
            if items.is_empty() {
                if def.optional {
                    return Ok(None);
                }
                return Err(Error::Prompt(format!(
                    "`{}` needs an earlier component of pattern {}; add that one first",
                    def.name,
                    patterns.join(" or ")
                )));
            }
            if def.optional {
                items.insert(0, "none".into());
            }
            let choice = p.select(&prompt, &items, 0)?;
            if def.optional && choice == 0 {
                return Ok(None);
            }
            Ok(Some(json!(items[choice])))
        }
        ParamKind::Integer { .. } | ParamKind::String { .. } | ParamKind::List { .. } => {
            let default = def.default.as_ref().map(|d| match (d, floor) {
                (Value::Number(n), Some(f)) if n.as_i64().is_some_and(|n| n < f) => f.to_string(),
                (Value::String(s), _) => s.clone(),
                (other, _) => other.to_string(),
            });
            // An optional parameter without a default is left out by an empty answer.
            let may_skip = def.optional && def.default.is_none();
            let answer = p.input(&prompt, default.as_deref(), &|s| {
                if may_skip && s.trim().is_empty() {
                    return Ok(());
                }
                let value = def.parse_text(s).map_err(|e| e.message)?;
                match (value.as_i64(), floor, floor_param(def)) {
                    (Some(n), Some(f), Some(other)) if n < f => {
                        Err(format!("{} may not be below {other} ({f})", def.name))
                    }
                    (Some(n), _, _) if Some(n) == taken => Err(format!(
                        "{} may not equal {} ({n})",
                        def.name,
                        differs_from(def).unwrap_or_default()
                    )),
                    _ => Ok(()),
                }
            })?;
            if may_skip && answer.trim().is_empty() {
                return Ok(None);
            }
            def.parse_text(&answer)
                .map(Some)
                .map_err(|e| Error::Prompt(e.message))
        }
    }
}
