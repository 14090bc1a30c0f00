//! The rules for a workload's pod template, one function each: what the pod declares must
//! agree with itself (selector, volumes, containers, mounts) and with the rest of the
//! render (ServiceAccount, ConfigMaps, a disruption budget when it runs replicas).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::{Index, containers, is_subset, labels_of, string_map};
use crate::kinds::{self, Lifecycle};
use crate::manifest::Object;
use crate::reference::split_image;

type Fail<'f> = &'f mut dyn FnMut(&'static str, String);

/// Applies every rule to one workload, in the order its findings are reported.
pub(super) fn check(
    object: &Object,
    template: &Value,
    index: &Index,
    fail: &mut impl FnMut(&'static str, String),
) {
    let fail: Fail = fail;
    let spec = &template["spec"];
    let labels = labels_of(template);
    let long_running =
        kinds::pods_of(object.kind()).map(|p| p.lifecycle) == Some(Lifecycle::Serves);
    if long_running {
        own_selector(object, &labels, fail);
    }
    service_account(spec, index, fail);
    let mut volumes = unique_volumes(spec, fail);
    // A StatefulSet's claim templates are volumes of each of its pods, by their names.
    let claims = object.value["spec"]["volumeClaimTemplates"].as_array();
    volumes.extend(
        claims
            .into_iter()
            .flatten()
            .filter_map(|c| c["metadata"]["name"].as_str()),
    );
    let mut container_names = BTreeSet::new();
    for container in containers(template) {
        let cname = container["name"].as_str().unwrap_or("");
        unique_container_name(cname, &mut container_names, fail);
        let mut paths = BTreeSet::new();
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            mount_of_declared_volume(cname, mount, &volumes, fail);
            unique_mount_path(cname, mount, &mut paths, fail);
        }
    }
    for container in containers(template) {
        let cname = container["name"].as_str().unwrap_or("?");
        pinned_image(cname, container, fail);
        if long_running {
            probes(cname, container, spec, fail);
        }
    }
    config_maps_rendered(spec, template, index, fail);
    if long_running {
        disruption_budget(object, &labels, index, fail);
    }
}

/// A controller that keeps pods running must select its own pods with `spec.selector`.
fn own_selector(object: &Object, labels: &BTreeMap<String, String>, fail: Fail) {
    let own = string_map(&object.value["spec"]["selector"]["matchLabels"]);
    if own.is_empty() || !is_subset(&own, labels) {
        fail(
            "selector",
            "spec.selector.matchLabels must match the pod template's labels".into(),
        );
    }
}

/// Pods run under a ServiceAccount of their own, which is rendered.
fn service_account(spec: &Value, index: &Index, fail: Fail) {
    match spec["serviceAccountName"].as_str() {
        None => fail(
            "service-account",
            "pods have no serviceAccountName; each component runs under its own".into(),
        ),
        Some(sa) if index.get("ServiceAccount", sa).is_none() => fail(
            "reference",
            format!("serviceAccountName `{sa}` is not rendered"),
        ),
        Some(_) => {}
    }
}

/// Volume names are unique in the pod; returns the names declared.
fn unique_volumes<'v>(spec: &'v Value, fail: Fail) -> BTreeSet<&'v str> {
    let mut volumes = BTreeSet::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        let name = volume["name"].as_str().unwrap_or("");
        if !volumes.insert(name) {
            fail(
                "unique",
                format!("volume `{name}` is declared twice in the pod"),
            );
        }
    }
    volumes
}

/// Container names (init containers included) are unique in the pod.
fn unique_container_name<'v>(cname: &'v str, seen: &mut BTreeSet<&'v str>, fail: Fail) {
    if !seen.insert(cname) {
        fail(
            "unique",
            format!("container name `{cname}` is used twice in the pod"),
        );
    }
}

/// A mount names a volume the pod declares.
fn mount_of_declared_volume(cname: &str, mount: &Value, volumes: &BTreeSet<&str>, fail: Fail) {
    let volume = mount["name"].as_str().unwrap_or("");
    if !volumes.contains(volume) {
        fail(
            "reference",
            format!("container `{cname}` mounts volume `{volume}`, which the pod does not declare"),
        );
    }
}

/// A container mounts at most one volume at each path.
fn unique_mount_path<'v>(cname: &str, mount: &'v Value, paths: &mut BTreeSet<&'v str>, fail: Fail) {
    let path = mount["mountPath"].as_str().unwrap_or("");
    if !paths.insert(path) {
        fail(
            "unique",
            format!("container `{cname}` mounts two volumes at `{path}`"),
        );
    }
}

/// Images are pinned to a version tag or a digest, never `latest` or nothing.
fn pinned_image(cname: &str, container: &Value, fail: Fail) {
    let image = container["image"].as_str().unwrap_or("");
    let (_, tag) = split_image(image);
    if image.is_empty() || (tag.is_none() && !image.contains("@sha256:")) || tag == Some("latest") {
        fail(
            "image",
            format!("container `{cname}` image `{image}` is not pinned to a version tag or digest"),
        );
    }
}

/// Long-running containers (and native sidecars) have liveness and readiness probes; a
/// sidecar needs no readiness probe.
fn probes(cname: &str, container: &Value, spec: &Value, fail: Fail) {
    let is_sidecar = container["restartPolicy"] == "Always";
    let in_init = spec["initContainers"]
        .as_array()
        .is_some_and(|v| v.iter().any(|c| std::ptr::eq(c, container)));
    if in_init && !is_sidecar {
        return;
    }
    for probe in ["livenessProbe", "readinessProbe"] {
        if container[probe].is_null() && !(in_init && probe == "readinessProbe") {
            fail("probes", format!("container `{cname}` has no {probe}"));
        }
    }
}

/// Every ConfigMap the pod needs (not marked optional) is rendered.
fn config_maps_rendered(spec: &Value, template: &Value, index: &Index, fail: Fail) {
    let mut config_maps = BTreeSet::new();
    for volume in spec["volumes"].as_array().into_iter().flatten() {
        if let Some(name) = volume["configMap"]["name"].as_str()
            && volume["configMap"]["optional"] != true
        {
            config_maps.insert(name);
        }
    }
    for container in containers(template) {
        for from in container["envFrom"].as_array().into_iter().flatten() {
            if let Some(name) = from["configMapRef"]["name"].as_str()
                && from["configMapRef"]["optional"] != true
            {
                config_maps.insert(name);
            }
        }
        for env in container["env"].as_array().into_iter().flatten() {
            let key_ref = &env["valueFrom"]["configMapKeyRef"];
            if let Some(name) = key_ref["name"].as_str()
                && key_ref["optional"] != true
            {
                config_maps.insert(name);
            }
        }
    }
    for name in config_maps {
        if index.get("ConfigMap", name).is_none() {
            fail(
                "reference",
                format!("ConfigMap `{name}` is used by the pods but not rendered"),
            );
        }
    }
}

/// A controller that runs two or more replicas (or whose autoscaler keeps at least two)
/// has a PodDisruptionBudget covering its pods. DaemonSets are left out.
fn disruption_budget(
    object: &Object,
    labels: &BTreeMap<String, String>,
    index: &Index,
    fail: Fail,
) {
    if object.kind() == "DaemonSet" {
        return;
    }
    let replicas = object.value["spec"]["replicas"].as_i64();
    let hpa_min = index.hpa_min.get(object.name()).copied();
    let effective = hpa_min.or(replicas).unwrap_or(1);
    if effective >= 2 && !index.disruption_budget_covers(labels) {
        fail(
            "disruption-budget",
            format!("{effective} replicas but no PodDisruptionBudget covers the pods"),
        );
    }
}
