//! "The Myth of Optional Components": what others depend on is not optional. DDS104 reads
//! the rendered objects: the pods behind the Service of a component others call must be
//! two or more (the Deployment's or StatefulSet's replicas, or the floor of its
//! HorizontalPodAutoscaler). That two or more pods have a PodDisruptionBudget is already
//! an invariant of every render (`verify/invariants`, `disruption-budget`). DDS105 reads a
//! replicated service's cache tier: its loss sends every request it answered to the
//! replicas, which must be able to grow or to shed load, and one cache replica is lost at
//! every node drain.

use std::collections::HashMap;

use serde_json::Value;

use crate::manifest::Object;
use crate::model::Component;

use super::rules::rule;
use super::{Context, Finding};

/// The kinds whose pods a Service in front of a component reaches.
const WORKLOADS: &[&str] = &["Deployment", "StatefulSet"];

pub(super) fn check(cx: &Context<'_>, out: &mut Vec<Finding>) {
    let index = Index::new(cx.objects);
    for c in &cx.system.components {
        if !c.used_by.is_empty() {
            callee(cx, &index, c, out);
        }
        cache(cx, c, out);
    }
}

/// The label every pod and selector of a component carries: the key of the lookups below.
const NAME: &str = "app.kubernetes.io/name";

/// The rendered objects the rule looks up, found in time linear in their number however
/// many components are called.
struct Index<'a> {
    services: HashMap<&'a str, &'a Object>,
    /// Workloads by the name label of their pods (`""` for pods without one).
    workloads: HashMap<&'a str, Vec<&'a Object>>,
    /// Autoscalers by the kind and name of what they scale.
    scalers: HashMap<(&'a str, &'a str), &'a Object>,
}

impl<'a> Index<'a> {
    fn new(objects: &'a [Object]) -> Self {
        let mut index = Index {
            services: HashMap::new(),
            workloads: HashMap::new(),
            scalers: HashMap::new(),
        };
        for o in objects {
            match o.kind() {
                "Service" => {
                    index.services.entry(o.name()).or_insert(o);
                }
                "HorizontalPodAutoscaler" => {
                    let target = &o.value["spec"]["scaleTargetRef"];
                    if let (Some(kind), Some(name)) =
                        (target["kind"].as_str(), target["name"].as_str())
                    {
                        index.scalers.entry((kind, name)).or_insert(o);
                    }
                }
                kind if WORKLOADS.contains(&kind) => {
                    let app = o
                        .pod_template()
                        .and_then(|t| t["metadata"]["labels"][NAME].as_str())
                        .unwrap_or("");
                    index.workloads.entry(app).or_default().push(o);
                }
                _ => {}
            }
        }
        index
    }

    /// The objects filed under a selector's name label, and those filed under none; every
    /// object for a selector without one.
    fn candidates(map: &HashMap<&'a str, Vec<&'a Object>>, selector: &Value) -> Vec<&'a Object> {
        match selector[NAME].as_str() {
            Some(app) => [app, ""]
                .iter()
                .filter_map(|k| map.get(k))
                .flatten()
                .copied()
                .collect(),
            None => map.values().flatten().copied().collect(),
        }
    }
}

/// Whether every label of `selector` is on `labels`.
fn selects(selector: &Value, labels: &Value) -> bool {
    let (Some(selector), Some(labels)) = (selector.as_object(), labels.as_object()) else {
        return false;
    };
    !selector.is_empty() && selector.iter().all(|(k, v)| labels.get(k) == Some(v))
}

fn callee(cx: &Context<'_>, index: &Index<'_>, c: &Component, out: &mut Vec<Finding>) {
    let Some(service) = index.services.get(c.name.as_str()) else {
        return;
    };
    let selector = &service.value["spec"]["selector"];
    let workloads: Vec<&Object> = Index::candidates(&index.workloads, selector)
        .into_iter()
        .filter(|o| {
            o.pod_template()
                .is_some_and(|t| selects(selector, &t["metadata"]["labels"]))
        })
        .collect();
    if workloads.is_empty() {
        return;
    }
    let callers = c
        .used_by
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let pods: i64 = workloads.iter().map(|w| least_replicas(index, w)).sum();
    if pods < 2 {
        out.push(Finding {
            rule: rule("DDS104").expect("a rule"),
            component: Some(c.name.clone()),
            message: format!(
                "`{}` is called by {callers} but runs 1 replica: a crash, a rollout or a node drain stops its callers too",
                c.name
            ),
            label: "1 replica".into(),
            fix: "run 2 or more replicas (`replicas: 2`)".into(),
            path: cx.at_param(c, "replicas"),
        });
    }
}

/// The fewest pods a workload runs: its HorizontalPodAutoscaler's floor when one scales
/// it, else its `replicas` (1 when left out, as the API server defaults it).
fn least_replicas(index: &Index<'_>, workload: &Object) -> i64 {
    match index.scalers.get(&(workload.kind(), workload.name())) {
        Some(hpa) => hpa.value["spec"]["minReplicas"].as_i64().unwrap_or(1),
        None => workload.value["spec"]["replicas"].as_i64().unwrap_or(1),
    }
}

fn cache(cx: &Context<'_>, c: &Component, out: &mut Vec<Finding>) {
    if c.params.get("cache").and_then(Value::as_bool) != Some(true) {
        return;
    }
    if let Some(replicas @ ..=1) = cx.int(c, "cacheReplicas") {
        out.push(Finding {
            rule: rule("DDS105").expect("a rule"),
            component: Some(c.name.clone()),
            message: format!(
                "the cache tier of `{}` runs {replicas} replica: every node drain or crash loses the whole cache at once",
                c.name
            ),
            label: "one cache replica".into(),
            fix: "run 2 or more cache replicas (`cacheReplicas: 2`)".into(),
            path: cx.at_param(c, "cacheReplicas"),
        });
    }
    let (Some(replicas), Some(max), Some(rate)) = (
        cx.int(c, "replicas"),
        cx.int(c, "maxReplicas"),
        cx.int(c, "rateLimit"),
    ) else {
        return;
    };
    if max <= replicas && rate == 0 {
        out.push(Finding {
            rule: rule("DDS105").expect("a rule"),
            component: Some(c.name.clone()),
            message: format!(
                "when the cache tier of `{}` is lost, every request it answered reaches the {replicas} replicas, which can neither grow (maxReplicas {max}) nor shed load (no rateLimit)",
                c.name
            ),
            label: "a cache the replicas depend on".into(),
            fix: "treat the cache as required: let the replicas grow (`maxReplicas` above `replicas`) or shed load (`rateLimit`), sized for the traffic the cache answers".into(),
            path: cx.at_param(c, "cache"),
        });
    }
}
