//! The JSON Schema (2020-12) of the spec, for editor completion and for checking a spec
//! with generic tools. Built from the catalog's parameter declarations, so a pattern's
//! parameters appear in the schema the moment its folder exists.

use serde_json::{Map, Value, json};

use crate::catalog::Catalog;
use crate::model::{MAX_COMPONENT_NAME, MAX_KUBE_MINOR, MIN_KUBE_MINOR};
use crate::names::DNS_LABEL_REGEX;
use crate::spec::{API_VERSION, KIND};

pub fn spec_schema(catalog: &Catalog) -> Value {
    let mut schema = build(catalog);
    drop_empty_all_of(&mut schema);
    schema
}

/// `allOf` must not be empty (a catalog without attachable patterns would produce one).
fn drop_empty_all_of(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map
                .get("allOf")
                .and_then(Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                map.remove("allOf");
            }
            map.values_mut().for_each(drop_empty_all_of);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_empty_all_of),
        _ => {}
    }
}

fn build(catalog: &Catalog) -> Value {
    let standalone: Vec<&str> = catalog
        .patterns()
        .filter(|p| !p.attachable)
        .map(|p| p.id.as_str())
        .collect();
    let attachable: Vec<&str> = catalog
        .patterns()
        .filter(|p| p.attachable)
        .map(|p| p.id.as_str())
        .collect();
    let label = json!({"type": "string", "pattern": DNS_LABEL_REGEX, "maxLength": 63});
    let component_name = json!({
        "type": "string", "pattern": DNS_LABEL_REGEX, "maxLength": MAX_COMPONENT_NAME,
        "not": {"enum": ["kustomization"]}
    });
    let quantities = json!({
        "type": "object", "additionalProperties": false,
        "properties": {"cpu": {"type": "string"}, "memory": {"type": "string"}}
    });
    let mut defs = Map::new();
    for p in catalog.patterns() {
        let mut props = Map::new();
        let mut required = Vec::new();
        for param in &p.params {
            props.insert(param.name.clone(), param.json_schema());
            if param.is_required() {
                required.push(param.name.clone());
            }
        }
        defs.insert(
            format!("params-{}", p.id),
            json!({
                "type": "object",
                "description": p.summary,
                "additionalProperties": false,
                "properties": props,
                "required": required,
            }),
        );
    }
    let params_by_pattern = |ids: &[&str]| -> Vec<Value> {
        ids.iter()
            .map(|id| {
                json!({
                    "if": {"properties": {"pattern": {"const": id}}, "required": ["pattern"]},
                    "then": {"properties": {"params": {"$ref": format!("#/$defs/params-{id}")}}}
                })
            })
            .collect()
    };
    let image = json!({
        "type": "string",
        "description": "run this image instead of a generated service; pin a tag or digest",
        "pattern": "^[a-z0-9][^\\s@]*(:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(@sha256:[a-f0-9]{64})?$",
        "anyOf": [{"pattern": ":[A-Za-z0-9_][A-Za-z0-9_.-]*(@|$)"}, {"pattern": "@sha256:"}],
        "not": {"pattern": ":latest(@|$)"}
    });
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://dpatterns.dev/schema/v1alpha1/system.json",
        "title": "dpatterns System",
        "type": "object",
        "additionalProperties": false,
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": API_VERSION},
            "kind": {"const": KIND},
            "metadata": {
                "type": "object", "additionalProperties": false, "required": ["name"],
                "properties": {"name": label, "namespace": label}
            },
            "spec": {
                "type": "object", "additionalProperties": false, "required": ["components"],
                "properties": {
                    "kubernetes": {
                        "type": "object", "additionalProperties": false, "required": ["version"],
                        "properties": {"version": {
                            "type": "string",
                            "enum": (MIN_KUBE_MINOR..=MAX_KUBE_MINOR).map(|m| format!("1.{m}")).collect::<Vec<_>>()
                        }}
                    },
                    "registry": {"type": "string", "description": "image repository prefix of generated services"},
                    "defaults": {
                        "type": "object", "additionalProperties": false,
                        "properties": {
                            "resources": {
                                "type": "object", "additionalProperties": false,
                                "properties": {"requests": quantities, "limits": quantities}
                            },
                            "runAsUser": {"type": "integer", "minimum": 1, "maximum": 2147483647},
                            "imagePullPolicy": {"enum": ["Always", "IfNotPresent"]}
                        }
                    },
                    "components": {
                        "type": "array", "minItems": 1,
                        "items": {
                            "type": "object", "additionalProperties": false,
                            "required": ["name", "pattern"],
                            "properties": {
                                "name": component_name,
                                "pattern": {"enum": standalone},
                                "params": {"type": "object"},
                                "image": image,
                                "attach": {
                                    "type": "array",
                                    "items": {
                                        "type": "object", "additionalProperties": false,
                                        "required": ["pattern"],
                                        "properties": {
                                            "pattern": {"enum": attachable},
                                            "params": {"type": "object"},
                                            "image": image
                                        },
                                        "allOf": params_by_pattern(&attachable)
                                    }
                                }
                            },
                            "allOf": params_by_pattern(&standalone)
                        }
                    },
                    "patches": {
                        "type": "array",
                        "items": {
                            "type": "object", "additionalProperties": false,
                            "required": ["target", "merge"],
                            "properties": {
                                "target": {
                                    "type": "object", "additionalProperties": false,
                                    "required": ["kind", "name"],
                                    "properties": {"kind": {"type": "string"}, "name": {"type": "string"}}
                                },
                                "merge": {"type": "object", "description": "JSON merge patch (RFC 7396)"}
                            }
                        }
                    }
                }
            }
        },
        "$defs": defs
    })
}
