//! The JSON Schema of a list parameter: its size, its elements (each key as its own
//! parameter's schema), and the cases as `if`/`then`, so an editor flags a filter without
//! its predicate as dpatterns does. `unique` and `graph` span elements and are left to
//! dpatterns.

use serde_json::{Value, json};

use super::ParamDef;
use super::list::{Case, ListDecl};

impl ListDecl<'_> {
    /// The JSON Schema of the list: size, elements, and the cases as `if`/`then`.
    pub fn json_schema(&self) -> Value {
        let mut schema = json!({"type": "array"});
        if let Some(m) = self.size.min {
            schema["minItems"] = json!(m);
        }
        if let Some(m) = self.size.max {
            schema["maxItems"] = json!(m);
        }
        let element = match self.items {
            Some(kind) => {
                let mut s = ParamDef {
                    name: String::new(),
                    kind: kind.clone(),
                    default: None,
                    optional: false,
                    help: self.help.to_string(),
                }
                .json_schema();
                if let Some(o) = s.as_object_mut() {
                    o.remove("description");
                }
                s
            }
            None => {
                let properties: serde_json::Map<String, Value> = self
                    .fields
                    .iter()
                    .map(|f| (f.name.clone(), f.json_schema()))
                    .collect();
                let required: Vec<&str> = self
                    .fields
                    .iter()
                    .filter(|f| f.is_required())
                    .map(|f| f.name.as_str())
                    .collect();
                let mut s = json!({
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                });
                let cases: Vec<Value> = self.cases.iter().map(case_schema).collect();
                if !cases.is_empty() {
                    s["allOf"] = json!(cases);
                }
                s
            }
        };
        schema["items"] = element;
        schema
    }
}

fn case_schema(case: &Case) -> Value {
    let mut then = serde_json::Map::new();
    then.insert("required".into(), json!(case.require));
    let mut properties = serde_json::Map::new();
    for key in &case.forbid {
        properties.insert(key.clone(), json!(false));
    }
    for (key, size) in &case.sizes {
        let mut s = json!({});
        if let Some(m) = size.min {
            s["minItems"] = json!(m);
        }
        if let Some(m) = size.max {
            s["maxItems"] = json!(m);
        }
        properties.insert(key.clone(), s);
    }
    then.insert("properties".into(), Value::Object(properties));
    json!({
        "if": {"properties": {(case.field.clone()): {"const": case.equals}}, "required": [case.field]},
        "then": then,
    })
}
