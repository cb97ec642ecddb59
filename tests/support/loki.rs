//! A tiny fake Loki for the diagnose tests: there is no Loki package to run
//! here, and the plugin only needs three endpoints of its HTTP API.
//!
//! - `GET /loki/api/v1/query`: answers a metric (vector) query with the value
//!   configured for the first substring the LogQL contains, or an empty vector
//!   when none matches (Loki's answer for a selector that matches no stream).
//! - `GET /loki/api/v1/query_range`: a metric query over `[start, end]` at
//!   `step`, answered as Loki v3.x answers it (`pkg/loghttp/params.go`,
//!   `pkg/querier/queryrange`): `start`/`end` in unix seconds, RFC 3339 or
//!   unix nanoseconds, `step` in seconds or a duration (default
//!   `max(1, floor((end - start) / 250))` s); more than 11,000 points per
//!   series is HTTP 400 "exceeded maximum resolution of 11,000 points per
//!   time series. Try increasing the value of the step parameter", a range
//!   longer than `max_query_length` (721h) is HTTP 400 "the query time range
//!   exceeds the limit (query length: …, limit: 721h)". The answer is a
//!   `matrix` with one series whose values are `[unix seconds, "count"]`
//!   at `start + k·step`, the steps with no event left out (count_over_time
//!   has no sample where no line fell in the range), or no series at all.
//!   Counts come from [`LokiConfig::heartbeat_rates`]: events per second
//!   over time, integrated over each step's `[range]` window.
//! - `GET /loki/api/v1/labels`: the configured label names.
//! - `GET /ready`: `ready`.
//!
//! In "bad query" mode every query is answered the way Loki rejects LogQL: HTTP
//! 400 with a plain-text body (facts §7.1: Loki's errors are not JSON).
//!
//! It is a std `TcpListener` on 127.0.0.1:0 with one thread per connection,
//! one request per connection (`Connection: close`), every read bounded by a
//! timeout. Dropping it stops it.

use super::spice::Cluster;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long a connection may take to send its request.
const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// What the fake answers.
#[derive(Debug, Clone, Default)]
pub struct LokiConfig {
    /// `(substring, value)`: the first whose substring the LogQL contains wins;
    /// `None` answers an empty vector.
    answers: Vec<(String, Option<f64>)>,
    labels: Vec<String>,
    /// Answer every query with HTTP 400 and this plain-text body.
    bad_query: Option<String>,
    /// Multi-tenant: a request whose `X-Scope-OrgID` is not this tenant is
    /// answered HTTP 401 `no org id`.
    tenant: Option<String>,
    /// Answer every request this much later (a slow Loki).
    delay: Option<Duration>,
    /// `(from, to, events per second)`, unix seconds: the heartbeat lines
    /// `query_range` counts.
    rates: Vec<(f64, f64, f64)>,
}

impl LokiConfig {
    pub fn new() -> LokiConfig {
        LokiConfig::default()
    }

    /// Queries containing `substring` answer one sample with `value`.
    pub fn answer(mut self, substring: &str, value: f64) -> LokiConfig {
        self.answers.push((substring.into(), Some(value)));
        self
    }

    /// Queries containing `substring` answer an empty vector.
    pub fn empty(mut self, substring: &str) -> LokiConfig {
        self.answers.push((substring.into(), None));
        self
    }

    /// The label names `/loki/api/v1/labels` lists.
    pub fn labels(mut self, labels: &[&str]) -> LokiConfig {
        self.labels = labels.iter().map(|l| l.to_string()).collect();
        self
    }

    /// Every query is rejected with HTTP 400 and `message` as plain text.
    pub fn bad_query(mut self, message: &str) -> LokiConfig {
        self.bad_query = Some(message.into());
        self
    }

    /// A multi-tenant Loki (`auth_enabled: true`) holding the data under
    /// `tenant`. Without the header Loki (dskit's auth middleware,
    /// `user.ErrNoOrgID`) answers HTTP 401 with the plain text `no org id`;
    /// another tenant sees no streams, modelled here the same way.
    pub fn tenant(mut self, tenant: &str) -> LokiConfig {
        self.tenant = Some(tenant.into());
        self
    }

    /// Every answer comes this much later: a Loki too slow for the view.
    pub fn delay(mut self, by: Duration) -> LokiConfig {
        self.delay = Some(by);
        self
    }

    /// Heartbeat lines over time for `query_range`: `(from, to, events per
    /// second)` in unix seconds; no event outside them.
    pub fn heartbeat_rates(mut self, rates: Vec<(f64, f64, f64)>) -> LokiConfig {
        self.rates = rates;
        self
    }

    /// Heartbeats the way the plugin asks for them: the active-sessions query
    /// filters `event_data_status="active"` (so it is matched first), the
    /// heartbeat count is the other `count_over_time`.
    pub fn heartbeats(heartbeats_5m: f64, active_sessions: f64) -> LokiConfig {
        LokiConfig::new()
            .answer("event_data_status", active_sessions)
            .answer("count_over_time", heartbeats_5m)
    }
}

struct Shared {
    config: LokiConfig,
    /// Every request line's path and decoded `query` parameter, in order.
    seen: Vec<String>,
}

/// A running fake Loki.
pub struct FakeLoki {
    addr: SocketAddr,
    shared: Arc<Mutex<Shared>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeLoki {
    pub fn start(config: LokiConfig) -> FakeLoki {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let shared = Arc::new(Mutex::new(Shared {
            config,
            seen: Vec::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let shared = shared.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let shared = shared.clone();
                    std::thread::spawn(move || {
                        let _ = serve(stream, &shared);
                    });
                }
            })
        };
        FakeLoki {
            addr,
            shared,
            stop,
            thread: Some(thread),
        }
    }

    /// Starts a fake Loki and makes it the upstream of the simulator's
    /// `observability/loki:3100` service proxy.
    pub fn serve(cluster: &Cluster, config: LokiConfig) -> FakeLoki {
        let loki = FakeLoki::start(config);
        // The scenarios are clusters without Loki; serving one installs its
        // Service as the grafana/loki Helm chart (single binary) makes it.
        // Dropping the fake later leaves the Service with no endpoints: Loki down.
        cluster.sim.apply(loki_service());
        cluster
            .sim
            .set_proxy_upstream("observability", "loki", "3100", &loki.url());
        loki
    }

    /// [`FakeLoki::serve`] for a simulator started on its own.
    pub fn serve_sim(sim: &super::sim::Sim, config: LokiConfig) -> FakeLoki {
        let loki = FakeLoki::start(config);
        sim.apply(loki_service());
        sim.set_proxy_upstream("observability", "loki", "3100", &loki.url());
        loki
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Changes the answers of a running fake.
    pub fn set_config(&self, config: LokiConfig) {
        self.shared.lock().unwrap().config = config;
    }

    /// The requests seen so far: `path` or `path query=<decoded LogQL>`.
    pub fn seen(&self) -> Vec<String> {
        self.shared.lock().unwrap().seen.clone()
    }
}

impl Drop for FakeLoki {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the blocking accept so the thread sees the flag; if that
        // connection cannot be made, leave the thread rather than wait on it.
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(t) = self.thread.take()
            && woke
        {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, shared: &Mutex<Shared>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    // Headers: Content-Length (to drain a body, if any) and the tenant.
    let mut content_length = 0usize;
    let mut org_id = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                content_length = v.trim().parse().unwrap_or(0);
            } else if k.trim().eq_ignore_ascii_case("x-scope-orgid") {
                org_id = Some(v.trim().to_string());
            }
        }
    }
    if content_length > 0 {
        let mut body = vec![0u8; content_length.min(1 << 20)];
        reader.read_exact(&mut body)?;
    }
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let logql = params
        .iter()
        .find(|(k, _)| k == "query")
        .map(|(_, v)| v.clone());
    let delay = shared.lock().unwrap().config.delay;
    if let Some(d) = delay {
        std::thread::sleep(d);
    }
    let (code, content_type, body) = {
        let mut s = shared.lock().unwrap();
        s.seen.push(match &logql {
            Some(q) => format!("{path} query={q}"),
            None => path.to_string(),
        });
        match &s.config.tenant {
            Some(t) if path != "/ready" && org_id.as_deref() != Some(t.as_str()) => {
                (401, "text/plain; charset=utf-8", "no org id\n".to_string())
            }
            _ => answer(&s.config, path, logql.as_deref(), &params),
        }
    };
    let reason = match code {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        _ => "Not Found",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}

fn answer(
    config: &LokiConfig,
    path: &str,
    logql: Option<&str>,
    params: &[(String, String)],
) -> (u16, &'static str, String) {
    const JSON: &str = "application/json; charset=utf-8";
    const TEXT: &str = "text/plain; charset=utf-8";
    match path {
        "/ready" => (200, TEXT, "ready\n".into()),
        "/loki/api/v1/labels" => {
            let data = serde_json::json!({"status": "success", "data": config.labels});
            (200, JSON, data.to_string())
        }
        "/loki/api/v1/query" => {
            if let Some(message) = &config.bad_query {
                return (400, TEXT, format!("{message}\n"));
            }
            let Some(logql) = logql else {
                return (
                    400,
                    TEXT,
                    "parse error : syntax error: unexpected $end\n".into(),
                );
            };
            let value = config
                .answers
                .iter()
                .find(|(needle, _)| logql.contains(needle.as_str()))
                .and_then(|(_, v)| *v);
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs_f64();
            let result = match value {
                Some(v) => serde_json::json!([{"metric": {}, "value": [now, format_value(v)]}]),
                None => serde_json::json!([]),
            };
            let data = serde_json::json!({
                "status": "success",
                "data": {"resultType": "vector", "result": result, "stats": {}}
            });
            (200, JSON, data.to_string())
        }
        "/loki/api/v1/query_range" => {
            if let Some(message) = &config.bad_query {
                return (400, TEXT, format!("{message}\n"));
            }
            query_range(config, params)
        }
        _ => (404, TEXT, "404 page not found\n".into()),
    }
}

/// Loki's `max_query_length` default (`pkg/validation/limits.go`: 721h).
const MAX_QUERY_LENGTH_SECS: f64 = 721.0 * 3600.0;

/// A time as Loki reads `start`/`end`: RFC 3339, or a number (unix seconds
/// with a fraction, or integer nanoseconds when longer than 10 digits).
fn loki_time(v: &str) -> Option<f64> {
    if let Ok(t) = v.parse::<jiff::Timestamp>() {
        return Some(t.as_millisecond() as f64 / 1000.0);
    }
    if v.contains('.') {
        return v.parse().ok();
    }
    let n: i64 = v.parse().ok()?;
    Some(if v.len() > 10 {
        n as f64 / 1e9
    } else {
        n as f64
    })
}

/// `step` as Loki reads it: seconds (a number) or a duration (`1m`, `30s`).
fn loki_step(v: &str) -> Option<f64> {
    if let Ok(n) = v.parse::<f64>() {
        return Some(n);
    }
    let (num, unit) = v.split_at(v.find(|c: char| c.is_ascii_alphabetic())?);
    let n: f64 = num.parse().ok()?;
    Some(match unit {
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return None,
    })
}

/// The `[range]` of a LogQL range aggregation (`[300s]`, `[5m]`), seconds.
fn logql_range(logql: &str) -> Option<f64> {
    let open = logql.rfind('[')?;
    let close = open + logql[open..].find(']')?;
    loki_step(logql[open + 1..close].trim())
}

fn query_range(config: &LokiConfig, params: &[(String, String)]) -> (u16, &'static str, String) {
    const JSON: &str = "application/json; charset=utf-8";
    const TEXT: &str = "text/plain; charset=utf-8";
    let get = |k: &str| params.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let bad = |m: &str| (400, TEXT, format!("{m}\n"));
    let Some(logql) = get("query") else {
        return bad("parse error : syntax error: unexpected $end");
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let end = match get("end").map(loki_time) {
        None => now,
        Some(Some(t)) => t,
        Some(None) => return bad("invalid end parameter"),
    };
    let start = match get("start").map(loki_time) {
        None => end - 3600.0,
        Some(Some(t)) => t,
        Some(None) => return bad("invalid start parameter"),
    };
    if end <= start {
        return bad("end timestamp must not be before or equal to start time");
    }
    let step = match get("step").map(loki_step) {
        None => ((end - start) / 250.0).floor().max(1.0),
        Some(Some(s)) if s > 0.0 => s,
        Some(_) => {
            return bad(
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            );
        }
    };
    if (end - start) / step > 11_000.0 {
        return bad(
            "exceeded maximum resolution of 11,000 points per time series. Try increasing the value of the step parameter",
        );
    }
    if end - start > MAX_QUERY_LENGTH_SECS {
        return bad(&format!(
            "the query time range exceeds the limit (query length: {}h, limit: 721h)",
            ((end - start) / 3600.0).round()
        ));
    }
    let Some(range) = logql_range(logql) else {
        // A log query (no range aggregation) answers streams: not modelled.
        return bad("parse error : a metric query is needed here");
    };
    let mut values = Vec::new();
    let mut t = start;
    while t <= end + 1e-6 {
        // Lines in (t - range, t]: the rates integrated over that window.
        let n: f64 = config
            .rates
            .iter()
            .map(|&(from, to, per_sec)| {
                let overlap = (to.min(t) - from.max(t - range)).max(0.0);
                overlap * per_sec
            })
            .sum::<f64>()
            .round();
        if n > 0.0 {
            values.push(serde_json::json!([t, format_value(n)]));
        }
        t += step;
    }
    let result = if values.is_empty() {
        serde_json::json!([])
    } else {
        serde_json::json!([{"metric": {}, "values": values}])
    };
    let data = serde_json::json!({
        "status": "success",
        "data": {"resultType": "matrix", "result": result, "stats": {}}
    });
    (200, JSON, data.to_string())
}

/// Loki writes sample values as strings, integers without a fraction.
fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// `kubectl get service loki -n observability -o yaml` of a grafana/loki
/// Helm chart install (6.x, single binary).
fn loki_service() -> serde_json::Value {
    serde_json::json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "creationTimestamp": "2026-10-08T09:12:44Z",
            "labels": {"app.kubernetes.io/name": "loki"},
            "name": "loki",
            "namespace": "observability",
            "uid": "78655cc8-ff59-4135-999f-7361a2df9d91"
        },
        "spec": {
            "clusterIP": "172.20.93.207",
            "clusterIPs": ["172.20.93.207"],
            "internalTrafficPolicy": "Cluster",
            "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack",
            "ports": [
                {"name": "http-metrics", "port": 3100, "protocol": "TCP", "targetPort": "http-metrics"},
                {"name": "grpc", "port": 9095, "protocol": "TCP", "targetPort": "grpc"}
            ],
            "selector": {
                "app.kubernetes.io/component": "single-binary",
                "app.kubernetes.io/instance": "loki",
                "app.kubernetes.io/name": "loki"
            },
            "sessionAffinity": "None",
            "type": "ClusterIP"
        },
        "status": {"loadBalancer": {}}
    })
}
