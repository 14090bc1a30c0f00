//! The canonical YAML of a checked object, written straight from its JSON value: block
//! style, two-space indentation, sequences level with their key, keys sorted (with
//! `apiVersion` and `kind` first at the top), strings quoted only where YAML would read
//! them as something else. Writing it ourselves is several times faster than a generic
//! serializer and fixes the format independently of any crate's defaults; a test reads
//! every output back and compares it with the value.

use std::fmt::Write;

use serde_json::{Map, Value};

/// The object as a YAML document (no `---`), ending in a newline.
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::with_capacity(2048);
    match value {
        Value::Object(map) if !map.is_empty() => {
            let first = ["apiVersion", "kind"];
            let head = first.iter().filter_map(|k| map.get_key_value(*k));
            let rest = map.iter().filter(|(k, _)| !first.contains(&k.as_str()));
            for (key, v) in head.chain(rest) {
                entry(&mut out, 0, key, v);
            }
        }
        other => {
            scalar_or_empty(&mut out, 0, other);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `key: value` at `level` spaces (the key already indented by the caller when inline).
fn entry(out: &mut String, level: usize, key: &str, value: &Value) {
    indent(out, level);
    entry_inline(out, level, key, value);
}

fn entry_inline(out: &mut String, level: usize, key: &str, value: &Value) {
    string(out, level, key);
    out.push(':');
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push('\n');
            mapping(out, level + 2, map);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('\n');
            sequence(out, level, items);
        }
        other => {
            out.push(' ');
            scalar_or_empty(out, level + 2, other);
            out.push('\n');
        }
    }
}

fn mapping(out: &mut String, level: usize, map: &Map<String, Value>) {
    for (key, value) in map {
        entry(out, level, key, value);
    }
}

/// Items at `level`, each `- ` followed by the item, continued at `level + 2`.
fn sequence(out: &mut String, level: usize, items: &[Value]) {
    for item in items {
        indent(out, level);
        out.push_str("- ");
        match item {
            Value::Object(map) if !map.is_empty() => {
                let mut entries = map.iter();
                if let Some((key, value)) = entries.next() {
                    entry_inline(out, level + 2, key, value);
                }
                for (key, value) in entries {
                    entry(out, level + 2, key, value);
                }
            }
            Value::Array(inner) if !inner.is_empty() => {
                // A sequence inside a sequence starts on the next line.
                out.pop();
                out.push('\n');
                sequence(out, level + 2, inner);
            }
            other => {
                scalar_or_empty(out, level + 2, other);
                out.push('\n');
            }
        }
    }
}

fn scalar_or_empty(out: &mut String, level: usize, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => string(out, level, s),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

/// A string as plain, single-quoted, double-quoted or literal block scalar.
fn string(out: &mut String, level: usize, s: &str) {
    if s.contains('\n') && literal_block_allowed(s) {
        literal_block(out, level, s);
    } else if s
        .chars()
        .any(|c| c.is_control() && c != '\n' || c == '\u{feff}')
        || s.contains('\n')
    {
        double_quoted(out, s);
    } else if plain_allowed(s) {
        out.push_str(s);
    } else {
        out.push('\'');
        out.push_str(&s.replace('\'', "''"));
        out.push('\'');
    }
}

fn literal_block_allowed(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && c != '\n')
        && !s.starts_with([' ', '\n'])
        && !s.lines().any(|l| l.ends_with(' '))
}

/// `|` keeps one final newline, `|-` none, `|+` all of them.
fn literal_block(out: &mut String, level: usize, s: &str) {
    let trailing = s.len() - s.trim_end_matches('\n').len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    out.push('\n');
    let body = s.trim_end_matches('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            indent(out, level);
            out.push_str(line);
        }
        out.push('\n');
    }
    for _ in 1..trailing {
        out.push('\n');
    }
    // The caller adds the newline that ends the entry.
    out.pop();
}

fn double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `s` reads back as the same string without quotes.
fn plain_allowed(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    if s.starts_with(' ') || s.ends_with(' ') || s.ends_with(':') {
        return false;
    }
    // `-`, `?` and `:` may start a plain scalar when a non-space follows (`-c`).
    let second = s.chars().nth(1);
    let indicator_ok = "-?:".contains(first) && second.is_some_and(|c| c != ' ');
    if ",[]{}#&*!|>'\"%@`".contains(first) || ("-?:".contains(first) && !indicator_ok) {
        return false;
    }
    if s.contains(": ") || s.contains(" #") || s.contains('\t') {
        return false;
    }
    !looks_like_other_type(s)
}

/// Words and numbers a YAML 1.1 or 1.2 reader would not take as a string.
fn looks_like_other_type(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "null", "~", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    let lower = s.to_ascii_lowercase();
    WORDS.contains(&lower.as_str()) || is_number(s) || is_timestamp(s)
}

/// Integers (decimal, `0x`, `0o`, `0b`, with `_`), floats, and base-60 numbers (`1:30`).
fn is_number(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let all = |text: &str, ok: fn(char) -> bool| !text.is_empty() && text.chars().all(ok);
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return all(hex, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(oct) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        return all(oct, |c| c.is_digit(8) || c == '_');
    }
    if let Some(bin) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        return all(bin, |c| c == '0' || c == '1' || c == '_');
    }
    if body.contains(':') {
        return body
            .split(':')
            .all(|part| all(part, |c| c.is_ascii_digit() || c == '_' || c == '.'));
    }
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = mantissa.chars().any(|c| c.is_ascii_digit())
        && mantissa.chars().filter(|c| *c == '.').count() <= 1
        && mantissa
            .chars()
            .all(|c| c.is_ascii_digit() || c == '_' || c == '.');
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        all(digits, |c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// `2024-01-31`, with or without a time after it.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

/// A string as a YAML scalar on one line (quoted when needed), for hand-written documents
/// such as the lock file.
pub fn scalar(s: &str) -> String {
    let mut out = String::new();
    string(&mut out, 0, s);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(value: &Value) {
        let text = to_yaml(value);
        let back: Value = serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(&back, value, "\n{text}");
    }

    #[test]
    fn tricky_strings_read_back_unchanged() {
        let strings = [
            "",
            " ",
            "8080",
            "1",
            "1.5",
            "1e3",
            "0x1F",
            "0o17",
            "1_000",
            "12:30",
            "2024-01-01",
            "true",
            "True",
            "no",
            "Off",
            "y",
            "null",
            "~",
            "-",
            "- a",
            "-a",
            "?",
            ":x",
            "a: b",
            "a:",
            "a #b",
            "#c",
            "'q'",
            "\"d\"",
            "[x]",
            "{x}",
            "x,y",
            "@a",
            "`b",
            "%c",
            "!t",
            "&a",
            "*a",
            "|",
            ">",
            "100m",
            "128Mi",
            "http://api:80",
            "v1.31",
            "a\tb",
            "é ü",
            "line\n",
            "two\nlines",
            "two\nlines\n",
            "three\n\n",
            " lead\nx",
            "trail \nx",
            "ctl\u{7}",
            "\u{feff}bom",
            "-.inf",
            ".nan",
            "+1",
            "-1",
            "1.",
            ".5",
            "a'b",
            "$(date)",
            "ends with space ",
            "/readyz",
            "ALL",
            "Always",
            "RuntimeDefault",
        ];
        for s in strings {
            round_trip(&json!({"k": s}));
            round_trip(&json!({"list": [s, {"k": s}]}));
        }
    }

    #[test]
    fn nested_shapes_read_back_unchanged() {
        round_trip(&json!({
            "apiVersion": "v1", "kind": "X", "a": {}, "b": [], "c": null, "d": [[1, 2], [], [{}]],
            "e": [{"x": [{"y": {"z": [1]}}], "w": {}}], "f": 1.25, "g": -3, "h": false
        }));
    }

    #[test]
    fn api_version_and_kind_come_first() {
        let text = to_yaml(
            &json!({"metadata": {"name": "x"}, "kind": "Service", "apiVersion": "v1", "automount": true}),
        );
        assert!(
            text.starts_with("apiVersion: v1\nkind: Service\nautomount: true\n"),
            "{text}"
        );
    }
}
