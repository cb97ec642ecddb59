//! The kubelet's probes of the nginx pods, for the idle floor (issue 18
//! item 1). nginx counts every request it serves (nginx
//! `src/http/ngx_http_request.c`), so an `httpGet` probe on the port nginx
//! serves adds one request per `periodSeconds` per nginx pod to
//! `nginx_http_requests_total`: kubernetes v1.33 `pkg/probe/http/http.go`
//! sends one plain HTTP GET per probe run (`DoHTTPProbe`), and
//! `pkg/kubelet/prober/worker.go` runs liveness and readiness probes every
//! `periodSeconds` for the pod's life (default 10 s). A startup probe stops
//! once it has succeeded, so it adds nothing to a pod that runs; `tcpSocket`
//! opens a connection and sends no request, `exec` runs in the container and
//! `grpc` speaks gRPC: none reaches the counter.

use serde::{Deserialize, Serialize};

/// An nginx pod and the probes its spec gives the kubelet.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NginxPod {
    pub name: String,
    #[serde(default)]
    pub probes: Vec<ProbeInfo>,
}

/// One probe of one container.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeInfo {
    pub container: String,
    /// `liveness`, `readiness` or `startup`.
    pub kind: String,
    /// `httpGet`, `tcpSocket`, `exec` or `grpc`.
    pub handler: String,
    /// `periodSeconds` with the API's default 10 filled in.
    pub period_seconds: i64,
    /// The port, named ports resolved in the probe's own container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The port is one the nginx container serves (or, when it declares
    /// none, the probe is the nginx container's own).
    #[serde(default)]
    pub reaches_nginx: bool,
}

/// The API's default `periodSeconds`.
pub const DEFAULT_PERIOD_SECS: i64 = 10;

impl ProbeInfo {
    /// The probe adds to nginx's request counter on a running pod.
    pub fn counts(&self) -> bool {
        self.handler == "httpGet"
            && self.reaches_nginx
            && self.kind != "startup"
            && self.period_seconds > 0
    }
}

/// The probes that reach nginx's counter, summed over the nginx pods.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Probes {
    /// Probe runs that nginx counts (one per probe per pod).
    pub count: usize,
    /// Their requests per second.
    pub rate: f64,
    /// The period, s, when every counted probe has the same one.
    pub period: Option<i64>,
    /// Probes of the nginx pods that nginx does not count (tcpSocket, exec,
    /// grpc, a startup probe, another port).
    pub uncounted: usize,
    /// The nginx pods read.
    pub pods: usize,
}

impl Probes {
    pub fn of(pods: &[NginxPod]) -> Probes {
        let mut out = Probes {
            pods: pods.len(),
            ..Probes::default()
        };
        let mut periods = Vec::new();
        for probe in pods.iter().flat_map(|p| &p.probes) {
            if probe.counts() {
                out.count += 1;
                out.rate += 1.0 / probe.period_seconds as f64;
                periods.push(probe.period_seconds);
            } else {
                out.uncounted += 1;
            }
        }
        periods.dedup();
        out.period = match periods.as_slice() {
            [one] => Some(*one),
            _ => None,
        };
        out
    }

    /// "2 HTTP probes every 10 s", "3 HTTP probes (0.25 req/s)", "no HTTP
    /// probe".
    pub fn counted_text(&self) -> String {
        match (self.count, self.period) {
            (0, _) => "no HTTP probe".to_string(),
            (1, Some(p)) => format!("1 HTTP probe every {p} s"),
            (n, Some(p)) => format!("{n} HTTP probes every {p} s"),
            (n, None) => format!(
                "{n} HTTP probes ({} req/s)",
                super::model::rate_text(self.rate)
            ),
        }
    }

    /// "1 other probe not counted (tcpSocket, ...)".
    pub fn uncounted_text(&self) -> String {
        format!(
            "{} other {} not counted: tcpSocket, exec, grpc, startup (stops once it succeeds) or a port other than nginx's never reach its counter",
            self.uncounted,
            if self.uncounted == 1 {
                "probe"
            } else {
                "probes"
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(kind: &str, handler: &str, period: i64, reaches: bool) -> ProbeInfo {
        ProbeInfo {
            container: "nginx".into(),
            kind: kind.into(),
            handler: handler.into(),
            period_seconds: period,
            port: Some(8080),
            path: Some("/healthz".into()),
            reaches_nginx: reaches,
        }
    }

    fn pod(name: &str, probes: Vec<ProbeInfo>) -> NginxPod {
        NginxPod {
            name: name.into(),
            probes,
        }
    }

    #[test]
    fn http_readiness_probes_on_two_pods_every_10_s_are_0_2_req_s() {
        let pods = [
            pod("a", vec![probe("readiness", "httpGet", 10, true)]),
            pod("b", vec![probe("readiness", "httpGet", 10, true)]),
        ];
        let p = Probes::of(&pods);
        assert_eq!(
            (p.count, p.period, p.uncounted, p.pods),
            (2, Some(10), 0, 2)
        );
        assert!((p.rate - 0.2).abs() < 1e-9, "{p:?}");
        assert_eq!(p.counted_text(), "2 HTTP probes every 10 s");
    }

    #[test]
    fn tcp_exec_startup_and_other_port_probes_are_not_counted() {
        let pods = [pod(
            "a",
            vec![
                probe("readiness", "tcpSocket", 10, true),
                probe("liveness", "exec", 5, false),
                probe("liveness", "grpc", 5, false),
                probe("startup", "httpGet", 1, true),
                probe("liveness", "httpGet", 10, false),
            ],
        )];
        let p = Probes::of(&pods);
        assert_eq!((p.count, p.rate, p.uncounted), (0, 0.0, 5));
        assert_eq!(p.counted_text(), "no HTTP probe");
        assert!(p.uncounted_text().starts_with("5 other probes not counted"));
    }

    #[test]
    fn mixed_periods_give_the_rate() {
        let pods = [pod(
            "a",
            vec![
                probe("readiness", "httpGet", 10, true),
                probe("liveness", "httpGet", 20, true),
            ],
        )];
        let p = Probes::of(&pods);
        assert_eq!(p.period, None);
        assert_eq!(p.counted_text(), "2 HTTP probes (0.15 req/s)");
    }
}
