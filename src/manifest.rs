//! Manifests as data: parsing rendered YAML into objects, composing attachments into the
//! pods they decorate, and applying the spec's `patches`. Working on parsed objects rather
//! than text is what rules out the indentation bugs of text-templated charts.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::catalog::Catalog;
use crate::error::{Blame, Error, Result};
use crate::model::{Patch, System};
use crate::patch_checks;
use crate::source::{Problem, YamlPath};
use crate::templating::ManifestText;

mod compose;
pub use compose::compose;

/// The kind an attachable pattern renders to say "add this to my host's pods".
pub const POD_PATCH_KIND: &str = "PodPatch";

/// One Kubernetes object and where it came from.
#[derive(Debug, Clone)]
pub struct Object {
    /// The component whose file holds the object; `None` for system-wide objects.
    pub component: Option<String>,
    /// The template that produced it.
    pub template: String,
    pub value: Value,
}

impl Object {
    pub fn kind(&self) -> &str {
        self.value["kind"].as_str().unwrap_or("")
    }

    pub fn api_version(&self) -> &str {
        self.value["apiVersion"].as_str().unwrap_or("")
    }

    pub fn name(&self) -> &str {
        self.value["metadata"]["name"].as_str().unwrap_or("")
    }

    pub fn namespace(&self) -> Option<&str> {
        self.value["metadata"]["namespace"].as_str()
    }

    /// `Deployment storefront/api`, as errors name an object.
    pub fn describe(&self) -> String {
        match self.namespace() {
            Some(ns) => format!("{} {ns}/{}", self.kind(), self.name()),
            None => format!("{} {}", self.kind(), self.name()),
        }
    }

    /// The output file that holds this object.
    pub fn file(&self) -> String {
        match &self.component {
            Some(c) => format!("{BASE_DIR}{c}.yaml"),
            None => SYSTEM_FILE.to_string(),
        }
    }

    pub fn pod_template(&self) -> Option<&Value> {
        pod_template_pointer(self.kind()).and_then(|p| self.value.pointer(p))
    }

    pub fn pod_template_mut(&mut self) -> Option<&mut Value> {
        let pointer = pod_template_pointer(self.kind())?;
        self.value.pointer_mut(pointer)
    }
}

/// The folder of the base every environment's overlay builds on (architecture §6).
pub const BASE_DIR: &str = "k8s/base/";

/// System-wide objects (the Namespace) go to a file no component name can take.
pub const SYSTEM_FILE: &str = "k8s/base/_system.yaml";

/// Where the pod template sits in each workload kind (from the table of kinds).
pub fn pod_template_pointer(kind: &str) -> Option<&'static str> {
    crate::kinds::pods_of(kind).map(|p| p.template)
}

/// Kinds whose pods run to completion, where a plain extra container would block forever.
pub fn runs_to_completion(kind: &str) -> bool {
    crate::kinds::pods_of(kind).is_some_and(|p| p.lifecycle == crate::kinds::Lifecycle::Completes)
}

/// A rendered template, parsed: objects and the pod patches of attachments.
#[derive(Debug, Default)]
pub struct Parsed {
    pub objects: Vec<Object>,
    pub pod_patches: Vec<PodPatch>,
}

/// What an attachable pattern adds to its host's pods.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PodPatchDoc {
    #[allow(dead_code)]
    api_version: String,
    #[allow(dead_code)]
    kind: String,
    #[serde(default)]
    pub(super) containers: Vec<Value>,
    #[serde(default)]
    pub(super) volumes: Vec<Value>,
    #[serde(default)]
    pub(super) share_process_namespace: Option<bool>,
    /// Added to each of the host's own containers: how the app meets the attachment
    /// (a shared volume mounted, an address in an environment variable).
    #[serde(default)]
    pub(super) host_containers: HostContainers,
    /// Ports of the added containers that are reached from outside the pod.
    #[serde(default)]
    pub(super) expose: Vec<Expose>,
}

/// A port an attachment serves beyond its pod: to the host's clients (a Service port and
/// the host's NetworkPolicy rules for its callers) or to monitoring only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Expose {
    /// A `containerPort` name of one of the patch's containers.
    pub name: String,
    pub port: u16,
    /// The Service's port; default: `port`.
    #[serde(default)]
    pub service_port: Option<u16>,
    pub from: ExposeTo,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExposeTo {
    Clients,
    Monitoring,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct HostContainers {
    #[serde(default)]
    pub(super) env: Vec<Value>,
    #[serde(default)]
    pub(super) volume_mounts: Vec<Value>,
}

#[derive(Debug, Clone)]
pub struct PodPatch {
    /// Who answers for the attachable pattern's template.
    pub blame: Blame,
    pub host: String,
    pub attachment: String,
    pub template: String,
    pub doc: PodPatchDoc,
}

/// Parses every rendered manifest template into objects.
pub fn parse(texts: &[ManifestText], catalog: &Catalog) -> Result<Parsed> {
    let mut parsed = Parsed::default();
    let documents = crate::par::map(texts, |t| parse_documents(&t.text));
    for (text, documents) in texts.iter().zip(documents) {
        let blame = catalog
            .file(&text.template)
            .map_or(Blame::Dpatterns, |f| f.blame.clone());
        let fail = |message: String| Error::Template {
            template: text.template.clone(),
            message,
            blame: blame.clone(),
        };
        let documents =
            documents.map_err(|e| fail(format!("rendered YAML does not parse: {e}")))?;
        for value in documents {
            if !value.is_object() || !value["kind"].is_string() {
                return Err(fail(
                    "rendered a document that is not a Kubernetes object".into(),
                ));
            }
            if value["kind"] == POD_PATCH_KIND {
                let (Some(host), Some(attachment)) = (&text.component, &text.attachment) else {
                    return Err(fail(
                        "only an attachable pattern may render a PodPatch".into(),
                    ));
                };
                let doc: PodPatchDoc = serde_json::from_value(value)
                    .map_err(|e| fail(format!("invalid PodPatch: {e}")))?;
                parsed.pod_patches.push(PodPatch {
                    blame: blame.clone(),
                    host: host.clone(),
                    attachment: attachment.clone(),
                    template: text.template.clone(),
                    doc,
                });
                continue;
            }
            parsed.objects.push(Object {
                component: text.component.clone(),
                template: text.template.clone(),
                value,
            });
        }
    }
    Ok(parsed)
}

/// The non-empty documents of one rendered template.
fn parse_documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    let mut values = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let value = Value::deserialize(document)?;
        if !value.is_null() {
            values.push(value);
        }
    }
    Ok(values)
}

/// A stage's answer when the spec can be at fault: the objects, or the problems with the
/// spec named by their paths, for the caller (who holds the spec's text) to place.
pub type SpecChecked<T> = std::result::Result<T, Vec<Problem>>;

/// Applies the spec's `patches` (JSON merge patches, RFC 7396) to the objects they name,
/// refusing what `patch_checks` refuses; returns the warnings about weakened hardening.
pub fn apply_patches(objects: &mut [Object], system: &System) -> SpecChecked<Vec<Problem>> {
    let mut errors = Vec::new();
    // Objects by kind and name, found once: a spec with a patch per component would
    // otherwise compare every patch with every object.
    let mut by_target: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for (i, o) in objects.iter().enumerate() {
        by_target
            .entry((o.kind().to_string(), o.name().to_string()))
            .or_default()
            .push(i);
    }
    let mut unmatched = Vec::new();
    for patch in &system.patches {
        if let Some(e) = patch_checks::moves_namespace(patch, &system.namespace) {
            errors.push(e);
            continue;
        }
        let key = (patch.kind.clone(), patch.name.clone());
        let targets = by_target.remove(&key).unwrap_or_default();
        for &i in &targets {
            merge_patch(&mut objects[i].value, &patch.merge);
            errors.extend(patch_checks::refused_after(&objects[i], patch));
            // A patch may rename an object: later patches find it by its new name.
            let now = (objects[i].kind().to_string(), objects[i].name().to_string());
            by_target.entry(now).or_default().push(i);
        }
        if targets.is_empty() {
            unmatched.push(patch);
        }
    }
    if !unmatched.is_empty() {
        errors.extend(unmatched_patches(objects, &unmatched));
    }
    if errors.is_empty() {
        Ok(patch_checks::weakened(&system.patches))
    } else {
        Err(errors)
    }
}

/// An error for each patch whose target is not rendered, with the closest name or kind.
fn unmatched_patches(objects: &[Object], unmatched: &[&Patch]) -> Vec<Problem> {
    let mut names_by_kind: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for o in objects {
        names_by_kind.entry(o.kind()).or_default().push(o.name());
    }
    let kinds: Vec<&str> = names_by_kind.keys().copied().collect();
    let mut suggestions = crate::names::SuggestionBudget::new();
    let mut errors = Vec::new();
    for patch in unmatched {
        let path = YamlPath::root()
            .key("spec")
            .key("patches")
            .index(patch.index)
            .key("target");
        let help = match names_by_kind.get(patch.kind.as_str()) {
            None => crate::names::did_you_mean(&patch.kind, kinds.iter().copied())
                .or_else(|| Some(format!("kinds rendered: {}", kinds.join(", ")))),
            Some(same_kind) => suggestions
                .did_you_mean(&patch.name, same_kind)
                .or_else(|| {
                    let names = crate::names::some_of(same_kind.iter().copied());
                    Some(format!("{} objects: {names}", patch.kind))
                }),
        };
        errors.push(Problem::new(
            path,
            format!(
                "patch target {} `{}` matches no rendered object",
                patch.kind, patch.name
            ),
            "matches nothing",
            help,
        ));
    }
    errors
}

/// RFC 7396: objects merge key by key, `null` deletes, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(patch_map) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let target_map = target.as_object_mut().expect("made an object above");
    for (key, value) in patch_map {
        if value.is_null() {
            target_map.remove(key);
        } else {
            merge_patch(target_map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        let mut doc = json!({"a": "b", "c": {"d": "e", "f": "g"}});
        merge_patch(&mut doc, &json!({"a": "z", "c": {"f": null}, "n": [1]}));
        assert_eq!(doc, json!({"a": "z", "c": {"d": "e"}, "n": [1]}));
    }

    #[test]
    fn pod_templates_are_found_per_kind() {
        assert_eq!(
            pod_template_pointer("CronJob"),
            Some("/spec/jobTemplate/spec/template")
        );
        assert_eq!(pod_template_pointer("Service"), None);
        let pod = Object {
            component: None,
            template: "t".into(),
            value: json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}}),
        };
        assert_eq!(pod.pod_template().unwrap()["metadata"]["name"], "p");
    }
}
