//! What the rendered objects leave out because the target Kubernetes version is below the
//! version that turns a field on: the `_common` partials omit `matchLabelKeys` from
//! topology spread constraints and `unhealthyPodEvictionPolicy` from disruption budgets
//! before 1.27, where an API server drops or ignores them. The render still succeeds; the
//! user hears, at `spec.kubernetes.version`, what the cluster will do without them.

use crate::manifest::Object;
use crate::source::{Problem, YamlPath};

/// Both fields are on by default from this minor version (beta in 1.27).
pub const ROLLOUT_FIELDS_MINOR: u32 = 27;

/// One warning per field a rendered object would carry on a newer version.
pub fn version_floors(objects: &[Object], kube_minor: u32) -> Vec<Problem> {
    if kube_minor >= ROLLOUT_FIELDS_MINOR {
        return Vec::new();
    }
    let path = YamlPath::root()
        .key("spec")
        .key("kubernetes")
        .key("version");
    let spreads = objects.iter().any(|o| {
        o.pod_template().is_some_and(|t| {
            t["spec"]["topologySpreadConstraints"]
                .as_array()
                .is_some_and(|c| !c.is_empty())
        })
    });
    let budgets = objects.iter().any(|o| o.kind() == "PodDisruptionBudget");
    let mut out = Vec::new();
    if spreads {
        out.push(Problem::new(
            path.clone(),
            format!("Kubernetes 1.{kube_minor} has no `matchLabelKeys` in topology spread constraints (on from 1.{ROLLOUT_FIELDS_MINOR}): they are rendered without it, so during a rollout old and new pods are counted together and the spread can skew"),
            "below 1.27",
            Some(format!("raise `spec.kubernetes.version` to \"1.{ROLLOUT_FIELDS_MINOR}\" or later when the cluster allows")),
        ));
    }
    if budgets {
        out.push(Problem::new(
            path,
            format!("Kubernetes 1.{kube_minor} has no `unhealthyPodEvictionPolicy` in PodDisruptionBudgets (on from 1.{ROLLOUT_FIELDS_MINOR}): they are rendered without it, so a replica that is not ready can block a node drain"),
            "below 1.27",
            Some(format!("raise `spec.kubernetes.version` to \"1.{ROLLOUT_FIELDS_MINOR}\" or later when the cluster allows")),
        ));
    }
    out
}
