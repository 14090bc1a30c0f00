//! Parameters that hold a list: of scalars (`items:`), or of mappings (`fields:`) such as
//! the stages of an event pipeline. The elements are checked with the same declarations
//! as top-level parameters, so a list's element gets the same errors, defaults, schema
//! and did-you-mean hints; a few rules across elements (unique keys, keys a value of
//! another key requires, a dataflow graph) cover what a per-element check cannot see.
//! Every problem carries its path inside the value, so the spec error points at the
//! element and key that is wrong, not at the whole list.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use super::{ParamDef, ParamKind, ParamProblem, describe};
use crate::source::Seg;

/// The size a list (or a list-valued key of an element) may have.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    #[serde(default)]
    pub min: Option<usize>,
    #[serde(default)]
    pub max: Option<usize>,
}

impl Size {
    fn text(&self) -> String {
        match (self.min, self.max) {
            (Some(a), Some(b)) if a == b => format!("exactly {a}"),
            (Some(a), Some(b)) => format!("{a} to {b}"),
            (Some(a), None) => format!("at least {a}"),
            (None, Some(b)) => format!("at most {b}"),
            (None, None) => "any number of".into(),
        }
    }

    fn admits(&self, n: usize) -> bool {
        self.min.is_none_or(|m| n >= m) && self.max.is_none_or(|m| n <= m)
    }
}

/// What the elements of a list of mappings must have when one of their keys holds a
/// value: `{field: kind, equals: filter, require: [predicate], sizes: {outputs: {max: 1}}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub field: String,
    pub equals: String,
    /// Keys that must be given.
    #[serde(default)]
    pub require: Vec<String>,
    /// Keys that must be left out.
    #[serde(default)]
    pub forbid: Vec<String>,
    /// Sizes of list-valued keys.
    #[serde(default)]
    pub sizes: BTreeMap<String, Size>,
}

/// A problem at `at` inside the value.
pub(super) fn problem(
    at: Vec<Seg>,
    message: String,
    label: &str,
    help: Option<String>,
) -> ParamProblem {
    ParamProblem {
        message,
        label: label.into(),
        help,
        at,
        at_key: false,
    }
}

fn prefixed(mut p: ParamProblem, before: &[Seg]) -> ParamProblem {
    let mut at = before.to_vec();
    at.append(&mut p.at);
    p.at = at;
    p
}

/// The declaration of a list parameter, as [`ParamKind::List`] holds it.
#[derive(Debug)]
pub struct ListDecl<'a> {
    pub name: &'a str,
    pub help: &'a str,
    pub items: Option<&'a ParamKind>,
    pub fields: &'a [ParamDef],
    pub size: Size,
    pub unique: &'a [String],
    pub cases: &'a [Case],
}

impl ListDecl<'_> {
    /// Checks a list value: its size, each element, and the rules across elements.
    pub fn check(&self, value: &Value) -> Result<(), ParamProblem> {
        let Some(list) = value.as_array() else {
            return Err(problem(
                Vec::new(),
                format!(
                    "parameter `{}` must be a list, found {}",
                    self.name,
                    describe(value)
                ),
                "expected a list",
                Some(self.help.to_string()),
            ));
        };
        if !self.size.admits(list.len()) {
            return Err(problem(
                Vec::new(),
                format!(
                    "parameter `{}` has {} elements; it takes {}",
                    self.name,
                    list.len(),
                    self.size.text()
                ),
                "wrong number of elements",
                Some(self.help.to_string()),
            ));
        }
        for (i, element) in list.iter().enumerate() {
            self.check_element(element)
                .map_err(|p| prefixed(p, &[Seg::Index(i)]))?;
        }
        for key in self.unique {
            let mut seen = BTreeSet::new();
            for (i, element) in list.iter().enumerate() {
                let Some(v) = element.get(key) else { continue };
                if !seen.insert(v.to_string()) {
                    return Err(problem(
                        vec![Seg::Index(i), Seg::Key(key.clone())],
                        format!("`{key}` {v} is given to two elements of `{}`", self.name),
                        "duplicate",
                        Some(format!(
                            "each element of `{}` needs its own `{key}`",
                            self.name
                        )),
                    ));
                }
            }
        }
        Ok(())
    }

    fn check_element(&self, element: &Value) -> Result<(), ParamProblem> {
        if let Some(kind) = self.items {
            let def = ParamDef {
                name: format!("an element of `{}`", self.name),
                kind: kind.clone(),
                default: None,
                optional: false,
                help: self.help.to_string(),
            };
            return def.check(element);
        }
        let Some(map) = element.as_object() else {
            return Err(problem(
                Vec::new(),
                format!(
                    "each element of `{}` must be a mapping, found {}",
                    self.name,
                    describe(element)
                ),
                "expected a mapping",
                Some(format!(
                    "keys: {}",
                    self.field_names().collect::<Vec<_>>().join(", ")
                )),
            ));
        };
        for (key, v) in map {
            let Some(field) = self.fields.iter().find(|f| &f.name == key) else {
                let mut p = problem(
                    vec![Seg::Key(key.clone())],
                    format!("unknown key `{key}` in an element of `{}`", self.name),
                    "unknown key",
                    crate::names::did_you_mean(key, self.field_names()).or_else(|| {
                        Some(format!(
                            "keys: {}",
                            self.field_names().collect::<Vec<_>>().join(", ")
                        ))
                    }),
                );
                p.at_key = true;
                return Err(p);
            };
            field
                .check(v)
                .map_err(|p| prefixed(p, &[Seg::Key(key.clone())]))?;
        }
        if let Some(missing) = self
            .fields
            .iter()
            .find(|f| f.is_required() && !map.contains_key(&f.name))
        {
            return Err(problem(
                Vec::new(),
                format!("an element of `{}` needs `{}`", self.name, missing.name),
                "missing key",
                Some(format!("{}: {}", missing.name, missing.help)),
            ));
        }
        for case in self.cases {
            if map.get(&case.field).and_then(Value::as_str) != Some(case.equals.as_str()) {
                continue;
            }
            let what = format!("`{}: {}`", case.field, case.equals);
            if let Some(missing) = case
                .require
                .iter()
                .find(|k| map.get(*k).is_none_or(Value::is_null))
            {
                let help = self
                    .fields
                    .iter()
                    .find(|f| &f.name == missing)
                    .map(|f| format!("{missing}: {}", f.help));
                return Err(problem(
                    Vec::new(),
                    format!(
                        "an element of `{}` with {what} needs `{missing}`",
                        self.name
                    ),
                    "missing key",
                    help,
                ));
            }
            if let Some(extra) = case.forbid.iter().find(|k| map.contains_key(*k)) {
                let mut p = problem(
                    vec![Seg::Key(extra.clone())],
                    format!(
                        "an element of `{}` with {what} takes no `{extra}`",
                        self.name
                    ),
                    "not for this element",
                    Some(format!("remove `{extra}`")),
                );
                p.at_key = true;
                return Err(p);
            }
            for (key, size) in &case.sizes {
                let Some(n) = map.get(key).and_then(Value::as_array).map(Vec::len) else {
                    continue;
                };
                if !size.admits(n) {
                    return Err(problem(
                        vec![Seg::Key(key.clone())],
                        format!(
                            "an element of `{}` with {what} takes {} `{key}`, not {n}",
                            self.name,
                            size.text()
                        ),
                        "wrong number of elements",
                        None,
                    ));
                }
            }
        }
        Ok(())
    }

    fn field_names(&self) -> impl Iterator<Item = &str> + Clone {
        self.fields.iter().map(|f| f.name.as_str())
    }

    /// The list with every element's left-out keys filled: defaults, and `null` for
    /// optional keys, so templates in strict mode can read every declared key.
    pub fn complete(&self, value: &Value) -> Value {
        let (Some(list), false) = (value.as_array(), self.fields.is_empty()) else {
            return value.clone();
        };
        let filled = list.iter().map(|element| {
            let Some(map) = element.as_object() else {
                return element.clone();
            };
            let mut map = map.clone();
            for f in self.fields {
                if !map.contains_key(&f.name) {
                    map.insert(f.name.clone(), f.default.clone().unwrap_or(Value::Null));
                }
            }
            Value::Object(map)
        });
        Value::Array(filled.collect())
    }

    /// A short type description for `show`: `list of {name, kind, …}`.
    pub fn type_label(&self) -> String {
        match self.items {
            Some(kind) => {
                let def = ParamDef {
                    name: String::new(),
                    kind: kind.clone(),
                    default: None,
                    optional: false,
                    help: String::new(),
                };
                format!("list of {}", def.type_label())
            }
            None => format!(
                "list of {{{}}}",
                self.field_names().collect::<Vec<_>>().join(", ")
            ),
        }
    }
}

/// Checks a list parameter's declaration when the catalog loads: `items` or `fields`
/// (not both), element keys that are plain (no cross-parameter rules; a component
/// reference is a plain key), and `unique`, `cases` and `graph` naming keys that exist, the graph's
/// sources being a list parameter of the same pattern.
pub fn check_list_declaration<'a>(
    def: &ParamDef,
    param_of: &dyn Fn(&str) -> Option<&'a ParamDef>,
) -> Result<(), String> {
    let ParamKind::List {
        items,
        fields,
        unique,
        cases,
        graph,
        ..
    } = &def.kind
    else {
        return Ok(());
    };
    let name = &def.name;
    if items.is_some() != fields.is_empty() {
        return Err(format!(
            "list `{name}` needs exactly one of `items` and `fields`"
        ));
    }
    if let Some(kind) = items
        && matches!(**kind, ParamKind::List { .. } | ParamKind::Component { .. })
    {
        return Err(format!(
            "list `{name}` has `items` that are lists or components; not supported"
        ));
    }
    let mut seen = BTreeSet::new();
    for f in fields {
        if !seen.insert(f.name.as_str()) {
            return Err(format!("list `{name}` declares the key `{}` twice", f.name));
        }
        let plain = match &f.kind {
            ParamKind::Integer {
                at_least,
                differs_from,
                ..
            } => at_least.is_none() && differs_from.is_none(),
            // Checked against the spec like a component parameter, but not an edge of
            // the graph (resolve/components.rs, `element_references`).
            ParamKind::Component { .. } => true,
            ParamKind::List {
                items: Some(_),
                graph: None,
                ..
            } => true,
            ParamKind::List { .. } => false,
            _ => true,
        };
        if !plain {
            return Err(format!(
                "key `{}` of list `{name}`: element keys are plain values, component names or lists of values (no atLeast, differsFrom or nested mappings)",
                f.name
            ));
        }
        check_list_declaration(f, &|_| None)?;
        if let Some(d) = &f.default
            && let Err(p) = f.check(d)
        {
            return Err(format!("default of {}", p.message));
        }
    }
    let known = |key: &str| fields.iter().any(|f| f.name == key);
    let unknown = |what: &str, key: &str| {
        format!("list `{name}`: {what} names `{key}`, which is not one of its keys")
    };
    for key in unique {
        if !known(key) {
            return Err(unknown("unique", key));
        }
    }
    for case in cases {
        let keys = std::iter::once(&case.field)
            .chain(&case.require)
            .chain(&case.forbid)
            .chain(case.sizes.keys());
        for key in keys {
            if !known(key) {
                return Err(unknown("a case", key));
            }
        }
    }
    if let Some(g) = graph {
        for key in [&g.node, &g.inputs, &g.outputs] {
            if !known(key) {
                return Err(unknown("graph", key));
            }
        }
        let sources_is_list = param_of(&g.sources)
            .is_some_and(|p| matches!(&p.kind, ParamKind::List { items: Some(_), .. }));
        if !sources_is_list {
            return Err(format!(
                "list `{name}`: graph sources `{}` is not a list parameter of scalars of the pattern",
                g.sources
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use serde_json::json;

    /// The pipeline's two parameters, as a pattern declares them.
    pub(in crate::params) fn defs() -> Vec<ParamDef> {
        let stages = json!({
            "name": "stages", "type": "list", "minItems": 1, "unique": ["name"],
            "help": "the stages",
            "graph": {"node": "name", "inputs": "inputs", "outputs": "outputs", "sources": "sources"},
            "fields": [
                {"name": "name", "type": "string", "dnsLabel": true, "help": "n"},
                {"name": "kind", "type": "enum", "values": ["filter", "merger"], "help": "k"},
                {"name": "inputs", "type": "list", "items": {"type": "string"}, "minItems": 1, "help": "i"},
                {"name": "outputs", "type": "list", "items": {"type": "string"}, "help": "o"},
                {"name": "predicate", "type": "string", "optional": true, "help": "p"},
                {"name": "replicas", "type": "integer", "default": 1, "min": 1, "help": "r"}
            ],
            "cases": [
                {"field": "kind", "equals": "filter", "require": ["predicate"], "sizes": {"outputs": {"max": 1}}},
                {"field": "kind", "equals": "merger", "forbid": ["predicate"], "sizes": {"inputs": {"min": 2}}}
            ]
        });
        let sources =
            json!({"name": "sources", "type": "list", "items": {"type": "string"}, "help": "s"});
        vec![
            serde_json::from_value(stages).unwrap(),
            serde_json::from_value(sources).unwrap(),
        ]
    }

    fn check(stages: Value) -> Result<(), ParamProblem> {
        defs()[0].check(&stages)
    }

    #[test]
    fn a_declaration_naming_a_missing_key_is_refused() {
        let mut bad = defs();
        if let ParamKind::List { unique, .. } = &mut bad[0].kind {
            unique.push("nmae".into());
        }
        let err =
            check_list_declaration(&bad[0], &|n| bad.iter().find(|d| d.name == n)).unwrap_err();
        assert!(err.contains("`nmae`"), "{err}");
        let good = defs();
        assert_eq!(
            check_list_declaration(&good[0], &|n| good.iter().find(|d| d.name == n)),
            Ok(())
        );
    }

    #[test]
    fn an_unknown_key_is_placed_at_the_key_with_a_suggestion() {
        let err = check(json!([{"name": "a", "kind": "merger", "inputs": ["x", "y"], "outputs": ["z"], "predicat": "p"}])).unwrap_err();
        assert_eq!(err.at, vec![Seg::Index(0), Seg::Key("predicat".into())]);
        assert!(err.at_key);
        assert_eq!(err.help.as_deref(), Some("did you mean `predicate`?"));
    }

    #[test]
    fn a_key_of_the_wrong_type_is_placed_inside_the_element() {
        let err =
            check(json!([{"name": "a", "kind": "merger", "inputs": ["x", 3], "outputs": ["z"]}]))
                .unwrap_err();
        assert_eq!(
            err.at,
            vec![Seg::Index(0), Seg::Key("inputs".into()), Seg::Index(1)]
        );
    }

    #[test]
    fn a_case_requires_and_forbids_keys_and_sizes_lists() {
        let filter = json!([{"name": "f", "kind": "filter", "inputs": ["x"], "outputs": ["y"]}]);
        assert!(
            check(filter)
                .unwrap_err()
                .message
                .contains("needs `predicate`")
        );
        let merger = json!([{"name": "m", "kind": "merger", "inputs": ["x"], "outputs": ["y"]}]);
        let err = check(merger).unwrap_err();
        assert!(
            err.message.contains("at least 2 `inputs`, not 1"),
            "{}",
            err.message
        );
        let merger = json!([{"name": "m", "kind": "merger", "inputs": ["x", "w"], "outputs": ["y"], "predicate": "p"}]);
        assert!(check(merger).unwrap_err().at_key);
    }

    #[test]
    fn two_elements_with_one_name_are_refused_at_the_second() {
        let twice = json!([
            {"name": "a", "kind": "filter", "inputs": ["x"], "outputs": ["y"], "predicate": "p"},
            {"name": "a", "kind": "filter", "inputs": ["y"], "outputs": ["z"], "predicate": "p"}
        ]);
        assert_eq!(
            check(twice).unwrap_err().at,
            vec![Seg::Index(1), Seg::Key("name".into())]
        );
    }

    #[test]
    fn left_out_keys_are_filled_for_the_templates() {
        let defs = defs();
        let filled = defs[0].list().unwrap().complete(
            &json!([{"name": "a", "kind": "merger", "inputs": ["x", "y"], "outputs": ["z"]}]),
        );
        assert_eq!(filled[0]["replicas"], json!(1));
        assert_eq!(filled[0]["predicate"], Value::Null);
    }
}
