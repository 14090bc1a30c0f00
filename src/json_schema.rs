//! The JSON Schema (2020-12) of the spec, for editor completion and for checking a spec
//! with generic tools. Built from the catalog's parameter declarations, so a pattern's
//! parameters appear in the schema the moment its folder exists, and from the same
//! constants and grammars the spec check uses (names, reserved names, versions, image
//! references, quantities), so both give the same verdict on every rule a schema can say;
//! `tests/schema_agreement.rs` holds them to it. What needs the whole spec (references
//! between components, duplicates, patch targets, `atLeast`, `differsFrom`, `host` and
//! `tlsSecret` against `public` and `spec.ingress.kind`, the parameters an environment
//! overrides) only the binary checks.

use serde_json::{Map, Value, json};

use crate::catalog::Catalog;
use crate::model::{MAX_COMPONENT_NAME, MAX_ENVIRONMENTS, MAX_KUBE_MINOR, MIN_KUBE_MINOR};
use crate::names::DNS_LABEL_REGEX;
use crate::names::RUST_RESERVED;
use crate::network::{IPV4_CIDR_REGEX, IPV6_CIDR_REGEX};
use crate::quantity::QUANTITY_REGEX;
use crate::reference::{image_regex, registry_regex};
use crate::resolve::RESERVED_NAMES;
use crate::resolve::ci;
use crate::spec::{API_VERSION, KIND};

pub fn json_schema(catalog: &Catalog) -> Value {
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

/// A key that may be left out or written empty (`key:`), which the spec reads as not given.
fn optional(schema: Value) -> Value {
    json!({"anyOf": [{"type": "null"}, schema]})
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
        "not": {"enum": RESERVED_NAMES}
    });
    let quantity = optional(json!({"anyOf": [
        {"type": "string", "pattern": QUANTITY_REGEX},
        {"type": "number", "minimum": 0}
    ]}));
    let quantities = optional(json!({
        "type": "object", "additionalProperties": false,
        "properties": {"cpu": quantity, "memory": quantity, "ephemeral-storage": quantity}
    }));
    let subdomain = json!({
        "type": "string", "maxLength": 253,
        "pattern": "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
    });
    let ingress = optional(json!({
        "type": "object", "additionalProperties": false,
        "description": "how traffic from outside the system comes in",
        "properties": {
            "namespace": optional(json!({"allOf": [label.clone()], "description": "entry points admit their application port from pods of this namespace; default ingress-nginx"})),
            "kind": optional(json!({"enum": ["Ingress", "HTTPRoute"], "description": "what exposes a public component; default Ingress"})),
            "className": optional(json!({"allOf": [subdomain.clone()], "description": "spec.ingressClassName of the Ingresses"})),
            "gateway": optional(json!({
                "type": "object", "additionalProperties": false, "required": ["name"],
                "description": "the Gateway an HTTPRoute attaches to",
                "properties": {
                    "name": subdomain,
                    "namespace": optional(label.clone()),
                    "sectionName": optional(label.clone())
                }
            }))
        },
        "allOf": [
            {"if": {"properties": {"kind": {"const": "HTTPRoute"}}, "required": ["kind"]},
             "then": {"required": ["gateway"], "properties": {"className": {"type": "null"}}},
             "else": {"properties": {"gateway": {"type": "null"}}}}
        ]
    }));
    let monitoring = optional(json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "namespace": optional(json!({"allOf": [label.clone()], "description": "the metrics port admits scrapes from pods of this namespace; default monitoring"})),
            "podMonitor": optional(json!({"type": "boolean", "description": "a PodMonitor (Prometheus Operator) instead of scrape annotations"}))
        }
    }));
    let egress = optional(json!({
        "type": "array",
        "description": "destinations outside the system's graph this component may send to",
        "items": {
            "type": "object", "additionalProperties": false, "required": ["ports"],
            "properties": {
                "cidr": {"type": "string", "anyOf": [{"pattern": IPV4_CIDR_REGEX}, {"pattern": IPV6_CIDR_REGEX}]},
                "namespace": label.clone(),
                "ports": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1, "maximum": 65535}},
                "protocol": optional(json!({"enum": ["TCP", "UDP"]}))
            },
            "oneOf": [{"required": ["cidr"]}, {"required": ["namespace"]}]
        }
    }));
    // A pattern's unnamed program is built as a crate named after the component, which
    // Rust and the workspace must leave free; with `image:` there is no crate.
    let crate_named_after_component: Vec<&str> = standalone
        .iter()
        .copied()
        .filter(|id| catalog.programs(id).iter().any(|p| p.name.is_none()))
        .collect();
    let mut taken: Vec<String> = catalog.reserved_crate_names().to_vec();
    taken.extend(RUST_RESERVED.iter().map(|s| s.to_string()));
    taken.sort();
    taken.dedup();
    let mut component_rules = vec![json!({
        "if": {
            "properties": {"pattern": {"enum": crate_named_after_component}, "image": {"type": "null"}},
            "required": ["pattern"]
        },
        "then": {"properties": {"name": {"not": {"anyOf": [
            {"enum": taken}, {"pattern": "^[0-9]"}
        ]}}}}
    })];
    // One `image:` cannot stand for the several programs of a pattern.
    let several_programs: Vec<&str> = standalone
        .iter()
        .copied()
        .filter(|id| catalog.programs(id).len() > 1)
        .collect();
    if !several_programs.is_empty() {
        component_rules.push(json!({
            "if": {
                "properties": {"pattern": {"enum": several_programs}, "image": {"type": "string"}},
                "required": ["pattern", "image"]
            },
            "then": false
        }));
    }
    let serviceless: Vec<&str> = standalone
        .iter()
        .copied()
        .filter(|id| {
            !catalog.has_service(id) && catalog.pattern(id).is_some_and(|p| p.image.is_none())
        })
        .collect();
    if !serviceless.is_empty() {
        component_rules.push(json!({
            "if": {
                "properties": {"pattern": {"enum": serviceless}, "image": {"type": "null"}},
                "required": ["pattern"]
            },
            "then": false
        }));
    }
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
        let mut def = json!({
            "type": "object",
            "description": p.summary,
            "additionalProperties": false,
            "properties": props,
            "required": required,
        });
        let cases: Vec<Value> = p.cases.iter().map(|c| pattern_case_schema(p, c)).collect();
        if !cases.is_empty() {
            def["allOf"] = json!(cases);
        }
        defs.insert(format!("params-{}", p.id), def);
    }
    let params_by_pattern = |ids: &[&str]| -> Vec<Value> {
        ids.iter()
            .map(|id| {
                let params = json!({"$ref": format!("#/$defs/params-{id}")});
                // An empty `params:` is no parameters: fine unless one is required.
                let none_required = catalog
                    .pattern(id)
                    .is_some_and(|p| p.params.iter().all(|d| !d.is_required()));
                let params = if none_required {
                    optional(params)
                } else {
                    params
                };
                json!({
                    "if": {"properties": {"pattern": {"const": id}}, "required": ["pattern"]},
                    "then": {"properties": {"params": params}}
                })
            })
            .collect()
    };
    let image = optional(json!({
        "type": "string",
        "description": "run this image instead of a generated service; pin a tag or digest",
        "pattern": image_regex(),
        "anyOf": [{"pattern": ":[A-Za-z0-9_][A-Za-z0-9_.-]*(@|$)"}, {"pattern": "@sha256:"}],
        "not": {"pattern": ":latest(@|$)"}
    }));
    let defaults = optional(json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "resources": optional(json!({
                "type": "object", "additionalProperties": false,
                "properties": {"requests": quantities, "limits": quantities}
            })),
            "runAsUser": optional(json!({"type": "integer", "minimum": 1, "maximum": 2147483647})),
            "imagePullPolicy": optional(json!({"enum": ["Always", "IfNotPresent"]}))
        }
    }));
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
                "properties": {"name": label, "namespace": optional(label.clone())}
            },
            "spec": {
                "type": "object", "additionalProperties": false, "required": ["components"],
                "properties": {
                    "kubernetes": optional(json!({
                        "type": "object", "additionalProperties": false, "required": ["version"],
                        "properties": {"version": {
                            "type": "string",
                            "enum": (MIN_KUBE_MINOR..=MAX_KUBE_MINOR).map(|m| format!("1.{m}")).collect::<Vec<_>>()
                        }}
                    })),
                    "registry": optional(json!({
                        "type": "string", "pattern": registry_regex(),
                        "description": "image repository prefix of generated services"
                    })),
                    "defaults": defaults.clone(),
                    "ingress": ingress,
                    "monitoring": monitoring,
                    "ci": optional(json!({
                        "type": "object", "additionalProperties": false,
                        "properties": {"dpatterns": optional(json!({
                            "description": "where CI installs dpatterns: a published version (default: the version that renders) or a git repository at a revision",
                            "oneOf": [
                                {
                                    "type": "object", "additionalProperties": false,
                                    "properties": {"version": {"type": "string", "pattern": ci::VERSION_PATTERN}}
                                },
                                {
                                    "type": "object", "additionalProperties": false, "required": ["git", "rev"],
                                    "properties": {
                                        "git": {"type": "string", "pattern": ci::GIT_PATTERN},
                                        "rev": {"type": "string", "pattern": ci::REV_PATTERN}
                                    }
                                }
                            ]
                        }))}
                    })),
                    "components": {
                        "type": "array", "minItems": 1,
                        "items": {
                            "type": "object", "additionalProperties": false,
                            "required": ["name", "pattern"],
                            "properties": {
                                "name": component_name,
                                "pattern": {"enum": standalone},
                                "params": optional(json!({"type": "object"})),
                                "image": image,
                                "egress": egress,
                                "attach": optional(json!({
                                    "type": "array",
                                    "items": {
                                        "type": "object", "additionalProperties": false,
                                        "required": ["pattern"],
                                        "properties": {
                                            "pattern": {"enum": attachable},
                                            "params": optional(json!({"type": "object"})),
                                            "image": image
                                        },
                                        "allOf": params_by_pattern(&attachable)
                                    }
                                }))
                            },
                            "allOf": params_by_pattern(&standalone).into_iter().chain(component_rules).collect::<Vec<_>>()
                        }
                    },
                    "environments": optional(json!({
                        "type": "object",
                        "description": "environments rendered as k8s/overlays/<name>; left out: dev and prod, as declared",
                        "minProperties": 1,
                        "maxProperties": MAX_ENVIRONMENTS,
                        "propertyNames": label,
                        "additionalProperties": optional(json!({
                            "type": "object", "additionalProperties": false,
                            "properties": {
                                "params": optional(json!({
                                    "type": "object",
                                    "description": "component name, or `<component>/<attached pattern>`: parameters laid over its params",
                                    "additionalProperties": optional(json!({"type": "object"}))
                                })),
                                "defaults": defaults
                            }
                        }))
                    })),
                    "lint": optional(json!({
                        "type": "object", "additionalProperties": false,
                        "description": "how `dpatterns lint` treats this system (docs/lint.md)",
                        "properties": {"ignore": optional(json!({
                            "type": "array",
                            "items": {
                                "type": "object", "additionalProperties": false,
                                "required": ["rule", "reason"],
                                "properties": {
                                    "rule": {"enum": crate::lint::rules::silenceable().collect::<Vec<_>>()},
                                    "component": label.clone(),
                                    "reason": {"type": "string", "pattern": "\\S", "description": "why the finding does not apply"}
                                }
                            }
                        }))}
                    })),
                    "patches": optional(json!({
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
                    }))
                }
            }
        },
        "$defs": defs
    })
}

/// A pattern-level case as `if`/`then`: it applies when the field holds the value, or is
/// left out and its default does; then the parameters it requires that have no default
/// must be given, and those it forbids must not.
fn pattern_case_schema(p: &crate::catalog::Pattern, case: &crate::params::Case) -> Value {
    let equals = json!({"properties": {(case.field.clone()): {"const": case.equals}}, "required": [case.field]});
    let default_applies = p
        .param(&case.field)
        .is_some_and(|d| crate::catalog::case_applies(case, d.default.as_ref()));
    let condition = if default_applies {
        json!({"anyOf": [equals, {"not": {"required": [case.field]}}]})
    } else {
        equals
    };
    let required: Vec<&String> = case
        .require
        .iter()
        .filter(|k| {
            p.param(k)
                .is_none_or(|d| d.default.as_ref().is_none_or(Value::is_null))
        })
        .collect();
    let forbidden: Map<String, Value> = case
        .forbid
        .iter()
        .map(|k| (k.clone(), json!(false)))
        .collect();
    json!({"if": condition, "then": {"required": required, "properties": forbidden}})
}
