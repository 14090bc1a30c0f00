//! `--set` for `dpatterns new`: parsing `param=value` and `component.param=value`, applying
//! them to the spec being written, and keeping `atLeast` floors and `differsFrom` pairs
//! between parameters, which the prompts of `new` share, so that `new` never writes a spec
//! its own render refuses.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::catalog::Catalog;
use crate::error::{Error, Result};
use crate::names::did_you_mean;
use crate::params::{ParamDef, ParamKind};
use crate::spec::SpecDoc;

/// `a=b` / `c.a=b` into ((component, param), value).
pub(super) type Sets = Vec<((Option<String>, String), String)>;

pub(super) fn parse_sets(raw: &[String]) -> Result<Sets> {
    raw.iter()
        .map(|s| {
            let (key, value) = s.split_once('=').ok_or_else(|| Error::Usage {
                message: format!("--set `{s}` has no `=`"),
                help: Some("write --set param=value or --set component.param=value".into()),
            })?;
            let key = match key.split_once('.') {
                Some((c, p)) => (Some(c.to_string()), p.to_string()),
                None => (None, key.to_string()),
            };
            Ok((key, value.to_string()))
        })
        .collect()
}

pub(super) fn apply_sets(doc: &mut SpecDoc, sets: &Sets, catalog: &Catalog) -> Result<()> {
    apply_each_set(doc, sets, catalog)?;
    for c in doc.spec.components.iter_mut() {
        let Some(pattern) = catalog.pattern(&c.pattern) else {
            continue;
        };
        let was_set = |param: &str| {
            sets.iter()
                .any(|((comp, p), _)| p == param && comp.as_ref().is_none_or(|n| n == &c.name))
        };
        for def in &pattern.params {
            let Some(other) = floor_param(def) else {
                continue;
            };
            let (Some(value), Some(floor)) = (
                param_value(&c.params, def).and_then(|v| v.as_i64()),
                pattern
                    .param(other)
                    .and_then(|o| param_value(&c.params, o))
                    .and_then(|v| v.as_i64()),
            ) else {
                continue;
            };
            if value >= floor {
                continue;
            }
            if was_set(&def.name) {
                return Err(Error::Usage {
                    message: format!(
                        "--set {}={value}: `{}` may not be below `{other}` ({floor})",
                        def.name, def.name
                    ),
                    help: Some(format!("set {} to {floor} or more", def.name)),
                });
            }
            // Not chosen by the user: follow the floor, as a default does.
            c.params.insert(def.name.clone(), Value::from(floor));
        }
        for def in &pattern.params {
            let Some(other) = differs_from(def) else {
                continue;
            };
            let value = param_value(&c.params, def).and_then(Value::as_i64);
            let taken = pattern
                .param(other)
                .and_then(|o| param_value(&c.params, o))
                .and_then(Value::as_i64);
            if value.is_none() || value != taken {
                continue;
            }
            // Name the one the user set (the other kept its default).
            let (set, kept) = if was_set(&def.name) {
                (def.name.as_str(), other)
            } else {
                (other, def.name.as_str())
            };
            let value = value.unwrap_or_default();
            return Err(Error::Usage {
                message: format!("--set {set}={value}: `{set}` may not equal `{kept}` ({value})"),
                help: Some(format!("set {set} to another value, or set {kept} as well")),
            });
        }
    }
    Ok(())
}

/// The parameter an integer parameter may not be below (`atLeast`).
pub(super) fn floor_param(def: &ParamDef) -> Option<&str> {
    match &def.kind {
        ParamKind::Integer {
            at_least: Some(other),
            ..
        } => Some(other),
        _ => None,
    }
}

/// The parameter an integer parameter may not equal (`differsFrom`).
pub(super) fn differs_from(def: &ParamDef) -> Option<&str> {
    match &def.kind {
        ParamKind::Integer {
            differs_from: Some(other),
            ..
        } => Some(other),
        _ => None,
    }
}

/// A parameter's value in a component: given, or its default.
pub(super) fn param_value<'a>(
    params: &'a BTreeMap<String, Value>,
    def: &'a ParamDef,
) -> Option<&'a Value> {
    params.get(&def.name).or(def.default.as_ref())
}

fn apply_each_set(doc: &mut SpecDoc, sets: &Sets, catalog: &Catalog) -> Result<()> {
    for ((component, param), value) in sets {
        let mut applied = false;
        for c in doc.spec.components.iter_mut() {
            if component.as_ref().is_some_and(|n| n != &c.name) {
                continue;
            }
            let Some(pattern) = catalog.pattern(&c.pattern) else {
                continue;
            };
            let Some(def) = pattern.param(param) else {
                continue;
            };
            let parsed = def.parse_text(value).map_err(|p| Error::Usage {
                message: format!("--set {param}={value}: {}", p.message),
                help: p.help,
            })?;
            c.params.insert(param.clone(), parsed);
            applied = true;
        }
        if !applied {
            let known: Vec<String> = doc
                .spec
                .components
                .iter()
                .filter_map(|c| catalog.pattern(&c.pattern).map(|p| (c, p)))
                .flat_map(|(c, p)| {
                    p.params
                        .iter()
                        .map(move |d| format!("{}.{}", c.name, d.name))
                })
                .collect();
            let given = match component {
                Some(c) => format!("{c}.{param}"),
                None => param.clone(),
            };
            let help = did_you_mean(&given, known.iter().map(String::as_str))
                .or_else(|| {
                    did_you_mean(
                        param,
                        known
                            .iter()
                            .filter_map(|k| k.split_once('.').map(|(_, p)| p)),
                    )
                })
                .or_else(|| Some(format!("parameters of this system: {}", known.join(", "))));
            return Err(Error::Usage {
                message: format!("--set `{given}` matches no parameter of the system"),
                help,
            });
        }
    }
    Ok(())
}
