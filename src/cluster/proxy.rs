//! Which HTTP proxy a direct `--prometheus-url` / `--loki-url` goes
//! through, decided here rather than by reqwest's system proxy, with Go's
//! manners (golang.org/x/net/http/httpproxy, which kubectl and Prometheus
//! use): loopback is never proxied (a port-forward's bearer token would
//! otherwise travel to the proxy in clear text), `NO_PROXY` is honoured
//! (`*`, domains with their subdomains, IPs, CIDR ranges, an optional
//! port), `HTTPS_PROXY` serves https URLs and `HTTP_PROXY` http ones.

use std::net::IpAddr;

/// The proxy URL for requests to `target`, if one applies.
pub fn proxy_for(target: &url::Url, env: &dyn Fn(&str) -> Option<String>) -> Option<String> {
    let host = target.host()?;
    let port = target.port_or_known_default();
    let ip = match &host {
        url::Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
        url::Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
        url::Host::Domain(_) => None,
    };
    let name = match &host {
        url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
        _ => String::new(),
    };
    if ip.is_some_and(|ip| ip.is_loopback()) || name == "localhost" || name.ends_with(".localhost")
    {
        return None;
    }
    let var = |upper: &str| {
        env(upper)
            .filter(|v| !v.is_empty())
            .or_else(|| env(&upper.to_ascii_lowercase()).filter(|v| !v.is_empty()))
    };
    if let Some(list) = var("NO_PROXY")
        && bypassed(&list, ip, &name, port)
    {
        return None;
    }
    let proxy = match target.scheme() {
        "https" => var("HTTPS_PROXY"),
        "http" => var("HTTP_PROXY"),
        _ => None,
    }?;
    // Go reads a proxy without a scheme as http://.
    Some(if proxy.contains("://") {
        proxy
    } else {
        format!("http://{proxy}")
    })
}

/// Whether a `NO_PROXY` list names this host (and port).
fn bypassed(list: &str, ip: Option<IpAddr>, name: &str, port: Option<u16>) -> bool {
    list.split(',')
        .map(|e| e.trim().to_ascii_lowercase())
        .filter(|e| !e.is_empty())
        .any(|entry| {
            if entry == "*" {
                return true;
            }
            if let Some((net, bits)) = entry.split_once('/') {
                return match (ip, net.parse::<IpAddr>(), bits.parse::<u32>()) {
                    (Some(ip), Ok(net), Ok(bits)) => in_cidr(ip, net, bits),
                    _ => false,
                };
            }
            let (host, entry_port) = split_port(&entry);
            if entry_port.is_some() && entry_port != port {
                return false;
            }
            if let Ok(e) = host.trim_matches(['[', ']']).parse::<IpAddr>() {
                return ip == Some(e);
            }
            if name.is_empty() {
                return false;
            }
            let domain = host.trim_start_matches("*.").trim_end_matches('.');
            if let Some(suffix) = domain.strip_prefix('.') {
                name.ends_with(&format!(".{suffix}"))
            } else {
                name == domain || name.ends_with(&format!(".{domain}"))
            }
        })
}

/// `host:port` into its parts (an IPv6 address without brackets has no port).
fn split_port(entry: &str) -> (&str, Option<u16>) {
    if entry.starts_with('[') {
        if let Some((h, p)) = entry.rsplit_once("]:") {
            return (&h[1..], p.parse().ok());
        }
        return (entry, None);
    }
    match entry.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, p.parse().ok()),
        _ => (entry, None),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u32) -> bool {
    match (ip, net) {
        (IpAddr::V4(ip), IpAddr::V4(net)) if bits <= 32 => {
            let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) if bits <= 128 => {
            let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proxy(url: &str, env: &[(&str, &str)]) -> Option<String> {
        let env = |k: &str| {
            env.iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        };
        proxy_for(&url::Url::parse(url).unwrap(), &env)
    }

    const P: &str = "http://127.0.0.1:3128";

    #[test]
    fn loopback_is_never_proxied() {
        let all = [("HTTP_PROXY", P), ("HTTPS_PROXY", P)];
        for url in [
            "http://127.0.0.1:9090",
            "http://127.8.9.10:9090",
            "http://[::1]:9090",
            "http://localhost:9090",
            "https://LOCALHOST.:9090",
            "http://prom.localhost:9090",
        ] {
            assert_eq!(proxy(url, &all), None, "{url}");
        }
        assert_eq!(proxy("http://10.0.0.1:9090", &all).as_deref(), Some(P));
    }

    #[test]
    fn the_scheme_picks_the_variable_and_lower_case_works_too() {
        let env = [("https_proxy", "proxy.corp:8080")];
        assert_eq!(
            proxy("https://prom.example:9090", &env).as_deref(),
            Some("http://proxy.corp:8080")
        );
        assert_eq!(proxy("http://prom.example:9090", &env), None);
        assert_eq!(proxy("https://prom.example", &[("HTTPS_PROXY", "")]), None);
    }

    #[test]
    fn no_proxy_is_honoured_like_go() {
        let with = |no: &'static str| [("HTTPS_PROXY", P), ("NO_PROXY", no)];
        let proxied = |url: &str, no: &'static str| proxy(url, &with(no)).is_some();
        assert!(!proxied("https://prom.example", "*"));
        assert!(!proxied("https://prom.example", "prom.example"));
        assert!(!proxied("https://a.prom.example", "prom.example"));
        assert!(!proxied("https://a.prom.example", ".prom.example"));
        assert!(proxied("https://prom.example", ".prom.example"));
        assert!(!proxied("https://a.prom.example", "*.prom.example"));
        assert!(proxied("https://xprom.example", "prom.example"));
        assert!(!proxied("https://10.1.2.3", "10.0.0.0/8"));
        assert!(proxied("https://11.1.2.3", "10.0.0.0/8"));
        assert!(!proxied("https://10.1.2.3", "other, 10.1.2.3"));
        assert!(!proxied("https://prom.example:9090", "prom.example:9090"));
        assert!(proxied("https://prom.example:9091", "prom.example:9090"));
        assert!(!proxied("https://[fd00::1]:9090", "fd00::/8"));
        assert!(!proxied("https://prom.example", "PROM.EXAMPLE"));
        let lower = [("HTTPS_PROXY", P), ("no_proxy", "prom.example")];
        assert_eq!(proxy("https://prom.example", &lower), None);
    }
}
