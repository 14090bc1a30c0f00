//! Checks that need the catalog or the whole spec: patterns, their parameters, references
//! between components (which also give the graph), and patches.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use crate::catalog::{Catalog, Pattern};
use crate::model::{Component, Patch};
use crate::names::{did_you_mean, some_of};
use crate::params::ParamDef;
use crate::params::{FloorBreach, GraphProblem, ParamKind, floor_breaches, graph_problems};
use crate::source::{Seg, YamlPath};

use super::Resolver;

impl<'a> Resolver<'a> {
    pub(super) fn pattern(
        &mut self,
        path: &YamlPath,
        id: &str,
        attach: bool,
    ) -> Option<&'a Pattern> {
        let catalog: &'a Catalog = self.catalog;
        match catalog.pattern(id) {
            None => {
                let help = Some(crate::error::unknown_pattern_help(
                    id,
                    catalog.pattern_ids(),
                ));
                self.err(
                    path,
                    format!("unknown pattern `{id}`"),
                    "not in the catalog",
                    help,
                );
                None
            }
            Some(p) if p.attachable && !attach => {
                self.err(
                    path,
                    format!("`{id}` decorates another component and cannot stand alone"),
                    "attachable pattern",
                    Some(format!(
                        "list it under a component's `attach:`, like `attach: [{{pattern: {id}}}]`"
                    )),
                );
                None
            }
            Some(p) if !p.attachable && attach => {
                self.err(
                    path,
                    format!("`{id}` is not attachable"),
                    "not attachable",
                    Some(format!(
                        "attachable patterns: {}",
                        catalog
                            .patterns()
                            .filter(|p| p.attachable)
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                );
                None
            }
            Some(p) => Some(p),
        }
    }

    pub(super) fn params(
        &mut self,
        path: &YamlPath,
        pattern: &Pattern,
        given: &BTreeMap<String, Value>,
    ) -> BTreeMap<String, Value> {
        let mut out = BTreeMap::new();
        for (name, value) in given {
            let Some(def) = pattern.param(name) else {
                let help = did_you_mean(name, pattern.params.iter().map(|p| p.name.as_str()))
                    .or_else(|| {
                        Some(format!(
                            "`{}` takes: {}",
                            pattern.id,
                            pattern
                                .params
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ))
                    });
                let e = self.spec.source.error_at_key(
                    &path.key(name),
                    format!("unknown parameter `{name}` for pattern `{}`", pattern.id),
                    "unknown parameter",
                    help,
                );
                self.errors.push(e);
                continue;
            };
            match def.check(value) {
                Ok(()) => {
                    out.insert(name.clone(), def.complete(value));
                }
                Err(problem) => self.param_err(&path.key(name), problem),
            }
        }
        for def in &pattern.params {
            if out.contains_key(&def.name) || given.contains_key(&def.name) {
                continue;
            }
            match &def.default {
                Some(d) => {
                    out.insert(def.name.clone(), def.complete(d));
                }
                None if def.optional => {
                    out.insert(def.name.clone(), Value::Null);
                }
                None => self.err(
                    path,
                    format!("pattern `{}` needs parameter `{}`", pattern.id, def.name),
                    "missing parameter",
                    Some(format!("{}: {}", def.name, def.help)),
                ),
            }
        }
        for def in &pattern.params {
            let ParamKind::Integer {
                differs_from: Some(other),
                ..
            } = &def.kind
            else {
                continue;
            };
            let (Some(value), Some(taken)) = (
                out.get(&def.name).and_then(Value::as_i64),
                out.get(other).and_then(Value::as_i64),
            ) else {
                continue;
            };
            if value == taken {
                // Blame the one the user wrote; when both are written, this one.
                let at = if given.contains_key(&def.name) || !given.contains_key(other) {
                    def.name.as_str()
                } else {
                    other.as_str()
                };
                self.err(
                    &path.key(at),
                    format!("parameters `{}` and `{other}` are both {value}", def.name),
                    "same value",
                    Some(format!(
                        "`{}` must differ from `{other}`; change one of them",
                        def.name
                    )),
                );
            }
        }
        for case in &pattern.cases {
            if !crate::catalog::case_applies(case, out.get(&case.field)) {
                continue;
            }
            let what = format!("`{}: {}`", case.field, case.equals);
            // At the field when the user wrote it, else at the parameters (a default chose).
            let at = if given.contains_key(&case.field) {
                path.key(&case.field)
            } else {
                path.clone()
            };
            for missing in case
                .require
                .iter()
                .filter(|k| out.get(*k).is_none_or(Value::is_null))
            {
                let help = pattern
                    .param(missing)
                    .map(|d| format!("{missing}: {}", d.help));
                self.err(
                    &at,
                    format!("`{}` with {what} needs parameter `{missing}`", pattern.id),
                    "needs another parameter",
                    help,
                );
            }
            for extra in case.forbid.iter().filter(|k| given.contains_key(*k)) {
                let e = self.spec.source.error_at_key(
                    &path.key(extra),
                    format!(
                        "parameter `{extra}` does not apply to `{}` with {what}",
                        pattern.id
                    ),
                    "not for this case",
                    Some(format!("remove `{extra}`, or change `{}`", case.field)),
                );
                self.errors.push(e);
            }
        }
        for GraphProblem { param, problem } in graph_problems(&pattern.params, |name| out.get(name))
        {
            self.param_err(&path.key(&param), problem);
        }
        let breaches = floor_breaches(&pattern.params, |name| {
            out.get(name).and_then(Value::as_i64)
        });
        for FloorBreach {
            param,
            value,
            floor_param,
            floor,
        } in breaches
        {
            // A default follows the parameter it may not be below (`maxReplicas` left out
            // with `replicas: 50` is 50); only a value the user wrote can be too low.
            if !given.contains_key(param) {
                out.insert(param.to_string(), Value::from(floor));
                continue;
            }
            self.err(
                &path.key(param),
                format!("parameter `{param}` is {value}, below `{floor_param}` ({floor})"),
                "below its floor",
                Some(format!("`{param}` must be at least `{floor_param}`")),
            );
        }
        out
    }

    /// Checks `component`-typed parameters and builds the graph from them.
    pub(super) fn references(&mut self, list: &YamlPath, components: &mut [Component]) {
        // By name, the first component of each name (a duplicate is reported elsewhere).
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (i, c) in components.iter().enumerate() {
            by_name.entry(c.name.as_str()).or_insert(i);
        }
        let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        let mut edges: Vec<(usize, usize)> = Vec::new();
        for (i, c) in components.iter().enumerate() {
            let cpath = list.index(c.index);
            let mut sources: Vec<(YamlPath, &str, &BTreeMap<String, Value>)> =
                vec![(cpath.key("params"), c.pattern.as_str(), &c.params)];
            for a in &c.attachments {
                sources.push((
                    cpath.key("attach").index(a.index).key("params"),
                    a.pattern.as_str(),
                    &a.params,
                ));
            }
            for (ppath, pattern_id, params) in sources {
                let Some(pattern) = self.catalog.pattern(pattern_id) else {
                    continue;
                };
                for def in &pattern.params {
                    let ParamKind::Component { patterns } = &def.kind else {
                        continue;
                    };
                    let Some(target) = params.get(&def.name).and_then(Value::as_str) else {
                        continue;
                    };
                    let vpath = ppath.key(&def.name);
                    let found = by_name.get(target).map(|&t| (t, &components[t]));
                    match found {
                        None => {
                            let help =
                                self.suggestions.did_you_mean(target, &names).or_else(|| {
                                    let listed = some_of(names.iter().copied());
                                    Some(format!("components in this spec: {listed}"))
                                });
                            self.err(
                                &vpath,
                                format!("`{}` refers to `{target}`, which is not a component of this spec", def.name),
                                "no such component",
                                help,
                            );
                        }
                        Some((_, t)) if t.name == c.name => self.err(
                            &vpath,
                            format!("component `{target}` refers to itself"),
                            "self reference",
                            Some("point it at another component".into()),
                        ),
                        Some((_, t)) if !patterns.contains(&t.pattern) => self.err(
                            &vpath,
                            format!(
                                "`{}` must refer to a {} component, but `{target}` is a {}",
                                def.name,
                                patterns.join(" or "),
                                t.pattern
                            ),
                            "wrong kind of component",
                            None,
                        ),
                        Some((t, _)) => edges.push((i, t)),
                    }
                }
            }
        }
        for (i, c) in components.iter().enumerate() {
            let Some(pattern) = self.catalog.pattern(&c.pattern) else {
                continue;
            };
            let ppath = list.index(c.index).key("params");
            for (at, target, patterns) in element_references(&pattern.params, &c.params) {
                let vpath = at.iter().fold(ppath.clone(), |p, seg| match seg {
                    Seg::Key(k) => p.key(k),
                    Seg::Index(n) => p.index(*n),
                });
                self.element_reference(&vpath, target, patterns, i, components);
            }
        }
        for (from, to) in edges {
            let to_name = components[to].name.clone();
            let from_name = components[from].name.clone();
            components[from].uses.push(to_name);
            components[to].used_by.push(from_name);
        }
        // Sorted and deduplicated once at the end: a component many others call would
        // otherwise be searched once per caller.
        for c in components.iter_mut() {
            c.uses.sort();
            c.uses.dedup();
            c.used_by.sort();
            c.used_by.dedup();
        }
    }

    /// A component named inside a list's element (monitoring's `objectives[0].component`):
    /// it must exist, be another component, and be of an accepted pattern. It is not an
    /// edge of the graph: the element names the component without calling it, so the
    /// component stays an entry point and its NetworkPolicy does not admit the namer.
    pub(super) fn element_reference(
        &mut self,
        vpath: &YamlPath,
        target: &str,
        patterns: &[String],
        owner: usize,
        components: &[Component],
    ) {
        let names: Vec<&str> = components.iter().map(|c| c.name.as_str()).collect();
        match components.iter().position(|c| c.name == target) {
            None => {
                let help = self.suggestions.did_you_mean(target, &names).or_else(|| {
                    let listed = some_of(names.iter().copied());
                    Some(format!("components in this spec: {listed}"))
                });
                self.err(
                    vpath,
                    format!("`{target}` is not a component of this spec"),
                    "no such component",
                    help,
                );
            }
            Some(t) if t == owner => self.err(
                vpath,
                format!("component `{target}` refers to itself"),
                "self reference",
                Some("name another component".into()),
            ),
            Some(t) if !patterns.contains(&components[t].pattern) => self.err(
                vpath,
                format!(
                    "`{target}` is a {}, which this key does not take",
                    components[t].pattern
                ),
                "wrong kind of component",
                Some(format!("it takes a component of {}", patterns.join(", "))),
            ),
            Some(_) => {}
        }
    }

    pub(super) fn patches(&mut self, spec: &YamlPath) -> Vec<Patch> {
        let mut out = Vec::new();
        for (i, p) in self.spec.doc.spec.patches.iter().enumerate() {
            let path = spec.key("patches").index(i);
            if !p.merge.is_object() {
                self.err(
                    &path.key("merge"),
                    "a merge patch must be a mapping".into(),
                    "not a mapping",
                    Some(
                        "write the fields to change, like `merge: {spec: {minReadySeconds: 10}}`"
                            .into(),
                    ),
                );
                continue;
            }
            out.push(Patch {
                index: i,
                kind: p.target.kind.clone(),
                name: p.target.name.clone(),
                merge: p.merge.clone(),
            });
        }
        out
    }
}

/// The component names held by the `component` keys of list elements, with their place
/// inside `params` (`objectives`, 0, `component`) and the patterns the key accepts.
pub(super) fn element_references<'v>(
    defs: &'v [ParamDef],
    params: &'v BTreeMap<String, Value>,
) -> Vec<(Vec<Seg>, &'v str, &'v [String])> {
    let mut out = Vec::new();
    for def in defs {
        let ParamKind::List { fields, .. } = &def.kind else {
            continue;
        };
        let Some(list) = params.get(&def.name).and_then(Value::as_array) else {
            continue;
        };
        for field in fields {
            let ParamKind::Component { patterns } = &field.kind else {
                continue;
            };
            for (n, element) in list.iter().enumerate() {
                if let Some(target) = element.get(&field.name).and_then(Value::as_str) {
                    let at = vec![
                        Seg::Key(def.name.clone()),
                        Seg::Index(n),
                        Seg::Key(field.name.clone()),
                    ];
                    out.push((at, target, patterns.as_slice()));
                }
            }
        }
    }
    out
}
