//! What the environment's tokens may reach, and URLs with their secrets
//! redacted before they are shown.

/// A URL with any user name, password or token-like query value replaced by `REDACTED`.
pub fn redact_url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut u) => {
            if !u.username().is_empty() {
                let _ = u.set_username("REDACTED");
            }
            if u.password().is_some() {
                let _ = u.set_password(Some("REDACTED"));
            }
            if u.query().is_some() {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let secret = ["token", "password", "secret", "key", "auth"]
                            .iter()
                            .any(|s| k.to_ascii_lowercase().contains(s));
                        (
                            k.into_owned(),
                            if secret {
                                "REDACTED".to_string()
                            } else {
                                v.into_owned()
                            },
                        )
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string().trim_end_matches('/').to_string()
        }
        Err(_) => "<invalid URL>".to_string(),
    }
}

/// Whether a bearer token may be sent to `raw`: over https, or over plain
/// http only to this machine (127.0.0.0/8, ::1, localhost), where a
/// port-forward listens and nothing crosses a network.
pub fn token_may_travel_to(raw: &str) -> bool {
    let Ok(u) = url::Url::parse(raw) else {
        return false;
    };
    match (u.scheme(), u.host()) {
        ("https", _) => true,
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Domain(d))) => d.eq_ignore_ascii_case("localhost"),
        _ => false,
    }
}

/// `redact_url` for values that are URLs; other values unchanged.
pub fn redact_url_if_url(v: &str) -> String {
    if v.starts_with("http://") || v.starts_with("https://") {
        redact_url(v)
    } else {
        v.to_string()
    }
}
