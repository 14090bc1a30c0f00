//! Environments as kustomize overlays of the base (architecture §6): `k8s/base/` holds the
//! system as the spec describes it, and `k8s/overlays/<env>/` what `spec.environments.<env>`
//! changes. An environment is rendered by the same pipeline as the base, from the spec
//! with its overrides laid in, so every check holds in every environment; the overlay is
//! then the difference, object by object: a JSON patch per changed object, the objects
//! only the environment has, and a `$patch: delete` per object it drops.
//!
//! The computed part is managed (`k8s/overlays/<env>/dpatterns/`, a kustomize Component);
//! the overlay's own `kustomization.yaml` is scaffolded, the user's file: it pulls in the
//! base and the component and holds an `images:` entry per generated image, which
//! `kustomize edit set image` (or CI) changes without any drift.

mod diff;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::error::Error;
use crate::files::{FileKind, OutputFile, managed_header};
use crate::model::{Environment, System};
use crate::spec::{Defaults, LoadedSpec};

pub use diff::json_patch;

/// The folder of every environment's overlay.
pub const OVERLAYS_DIR: &str = "k8s/overlays/";
/// The managed kustomize Component inside each overlay.
pub const COMPONENT_DIR: &str = "dpatterns";

/// The spec as the environment sees it: its parameters over each component's `params`,
/// its `defaults` over `spec.defaults`. The text (for error places) stays the user's.
pub fn environment_spec(spec: &LoadedSpec, env: &Environment) -> LoadedSpec {
    let mut out = spec.clone();
    // The environments were checked against the base; against one of them, another's
    // overrides would be judged on values that are not the base's.
    out.doc.spec.environments = None;
    for (key, params) in &env.params {
        // `api` overrides the component, `api/ambassador` its attachment of that pattern.
        let (component, attached) = match key.split_once('/') {
            Some((c, a)) => (c, Some(a)),
            None => (key.as_str(), None),
        };
        let Some(c) = out
            .doc
            .spec
            .components
            .iter_mut()
            .find(|c| c.name == component)
        else {
            continue;
        };
        let target = match attached {
            None => Some(&mut c.params),
            Some(a) => c
                .attach
                .iter_mut()
                .find(|e| e.pattern == a)
                .map(|e| &mut e.params),
        };
        if let Some(target) = target {
            target.extend(params.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if let Some(d) = &env.defaults {
        let base = out.doc.spec.defaults.take().unwrap_or_default();
        out.doc.spec.defaults = Some(lay_over(base, d.clone()));
    }
    out
}

/// `over`'s fields where it sets them, `base`'s elsewhere.
fn lay_over(base: Defaults, over: Defaults) -> Defaults {
    let resources = match (base.resources, over.resources) {
        (Some(b), Some(o)) => Some(crate::spec::Resources {
            requests: quantities(b.requests, o.requests),
            limits: quantities(b.limits, o.limits),
        }),
        (b, o) => o.or(b),
    };
    Defaults {
        resources,
        run_as_user: over.run_as_user.or(base.run_as_user),
        image_pull_policy: over.image_pull_policy.or(base.image_pull_policy),
    }
}

fn quantities(
    base: Option<crate::spec::Quantities>,
    over: Option<crate::spec::Quantities>,
) -> Option<crate::spec::Quantities> {
    match (base, over) {
        (Some(b), Some(o)) => Some(crate::spec::Quantities {
            cpu: o.cpu.or(b.cpu),
            memory: o.memory.or(b.memory),
            ephemeral_storage: o.ephemeral_storage.or(b.ephemeral_storage),
        }),
        (b, o) => o.or(b),
    }
}

/// Names the environment in an error of its render: the overrides passed their own checks,
/// so what fails is the system they make.
pub fn in_environment(error: Error, env: &str) -> Error {
    match error {
        Error::Spec(mut errors) => {
            for e in &mut errors {
                e.message = format!("in environment `{env}`: {}", e.message);
            }
            Error::Spec(errors)
        }
        Error::Verify {
            mut failures,
            blame,
        } => {
            for f in &mut failures {
                f.message = format!(
                    "in environment `{env}` (spec.environments.{env}): {}",
                    f.message
                );
            }
            // The base rendered cleanly with the same templates: the overrides are to blame.
            let blame = blame.filter(|b| !matches!(b, crate::error::Blame::Dpatterns));
            Error::Verify { failures, blame }
        }
        other => other,
    }
}

/// One object of a render, keyed the way kustomize finds it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    api_version: String,
    kind: String,
    namespace: String,
    name: String,
}

fn keyed(canonical: &[String]) -> BTreeMap<Key, (Value, &str)> {
    canonical
        .iter()
        .map(|yaml| {
            let value: Value =
                serde_yaml::from_str(yaml).expect("canonical YAML reads back (yaml_out tests)");
            let text = |p: &str| {
                value
                    .pointer(p)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let key = Key {
                api_version: text("/apiVersion"),
                kind: text("/kind"),
                namespace: text("/metadata/namespace"),
                name: text("/metadata/name"),
            };
            (key, (value, yaml.as_str()))
        })
        .collect()
}

/// The files of one environment's overlay. `changed` is the canonical YAML of the
/// environment's own render, `None` when it overrides nothing (then it is the base).
pub fn files(
    system: &System,
    env: &Environment,
    base: &[String],
    changed: Option<&[String]>,
) -> Vec<OutputFile> {
    let dir = format!("{OVERLAYS_DIR}{}/", env.name);
    let header = managed_header();
    let mut out = vec![OutputFile {
        path: format!("{dir}kustomization.yaml"),
        contents: scaffold(system, env),
        kind: FileKind::Scaffolded,
    }];
    let mut resources: Vec<&str> = Vec::new();
    let mut patches: Vec<(String, Option<Key>)> = Vec::new();
    if let Some(changed) = changed {
        let before = keyed(base);
        let after = keyed(changed);
        for (key, (old, _)) in &before {
            let file = format!(
                "patches/{}-{}.yaml",
                key.kind.to_ascii_lowercase(),
                key.name
            );
            let contents = match after.get(key) {
                Some((new, _)) => {
                    let ops = json_patch(old, new);
                    if ops.is_empty() {
                        continue;
                    }
                    patches.push((file.clone(), Some(key.clone())));
                    let items: Vec<String> = ops
                        .iter()
                        .map(|op| list_item(&crate::yaml_out::to_yaml(op)))
                        .collect();
                    items.concat()
                }
                None => {
                    patches.push((file.clone(), None));
                    delete_patch(key)
                }
            };
            out.push(OutputFile {
                path: format!("{dir}{COMPONENT_DIR}/{file}"),
                contents: format!("{header}{contents}"),
                kind: FileKind::Managed,
            });
        }
        resources = after
            .iter()
            .filter(|(k, _)| !before.contains_key(k))
            .map(|(_, (_, yaml))| *yaml)
            .collect();
    }
    let mut component = format!(
        "{header}# What spec.environments.{} changes from the base.\napiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
        env.name
    );
    if !resources.is_empty() {
        component.push_str("resources:\n- resources.yaml\n");
        out.push(OutputFile {
            path: format!("{dir}{COMPONENT_DIR}/resources.yaml"),
            contents: format!("{header}{}", resources.join("---\n")),
            kind: FileKind::Managed,
        });
    }
    if resources.is_empty() && patches.is_empty() {
        // kustomize refuses a kustomization with nothing but its kind.
        component.push_str("# Nothing: this environment is the base as it is.\nresources: []\n");
    }
    if !patches.is_empty() {
        component.push_str("patches:\n");
        for (file, target) in &patches {
            component.push_str(&format!("- path: {file}\n"));
            // A `$patch: delete` names its object itself; a JSON patch needs the target.
            if let Some(key) = target {
                let (group, version) = match key.api_version.split_once('/') {
                    Some((g, v)) => (g, v),
                    None => ("", key.api_version.as_str()),
                };
                component.push_str("  target:\n");
                if !group.is_empty() {
                    component.push_str(&format!("    group: {group}\n"));
                }
                component.push_str(&format!(
                    "    version: {version}\n    kind: {}\n    name: {}\n",
                    key.kind, key.name
                ));
                if !key.namespace.is_empty() {
                    component.push_str(&format!("    namespace: {}\n", key.namespace));
                }
            }
        }
    }
    out.push(OutputFile {
        path: format!("{dir}{COMPONENT_DIR}/kustomization.yaml"),
        contents: component,
        kind: FileKind::Managed,
    });
    out
}

/// A YAML document as an item of a block sequence.
fn list_item(doc: &str) -> String {
    let mut out = String::new();
    for (i, line) in doc.lines().enumerate() {
        out.push_str(if i == 0 { "- " } else { "  " });
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// A strategic merge patch that removes the object from the overlay's output.
fn delete_patch(key: &Key) -> String {
    let mut metadata = serde_json::Map::new();
    metadata.insert("name".into(), Value::from(key.name.clone()));
    if !key.namespace.is_empty() {
        metadata.insert("namespace".into(), Value::from(key.namespace.clone()));
    }
    let doc = serde_json::json!({
        "$patch": "delete",
        "apiVersion": key.api_version,
        "kind": key.kind,
        "metadata": metadata,
    });
    crate::yaml_out::to_yaml(&doc)
}

/// The overlay's own kustomization: written once, then the user's (three-way merged on
/// re-render). Its `images:` entries start at the base's images, so that a user or CI
/// points them elsewhere with `kustomize edit set image`.
fn scaffold(system: &System, env: &Environment) -> String {
    let mut out = format!(
        "# The `{name}` environment: the base (../../base) with what spec.environments.{name}\n\
         # changes ({COMPONENT_DIR}/); both are regenerated. This file is yours: set images with\n\
         # `kustomize edit set image`, add resources and patches; re-renders keep your edits.\n\
         apiVersion: kustomize.config.k8s.io/v1beta1\n\
         kind: Kustomization\n\
         resources:\n\
         - ../../base\n\
         components:\n\
         - {COMPONENT_DIR}\n",
        name = env.name
    );
    let mut images: Vec<(&str, &str)> = system
        .programs()
        .map(|p| {
            let (name, tag) = crate::reference::split_image(&p.image);
            (name, tag.unwrap_or(""))
        })
        .collect();
    images.sort();
    images.dedup();
    if !images.is_empty() {
        out.push_str("images:\n");
        for (name, tag) in images {
            out.push_str(&format!(
                "- name: {name}\n  newName: {name}\n  newTag: {}\n",
                crate::yaml_out::scalar(tag)
            ));
        }
    }
    out
}
