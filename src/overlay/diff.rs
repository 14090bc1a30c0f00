//! The difference between one object in the base and the same object in an environment,
//! as the operations of a JSON patch (RFC 6902) that kustomize applies to the base. A
//! JSON patch rather than a merge patch: it can remove a key and replace a list exactly,
//! where a strategic merge would merge the entries of a list by key and keep the ones
//! the environment dropped.

use serde_json::{Value, json};

/// The operations that turn `from` into `to`, in a stable order: keys in the order the
/// values hold them (sorted, as both come from canonical YAML).
pub fn json_patch(from: &Value, to: &Value) -> Vec<Value> {
    let mut ops = Vec::new();
    walk(&mut String::new(), from, to, &mut ops);
    ops
}

fn walk(path: &mut String, from: &Value, to: &Value, ops: &mut Vec<Value>) {
    if from == to {
        return;
    }
    match (from, to) {
        (Value::Object(a), Value::Object(b)) => {
            for (key, old) in a {
                let len = path.len();
                push_token(path, key);
                match b.get(key) {
                    None => ops.push(json!({"op": "remove", "path": path.as_str()})),
                    Some(new) => walk(path, old, new, ops),
                }
                path.truncate(len);
            }
            for (key, new) in b {
                if a.contains_key(key) {
                    continue;
                }
                let len = path.len();
                push_token(path, key);
                ops.push(json!({"op": "add", "path": path.as_str(), "value": new}));
                path.truncate(len);
            }
        }
        // Lists of the same length change item by item (one container's pull policy, not
        // every container); a list that grew or shrank is replaced whole.
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (old, new)) in a.iter().zip(b).enumerate() {
                let len = path.len();
                path.push_str(&format!("/{i}"));
                walk(path, old, new, ops);
                path.truncate(len);
            }
        }
        _ => ops.push(json!({"op": "replace", "path": path.as_str(), "value": to})),
    }
}

/// Appends `/key` with the escapes of RFC 6901 (`~` is `~0`, `/` is `~1`), as label keys
/// like `app.kubernetes.io/name` need.
fn push_token(path: &mut String, key: &str) {
    path.push('/');
    for c in key.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// Applies operations made by [`json_patch`] (the subset it emits), to prove in tests that
/// they turn the base into the environment's object.
#[cfg(test)]
pub fn apply(value: &mut Value, ops: &[Value]) {
    for op in ops {
        let path = op["path"].as_str().unwrap();
        let (parent, last) = path.rsplit_once('/').unwrap();
        let last = last.replace("~1", "/").replace("~0", "~");
        let target = if parent.is_empty() {
            &mut *value
        } else {
            value.pointer_mut(parent).unwrap()
        };
        if let Value::Array(items) = target {
            items[last.parse::<usize>().unwrap()] = op["value"].clone();
            continue;
        }
        let map = target.as_object_mut().unwrap();
        match op["op"].as_str().unwrap() {
            "remove" => {
                map.remove(&last);
            }
            _ => {
                map.insert(last, op["value"].clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_objects_need_no_operation() {
        let v = json!({"spec": {"replicas": 3}});
        assert!(json_patch(&v, &v).is_empty());
    }

    #[test]
    fn a_changed_scalar_is_replaced_at_its_path() {
        let ops = json_patch(
            &json!({"spec": {"replicas": 3, "paused": false}}),
            &json!({"spec": {"replicas": 1, "paused": false}}),
        );
        assert_eq!(
            ops,
            vec![json!({"op": "replace", "path": "/spec/replicas", "value": 1})]
        );
    }

    #[test]
    fn keys_with_slashes_and_tildes_are_escaped() {
        let ops = json_patch(
            &json!({"metadata": {"labels": {}}}),
            &json!({"metadata": {"labels": {"app.kubernetes.io/name": "api", "a~b": "x"}}}),
        );
        let paths: Vec<&str> = ops.iter().map(|o| o["path"].as_str().unwrap()).collect();
        assert_eq!(
            paths,
            [
                "/metadata/labels/app.kubernetes.io~1name",
                "/metadata/labels/a~0b"
            ]
        );
    }

    #[test]
    fn a_list_of_the_same_length_changes_item_by_item() {
        let ops = json_patch(
            &json!({"containers": [{"name": "a", "pull": "Always"}, {"name": "b"}]}),
            &json!({"containers": [{"name": "a", "pull": "IfNotPresent"}, {"name": "b"}]}),
        );
        assert_eq!(
            ops,
            vec![json!({"op": "replace", "path": "/containers/0/pull", "value": "IfNotPresent"})]
        );
    }

    #[test]
    fn a_list_that_grew_or_shrank_is_replaced_whole_and_a_dropped_key_removed() {
        let from = json!({"env": [{"name": "A"}, {"name": "B"}], "old": 1, "same": [1]});
        let to = json!({"env": [{"name": "A"}], "same": [1]});
        let ops = json_patch(&from, &to);
        assert_eq!(
            ops,
            vec![
                json!({"op": "replace", "path": "/env", "value": [{"name": "A"}]}),
                json!({"op": "remove", "path": "/old"}),
            ]
        );
    }

    #[test]
    fn the_operations_turn_the_base_into_the_environment() {
        let from = json!({"a": {"b": 1, "c": [1, 2], "d": "x"}, "e": true, "l": [{"x": 1}, 2]});
        let to = json!({"a": {"b": 2, "c": [2], "f": {"g": null}}, "e": true, "h/i": 0, "l": [{"x": 2, "y": 0}, 3]});
        let mut value = from.clone();
        apply(&mut value, &json_patch(&from, &to));
        assert_eq!(value, to);
    }
}
