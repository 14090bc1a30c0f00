//! The spec's network keys as the user wrote them: `spec.ingress` (how traffic from outside
//! the system comes in, and how a `public` component is exposed), `spec.monitoring` (who
//! scrapes the metrics port, and how Prometheus learns of it) and a component's `egress`
//! (destinations outside the system's graph). They are kept apart from `spec.rs` because
//! every serving pattern reads them through the `_common` partials, not through its own
//! parameters; `resolve/network.rs` checks their meaning and builds `network::Network`.

use serde::{Deserialize, Serialize};

/// `spec.ingress`: where outside traffic enters the cluster, and which object a `public`
/// component gets.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct IngressSpec {
    /// The namespace of the ingress controller or gateway pods: entry points admit their
    /// application port from pods of this namespace only.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RouteKind>,
    /// `spec.ingressClassName` of the Ingress objects; the cluster's default class when
    /// left out.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub class_name: Option<String>,
    /// The Gateway every HTTPRoute attaches to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<GatewaySpec>,
}

/// Which object exposes a `public` component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum RouteKind {
    Ingress,
    #[serde(rename = "HTTPRoute")]
    HttpRoute,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct GatewaySpec {
    #[serde(deserialize_with = "crate::spec_scalars::string")]
    pub name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub namespace: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub section_name: Option<String>,
}

/// `spec.monitoring`: the namespace Prometheus scrapes from, and whether pods are announced
/// by a PodMonitor (a custom resource) instead of scrape annotations.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MonitoringSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_monitor: Option<bool>,
}

/// One entry of a component's `egress`: a destination outside the graph (a CIDR block or
/// a namespace) and the ports opened to it.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EgressSpec {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub cidr: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::spec_scalars::opt_string"
    )]
    pub namespace: Option<String>,
    #[serde(default)]
    pub ports: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum Protocol {
    #[serde(rename = "TCP")]
    Tcp,
    #[serde(rename = "UDP")]
    Udp,
}

impl Protocol {
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
        }
    }
}
