//! A Prometheus HTTP API client: through the API server's service proxy with
//! the user's own credentials (the default: no port-forward needed), or a
//! direct URL with an optional bearer token from `SPICE_PROMETHEUS_TOKEN`.
//! The same client serves Loki's API later, which has the same envelope shape.

use super::promql;
use crate::settings::{Endpoint, ServiceRef, redact_url};
use crate::snapshot::{GapReason, PromAnswer, Sample};
use http_body_util::BodyExt;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Clone)]
pub enum HttpApi {
    Proxy {
        kube: kube::Client,
        service: ServiceRef,
        /// The route prefix the server is mounted under (`/prometheus`), or empty.
        prefix: String,
        /// Sent as `X-Scope-OrgID` on every request (a multi-tenant
        /// Prometheus: Mimir, Cortex, Thanos receive); validated as a tenant ID.
        tenant: Option<String>,
    },
    Direct {
        http: reqwest::Client,
        base: String,
        token: Option<String>,
        tenant: Option<String>,
    },
}

pub use super::error::Failure;

/// The header a multi-tenant Prometheus or Loki reads the tenant from.
pub const TENANT_HEADER: &str = "X-Scope-OrgID";

impl HttpApi {
    pub fn new(
        endpoint: &Endpoint,
        kube: Option<&kube::Client>,
        token: Option<String>,
        timeout: Duration,
    ) -> Result<HttpApi, String> {
        match endpoint {
            Endpoint::Service(service) => match kube {
                Some(k) => Ok(HttpApi::Proxy {
                    kube: k.clone(),
                    service: service.clone(),
                    prefix: String::new(),
                    tenant: None,
                }),
                None => Err("no Kubernetes client to proxy through".into()),
            },
            Endpoint::Url(base) => {
                let token = token.filter(|t| !t.is_empty());
                // The proxy is chosen here, not by reqwest's system proxy,
                // which would send a loopback port-forward (and its token)
                // through HTTP_PROXY.
                let target =
                    url::Url::parse(base).map_err(|e| format!("{}: {e}", redact_url(base)))?;
                let mut builder = reqwest::Client::builder()
                    .connect_timeout(timeout)
                    .timeout(timeout)
                    .user_agent(concat!("kubectl-spice/", env!("CARGO_PKG_VERSION")))
                    .no_proxy();
                if let Some(proxy) = super::proxy::proxy_for(&target, &crate::process_env) {
                    // The plain-HTTP token rule holds for the proxy hop too:
                    // an http:// request is sent to the proxy as it is.
                    if token.is_some()
                        && target.scheme() == "http"
                        && !crate::settings::token_may_travel_to(&proxy)
                    {
                        return Err(format!(
                            "refusing to send the bearer token over plain HTTP through the proxy {} to {}: use an https:// URL, or NO_PROXY",
                            redact_url(&proxy),
                            redact_url(base)
                        ));
                    }
                    let proxy = reqwest::Proxy::all(&proxy).map_err(|_| {
                        format!("the proxy URL {} is not valid", redact_url(&proxy))
                    })?;
                    builder = builder.proxy(proxy);
                }
                let http = builder.build().map_err(|e| crate::error::chain_text(&e))?;
                Ok(HttpApi::Direct {
                    http,
                    base: base.clone(),
                    token,
                    tenant: None,
                })
            }
        }
    }

    /// The same API with `tenant` sent as `X-Scope-OrgID` on every request;
    /// a value that is not a tenant ID (it may come from the cluster) is
    /// never sent.
    pub fn with_tenant(mut self, tenant: Option<String>) -> HttpApi {
        let tenant = tenant.filter(|t| crate::settings::valid_tenant(t));
        match &mut self {
            HttpApi::Proxy { tenant: t, .. } | HttpApi::Direct { tenant: t, .. } => *t = tenant,
        }
        self
    }

    /// The tenant sent as `X-Scope-OrgID`, if any.
    pub fn tenant(&self) -> Option<&str> {
        match self {
            HttpApi::Proxy { tenant, .. } | HttpApi::Direct { tenant, .. } => tenant.as_deref(),
        }
    }

    /// Where requests go, for messages (never with credentials).
    pub fn describe(&self) -> String {
        match self {
            HttpApi::Proxy {
                service, prefix, ..
            } => {
                format!("service {service}{prefix} (via the API server proxy)")
            }
            HttpApi::Direct { base, .. } => redact_url(base),
        }
    }

    /// GET `path` with query parameters; returns the status code and body.
    pub async fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<(u16, String), Failure> {
        self.get_with_headers(path, params, &[]).await
    }

    /// Like `get`, with extra request headers (Loki's `X-Scope-OrgID`); the
    /// service proxy passes them on to the service.
    pub async fn get_with_headers(
        &self,
        path: &str,
        params: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Result<(u16, String), Failure> {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish();
        // The API's own tenant, unless the caller sends one (Loki's).
        let own = self
            .tenant()
            .filter(|_| {
                !headers
                    .iter()
                    .any(|(n, _)| n.eq_ignore_ascii_case(TENANT_HEADER))
            })
            .map(|t| (TENANT_HEADER, t));
        let headers: Vec<(&str, &str)> = headers.iter().copied().chain(own).collect();
        let headers = headers.as_slice();
        match self {
            HttpApi::Proxy {
                kube,
                service,
                prefix,
                ..
            } => {
                let port = if service.port.is_empty() {
                    String::new()
                } else {
                    format!(":{}", service.port)
                };
                let uri = format!(
                    "/api/v1/namespaces/{}/services/{}{port}/proxy{prefix}{path}?{query}",
                    service.namespace, service.name
                );
                let mut request = http::Request::get(uri);
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                let request = request
                    .header(http::header::ACCEPT, "application/json")
                    .body(kube::client::Body::from(Vec::new()))
                    .map_err(|e| Failure {
                        reason: GapReason::Error,
                        message: e.to_string(),
                        hint: String::new(),
                    })?;
                let response = kube.send(request).await.map_err(|e| Failure {
                    reason: if super::error::timed_out(&e) {
                        GapReason::Timeout
                    } else {
                        GapReason::Unreachable
                    },
                    message: format!("{}: {}", self.describe(), crate::error::chain_text(&e)),
                    hint: "check the API server (`kubectl cluster-info`)".into(),
                })?;
                let status = response.status().as_u16();
                // Decompressed by the kube client (whose own limit is
                // larger), read here up to the HTTP API's.
                let mut body = response.into_body();
                let mut bytes = Vec::new();
                while let Some(frame) = body.frame().await {
                    let frame = frame.map_err(|e| match super::bounded::too_large(&e) {
                        Some(t) => self.too_large(t),
                        None => Failure {
                            reason: GapReason::Unreachable,
                            message: format!(
                                "{}: reading the answer: {}",
                                self.describe(),
                                crate::error::chain_text(&e)
                            ),
                            hint: String::new(),
                        },
                    })?;
                    if let Ok(data) = frame.into_data() {
                        if bytes.len() + data.len() > super::bounded::HTTP_API_LIMIT {
                            return Err(self.too_large(super::bounded::TooLarge {
                                limit: super::bounded::HTTP_API_LIMIT,
                                line: false,
                                together: false,
                            }));
                        }
                        bytes.extend_from_slice(&data);
                    }
                }
                Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
            }
            HttpApi::Direct {
                http, base, token, ..
            } => {
                let url = format!("{base}{path}?{query}");
                let mut request = http
                    .get(&url)
                    .header(http::header::ACCEPT, "application/json");
                for (name, value) in headers {
                    request = request.header(*name, *value);
                }
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                let response = request.send().await.map_err(|e| {
                    let timeout = e.is_timeout();
                    Failure {
                        reason: if timeout {
                            GapReason::Timeout
                        } else {
                            GapReason::Unreachable
                        },
                        message: format!(
                            "{}: {}",
                            self.describe(),
                            if timeout {
                                "no answer in time".to_string()
                            } else {
                                connect_reason(e)
                            }
                        ),
                        hint: "check --prometheus-url (is a port-forward running?)".into(),
                    }
                })?;
                let status = response.status().as_u16();
                let body = super::bounded::read_reqwest(response, super::bounded::HTTP_API_LIMIT)
                    .await
                    .map_err(|e| Failure {
                        reason: GapReason::Unreachable,
                        message: format!(
                            "{}: reading the answer: {}",
                            self.describe(),
                            connect_reason(e)
                        ),
                        hint: String::new(),
                    })?
                    .map_err(|t| self.too_large(t))?;
                Ok((status, String::from_utf8_lossy(&body).into_owned()))
            }
        }
    }

    /// An instant PromQL query.
    pub async fn query(&self, promql: &str) -> Result<Vec<Sample>, Failure> {
        let (status, body) = self.get("/api/v1/query", &[("query", promql)]).await?;
        parse_query_answer(status, &body, &self.describe(), self.is_proxy()).map_err(|mut f| {
            if f.hint == NO_ORG_ID_HINT && self.tenant().is_some() {
                f.hint = "the tenant was sent as X-Scope-OrgID and did not arrive: check that nothing between (a gateway, an auth proxy) drops the header".into();
            }
            f
        })
    }

    /// The alerting rules Prometheus has loaded (`/api/v1/rules?type=alert`).
    pub async fn alert_rules(&self) -> Result<Vec<crate::snapshot::RuleInfo>, Failure> {
        let (status, body) = self.get("/api/v1/rules", &[("type", "alert")]).await?;
        let parsed: serde_json::Value = match serde_json::from_str(&body) {
            Ok(v) if status == 200 => v,
            _ => {
                // Reuse the query parser for its error wording.
                return Err(
                    parse_query_answer(status, &body, &self.describe(), self.is_proxy())
                        .err()
                        .unwrap_or_else(|| {
                            bad_answer(&self.describe(), "rules answer is not JSON")
                        }),
                );
            }
        };
        let mut rules = Vec::new();
        for group in parsed["data"]["groups"].as_array().into_iter().flatten() {
            for rule in group["rules"].as_array().into_iter().flatten() {
                if rule["type"] != "alerting" {
                    continue;
                }
                rules.push(crate::snapshot::RuleInfo {
                    group: group["name"].as_str().unwrap_or_default().to_string(),
                    name: rule["name"].as_str().unwrap_or_default().to_string(),
                    query: rule["query"].as_str().unwrap_or_default().to_string(),
                    state: rule["state"].as_str().unwrap_or_default().to_string(),
                });
            }
        }
        Ok(rules)
    }

    /// An answer past the limit on one answer, as its gap.
    fn too_large(&self, t: super::bounded::TooLarge) -> Failure {
        Failure {
            reason: GapReason::Error,
            message: format!("{}: {t}", self.describe()),
            hint: super::bounded::HINT.into(),
        }
    }

    pub fn is_proxy(&self) -> bool {
        matches!(self, HttpApi::Proxy { .. })
    }
}

/// reqwest's error chain without the URL (which may carry a token in its query).
fn connect_reason(e: reqwest::Error) -> String {
    let text = crate::error::chain_text(&e.without_url());
    if text.is_empty() {
        "request failed".into()
    } else {
        text
    }
}

#[derive(Deserialize)]
struct Envelope {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(rename = "resultType")]
    result_type: String,
    result: serde_json::Value,
}

#[derive(Deserialize)]
struct KubeStatus {
    kind: Option<String>,
    #[serde(default)]
    message: String,
    #[serde(default)]
    reason: String,
}

/// Turns a Prometheus answer (or the API server's proxy error) into samples or a failure.
pub fn parse_query_answer(
    status: u16,
    body: &str,
    where_: &str,
    proxied: bool,
) -> Result<Vec<Sample>, Failure> {
    let envelope = serde_json::from_str::<Envelope>(body)
        .ok()
        .filter(|e| e.status == "success" || e.status == "error");
    if let Some(env) = envelope {
        if env.status == "success" {
            let data = env
                .data
                .ok_or_else(|| bad_answer(where_, "success without data"))?;
            return parse_result(&data.result_type, &data.result)
                .map_err(|m| bad_answer(where_, &m));
        }
        let error_type = env.error_type.unwrap_or_else(|| "error".into());
        let message = crate::error::quote(&env.error.unwrap_or_default());
        return Err(Failure {
            reason: if error_type == "timeout" { GapReason::Timeout } else { GapReason::Error },
            message: format!("Prometheus {error_type}: {message}"),
            hint: match error_type.as_str() {
                "bad_data" => "the query was rejected; check the settings used in it (kubectl spice config view)".into(),
                "timeout" | "canceled" => "Prometheus is overloaded; retry".into(),
                _ => "check Prometheus's own logs".into(),
            },
        });
    }
    if proxied
        && let Ok(st) = serde_json::from_str::<KubeStatus>(body)
        && st.kind.as_deref() == Some("Status")
    {
        let (reason, hint) = match status {
                    401 => (GapReason::Unauthorized, "credentials expired? run any kubectl command to refresh them".to_string()),
                    403 => (
                        GapReason::Forbidden,
                        "grant verb \"get\" on resource \"services/proxy\" in API group \"\" in Prometheus's namespace, or use --prometheus-url".to_string(),
                    ),
                    404 => (GapReason::NotFound, "set --prometheus-service NS/SVC:PORT to where Prometheus runs, or --prometheus-url".to_string()),
                    503 => (GapReason::Unreachable, "is Prometheus running? check its pods and Service endpoints".to_string()),
                    504 => (GapReason::Timeout, "Prometheus did not answer in time through the proxy".to_string()),
                    _ => (GapReason::Error, "check the API server and Prometheus".to_string()),
                };
        let message = crate::error::quote(if st.message.trim().is_empty() {
            &st.reason
        } else {
            &st.message
        });
        return Err(Failure {
            reason,
            message: format!("{where_}: {message}"),
            hint,
        });
    }
    if let Some(f) = no_org_id(status, body, where_) {
        return Err(f);
    }
    Err(Failure {
        reason: if status == 401 || status == 403 {
            GapReason::Forbidden
        } else {
            GapReason::Error
        },
        message: format!(
            "{where_} answered HTTP {status}, not a Prometheus API answer: {}",
            crate::error::quote(body)
        ),
        hint: if status == 401 || status == 403 {
            "set SPICE_PROMETHEUS_TOKEN to a token Prometheus accepts".into()
        } else {
            "is that address Prometheus? it must serve /api/v1/query".into()
        },
    })
}

/// A multi-tenant Prometheus (Mimir, Cortex, Thanos receive) answers a
/// request without a tenant with HTTP 401 and the plain text `no org id`
/// (dskit's `user.ErrNoOrgID`, written by its HTTP auth middleware): it
/// wants `X-Scope-OrgID`, not a bearer token. Whether a tenant was sent
/// decides the hint: `message` says which.
pub fn no_org_id(status: u16, body: &str, where_: &str) -> Option<Failure> {
    let first = body.lines().next().unwrap_or("").trim();
    if status != 401 || !first.eq_ignore_ascii_case("no org id") {
        return None;
    }
    Some(Failure {
        reason: GapReason::Unauthorized,
        message: format!("{where_} answered HTTP 401: no org id"),
        hint: NO_ORG_ID_HINT.into(),
    })
}

/// The hint of a 401 `no org id` from Prometheus.
pub const NO_ORG_ID_HINT: &str = "this Prometheus is multi-tenant (Mimir, Cortex, Thanos receive): set prometheusTenant (X-Scope-OrgID) with --prometheus-tenant, SPICE_PROMETHEUS_TENANT or the config file, to the tenant KEDA's trigger sends (its customHeaders X-Scope-OrgID, or its TriggerAuthentication's customAuthValue)";

/// The most a count can be here: more sessions, pods or nodes than this is
/// not a cluster, it is a broken exporter or recording rule.
const MAX_COUNT: f64 = 1e7;

/// What a query's samples must be, by its purpose.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// Sessions, pods, nodes, series, subquery points: finite, 0 to [`MAX_COUNT`].
    Count(&'static str),
    /// A sample time in unix seconds: finite and not negative.
    Time,
    /// Anything else (ratios): NaN and ±Inf mean "no value" and are dropped.
    Other,
    /// A shipped alert's expression now: a series means the rule's condition
    /// holds, whatever its value; `+Inf` (sessions over zero Running pods)
    /// fires the rule and is kept. Only NaN, which no comparison passes, is
    /// dropped.
    Firing,
}

fn kind(key: &str) -> Kind {
    match key {
        promql::SESSIONS | promql::SESSIONS_MAX_5M => Kind::Count("a number of sessions"),
        promql::RUNNING_PODS | promql::PENDING_PODS => Kind::Count("a number of pods"),
        promql::NODES => Kind::Count("a number of nodes"),
        promql::KSM_SERIES => Kind::Count("a number of series"),
        promql::ALERT_RATIO_FOR | promql::ALERT_KEDA_FOR => Kind::Count("a number of points"),
        promql::NGINX_SAMPLES_5M => Kind::Count("a sample spacing in seconds"),
        promql::NGINX_SERIES => Kind::Time,
        promql::ALERT_RATIO_NOW | promql::ALERT_KEDA_NOW => Kind::Firing,
        _ => Kind::Other,
    }
}

/// Checks the samples of the query kept under `key`: a value that cannot be
/// what the query measures (`-5` sessions, `1e308` pods, `NaN`, `+Inf`) is
/// the data problem it is, named with the query and the value, never a
/// number for a verdict (nor an empty answer, which would read as "no series").
pub fn vet(key: &str, promql: &str, mut samples: Vec<Sample>) -> Result<Vec<Sample>, String> {
    let kind = kind(key);
    if kind == Kind::Other {
        samples.retain(|s| s.value.is_finite());
        return Ok(samples);
    }
    if kind == Kind::Firing {
        samples.retain(|s| !s.value.is_nan());
        return Ok(samples);
    }
    for sample in &samples {
        let v = sample.value;
        let (ok, what) = match kind {
            Kind::Count(what) => ((0.0..=MAX_COUNT).contains(&v), what),
            _ => (v.is_finite() && v >= 0.0, "a sample time"),
        };
        if !ok {
            return Err(format!(
                "Prometheus returned {} for `{}`, which cannot be {what}: check the recording rules and exporters behind it",
                show_value(v),
                crate::error::quote(promql)
            ));
        }
    }
    Ok(samples)
}

/// A sample value as Prometheus writes it (`NaN`, `+Inf`, `-5`, `1e308`).
fn show_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else if v.abs() >= 1e15 {
        format!("{v:e}")
    } else {
        v.to_string()
    }
}

/// The snapshot entry for one query's samples, vetted by [`vet`].
pub fn answer(q: &promql::Query, samples: Vec<Sample>) -> PromAnswer {
    match vet(q.key, &q.promql, samples) {
        Ok(samples) => PromAnswer {
            query: q.promql.clone(),
            samples: Some(samples),
            error: None,
        },
        Err(e) => PromAnswer {
            query: q.promql.clone(),
            samples: None,
            error: Some(e),
        },
    }
}

/// Vets every answer of a snapshot read from a file, as the collect step
/// vets live answers: a saved `-5` sessions is no more a count than a live one.
pub fn vet_snapshot(snap: &mut crate::snapshot::Snapshot) {
    for (key, a) in snap.prometheus.iter_mut() {
        if let Some(samples) = a.samples.take() {
            match vet(key, &a.query, samples) {
                Ok(s) => a.samples = Some(s),
                Err(e) => a.error = Some(e),
            }
        }
    }
}

fn bad_answer(where_: &str, what: &str) -> Failure {
    Failure {
        reason: GapReason::Error,
        message: format!("{where_}: unexpected answer: {what}"),
        hint: "is that address Prometheus? it must serve /api/v1/query".into(),
    }
}

fn parse_value(v: &serde_json::Value) -> Result<(f64, f64), String> {
    let pair = v
        .as_array()
        .filter(|a| a.len() == 2)
        .ok_or("a sample is not [time, value]")?;
    let ts = pair[0].as_f64().ok_or("a sample time is not a number")?;
    let text = pair[1].as_str().ok_or("a sample value is not a string")?;
    let value = match text {
        "NaN" => f64::NAN,
        "+Inf" | "Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        t => t
            .parse::<f64>()
            .map_err(|_| format!("sample value {t:?} is not a number"))?,
    };
    Ok((ts, value))
}

fn parse_result(result_type: &str, result: &serde_json::Value) -> Result<Vec<Sample>, String> {
    match result_type {
        "vector" => {
            let items = result.as_array().ok_or("vector result is not a list")?;
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                let labels: BTreeMap<String, String> =
                    serde_json::from_value(item.get("metric").cloned().unwrap_or_default())
                        .unwrap_or_default();
                let (timestamp, value) =
                    parse_value(item.get("value").ok_or("vector element without value")?)?;
                // NaN and infinities are kept here: `answer` decides, per
                // query, whether they are a data problem or nothing at all.
                out.push(Sample {
                    labels,
                    value,
                    timestamp,
                });
            }
            Ok(out)
        }
        "scalar" => {
            let (timestamp, value) = parse_value(result)?;
            Ok(vec![Sample {
                labels: BTreeMap::new(),
                value,
                timestamp,
            }])
        }
        other => Err(format!(
            "result type {other:?} where an instant vector was expected"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_answer_parses() {
        let body = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"x"},"value":[1795810120.744,"2.5"]}]}}"#;
        let s = parse_query_answer(200, body, "p", false).expect("parses");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].value, 2.5);
        assert_eq!(s[0].labels["service"], "x");
    }

    #[test]
    fn prometheus_errors_become_readable_failures() {
        let body = r#"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:17: parse error: unclosed left parenthesis"}"#;
        let f = parse_query_answer(400, body, "p", true).expect_err("fails");
        assert_eq!(f.reason, GapReason::Error);
        assert!(
            f.message
                .starts_with("Prometheus bad_data: invalid parameter"),
            "{}",
            f.message
        );
    }

    #[test]
    fn proxy_no_endpoints_is_unreachable() {
        let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"no endpoints available for service \"prometheus\"","reason":"ServiceUnavailable","code":503}"#;
        let f = parse_query_answer(503, body, "service observability/prometheus:9090", true)
            .expect_err("fails");
        assert_eq!(f.reason, GapReason::Unreachable);
        assert!(
            f.message.contains("no endpoints available"),
            "{}",
            f.message
        );
    }

    #[test]
    fn proxy_forbidden_names_services_proxy() {
        let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"services \"prometheus\" is forbidden: User \"alice\" cannot get resource \"services/proxy\" in API group \"\" in the namespace \"observability\"","reason":"Forbidden","code":403}"#;
        let f = parse_query_answer(403, body, "svc", true).expect_err("fails");
        assert_eq!(f.reason, GapReason::Forbidden);
        assert!(f.hint.contains("services/proxy"));
    }

    #[test]
    fn html_is_not_mistaken_for_prometheus() {
        let f =
            parse_query_answer(200, "<html>login</html>", "http://x", false).expect_err("fails");
        assert!(
            f.message.contains("not a Prometheus API answer"),
            "{}",
            f.message
        );
    }

    #[test]
    fn error_bodies_are_quoted_short() {
        let html = format!(
            "<html><body><h1>502 Bad Gateway</h1>{}</body></html>",
            " pad".repeat(5000)
        );
        let f = parse_query_answer(502, &html, "http://x", false).expect_err("fails");
        assert!(
            f.message.contains("<html><body><h1>502 Bad Gateway</h1>"),
            "{}",
            f.message
        );
        assert!(f.message.contains("bytes more)"), "{}", f.message);
        assert!(f.message.len() < 500, "{}", f.message.len());

        let huge = "e".repeat(1 << 20);
        let body = serde_json::json!({"status": "error", "errorType": "execution", "error": huge})
            .to_string();
        let f = parse_query_answer(422, &body, "p", false).expect_err("fails");
        assert!(
            f.message.ends_with(&format!(
                "(… {} bytes more)",
                (1 << 20) - crate::error::QUOTE_CHARS
            )),
            "{}",
            &f.message[..80]
        );

        let body = serde_json::json!({"kind": "Status", "message": huge, "code": 500}).to_string();
        let f = parse_query_answer(500, &body, "svc", true).expect_err("fails");
        assert!(f.message.len() < 500, "{}", f.message.len());
    }

    fn answer_of(key: &'static str, value: &str) -> PromAnswer {
        let body = format!(
            r#"{{"status":"success","data":{{"resultType":"vector","result":[{{"metric":{{}},"value":[1795810120.744,"{value}"]}}]}}}}"#
        );
        let samples = parse_query_answer(200, &body, "p", false).expect("parses");
        let q = promql::Query {
            key,
            promql: format!("query-for-{key}"),
        };
        answer(&q, samples)
    }

    #[test]
    fn impossible_counts_are_data_problems_named_with_query_and_value() {
        for (key, value, shown) in [
            (promql::SESSIONS, "-5", "-5"),
            (promql::SESSIONS, "1e308", "1e308"),
            (promql::SESSIONS, "+Inf", "+Inf"),
            (promql::SESSIONS, "NaN", "NaN"),
            (promql::RUNNING_PODS, "9.3e18", "9.3e18"),
            (promql::NODES, "-1", "-1"),
            (promql::NGINX_SERIES, "NaN", "NaN"),
        ] {
            let a = answer_of(key, value);
            assert_eq!(a.samples, None, "{key} {value}");
            let e = a.error.expect("an error");
            assert!(
                e.contains(&format!("returned {shown} for `query-for-{key}`")),
                "{e}"
            );
            assert!(e.contains("cannot be"), "{e}");
        }
        assert_eq!(
            answer_of(promql::SESSIONS, "3.5").samples.unwrap()[0].value,
            3.5
        );
        assert_eq!(
            answer_of(promql::SESSIONS, "0").samples.unwrap()[0].value,
            0.0
        );
    }

    #[test]
    fn a_shipped_alert_firing_at_plus_inf_is_kept_and_survives_a_saved_snapshot() {
        let a = answer_of(promql::ALERT_RATIO_NOW, "+Inf");
        let samples = a.samples.clone().expect("samples");
        assert_eq!(samples.len(), 1);
        assert!(samples[0].value.is_infinite());
        let json = serde_json::to_string(&a).expect("json");
        assert!(json.contains(r#""value":"+Inf""#), "{json}");
        let back: PromAnswer = serde_json::from_str(&json).expect("parse");
        assert_eq!(back, a);
    }

    #[test]
    fn a_ratio_of_nan_is_no_value_not_an_error() {
        let a = answer_of(promql::ALERT_RATIO_NOW, "NaN");
        assert_eq!(a.samples, Some(vec![]));
        assert_eq!(a.error, None);
    }

    #[test]
    fn saved_snapshots_are_vetted_like_live_answers() {
        let mut snap = crate::snapshot::Snapshot::new(jiff::Timestamp::UNIX_EPOCH, "default");
        snap.prometheus.insert(
            promql::SESSIONS.into(),
            PromAnswer {
                query: "q".into(),
                samples: Some(vec![Sample {
                    labels: BTreeMap::new(),
                    value: -5.0,
                    timestamp: 1.0,
                }]),
                error: None,
            },
        );
        vet_snapshot(&mut snap);
        let a = &snap.prometheus[promql::SESSIONS];
        assert!(
            a.samples.is_none() && a.error.as_deref().unwrap().contains("-5"),
            "{a:?}"
        );
    }
}
