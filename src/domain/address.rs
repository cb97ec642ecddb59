//! The in-cluster address a ScaledObject's trigger names (`serverAddress`),
//! as the Service the API server's proxy reaches (issue 19 item 2).

use crate::settings::ServiceRef;

/// A Service and the route prefix after it: `http://NAME.NS.svc:PORT/prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAddress {
    pub service: ServiceRef,
    /// The path the server is mounted under (`/prometheus`), or empty.
    pub prefix: String,
}

impl ServiceAddress {
    /// `NS/NAME:PORT` with the prefix after it, as the plugin prints it.
    pub fn show(&self) -> String {
        format!("{}{}", self.service, self.prefix)
    }
}

/// The Service of `http://NAME.NS[.svc[.CLUSTER-DOMAIN]][:PORT][/prefix]`;
/// `None` for anything else (an https address, a name outside the cluster,
/// a bare Service name KEDA would resolve in its own namespace).
pub fn service_address(addr: &str) -> Option<ServiceAddress> {
    let url = url::Url::parse(addr.trim()).ok()?;
    if url.scheme() != "http" {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    let in_cluster = match labels.len() {
        2 => true,
        n if n >= 3 => labels[2] == "svc",
        _ => false,
    };
    if !in_cluster {
        return None;
    }
    let port = url.port_or_known_default()?.to_string();
    let service = ServiceRef::parse(&format!("{}/{}:{port}", labels[1], labels[0])).ok()?;
    let prefix = url.path().trim_end_matches('/');
    let prefix_ok = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/-_.~".contains(c));
    if !prefix_ok || prefix.len() > 200 {
        return None;
    }
    Some(ServiceAddress {
        service,
        prefix: prefix.to_string(),
    })
}

/// The tenant a KEDA prometheus trigger sends: `X-Scope-OrgID` in its
/// `customHeaders` metadata, which KEDA parses as `key=value` pairs split on
/// `,` with spaces trimmed (kedacore/keda pkg/scalers/scalersconfig
/// typed_config.go, `setConfigValueMap`); Go canonicalises the header name,
/// so its case does not matter. `None` without one, or for a value that is
/// not a tenant ID (it would go into a header: nothing else passes).
pub fn tenant_of_custom_headers(custom_headers: &str) -> Option<String> {
    custom_headers.split(',').find_map(|pair| {
        let (key, value) = pair.trim().split_once('=')?;
        let value = value.trim();
        (key.trim().eq_ignore_ascii_case("X-Scope-OrgID")
            && !value.contains('=')
            && crate::settings::valid_tenant(value))
        .then(|| value.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tenant_is_read_from_custom_headers_as_keda_parses_them_and_junk_is_none() {
        let t = |h: &str| tenant_of_custom_headers(h);
        assert_eq!(t("X-Scope-OrgID=tenant-a").as_deref(), Some("tenant-a"));
        assert_eq!(
            t("X-Client-Id=cid, x-scope-orgid = tenant-b ,Other=x").as_deref(),
            Some("tenant-b")
        );
        for none in [
            "",
            "X-Client-Id=cid",
            "X-Scope-OrgID=",
            "X-Scope-OrgID=a=b",
            "X-Scope-OrgID=bad\r\nInjected: yes",
            "X-Scope-OrgID=a b",
        ] {
            assert_eq!(t(none), None, "{none:?}");
        }
        assert_eq!(t(&format!("X-Scope-OrgID={}", "a".repeat(151))), None);
    }

    #[test]
    fn in_cluster_addresses_become_the_service_and_keep_the_route_prefix() {
        let a = service_address("http://prometheus-operated.monitoring.svc:9090").unwrap();
        assert_eq!(a.show(), "monitoring/prometheus-operated:9090");
        let a = service_address("http://mimir-nginx.mimir.svc.cluster.local/prometheus/").unwrap();
        assert_eq!(a.show(), "mimir/mimir-nginx:80/prometheus");
        let a = service_address("http://prometheus.observability:9090").unwrap();
        assert_eq!(a.show(), "observability/prometheus:9090");
        for other in [
            "https://prometheus.monitoring.svc:9090",
            "http://prometheus:9090",
            "http://prom.example.com:9090",
            "http://10.0.0.1:9090",
            "not a url",
        ] {
            assert_eq!(service_address(other), None, "{other}");
        }
    }
}
