//! The system's network settings, resolved: where outside traffic enters (the ingress
//! namespace), how a `public` component is exposed (an Ingress or a Gateway API
//! HTTPRoute), who scrapes the metrics port, and each component's egress beyond the graph.
//! Templates read them as `system.ingress`, `system.monitoring` and `component.egress`;
//! the `_common` partials under `k8s/` turn them into NetworkPolicies, Ingresses,
//! HTTPRoutes and PodMonitors, so every serving pattern gets the same shape.

use serde_json::{Value, json};

/// Entry points admit their application port from this namespace when the spec names
/// none: the namespace the ingress-nginx project installs its controller into.
pub const DEFAULT_INGRESS_NAMESPACE: &str = "ingress-nginx";
/// The metrics port admits scrapes from this namespace when the spec names none: the
/// namespace of the kube-prometheus-stack and Prometheus Operator guides.
pub const DEFAULT_MONITORING_NAMESPACE: &str = "monitoring";

/// The parameters through which a serving pattern takes part in exposure (see the
/// authoring guide): the `_common/partials/k8s/exposure.hbs` partial reads them, the spec
/// check and `new` know that `host` and `tlsSecret` mean something only when `public`.
pub const PUBLIC_PARAM: &str = "public";
pub const HOST_PARAM: &str = "host";
pub const TLS_SECRET_PARAM: &str = "tlsSecret";

/// Which object exposes a `public` component; an Ingress needs no custom resource, so it
/// is the default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exposure {
    Ingress { class_name: Option<String> },
    HttpRoute { gateway: GatewayRef },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayRef {
    pub name: String,
    pub namespace: Option<String>,
    pub section_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub ingress_namespace: String,
    pub exposure: Exposure,
    pub monitoring_namespace: String,
    /// A PodMonitor per component instead of scrape annotations on its pods.
    pub pod_monitor: bool,
}

impl Default for Network {
    fn default() -> Self {
        Network {
            ingress_namespace: DEFAULT_INGRESS_NAMESPACE.into(),
            exposure: Exposure::Ingress { class_name: None },
            monitoring_namespace: DEFAULT_MONITORING_NAMESPACE.into(),
            pod_monitor: false,
        }
    }
}

impl Network {
    /// What templates see as `system.ingress`.
    pub fn ingress_context(&self) -> Value {
        match &self.exposure {
            Exposure::Ingress { class_name } => json!({
                "namespace": self.ingress_namespace,
                "kind": "Ingress",
                "className": class_name,
                "gateway": null,
            }),
            Exposure::HttpRoute { gateway } => json!({
                "namespace": self.ingress_namespace,
                "kind": "HTTPRoute",
                "className": null,
                "gateway": {
                    "name": gateway.name,
                    "namespace": gateway.namespace,
                    "sectionName": gateway.section_name,
                },
            }),
        }
    }

    /// What templates see as `system.monitoring`.
    pub fn monitoring_context(&self) -> Value {
        json!({"namespace": self.monitoring_namespace, "podMonitor": self.pod_monitor})
    }
}

/// One egress destination outside the graph: exactly one of a CIDR block or a namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Egress {
    pub cidr: Option<String>,
    pub namespace: Option<String>,
    pub ports: Vec<u16>,
    pub protocol: &'static str,
}

impl Egress {
    /// What templates see as one entry of `component.egress`.
    pub fn context(&self) -> Value {
        json!({
            "cidr": self.cidr,
            "namespace": self.namespace,
            "ports": self.ports,
            "protocol": self.protocol,
        })
    }
}

/// Whether `text` is an IPv4 or IPv6 block in CIDR notation, as a NetworkPolicy's
/// `ipBlock.cidr` takes it.
pub fn is_cidr(text: &str) -> bool {
    let Some((address, prefix)) = text.split_once('/') else {
        return false;
    };
    let Ok(prefix) = prefix.parse::<u8>() else {
        return false;
    };
    if prefix.to_string() != text.rsplit('/').next().unwrap_or_default() {
        return false;
    }
    match address.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(_)) => prefix <= 32,
        Ok(std::net::IpAddr::V6(_)) => prefix <= 128,
        Err(_) => false,
    }
}

/// The grammar of an IPv4 CIDR block, for the JSON Schema; an IPv6 block is checked by
/// [`IPV6_CIDR_REGEX`] loosely there and exactly by [`is_cidr`].
pub const IPV4_CIDR_REGEX: &str = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])$";
pub const IPV6_CIDR_REGEX: &str =
    r"^[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/(12[0-8]|1[01][0-9]|[1-9]?[0-9])$";

/// The grammar of a host name an Ingress rule or an HTTPRoute takes: a DNS-1123
/// subdomain in lower case, optionally with a leading `*.` wildcard label.
pub const HOSTNAME_REGEX: &str =
    r"^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// Checks a host name against [`HOSTNAME_REGEX`] and the length limits of DNS.
pub fn check_hostname(host: &str) -> Result<(), String> {
    if host.len() > 253 {
        return Err("it is longer than 253 characters".into());
    }
    let bare = host.strip_prefix("*.").unwrap_or(host);
    if bare.is_empty() {
        return Err("it is empty".into());
    }
    for label in bare.split('.') {
        if label.len() > 63 {
            return Err(format!("the label `{label}` is longer than 63 characters"));
        }
        let ok = !label.is_empty()
            && label
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !label.starts_with('-')
            && !label.ends_with('-');
        if !ok {
            return Err(format!(
                "`{label}` is not a DNS label (lower-case letters, digits and `-`)"
            ));
        }
    }
    if bare.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err("an IP address is not a host name".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_blocks_of_both_families_are_accepted_and_malformed_ones_refused() {
        for good in [
            "10.0.0.0/8",
            "203.0.113.7/32",
            "0.0.0.0/0",
            "2001:db8::/32",
            "::/0",
        ] {
            assert!(is_cidr(good), "{good}");
        }
        for bad in [
            "10.0.0.0",
            "10.0.0.0/33",
            "10.0.0/8",
            "2001:db8::/129",
            "10.0.0.0/08",
            "x/1",
            "",
        ] {
            assert!(!is_cidr(bad), "{bad}");
        }
    }

    #[test]
    fn the_schema_grammar_of_ipv4_blocks_agrees_with_the_check() {
        let re = regex::Regex::new(IPV4_CIDR_REGEX).unwrap();
        for text in [
            "10.0.0.0/8",
            "10.0.0.0/33",
            "256.0.0.0/8",
            "1.2.3.4/32",
            "01.2.3.4/1",
        ] {
            assert_eq!(re.is_match(text), is_cidr(text), "{text}");
        }
    }

    #[test]
    fn host_names_follow_dns_with_an_optional_wildcard() {
        assert!(check_hostname("shop.example.com").is_ok());
        assert!(check_hostname("*.example.com").is_ok());
        assert!(check_hostname("Shop.example.com").is_err());
        assert!(check_hostname("shop..example.com").is_err());
        assert!(check_hostname("-shop.example.com").is_err());
        assert!(check_hostname("10.0.0.1").is_err());
        assert!(check_hostname("*.").is_err());
    }
}
