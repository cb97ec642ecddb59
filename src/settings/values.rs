//! The resolved raw values read into typed ones, one key at a time.

use super::duration::DurationRange;
use super::env::redact_url;
use super::file::line_of;
use super::{Effective, ServiceRef, SettingsError, Source};
use std::time::Duration;

/// The resolved raw values, read one key at a time into typed values; an
/// error names the key and where its value came from (flag, env, file line).
pub(super) struct Values<'a> {
    pub(super) effective: &'a [Effective],
    pub(super) file_text: &'a str,
}

impl Values<'_> {
    pub(super) fn get(&self, key: &str) -> (&Option<String>, &Source) {
        let e = self
            .effective
            .iter()
            .find(|e| e.key == key)
            .expect("every key is resolved");
        (&e.value, &e.source)
    }

    pub(super) fn fail(&self, key: &str, message: String) -> SettingsError {
        match self.get(key).1 {
            Source::File(path) => {
                let leaf = key.rsplit('.').next().unwrap_or(key);
                let line = line_of(self.file_text, leaf, 1)
                    .map(|l| format!("line {l}: "))
                    .unwrap_or_default();
                SettingsError::File {
                    file: path.clone(),
                    message: format!("{line}{key}: {message}"),
                }
            }
            other => SettingsError::Value {
                source_name: other.to_string(),
                key: key.to_string(),
                message,
            },
        }
    }

    /// The value, trimmed, or `None` when unset or blank.
    pub(super) fn optional(&self, key: &str) -> Option<&str> {
        self.get(key)
            .0
            .as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    pub(super) fn text(&self, key: &str) -> Result<String, SettingsError> {
        self.optional(key)
            .map(str::to_string)
            .ok_or_else(|| self.fail(key, "must not be empty".into()))
    }

    pub(super) fn name(&self, key: &str) -> Result<String, SettingsError> {
        let v = self.text(key)?;
        if is_dns_name(&v) {
            Ok(v)
        } else {
            Err(self.fail(
                key,
                format!(
                    "{v:?} is not a valid Kubernetes name (lowercase letters, digits, '-', '.')"
                ),
            ))
        }
    }

    pub(super) fn selector(&self, key: &str) -> Result<String, SettingsError> {
        let v = self.text(key)?;
        validate_selector(&v).map_err(|m| self.fail(key, m))?;
        Ok(v)
    }

    pub(super) fn number(&self, key: &str) -> Result<f64, SettingsError> {
        let v = self.text(key)?;
        match v.parse::<f64>() {
            Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
            _ => Err(self.fail(key, format!("{v:?} is not a non-negative number"))),
        }
    }

    pub(super) fn duration(
        &self,
        key: &str,
        range: DurationRange,
    ) -> Result<Duration, SettingsError> {
        let v = self.text(key)?;
        range.parse(&v).map_err(|m| self.fail(key, m))
    }

    pub(super) fn service(&self, key: &str) -> Result<ServiceRef, SettingsError> {
        ServiceRef::parse(&self.text(key)?).map_err(|m| self.fail(key, m))
    }

    /// Tenant IDs of Loki, Mimir and Cortex (dskit's rules): letters, digits
    /// and !-_.*'() (up to 150), with `|` joining several for a federated
    /// query; it goes into a header, so nothing else passes.
    pub(super) fn tenant(&self, key: &str) -> Result<Option<String>, SettingsError> {
        let Some(v) = self.optional(key) else {
            return Ok(None);
        };
        if valid_tenant(v) {
            Ok(Some(v.to_string()))
        } else {
            Err(self.fail(
                key,
                "a tenant ID is at most 150 letters, digits and !-_.*'() (| joins several)".into(),
            ))
        }
    }

    /// An http(s) URL without credentials in it (the token comes from env).
    pub(super) fn url(&self, key: &str) -> Result<Option<String>, SettingsError> {
        let Some(v) = self.optional(key) else {
            return Ok(None);
        };
        match url::Url::parse(v) {
            Ok(u) if u.scheme() == "http" || u.scheme() == "https" => {
                if u.password().is_some() || !u.username().is_empty() {
                    let var = if key.starts_with("loki") {
                        "SPICE_LOKI_TOKEN"
                    } else {
                        "SPICE_PROMETHEUS_TOKEN"
                    };
                    Err(self.fail(
                        key,
                        format!(
                            "{} carries credentials; put the token in {var} instead",
                            redact_url(v)
                        ),
                    ))
                } else {
                    Ok(Some(v.trim_end_matches('/').to_string()))
                }
            }
            _ => Err(self.fail(key, format!("{:?} is not an http(s) URL", redact_url(v)))),
        }
    }
}

/// Whether `v` is a tenant ID (see `Values::tenant`): the same rule holds
/// for a tenant read from the cluster (a trigger's `customHeaders`).
pub fn valid_tenant(v: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "!-_.*'()|".contains(c);
    !v.is_empty() && v.len() <= 150 && v.chars().all(allowed)
}

fn is_dns_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !v.starts_with('-')
        && !v.ends_with('-')
}

/// A light check of label-selector syntax, so a typo is a clear local error
/// rather than a 400 from the API server.
pub fn validate_selector(v: &str) -> Result<(), String> {
    let mut depth = 0i32;
    for c in v.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return Err(format!("{v:?} has unbalanced parentheses"));
    }
    let ok = v.chars().all(|c| {
        c.is_ascii_alphanumeric()
            || matches!(c, '-' | '_' | '.' | '/' | '=' | '!' | ',' | '(' | ')' | ' ')
    });
    if !ok || v.starts_with(',') || v.ends_with(',') || v.contains(",,") {
        return Err(format!(
            "{v:?} is not a label selector (e.g. app=spice-runner)"
        ));
    }
    Ok(())
}
