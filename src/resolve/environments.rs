//! `spec.environments`: the names of `k8s/overlays/<env>/` and what each one changes from
//! the base. Every override is checked here, at its own place in the spec, with the rules
//! of the component's `params` and of `defaults`; the pipeline then renders each
//! environment with the same stages as the base, so an override that passes here but
//! breaks a check of the output fails there, naming the environment.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::model::{
    Component, DEFAULT_ENVIRONMENTS, EffectiveDefaults, Environment, MAX_ENVIRONMENTS,
};
use crate::names::did_you_mean;
use crate::params::{FloorBreach, GraphProblem, ParamKind, floor_breaches, graph_problems};
use crate::source::YamlPath;

use super::Resolver;

impl Resolver<'_> {
    pub(super) fn environments(
        &mut self,
        spec: &YamlPath,
        components: &[Component],
    ) -> Vec<Environment> {
        let Some(declared) = self.spec.doc.spec.environments.clone() else {
            return DEFAULT_ENVIRONMENTS
                .iter()
                .map(|name| Environment {
                    name: (*name).to_string(),
                    params: BTreeMap::new(),
                    defaults: None,
                })
                .collect();
        };
        let path = spec.key("environments");
        if declared.is_empty() {
            self.err(
                &path,
                "no environment is declared".into(),
                "empty",
                Some("declare at least one, like `environments: {dev: {}}`, or leave the key out for `dev` and `prod`".into()),
            );
        }
        if declared.len() > MAX_ENVIRONMENTS {
            self.err(
                &path,
                format!(
                    "{} environments are declared; at most {MAX_ENVIRONMENTS} are allowed",
                    declared.len()
                ),
                "too many environments",
                Some(
                    "each environment is a render of the whole system; keep the ones you deploy"
                        .into(),
                ),
            );
            return Vec::new();
        }
        let mut out = Vec::new();
        for (name, env) in declared {
            let env = env.unwrap_or_default();
            let epath = path.key(&name);
            // It names a folder under k8s/overlays/.
            self.dns_label_key(&epath, &name);
            let mut params = BTreeMap::new();
            for (key, overrides) in &env.params {
                let cpath = epath.key("params").key(key);
                let Some(target) = self.overridden(&name, &cpath, key, components) else {
                    continue;
                };
                if self.component_overrides(&name, &cpath, &target, components, overrides) {
                    params.insert(key.clone(), overrides.clone());
                }
            }
            if let Some(d) = env.defaults.clone() {
                // Checked like `spec.defaults`; the result is recomputed by the
                // environment's own render, which lays it over `spec.defaults`.
                let _: EffectiveDefaults =
                    self.check_defaults(&epath.key("defaults"), d, EffectiveDefaults::default());
            }
            out.push(Environment {
                name,
                params,
                defaults: env.defaults,
            });
        }
        out
    }

    /// The name of an environment is a key of the mapping: a bad one is shown there.
    fn dns_label_key(&mut self, path: &YamlPath, name: &str) {
        if let Err(why) = crate::names::check_dns_label(name) {
            let e = self.spec.source.error_at_key(
                path,
                format!("invalid environment name `{name}`: {why}"),
                "not a DNS-1123 label",
                Some(format!(
                    "it names the folder k8s/overlays/<name>/; {}",
                    crate::names::DNS_LABEL_HELP
                )),
            );
            self.errors.push(e);
        }
    }

    /// What a key of an environment's `params` names: a component (`api`) or one of its
    /// attachments (`api/ambassador`); `None` after reporting a key that names neither.
    fn overridden<'c>(
        &mut self,
        env: &str,
        path: &YamlPath,
        key: &str,
        components: &'c [Component],
    ) -> Option<Overridden<'c>> {
        let (component, attached) = match key.split_once('/') {
            Some((c, a)) => (c, Some(a)),
            None => (key, None),
        };
        let Some(c) = components.iter().find(|c| c.name == component) else {
            let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
            let help = did_you_mean(component, names.iter().copied())
                .or_else(|| Some(format!("components in this spec: {}", names.join(", "))));
            let e = self.spec.source.error_at_key(
                path,
                format!("environment `{env}` overrides `{component}`, which is not a component of this spec"),
                "no such component",
                help,
            );
            self.errors.push(e);
            return None;
        };
        let given = &self.spec.doc.spec.components[c.index];
        let Some(attached) = attached else {
            return Some(Overridden {
                name: c.name.clone(),
                component: c,
                pattern: &c.pattern,
                params: &c.params,
                given: given.params.clone(),
            });
        };
        let Some(a) = c.attachments.iter().find(|a| a.pattern == attached) else {
            let patterns: Vec<&str> = c.attachments.iter().map(|a| a.pattern.as_str()).collect();
            let help = did_you_mean(attached, patterns.iter().copied()).or_else(|| {
                Some(if patterns.is_empty() {
                    format!("`{component}` has no attachments; override its own parameters under `{component}`")
                } else {
                    format!("`{component}` attaches: {}", patterns.join(", "))
                })
            });
            let e = self.spec.source.error_at_key(
                path,
                format!("environment `{env}` overrides `{key}`, but `{component}` attaches no `{attached}`"),
                "no such attachment",
                help,
            );
            self.errors.push(e);
            return None;
        };
        Some(Overridden {
            name: key.to_string(),
            component: c,
            pattern: &a.pattern,
            params: &a.params,
            given: given.attach[a.index].params.clone(),
        })
    }

    /// Checks the overrides of one component (or attachment) in one environment; true when
    /// they are all good.
    fn component_overrides(
        &mut self,
        env: &str,
        path: &YamlPath,
        target: &Overridden<'_>,
        components: &[Component],
        overrides: &BTreeMap<String, Value>,
    ) -> bool {
        let c = target.component;
        let Some(pattern) = self.catalog.pattern(target.pattern) else {
            return false;
        };
        let before = self.errors.len();
        for (param, value) in overrides {
            let Some(def) = pattern.param(param) else {
                let help = did_you_mean(param, pattern.params.iter().map(|p| p.name.as_str()))
                    .or_else(|| {
                        let all: Vec<&str> =
                            pattern.params.iter().map(|p| p.name.as_str()).collect();
                        Some(format!("`{}` takes: {}", pattern.id, all.join(", ")))
                    });
                let e = self.spec.source.error_at_key(
                    &path.key(param),
                    format!("unknown parameter `{param}` for pattern `{}`", pattern.id),
                    "unknown parameter",
                    help,
                );
                self.errors.push(e);
                continue;
            };
            if let Err(problem) = def.check(value) {
                self.param_err(&path.key(param), problem);
                continue;
            }
            if let (ParamKind::Component { patterns }, Some(target)) = (&def.kind, value.as_str()) {
                match components.iter().find(|t| t.name == target) {
                    None => self.err(
                        &path.key(param),
                        format!(
                            "`{param}` refers to `{target}`, which is not a component of this spec"
                        ),
                        "no such component",
                        None,
                    ),
                    Some(t) if t.name == c.name => self.err(
                        &path.key(param),
                        format!("component `{target}` refers to itself"),
                        "self reference",
                        Some("point it at another component".into()),
                    ),
                    Some(t) if !patterns.contains(&t.pattern) => self.err(
                        &path.key(param),
                        format!(
                            "`{param}` must refer to a {} component, but `{target}` is a {}",
                            patterns.join(" or "),
                            t.pattern
                        ),
                        "wrong kind of component",
                        None,
                    ),
                    Some(_) => {}
                }
            }
        }
        if self.errors.len() == before {
            let owner = components.iter().position(|t| t.name == c.name);
            let refs = super::components::element_references(&pattern.params, overrides);
            for (at, target, patterns) in refs {
                let vpath = at.iter().fold(path.clone(), |p, seg| match seg {
                    crate::source::Seg::Key(k) => p.key(k),
                    crate::source::Seg::Index(n) => p.index(*n),
                });
                let owner = owner.unwrap_or(usize::MAX);
                self.element_reference(&vpath, target, patterns, owner, components);
            }
        }
        if self.errors.len() > before {
            return false;
        }
        // A graph of a list (an event pipeline's stages) holds for the merged values; only
        // one the environment changed is reported here, the base's own in the base.
        let merged = |name: &str| overrides.get(name).or_else(|| target.params.get(name));
        for GraphProblem { param, mut problem } in graph_problems(&pattern.params, merged) {
            if overrides.contains_key(&param) {
                problem.message = format!("in environment `{env}`, {}", problem.message);
                self.param_err(&path.key(&param), problem);
            } else if let Some(changed) = overrides
                .keys()
                .find(|k| graph_params(&pattern.params).contains(&k.as_str()))
            {
                let message = format!("in environment `{env}`, {}", problem.message);
                self.err(&path.key(changed), message, &problem.label, problem.help);
            }
        }
        // The floors (`maxReplicas` at least `replicas`) hold for the merged values; a
        // value neither the component nor the environment wrote follows its floor, as in
        // the base.
        let given = &target.given;
        let breaches = floor_breaches(&pattern.params, |name| {
            overrides
                .get(name)
                .or_else(|| target.params.get(name))
                .and_then(Value::as_i64)
        });
        for FloorBreach {
            param,
            value,
            floor_param,
            floor,
        } in breaches
        {
            if !overrides.contains_key(param) && !given.contains_key(param) {
                continue;
            }
            let at = if overrides.contains_key(param) {
                param
            } else {
                floor_param
            };
            self.err(
                &path.key(at),
                format!(
                    "in environment `{env}`, parameter `{param}` of `{}` is {value}, below `{floor_param}` ({floor})",
                    target.name
                ),
                "below its floor",
                Some(format!(
                    "`{param}` must be at least `{floor_param}`; override both in the environment"
                )),
            );
        }
        self.errors.len() == before
    }
}

/// What an environment's override applies to: a component's own parameters, or those of
/// one of its attachments.
struct Overridden<'c> {
    /// The key as written: `api`, or `api/ambassador`.
    name: String,
    /// The component (its own, or the host of the attachment).
    component: &'c Component,
    pattern: &'c str,
    /// The resolved parameters the overrides are laid over.
    params: &'c BTreeMap<String, Value>,
    /// The parameters the spec wrote.
    given: BTreeMap<String, Value>,
}

/// The parameters a dataflow graph is made of: each list with a `graph`, and its sources.
fn graph_params(defs: &[crate::params::ParamDef]) -> Vec<&str> {
    defs.iter()
        .filter_map(|d| match &d.kind {
            ParamKind::List { graph: Some(g), .. } => Some([d.name.as_str(), g.sources.as_str()]),
            _ => None,
        })
        .flatten()
        .collect()
}
