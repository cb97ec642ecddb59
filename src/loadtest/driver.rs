//! Synthetic game sessions: one task per session, each sending `GET` at the
//! rate one real session makes, to the game's URL or through the API server's
//! service proxy. A shared per-second budget is the hard cap on requests per
//! second, whatever the sessions' timers do; one stop signal ends every task
//! at once, dropping requests in flight.

use crate::cluster::prometheus::HttpApi;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What every session has measured so far.
#[derive(Debug, Clone, Default)]
struct Tally {
    sent: u64,
    ok: u64,
    errors: u64,
    /// Requests the per-second cap held back (never sent).
    capped: u64,
    latencies_ms: Vec<f64>,
    last_error: Option<String>,
    /// Sessions currently sending.
    sending: usize,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
    /// The per-second budget: (the second since the start, requests in it).
    window: (u64, u64),
}

/// The sessions' measurements, as the report shows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionStats {
    pub sessions: usize,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub capped: u64,
    /// Requests per second actually delivered while the sessions ran.
    pub delivered_per_second: f64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Where and how fast the sessions send.
#[derive(Clone)]
pub struct Target {
    pub api: HttpApi,
    /// The path each request asks for (`/` through the proxy, empty for a URL).
    pub path: String,
    pub per_session_rate: f64,
    pub max_per_second: f64,
    pub request_timeout: Duration,
}

/// The running sessions. Dropping it stops them too.
pub struct Sessions {
    tally: Arc<Mutex<Tally>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    count: usize,
}

impl Drop for Sessions {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Sessions {
    /// Starts `count` sessions, session `i` after `ramp * i / count`.
    pub fn start(target: Target, count: usize, ramp: Duration) -> Sessions {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let (stop, _) = watch::channel(false);
        let origin = Instant::now();
        let tasks = (0..count)
            .map(|i| {
                let delay = ramp.mul_f64(i as f64 / count.max(1) as f64);
                tokio::spawn(session(
                    target.clone(),
                    origin,
                    delay,
                    tally.clone(),
                    stop.subscribe(),
                ))
            })
            .collect();
        Sessions {
            tally,
            stop,
            tasks,
            count,
        }
    }

    /// Stops every session at once: requests in flight are dropped.
    pub fn stop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
        self.tally.lock().expect("tally").sending = 0;
    }

    /// Sessions sending right now.
    pub fn sending(&self) -> usize {
        self.tally.lock().expect("tally").sending
    }

    pub fn stats(&self) -> SessionStats {
        let t = self.tally.lock().expect("tally").clone();
        summarize(&t, self.count)
    }
}

fn summarize(t: &Tally, sessions: usize) -> SessionStats {
    let mut lat = t.latencies_ms.clone();
    lat.sort_by(f64::total_cmp);
    let pick = |q: f64| -> Option<f64> {
        if lat.is_empty() {
            return None;
        }
        let i = ((lat.len() as f64 - 1.0) * q).round() as usize;
        Some(round1(lat[i.min(lat.len() - 1)]))
    };
    let span = match (t.first_send, t.last_send) {
        (Some(a), Some(b)) => (b - a).as_secs_f64().max(1.0),
        _ => 1.0,
    };
    SessionStats {
        sessions,
        requests: t.sent,
        ok: t.ok,
        errors: t.errors,
        capped: t.capped,
        // Requests between the first and the last send, over that time.
        delivered_per_second: if t.sent < 2 {
            0.0
        } else {
            ((t.sent - 1) as f64 / span * 100.0).round() / 100.0
        },
        latency_p50_ms: pick(0.5),
        latency_p95_ms: pick(0.95),
        latency_max_ms: lat.last().copied().map(round1),
        last_error: t.last_error.clone(),
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Takes one request from this second's budget; false when it is spent.
fn admit(tally: &Mutex<Tally>, origin: Instant, max_per_second: f64) -> bool {
    let mut t = tally.lock().expect("tally");
    let second = origin.elapsed().as_secs();
    if t.window.0 != second {
        t.window = (second, 0);
    }
    if (t.window.1 as f64) < max_per_second.floor().max(1.0) {
        t.window.1 += 1;
        true
    } else {
        t.capped += 1;
        false
    }
}

async fn session(
    target: Target,
    origin: Instant,
    delay: Duration,
    tally: Arc<Mutex<Tally>>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.changed() => return,
    }
    tally.lock().expect("tally").sending += 1;
    let period = Duration::from_secs_f64(1.0 / target.per_session_rate);
    let mut tick = tokio::time::interval(period);
    // After a stall, skip missed ticks instead of bursting.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if !admit(&tally, origin, target.max_per_second) {
            continue;
        }
        let started = Instant::now();
        {
            let mut t = tally.lock().expect("tally");
            t.sent += 1;
            t.first_send.get_or_insert(started);
            t.last_send = Some(started);
        }
        let answer = tokio::select! {
            a = tokio::time::timeout(target.request_timeout, target.api.get(&target.path, &[])) => a,
            _ = stop.changed() => return,
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut t = tally.lock().expect("tally");
        match answer {
            Ok(Ok((code, _))) if (200..400).contains(&code) => {
                t.ok += 1;
                t.latencies_ms.push(ms);
            }
            Ok(Ok((code, _))) => {
                t.errors += 1;
                t.last_error = Some(format!("HTTP {code}"));
            }
            Ok(Err(f)) => {
                t.errors += 1;
                t.last_error = Some(f.message);
            }
            Err(_) => {
                t.errors += 1;
                t.last_error = Some(format!(
                    "no answer within {}s",
                    target.request_timeout.as_secs_f64()
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_caps_each_second() {
        let tally = Mutex::new(Tally::default());
        let origin = Instant::now();
        let admitted = (0..10).filter(|_| admit(&tally, origin, 3.0)).count();
        assert_eq!(admitted, 3);
        assert_eq!(tally.lock().unwrap().capped, 7);
    }

    #[test]
    fn stats_summarize_latency_and_rate() {
        let now = Instant::now();
        let t = Tally {
            sent: 20,
            ok: 19,
            errors: 1,
            latencies_ms: (1..=19).map(f64::from).collect(),
            first_send: Some(now),
            last_send: Some(now + Duration::from_secs(10)),
            ..Tally::default()
        };
        let s = summarize(&t, 2);
        assert_eq!(s.delivered_per_second, 1.9);
        assert_eq!(s.latency_p50_ms, Some(10.0));
        assert_eq!(s.latency_max_ms, Some(19.0));
        assert_eq!(s.errors, 1);
    }
}
