//! What a spec's `patches` may not do, and what they may do but not silently. A merge patch
//! can write anything into an object, so after patching: what the API server would refuse
//! (a workload without containers, a Service without ports) and what breaks the system's
//! own invariant (everything in its one namespace) are errors at the patch; settings that
//! undo the hardening the tool applies (a privileged container, the node's PID namespace,
//! added capabilities…) are warnings naming the patch and the setting.

use std::fmt;

use serde_json::Value;

use crate::manifest::Object;
use crate::model::Patch;
use crate::source::{Problem, YamlPath};

/// A spec setting that is allowed but worth a second look, at its place in the spec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Warning {
    pub message: String,
    pub file: String,
    pub line: usize,
    pub column: usize,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.column, self.message
        )
    }
}

fn merge_path(patch: &Patch) -> YamlPath {
    YamlPath::root()
        .key("spec")
        .key("patches")
        .index(patch.index)
        .key("merge")
}

/// Errors for a patch that moves objects out of the system's namespace: refused before
/// it is applied, at the key that does it.
pub fn moves_namespace(patch: &Patch, namespace: &str) -> Option<Problem> {
    let metadata = patch.merge.get("metadata")?;
    let path = merge_path(patch).key("metadata");
    if patch.kind == "Namespace" {
        let renamed = metadata.get("name")?;
        return Some(Problem::new(
            path.key("name"),
            format!(
                "this patch renames the system's namespace `{namespace}` to {}",
                shown(renamed)
            ),
            "renames the namespace",
            Some("set `metadata.namespace` in the spec instead; every object follows it".into()),
        ));
    }
    let target = metadata.get("namespace")?;
    if target.as_str() == Some(namespace) {
        return None;
    }
    Some(Problem::new(
        path.key("namespace"),
        format!(
            "this patch moves {} `{}` out of the system's namespace `{namespace}`",
            patch.kind, patch.name
        ),
        "changes the namespace",
        Some("every object of the system lives in its namespace; set `metadata.namespace` in the spec to move all of them".into()),
    ))
}

/// Errors for an object a patch left in a state the API server refuses.
pub fn refused_after(object: &Object, patch: &Patch) -> Option<Problem> {
    let base = merge_path(patch);
    let (what, path) = if let Some(template) = object.pod_template() {
        let empty = template["spec"]["containers"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if !empty {
            return None;
        }
        let pointer = crate::manifest::pod_template_pointer(object.kind()).unwrap_or("");
        let mut path = base.clone();
        for key in pointer.split('/').filter(|k| !k.is_empty()) {
            path = path.key(key);
        }
        ("containers", path.key("spec").key("containers"))
    } else if object.kind() == "Service" && object.value["spec"]["type"] != "ExternalName" {
        let empty = object.value["spec"]["ports"]
            .as_array()
            .is_none_or(Vec::is_empty);
        if !empty {
            return None;
        }
        ("ports", base.key("spec").key("ports"))
    } else {
        return None;
    };
    Some(Problem::new(
        path,
        format!(
            "this patch leaves {} `{}` without {what}",
            object.kind(),
            object.name()
        ),
        "empties a required list",
        Some(format!(
            "the API server refuses a {} without {what}; a merge patch replaces a whole list, so give the complete list or patch other fields",
            object.kind()
        )),
    ))
}

/// A setting that undoes the tool's hardening: its key, which values weaken, what it gives away.
type Weakening = (&'static str, fn(&Value) -> bool, &'static str);

const WEAKENING: &[Weakening] = &[
    (
        "privileged",
        is_true,
        "the container gets every device and capability of the node",
    ),
    (
        "allowPrivilegeEscalation",
        is_true,
        "processes may gain more privileges than their parent",
    ),
    ("runAsNonRoot", is_false, "the container may run as root"),
    ("runAsUser", is_zero, "the container runs as root"),
    (
        "readOnlyRootFilesystem",
        is_false,
        "the container may write to its image's files",
    ),
    (
        "hostPID",
        is_true,
        "the pod sees and signals every process of the node",
    ),
    (
        "hostNetwork",
        is_true,
        "the pod uses the node's network and bypasses NetworkPolicies",
    ),
    (
        "hostIPC",
        is_true,
        "the pod shares the node's inter-process communication",
    ),
    (
        "add",
        is_non_empty,
        "the container gains Linux capabilities",
    ),
    (
        "type",
        is_unconfined,
        "system calls are no longer filtered (seccomp)",
    ),
    (
        "automountServiceAccountToken",
        is_true,
        "the pod gets an API token",
    ),
];

fn is_true(v: &Value) -> bool {
    v == &Value::Bool(true)
}

fn is_false(v: &Value) -> bool {
    v == &Value::Bool(false)
}

fn is_zero(v: &Value) -> bool {
    v.as_i64() == Some(0)
}

fn is_non_empty(v: &Value) -> bool {
    v.as_array().is_some_and(|a| !a.is_empty())
}

fn is_unconfined(v: &Value) -> bool {
    v == "Unconfined"
}

/// Every weakening setting a patch writes, at its place in the spec; the pipeline turns
/// them into [`Warning`]s.
pub fn weakened(patches: &[Patch]) -> Vec<Problem> {
    let mut out = Vec::new();
    for patch in patches {
        walk(
            &patch.merge,
            &merge_path(patch),
            &mut Vec::new(),
            &mut |path, keys, value| {
                let Some(key) = keys.last() else { return };
                let parent = keys.len().checked_sub(2).map(|i| keys[i].as_str());
                for (name, weakens, why) in WEAKENING {
                    // `add` counts under `capabilities`, `type` under `seccompProfile`.
                    let context_ok = match *name {
                        "add" => parent == Some("capabilities"),
                        "type" => parent == Some("seccompProfile"),
                        _ => true,
                    };
                    if key == name && context_ok && weakens(value) {
                        out.push(Problem::new(
                            path.clone(),
                            format!(
                                "the patch of {} `{}` sets `{}` to {}: {why}",
                                patch.kind,
                                patch.name,
                                keys.join("."),
                                shown(value)
                            ),
                            "",
                            None,
                        ));
                    }
                }
            },
        );
    }
    out
}

/// Calls `f` on every value of a patch with its spec path and its keys (list indexes left
/// out, since merge patches replace lists whole).
fn walk(
    value: &Value,
    path: &YamlPath,
    keys: &mut Vec<String>,
    f: &mut dyn FnMut(&YamlPath, &[String], &Value),
) {
    f(path, keys, value);
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                walk(v, &path.key(k), keys, f);
                keys.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                walk(v, &path.index(i), keys, f);
            }
        }
        _ => {}
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::SourceFile;
    use serde_json::json;

    const SPEC: &str = "apiVersion: dpatterns/v1alpha1
kind: System
metadata:
  name: shop
spec:
  components:
    - {name: api, pattern: replicated-service}
  patches:
    - target: {kind: Deployment, name: api}
      merge:
        spec:
          template:
            spec:
              containers:
                - name: api
                  securityContext:
                    privileged: true
                    capabilities: {add: [NET_ADMIN], drop: [ALL]}
                    seccompProfile: {type: Unconfined}
";

    fn loaded() -> (crate::spec::LoadedSpec, Vec<Patch>) {
        let spec = crate::spec::parse(SourceFile::new("s.yaml", SPEC)).unwrap();
        let p = &spec.doc.spec.patches[0];
        let patch = Patch {
            index: 0,
            kind: p.target.kind.clone(),
            name: p.target.name.clone(),
            merge: p.merge.clone(),
        };
        (spec, vec![patch])
    }

    #[test]
    fn container_settings_that_undo_hardening_are_named_with_their_line() {
        let (spec, patches) = loaded();
        let mut found: Vec<(usize, String)> = weakened(&patches)
            .into_iter()
            .map(|p| (spec.source.place(p.clone()).line, p.message))
            .collect();
        found.sort();
        let prefix =
            "the patch of Deployment `api` sets `spec.template.spec.containers.securityContext";
        assert_eq!(
            found,
            [
                (
                    17,
                    format!(
                        "{prefix}.privileged` to `true`: the container gets every device and capability of the node"
                    )
                ),
                (
                    18,
                    format!(
                        "{prefix}.capabilities.add` to `[\"NET_ADMIN\"]`: the container gains Linux capabilities"
                    )
                ),
                (
                    19,
                    format!(
                        "{prefix}.seccompProfile.type` to `Unconfined`: system calls are no longer filtered (seccomp)"
                    )
                ),
            ]
        );
    }

    #[test]
    fn a_patch_keeping_the_namespace_is_not_a_move() {
        let (_, mut patches) = loaded();
        patches[0].merge = json!({"metadata": {"namespace": "shop"}});
        assert!(moves_namespace(&patches[0], "shop").is_none());
        patches[0].merge = json!({"metadata": {"namespace": "kube-system"}});
        assert!(moves_namespace(&patches[0], "shop").is_some());
    }
}
