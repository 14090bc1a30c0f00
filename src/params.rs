//! A pattern's parameters: one declaration drives validation of the spec, the prompts of
//! `new`, the table of `show` and the JSON Schema, so the four can never disagree.

mod graph;
mod list;
mod list_schema;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::source::Seg;
pub use graph::{Graph, GraphProblem, graph_problems};
pub use list::{Case, ListDecl, Size, check_list_declaration};

/// One parameter, as declared in a pattern's `pattern.yaml`.
/// Unknown keys are rejected by [`ParamKind`], which receives every key not named here.
#[derive(Debug, Clone, Deserialize)]
pub struct ParamDef {
    pub name: String,
    #[serde(flatten)]
    pub kind: ParamKind,
    #[serde(default)]
    pub default: Option<Value>,
    /// May be left out even without a default; templates then see `null`.
    #[serde(default)]
    pub optional: bool,
    pub help: String,
}

/// The type of a parameter and its constraints.
#[derive(Debug, Clone, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase",
    deny_unknown_fields
)]
pub enum ParamKind {
    Integer {
        #[serde(default)]
        min: Option<i64>,
        #[serde(default)]
        max: Option<i64>,
        /// Another integer parameter of the same pattern this one may not be below.
        #[serde(default)]
        at_least: Option<String>,
        /// Another integer parameter of the same pattern this one may not equal (two
        /// ports of one container).
        #[serde(default)]
        differs_from: Option<String>,
    },
    Boolean,
    String {
        /// Only DNS-1123-label-like values (lower case, digits, `-`).
        #[serde(default)]
        dns_label: bool,
        /// Only host names an Ingress or HTTPRoute takes (`shop.example.com`,
        /// `*.example.com`).
        #[serde(default)]
        hostname: bool,
        /// Only values the whole of which this regular expression matches (a syntax of
        /// the pattern's own, such as sharded-service's `key`); also the JSON Schema's
        /// `pattern`, so keep to what both Rust's `regex` and ECMA-262 read alike.
        #[serde(default)]
        pattern: Option<TextPattern>,
        /// What a value of `pattern` looks like, in words and examples: the help of the
        /// error for a value that does not match.
        #[serde(default)]
        pattern_help: Option<String>,
    },
    Enum {
        values: Vec<String>,
    },
    /// The name of another component in the same spec, of one of these patterns.
    Component {
        patterns: Vec<String>,
    },
    /// A list: of scalars of the type `items` declares, or of mappings with the keys
    /// `fields` declares (see `params/list.rs`).
    List {
        #[serde(default)]
        items: Option<Box<ParamKind>>,
        #[serde(default)]
        fields: Vec<ParamDef>,
        #[serde(default)]
        min_items: Option<usize>,
        #[serde(default)]
        max_items: Option<usize>,
        /// Keys of the mappings whose values differ between elements.
        #[serde(default)]
        unique: Vec<String>,
        /// What an element must have when one of its keys holds a value.
        #[serde(default)]
        cases: Vec<Case>,
        /// The elements are nodes of a dataflow graph over named streams.
        #[serde(default)]
        graph: Option<graph::Graph>,
    },
}

/// The regular expression of a string parameter's `pattern`, compiled once when the
/// catalog loads (an invalid one makes the catalog invalid) and anchored at both ends.
#[derive(Debug, Clone)]
pub struct TextPattern {
    source: String,
    anchored: regex::Regex,
}

impl TextPattern {
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let anchored = regex::Regex::new(&Self::anchor(source))?;
        Ok(Self {
            source: source.to_string(),
            anchored,
        })
    }

    fn anchor(source: &str) -> String {
        format!("^(?:{source})$")
    }

    pub fn is_match(&self, value: &str) -> bool {
        self.anchored.is_match(value)
    }

    /// The anchored expression, as the JSON Schema's `pattern`.
    pub fn schema_pattern(&self) -> String {
        Self::anchor(&self.source)
    }
}

impl<'de> Deserialize<'de> for TextPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        TextPattern::new(&source).map_err(|err| {
            serde::de::Error::custom(format!("`pattern` is not a regular expression: {err}"))
        })
    }
}

/// An integer parameter whose value is below the parameter it must be at least
/// (`atLeast`, as `maxReplicas` of `replicas`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FloorBreach<'a> {
    pub param: &'a str,
    pub value: i64,
    /// The parameter that sets the floor, and its value.
    pub floor_param: &'a str,
    pub floor: i64,
}

/// Every parameter of `defs` below its `atLeast` floor, with the values `value_of` gives
/// (the component's own, or an environment's laid over them): the one reading of the rule
/// for the base and for every environment.
pub fn floor_breaches<'a>(
    defs: &'a [ParamDef],
    value_of: impl Fn(&str) -> Option<i64>,
) -> Vec<FloorBreach<'a>> {
    defs.iter()
        .filter_map(|def| {
            let ParamKind::Integer {
                at_least: Some(other),
                ..
            } = &def.kind
            else {
                return None;
            };
            let (value, floor) = (value_of(&def.name)?, value_of(other)?);
            (value < floor).then_some(FloorBreach {
                param: &def.name,
                value,
                floor_param: other,
                floor,
            })
        })
        .collect()
}

/// Why a value does not fit its parameter; the caller adds the place in the spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamProblem {
    pub message: String,
    pub label: String,
    pub help: Option<String>,
    /// Where inside the value the problem is (an element of a list, a key of it); empty
    /// for the value as a whole.
    pub at: Vec<Seg>,
    /// The problem is the key at `at` itself (an unknown key), not its value.
    pub at_key: bool,
}

impl ParamProblem {
    fn whole(message: String, label: String, help: Option<String>) -> Self {
        ParamProblem {
            message,
            label,
            help,
            at: Vec::new(),
            at_key: false,
        }
    }
}

impl ParamDef {
    /// A short type description for `show` and prompts: `integer 1..=100`, `one of a|b`.
    pub fn type_label(&self) -> String {
        match &self.kind {
            ParamKind::Integer { min, max, .. } => match (min, max) {
                (Some(a), Some(b)) => format!("integer {a}..={b}"),
                (Some(a), None) => format!("integer >= {a}"),
                (None, Some(b)) => format!("integer <= {b}"),
                (None, None) => "integer".into(),
            },
            ParamKind::Boolean => "boolean".into(),
            ParamKind::String {
                dns_label: true, ..
            } => "string (DNS-1123 label)".into(),
            ParamKind::String { hostname: true, .. } => "string (host name)".into(),
            ParamKind::String { .. } => "string".into(),
            ParamKind::Enum { values } => format!("one of {}", values.join("|")),
            ParamKind::Component { patterns } => {
                format!("component ({})", patterns.join("|"))
            }
            ParamKind::List { .. } => self.list().map(|l| l.type_label()).unwrap_or_default(),
        }
    }

    /// The list declaration of a `list` parameter.
    pub fn list(&self) -> Option<ListDecl<'_>> {
        let ParamKind::List {
            items,
            fields,
            min_items,
            max_items,
            unique,
            cases,
            ..
        } = &self.kind
        else {
            return None;
        };
        Some(ListDecl {
            name: &self.name,
            help: &self.help,
            items: items.as_deref(),
            fields,
            size: Size {
                min: *min_items,
                max: *max_items,
            },
            unique,
            cases,
        })
    }

    /// The value a template sees: for a list of mappings, every element with its
    /// left-out keys filled (defaults, `null` for optional keys).
    pub fn complete(&self, value: &Value) -> Value {
        match self.list() {
            Some(list) => list.complete(value),
            None => value.clone(),
        }
    }

    pub fn is_required(&self) -> bool {
        self.default.is_none() && !self.optional
    }

    /// Checks a value's type and range (not references: those need the whole spec).
    pub fn check(&self, value: &Value) -> Result<(), ParamProblem> {
        let wrong_type = |expected: &str| {
            ParamProblem::whole(
                format!(
                    "parameter `{}` must be {expected}, found {}",
                    self.name,
                    describe(value)
                ),
                format!("expected {expected}"),
                Some(self.help.clone()),
            )
        };
        match &self.kind {
            ParamKind::Integer { min, max, .. } => {
                let n = value.as_i64().ok_or_else(|| wrong_type("an integer"))?;
                let below = min.is_some_and(|m| n < m);
                let above = max.is_some_and(|m| n > m);
                if below || above {
                    return Err(ParamProblem::whole(
                        format!(
                            "parameter `{}` is {n}, outside its range {}",
                            self.name,
                            range_text(*min, *max)
                        ),
                        format!("must be {}", range_text(*min, *max)),
                        Some(self.help.clone()),
                    ));
                }
            }
            ParamKind::Boolean => {
                value.as_bool().ok_or_else(|| wrong_type("true or false"))?;
            }
            ParamKind::String {
                dns_label,
                hostname,
                pattern,
                pattern_help,
            } => {
                let s = value.as_str().ok_or_else(|| wrong_type("a string"))?;
                if let Some(pattern) = pattern
                    && !pattern.is_match(s)
                {
                    return Err(ParamProblem::whole(
                        format!(
                            "parameter `{}` does not take `{s}`: it is not in the parameter's syntax",
                            self.name
                        ),
                        "not in the parameter's syntax".into(),
                        Some(pattern_help.clone().unwrap_or_else(|| {
                            format!("write a value matching `{}`", pattern.source)
                        })),
                    ));
                }
                if *hostname && let Err(why) = crate::network::check_hostname(s) {
                    return Err(ParamProblem::whole(
format!("parameter `{}` is not a host name: {why}", self.name),
"not a host name".into(),
Some("write a DNS name in lower case, like `shop.example.com` or `*.example.com`".into()),
));
                }
                if *dns_label && let Err(why) = crate::names::check_dns_label(s) {
                    return Err(ParamProblem::whole(
                        format!("parameter `{}` is not a DNS-1123 label: {why}", self.name),
                        "not a DNS-1123 label".into(),
                        Some(crate::names::DNS_LABEL_HELP.into()),
                    ));
                }
            }
            ParamKind::Enum { values } => {
                let s = value
                    .as_str()
                    .ok_or_else(|| wrong_type(&format!("one of {}", values.join(", "))))?;
                if !values.iter().any(|v| v == s) {
                    return Err(ParamProblem::whole(
                        format!(
                            "parameter `{}` does not allow `{s}`; allowed: {}",
                            self.name,
                            values.join(", ")
                        ),
                        "not an allowed value".into(),
                        crate::names::did_you_mean(s, values.iter().map(String::as_str)),
                    ));
                }
            }
            ParamKind::Component { .. } => {
                value
                    .as_str()
                    .ok_or_else(|| wrong_type("a component name"))?;
            }
            ParamKind::List { .. } => {
                if let Some(list) = self.list() {
                    list.check(value)?;
                }
            }
        }
        Ok(())
    }

    /// Parses a `--set` or prompt answer into a value of this parameter's type.
    pub fn parse_text(&self, text: &str) -> Result<Value, ParamProblem> {
        let value = match &self.kind {
            ParamKind::Integer { .. } => match text.trim().parse::<i64>() {
                Ok(n) => json!(n),
                Err(_) => Value::String(text.to_string()),
            },
            ParamKind::Boolean => match text.trim() {
                "true" | "yes" | "y" => json!(true),
                "false" | "no" | "n" => json!(false),
                _ => Value::String(text.to_string()),
            },
            // A list is written as JSON (`[{"name": "a", …}]`), which is also YAML.
            ParamKind::List { .. } => serde_json::from_str(text.trim())
                .unwrap_or_else(|_| Value::String(text.to_string())),
            _ => Value::String(text.trim().to_string()),
        };
        self.check(&value)?;
        Ok(value)
    }

    /// The JSON Schema of this parameter's value.
    pub fn json_schema(&self) -> Value {
        let mut schema = match &self.kind {
            ParamKind::Integer { min, max, .. } => {
                let mut s = json!({"type": "integer"});
                if let Some(m) = min {
                    s["minimum"] = json!(m);
                }
                if let Some(m) = max {
                    s["maximum"] = json!(m);
                }
                s
            }
            ParamKind::Boolean => json!({"type": "boolean"}),
            ParamKind::String {
                dns_label: true, ..
            } => json!({
                "type": "string", "pattern": crate::names::DNS_LABEL_REGEX, "maxLength": 63
            }),
            ParamKind::String { hostname: true, .. } => json!({
                "type": "string", "pattern": crate::network::HOSTNAME_REGEX, "maxLength": 253
            }),
            ParamKind::String {
                pattern: Some(pattern),
                ..
            } => json!({"type": "string", "pattern": pattern.schema_pattern()}),
            ParamKind::String { .. } => json!({"type": "string"}),
            ParamKind::Enum { values } => json!({"type": "string", "enum": values}),
            ParamKind::Component { .. } => json!({
                "type": "string", "pattern": crate::names::DNS_LABEL_REGEX
            }),
            ParamKind::List { .. } => self.list().map(|l| l.json_schema()).unwrap_or_default(),
        };
        schema["description"] = json!(self.help);
        if let Some(d) = &self.default {
            schema["default"] = d.clone();
        }
        schema
    }
}

fn range_text(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(a), Some(b)) => format!("{a}..={b}"),
        (Some(a), None) => format!(">= {a}"),
        (None, Some(b)) => format!("<= {b}"),
        (None, None) => "any".into(),
    }
}

/// A value as a user would name it in an error: `string "three"`, `integer 3`.
pub fn describe(value: &Value) -> String {
    match value {
        Value::Null => "nothing (null)".into(),
        Value::Bool(b) => format!("boolean {b}"),
        Value::Number(n) => format!("number {n}"),
        Value::String(s) => format!("string \"{s}\""),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(min: i64, max: i64) -> ParamDef {
        ParamDef {
            name: "replicas".into(),
            kind: ParamKind::Integer {
                min: Some(min),
                max: Some(max),
                at_least: None,
                differs_from: None,
            },
            default: Some(json!(3)),
            optional: false,
            help: "how many".into(),
        }
    }

    #[test]
    fn integer_out_of_range_names_the_range() {
        let p = int(2, 10);
        let err = p.check(&json!(11)).unwrap_err();
        assert_eq!(
            err.message,
            "parameter `replicas` is 11, outside its range 2..=10"
        );
        assert!(p.check(&json!(2)).is_ok());
    }

    #[test]
    fn integer_given_as_string_is_a_type_error() {
        let err = int(1, 5).check(&json!("three")).unwrap_err();
        assert_eq!(
            err.message,
            "parameter `replicas` must be an integer, found string \"three\""
        );
    }

    #[test]
    fn enum_suggests_the_closest_value() {
        let p = ParamDef {
            name: "backend".into(),
            kind: ParamKind::Enum {
                values: vec!["redis".into(), "memcached".into()],
            },
            default: None,
            optional: false,
            help: "h".into(),
        };
        let err = p.check(&json!("rediss")).unwrap_err();
        assert_eq!(err.help.as_deref(), Some("did you mean `redis`?"));
    }

    fn shard_key() -> ParamDef {
        let yaml = r#"
name: key
type: string
pattern: 'header:[a-z-]+|query:[a-z]+'
patternHelp: 'header:NAME or query:NAME'
help: where the key is
"#;
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn a_string_outside_its_pattern_is_refused_with_the_pattern_help() {
        let p = shard_key();
        assert!(p.check(&json!("header:x-user")).is_ok());
        let err = p.check(&json!("header:x-user trailing")).unwrap_err();
        assert_eq!(
            err.message,
            "parameter `key` does not take `header:x-user trailing`: it is not in the parameter's syntax"
        );
        assert_eq!(err.help.as_deref(), Some("header:NAME or query:NAME"));
        assert_eq!(
            p.json_schema()["pattern"],
            json!("^(?:header:[a-z-]+|query:[a-z]+)$")
        );
    }

    #[test]
    fn an_invalid_pattern_fails_when_the_catalog_loads() {
        let yaml = "{name: key, type: string, pattern: 'header:(', help: h}";
        let err = serde_yaml::from_str::<ParamDef>(yaml).unwrap_err();
        assert!(
            err.to_string()
                .contains("`pattern` is not a regular expression"),
            "{err}"
        );
    }

    #[test]
    fn parse_text_converts_by_type() {
        assert_eq!(int(1, 9).parse_text("4").unwrap(), json!(4));
        assert!(int(1, 9).parse_text("x").is_err());
    }
}
