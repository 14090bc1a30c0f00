//! Checks of `spec.ingress`, `spec.monitoring`, a component's `egress` and the exposure
//! parameters (`public`, `host`, `tlsSecret`), reported at their places; builds the
//! `network` part of the model.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::names::{DNS_LABEL_HELP, check_dns_label};
use crate::network::{
    Egress, Exposure, GatewayRef, HOST_PARAM, Network, PUBLIC_PARAM, TLS_SECRET_PARAM, is_cidr,
};
use crate::source::YamlPath;
use crate::spec_network::{EgressSpec, Protocol, RouteKind};

use super::Resolver;

impl Resolver<'_> {
    pub(super) fn network(&mut self, spec: &YamlPath) -> Network {
        let mut out = Network::default();
        let doc = &self.spec.doc.spec;
        if let Some(ingress) = doc.ingress.clone() {
            let path = spec.key("ingress");
            if let Some(ns) = &ingress.namespace
                && self.dns_label(&path.key("namespace"), ns, "ingress namespace")
            {
                out.ingress_namespace = ns.clone();
            }
            let kind = ingress.kind.unwrap_or(RouteKind::Ingress);
            if let Some(class) = &ingress.class_name {
                self.subdomain(&path.key("className"), class, "ingress class");
            }
            if let Some(gateway) = &ingress.gateway {
                let gpath = path.key("gateway");
                self.subdomain(&gpath.key("name"), &gateway.name, "gateway name");
                if let Some(ns) = &gateway.namespace {
                    self.dns_label(&gpath.key("namespace"), ns, "gateway namespace");
                }
                if let Some(section) = &gateway.section_name {
                    self.dns_label(&gpath.key("sectionName"), section, "listener name");
                }
            }
            out.exposure = match kind {
                RouteKind::Ingress => {
                    if ingress.gateway.is_some() {
                        self.err(
                            &path.key("gateway"),
                            "`gateway` is for `kind: HTTPRoute`; an Ingress names a class".into(),
                            "not used by an Ingress",
                            Some(
                                "set `kind: HTTPRoute`, or use `className` for the Ingress".into(),
                            ),
                        );
                    }
                    Exposure::Ingress {
                        class_name: ingress.class_name.clone(),
                    }
                }
                RouteKind::HttpRoute => {
                    if ingress.class_name.is_some() {
                        self.err(
                            &path.key("className"),
                            "`className` is for `kind: Ingress`; an HTTPRoute attaches to a Gateway".into(),
                            "not used by an HTTPRoute",
                            Some("name the Gateway under `gateway` instead".into()),
                        );
                    }
                    match &ingress.gateway {
                        Some(g) => Exposure::HttpRoute {
                            gateway: GatewayRef {
                                name: g.name.clone(),
                                namespace: g.namespace.clone(),
                                section_name: g.section_name.clone(),
                            },
                        },
                        None => {
                            self.err(
                                &path.key("kind"),
                                "an HTTPRoute needs the Gateway it attaches to".into(),
                                "no gateway given",
                                Some("add `gateway: {name: <gateway>, namespace: <its namespace>}` under `ingress`".into()),
                            );
                            Exposure::Ingress { class_name: None }
                        }
                    }
                }
            };
        }
        if let Some(monitoring) = doc.monitoring.clone() {
            let path = spec.key("monitoring");
            if let Some(ns) = &monitoring.namespace
                && self.dns_label(&path.key("namespace"), ns, "monitoring namespace")
            {
                out.monitoring_namespace = ns.clone();
            }
            out.pod_monitor = monitoring.pod_monitor.unwrap_or(false);
        }
        out
    }

    /// A component's `egress:` entries: exactly one destination each, and the ports.
    pub(super) fn egress(&mut self, path: &YamlPath, rules: &[EgressSpec]) -> Vec<Egress> {
        let mut out = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let rpath = path.index(i);
            let mut ok = true;
            match (&rule.cidr, &rule.namespace) {
                (Some(_), Some(_)) => {
                    self.err(
                        &rpath.key("namespace"),
                        "an egress entry names a `cidr` or a `namespace`, not both".into(),
                        "second destination",
                        Some("write one entry per destination".into()),
                    );
                    ok = false;
                }
                (None, None) => {
                    self.err(
                        &rpath,
                        "an egress entry needs a destination".into(),
                        "no `cidr` or `namespace`",
                        Some("add `cidr: 203.0.113.0/24` (an address block) or `namespace: <name>` (every pod of that namespace)".into()),
                    );
                    ok = false;
                }
                (Some(cidr), None) if !is_cidr(cidr) => {
                    self.err(
                        &rpath.key("cidr"),
                        format!("`{cidr}` is not a CIDR block"),
                        "not a CIDR block",
                        Some("write an address and a prefix length, like `10.20.0.0/16` or `2001:db8::/32`".into()),
                    );
                    ok = false;
                }
                (None, Some(ns)) => {
                    ok &= self.dns_label(&rpath.key("namespace"), ns, "namespace");
                }
                _ => {}
            }
            if rule.ports.is_empty() {
                self.err(
                    &rpath,
                    "an egress entry needs `ports`".into(),
                    "no ports",
                    Some("list the ports the component sends to, like `ports: [443]`; an entry without ports would open every port".into()),
                );
                ok = false;
            }
            let mut ports = Vec::new();
            for (j, port) in rule.ports.iter().enumerate() {
                match u16::try_from(*port) {
                    Ok(p) if p > 0 => ports.push(p),
                    _ => {
                        self.err(
                            &rpath.key("ports").index(j),
                            format!("port {port} is outside 1..=65535"),
                            "not a port",
                            None,
                        );
                        ok = false;
                    }
                }
            }
            if ok {
                out.push(Egress {
                    cidr: rule.cidr.clone(),
                    namespace: rule.namespace.clone(),
                    ports,
                    protocol: rule.protocol.unwrap_or(Protocol::Tcp).as_str(),
                });
            }
        }
        out
    }

    /// `host` and `tlsSecret` only mean something on a `public` component, and a TLS
    /// secret needs the host its certificate is for; an HTTPRoute takes TLS from its
    /// Gateway's listener, so it has no place for a secret.
    pub(super) fn exposure_params(
        &mut self,
        path: &YamlPath,
        params: &BTreeMap<String, Value>,
        network: &Network,
    ) {
        let given = |name: &str| params.get(name).is_some_and(|v| !v.is_null());
        let public = params.get(PUBLIC_PARAM).and_then(Value::as_bool) == Some(true);
        for name in [HOST_PARAM, TLS_SECRET_PARAM] {
            if given(name) && !public {
                self.err(
                    &path.key(name),
                    format!("`{name}` is used only when `public` is true"),
                    "component is not public",
                    Some(
                        "set `public: true` to expose the component, or remove this parameter"
                            .into(),
                    ),
                );
            }
        }
        if !public || !given(TLS_SECRET_PARAM) {
            return;
        }
        if matches!(network.exposure, Exposure::HttpRoute { .. }) {
            self.err(
                &path.key(TLS_SECRET_PARAM),
                "an HTTPRoute has no TLS secret: its Gateway's listener terminates TLS".into(),
                "not used by an HTTPRoute",
                Some("put the certificate on the Gateway's listener (`certificateRefs`) and remove `tlsSecret`".into()),
            );
        } else if !given(HOST_PARAM) {
            self.err(
                &path.key(TLS_SECRET_PARAM),
                "`tlsSecret` needs `host`: a certificate is for a host name".into(),
                "no host",
                Some("add `host: shop.example.com` (the name the certificate is for)".into()),
            );
        }
    }

    /// A DNS-1123 subdomain: dot-separated labels, at most 253 characters.
    fn subdomain(&mut self, path: &YamlPath, value: &str, what: &str) -> bool {
        let problem = if value.is_empty() || value.len() > 253 {
            Some("it must have 1 to 253 characters".to_string())
        } else {
            value.split('.').find_map(|l| check_dns_label(l).err())
        };
        match problem {
            None => true,
            Some(why) => {
                self.err(
                    path,
                    format!("invalid {what} `{value}`: {why}"),
                    "not a DNS-1123 subdomain",
                    Some(format!("dot-separated labels; each: {DNS_LABEL_HELP}")),
                );
                false
            }
        }
    }
}
