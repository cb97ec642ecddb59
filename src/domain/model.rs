//! The scaling model (issue 18), computed once from the Snapshot and read by
//! every check and view instead of repeating the arithmetic. Its first slice is
//! the idle floor: the request rate nginx reports with no player at all.
//!
//! nginx counts every request, its own `stub_status` page included (nginx
//! `ngx_http_request.c`), and nginx-prometheus-exporter reads stub_status once
//! per scrape. So with no players `sum(rate(nginx_http_requests_total[1m]))`
//! is one request per scrape interval per exporter target (one series per
//! scraped nginx pod), times the Prometheus replicas scraping it, plus any
//! HTTP probe hitting nginx. At a 15 s scrape one target reads 1/15 = 0.067
//! req/s: above a fixed "no sessions" cut of 0.05, so a game correctly scaled
//! to zero looked like sessions without a pod.
//!
//! "No sessions" is therefore judged against the floor and against KEDA's own
//! idea of idle, the trigger's `activationThreshold` (KEDA is active when the
//! value is strictly above it, keda v2.20.2 pkg/scalers/prometheus_scaler.go).
//! When the floor itself is above the activation threshold, KEDA stays active
//! with no player and never scales to zero.

pub mod scaling;
pub mod spacing;
pub mod subtracted;

pub use scaling::{Expectation, Scaling, Select};
pub use spacing::{Spacing, scrape_spacing, spacing};

use super::figures::NO_SESSIONS;
use super::probes::Probes;
use super::promql;
use super::snapshot::{Lookup, Snapshot};
use crate::settings::Settings;

/// How close to the floor traffic must be to be the floor: rate windows
/// jitter by a sample, and one more Prometheus replica than the series show
/// doubles the scrapes. Below half a session (each sends about 1 req/s) no
/// rate is players.
const FLOOR_SLACK: f64 = NO_SESSIONS;

/// A rate of half a session or more is players, whatever the activation
/// threshold says.
const HALF_A_SESSION: f64 = 0.5;

/// The request rate nginx reports with no players.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IdleFloor {
    /// `nginx_http_requests_total` series of the game's nginx: one exporter
    /// target each (one nginx pod each), each read once per scrape.
    pub series: usize,
    /// The measured spacing of the nginx samples (the scrape interval), s.
    pub scrape_secs: f64,
    /// The HTTP probes of the nginx pods that nginx counts; `None` when the
    /// snapshot does not hold the nginx pods' spec, so probes are not counted.
    pub probes: Option<Probes>,
}

impl IdleFloor {
    /// The exporters' own stub_status reads, req/s.
    pub fn scrapes(&self) -> f64 {
        self.series as f64 / self.scrape_secs
    }

    /// The whole floor, req/s.
    pub fn rate(&self) -> f64 {
        self.scrapes() + self.probes.map_or(0.0, |p| p.rate)
    }

    /// "1 exporter scrape every 15 s + 2 HTTP probes every 10 s".
    pub fn sources(&self) -> String {
        let scrapes = format!(
            "{} exporter {} every {} s",
            self.series,
            if self.series == 1 {
                "scrape"
            } else {
                "scrapes"
            },
            rate_text(self.scrape_secs)
        );
        match self.probes {
            Some(p) if p.count > 0 => format!("{scrapes} + {}", p.counted_text()),
            _ => scrapes,
        }
    }

    /// "0.267 req/s = 1 exporter scrape every 15 s + 2 HTTP probes every
    /// 10 s (...)", saying what was not counted and why.
    pub fn arithmetic(&self) -> String {
        format!(
            "{} req/s = {} (each scrape's stub_status read and each HTTP probe is one nginx request{})",
            rate_text(self.rate()),
            self.sources(),
            self.probe_note()
        )
    }

    /// What of the probes was not counted, and why ("; 2 other probes not
    /// counted: tcpSocket ..."), or nothing.
    pub fn probe_note(&self) -> String {
        match self.probes {
            None => "; HTTP probes on nginx not counted: the snapshot has no nginx pod spec (a 10 s probe adds 0.1 req/s per pod)".to_string(),
            Some(p) if p.uncounted > 0 => format!("; {}", p.uncounted_text()),
            Some(p) if p.count == 0 => format!(
                "; no HTTP probe on the {} nginx {}",
                p.pods,
                if p.pods == 1 { "pod" } else { "pods" }
            ),
            Some(_) => String::new(),
        }
    }
}

/// A rate with up to three decimals: `0.067`, `0.2`, `15`.
pub fn rate_text(v: f64) -> String {
    let text = format!("{v:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// When the game has no players, as KEDA and nginx see it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Idle {
    /// `None` when the scrape spacing or the series were not measured.
    pub floor: Option<IdleFloor>,
    /// The game trigger's `activationThreshold` (KEDA's default 0 when the
    /// key is absent); `None` when there is no trigger to read or it does
    /// not parse.
    pub activation: Option<f64>,
    /// The constant the trigger query subtracts last (`... - 0.25`, e.g. the
    /// exporter's scrapes), 0 when none: KEDA compares the rate minus it
    /// with the activation threshold.
    pub subtracted: f64,
}

impl Idle {
    pub fn of(snap: &Snapshot, settings: &Settings) -> Idle {
        let series = snap
            .prometheus
            .get(promql::NGINX_SERIES)
            .and_then(|a| a.samples.as_ref())
            .map(Vec::len)
            .filter(|n| *n > 0);
        let floor = match (series, scrape_spacing(snap)) {
            (Some(series), Some(scrape_secs)) => Some(IdleFloor {
                series,
                scrape_secs,
                probes: snap.nginx_pods.as_deref().map(Probes::of),
            }),
            _ => None,
        };
        let activation = snap
            .scaled_object
            .as_ref()
            .and_then(Lookup::found)
            .filter(|so| so.name == settings.scaled_object)
            .and_then(|so| so.triggers.iter().find(|t| t.type_ == "prometheus"))
            .and_then(|t| match t.metadata.get("activationThreshold") {
                None => Some(0.0),
                Some(_) => t.activation_threshold(),
            });
        let subtracted = snap
            .scaled_object
            .as_ref()
            .and_then(Lookup::found)
            .filter(|so| so.name == settings.scaled_object)
            .and_then(|so| so.triggers.iter().find(|t| t.type_ == "prometheus"))
            .and_then(|t| t.metadata.get("query"))
            .and_then(|q| subtracted::subtracted(q))
            .unwrap_or(0.0);
        Idle {
            floor,
            activation,
            subtracted,
        }
    }

    /// The rate at or below which there are no sessions.
    pub fn limit(&self) -> f64 {
        let floor = self.floor.map_or(0.0, |f| f.rate() + FLOOR_SLACK);
        // KEDA is idle up to activationThreshold plus what its query subtracts.
        let activation = (self.activation.unwrap_or(0.0) + self.subtracted).min(HALF_A_SESSION);
        NO_SESSIONS.max(floor).max(activation)
    }

    /// No players: below the fixed cut, at the floor, or where KEDA itself
    /// counts the trigger as idle.
    pub fn no_sessions(&self, rate: f64) -> bool {
        rate < NO_SESSIONS || rate <= self.limit()
    }

    /// The trigger's value as an SRE reads it: "3 sessions", "0 sessions", or
    /// at the idle floor "no players (0.27 req/s is the idle floor)", never
    /// "0.27 sessions" for exporter scrapes and probes.
    pub fn sessions_text(&self, rate: f64) -> String {
        if rate < 0.001 {
            return "0 sessions".to_string();
        }
        if !self.no_sessions(rate) {
            return format!("{} sessions", crate::domain::quantity::num(rate));
        }
        match self.floor {
            Some(f) if rate <= f.rate() + FLOOR_SLACK => {
                format!("no players ({} req/s is the idle floor)", rate_text(rate))
            }
            _ => format!(
                "no players ({} req/s, at or below what KEDA counts as idle)",
                rate_text(rate)
            ),
        }
    }

    /// Traffic that is there but is not players: "0.067 req/s is not players:
    /// exporter scrapes (...)". `None` when the rate is zero or players.
    pub fn not_players(&self, rate: f64) -> Option<String> {
        if rate < 0.001 || !self.no_sessions(rate) {
            return None;
        }
        Some(match self.floor {
            Some(f) if rate <= f.rate() + FLOOR_SLACK => format!(
                "{} req/s is not players: {} (idle floor {} req/s{})",
                rate_text(rate),
                f.sources(),
                rate_text(f.rate()),
                f.probe_note()
            ),
            _ => format!(
                "{} req/s is not players: at or below KEDA's activationThreshold {}{} (each session sends about 1 req/s)",
                rate_text(rate),
                rate_text(self.activation.unwrap_or(0.0)),
                if self.subtracted > 0.0 {
                    format!(
                        " plus the {} its query subtracts",
                        rate_text(self.subtracted)
                    )
                } else {
                    String::new()
                }
            ),
        })
    }

    /// The floor when it keeps KEDA active with no players: KEDA activates
    /// on a value strictly above activationThreshold, so a floor above it
    /// never lets the ScaledObject go idle and scale to zero. What the
    /// trigger query subtracts is taken off the floor first.
    pub fn floor_above_activation(&self) -> Option<(IdleFloor, f64)> {
        let (floor, activation) = (self.floor?, self.activation?);
        (floor.rate() - self.subtracted > activation).then_some((floor, activation))
    }

    /// One line naming the floor, for a check's evidence.
    pub fn evidence(&self) -> Option<String> {
        let floor = self.floor?;
        Some(format!(
            "idle floor {}; no sessions up to {} req/s{}",
            floor.arithmetic(),
            rate_text(self.limit()),
            match self.activation {
                Some(a) => format!(" (activationThreshold {})", rate_text(a)),
                None => String::new(),
            }
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idle(series: usize, scrape_secs: f64, activation: Option<f64>) -> Idle {
        Idle {
            floor: Some(IdleFloor {
                series,
                scrape_secs,
                probes: None,
            }),
            activation,
            subtracted: 0.0,
        }
    }

    #[test]
    fn one_exporter_at_a_15_s_scrape_is_a_floor_of_0_067_and_no_sessions() {
        let m = idle(1, 15.0, Some(0.2));
        let floor = m.floor.map(|f| f.rate()).unwrap_or_default();
        assert!((floor - 1.0 / 15.0).abs() < 1e-9, "{floor}");
        // What Prometheus answers for it is above the old fixed 0.05 cut.
        assert!(m.no_sessions(0.0667));
        assert!(!m.no_sessions(1.0), "one session is players");
        let said = m.not_players(0.0667).unwrap_or_default();
        assert!(
            said.starts_with("0.067 req/s is not players: 1 exporter scrape every 15 s"),
            "{said}"
        );
        assert!(said.contains("1 exporter scrape every 15 s"), "{said}");
        assert!(said.contains("probes on nginx not counted"), "{said}");
        assert_eq!(m.not_players(0.0), None, "zero needs no excuse");
        assert_eq!(m.not_players(1.0), None);
        assert_eq!(m.floor_above_activation(), None);
    }

    #[test]
    fn the_idle_floor_is_said_as_no_players_never_as_a_fraction_of_a_session() {
        let m = idle(1, 15.0, Some(0.5));
        assert_eq!(m.sessions_text(0.0), "0 sessions");
        assert_eq!(
            m.sessions_text(0.0667),
            "no players (0.067 req/s is the idle floor)"
        );
        // Above the floor but at or below the activation threshold (capped at
        // half a session): KEDA counts it as idle, and so does the plugin.
        assert_eq!(
            m.sessions_text(0.3),
            "no players (0.3 req/s, at or below what KEDA counts as idle)"
        );
        assert_eq!(m.sessions_text(0.9), "0.9 sessions");
        assert_eq!(m.sessions_text(3.0), "3 sessions");
        // Nothing measured: only the fixed cut, so 0.27 is players.
        let unmeasured = Idle::default();
        assert_eq!(unmeasured.sessions_text(0.27), "0.27 sessions");
    }

    /// kubernetes v1.33 `pkg/probe/http` sends one GET per probe run, which
    /// nginx counts: a 10 s readiness probe on each of 2 nginx pods adds
    /// 0.2 req/s to one exporter's 0.067 at a 15 s scrape.
    #[test]
    fn http_probes_on_the_nginx_pods_raise_the_floor_and_are_said() {
        let mut m = idle(1, 15.0, Some(0.2));
        let pods = Probes {
            count: 2,
            rate: 0.2,
            period: Some(10),
            uncounted: 0,
            pods: 2,
        };
        if let Some(f) = m.floor.as_mut() {
            f.probes = Some(pods);
        }
        let floor = m.floor.map(|f| f.rate()).unwrap_or_default();
        assert!((floor - (1.0 / 15.0 + 0.2)).abs() < 1e-9, "{floor}");
        assert!(m.no_sessions(0.267), "the floor is not players");
        assert_eq!(m.floor_above_activation().map(|(f, _)| f.series), Some(1));
        let said = m.not_players(0.267).unwrap_or_default();
        assert!(
            said.starts_with(
                "0.267 req/s is not players: 1 exporter scrape every 15 s + 2 HTTP probes every 10 s"
            ),
            "{said}"
        );
        // The same pods with tcpSocket probes: nginx never counts them.
        let tcp = Probes {
            count: 0,
            rate: 0.0,
            period: None,
            uncounted: 2,
            pods: 2,
        };
        if let Some(f) = m.floor.as_mut() {
            f.probes = Some(tcp);
        }
        assert!((m.floor.map(|f| f.rate()).unwrap_or_default() - 1.0 / 15.0).abs() < 1e-9);
        let said = m.not_players(0.0667).unwrap_or_default();
        assert!(
            said.contains("2 other probes not counted: tcpSocket"),
            "{said}"
        );
    }

    #[test]
    fn two_exporters_at_a_30_s_scrape_and_the_activation_threshold_set_the_limit() {
        let m = idle(2, 30.0, Some(0.2));
        assert!((m.floor.map(|f| f.rate()).unwrap_or_default() - 2.0 / 30.0).abs() < 1e-9);
        // The activation threshold 0.2 is above floor + slack (0.117).
        assert!((m.limit() - 0.2).abs() < 1e-9, "{}", m.limit());
        assert!(m.no_sessions(0.2), "KEDA is idle at exactly the threshold");
        assert!(!m.no_sessions(0.21));
        let said = m.not_players(0.15).unwrap_or_default();
        assert!(said.contains("activationThreshold 0.2"), "{said}");
    }

    #[test]
    fn a_floor_above_the_activation_threshold_keeps_keda_active() {
        // KEDA's default activationThreshold is 0: any floor is above it.
        let m = idle(1, 15.0, Some(0.0));
        let (floor, activation) = m.floor_above_activation().expect("above");
        assert_eq!(activation, 0.0);
        assert_eq!(floor.series, 1);
        // Still no players: the floor is not sessions.
        assert!(m.no_sessions(0.0667));
        // At the runbook's 0.2 it is not.
        assert_eq!(idle(2, 15.0, Some(0.2)).floor_above_activation(), None);
        // Three replicas of nginx at a 10 s scrape: 0.3 req/s, above 0.2.
        assert!(idle(3, 10.0, Some(0.2)).floor_above_activation().is_some());
    }

    #[test]
    fn without_a_measured_floor_or_threshold_the_fixed_cut_holds() {
        let m = Idle::default();
        assert_eq!(m.limit(), NO_SESSIONS);
        assert!(m.no_sessions(0.04));
        assert!(!m.no_sessions(0.0667));
        assert_eq!(m.evidence(), None);
        assert_eq!(m.floor_above_activation(), None);
    }

    #[test]
    fn an_activation_threshold_of_several_sessions_does_not_hide_players() {
        let m = Idle {
            floor: None,
            activation: Some(5.0),
            subtracted: 0.0,
        };
        assert_eq!(m.limit(), HALF_A_SESSION);
        assert!(!m.no_sessions(3.0));
    }

    /// The closed loop's trigger, `sum(rate(...[12s])) - 0.25`, takes its
    /// 4 s scrapes off: its floor 0.25 is not above activationThreshold 0.2
    /// for KEDA, which sees 0; a smaller subtraction still leaves it above.
    #[test]
    fn what_the_trigger_query_subtracts_is_taken_off_the_floor() {
        let mut m = idle(1, 4.0, Some(0.2));
        assert!(m.floor_above_activation().is_some());
        m.subtracted = 0.25;
        assert_eq!(m.floor_above_activation(), None);
        m.subtracted = 0.01;
        assert!(m.floor_above_activation().is_some());
        // Unmeasured floor (`watch`): KEDA is idle up to 0.2 + 0.25.
        let m = Idle {
            floor: None,
            activation: Some(0.2),
            subtracted: 0.25,
        };
        assert!((m.limit() - 0.45).abs() < 1e-9, "{}", m.limit());
        let said = m.not_players(0.24).unwrap_or_default();
        assert!(
            said.contains("activationThreshold 0.2 plus the 0.25 its query subtracts"),
            "{said}"
        );
    }
}
