//! Synthetic game sessions: one task per session, each sending `GET` at the
//! rate one real session makes, to the game's URL or through the API server's
//! service proxy. A shared sliding-window limiter is the hard cap on requests
//! per second, whatever the sessions' timers do; one stop signal, or the
//! sessions' own deadline, ends every task at once, dropping requests in
//! flight. Redirects are never followed: a 3xx is the game's answer.

use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// At most this many characters of an error body are quoted.
const QUOTE_CHARS: usize = 200;
/// At most this much of an answer's body is read to quote it.
const BODY_BYTES: usize = 16 * 1024;

/// What every session has measured so far.
#[derive(Debug, Clone, Default)]
struct Tally {
    sent: u64,
    ok: u64,
    errors: u64,
    /// Requests the per-second cap held back (never sent).
    capped: u64,
    /// Requests the cap delayed (sent late, within their period).
    delayed: u64,
    latencies: Latencies,
    first_error: Option<String>,
    last_error: Option<String>,
    /// Sessions currently sending.
    sending: usize,
    first_send: Option<Instant>,
    last_send: Option<Instant>,
    /// When the sessions stopped (by `stop` or their deadline).
    stopped: Option<Instant>,
    /// Requests sent and not answered when the sessions stopped.
    cut: u64,
    limiter: Limiter,
}

/// The hard cap on requests per second, as a sliding window: the send times
/// of the last `cap` requests admitted. A request is admitted only when
/// fewer than `cap` were admitted in the `WINDOW` before it, so no interval
/// of one second, wherever it starts, holds more than `cap` sends. The window
/// is a little longer than a second so the few milliseconds a request takes
/// to reach the game cannot make the game see `cap + 1` in one of its seconds.
/// A request refused waits for room (see `session`) rather than being
/// dropped, so sessions at exactly the cap lose at most those 3 %.
#[derive(Debug, Clone, Default)]
struct Limiter {
    admitted: VecDeque<Instant>,
}

/// The answered requests' latencies as a histogram of fixed resolution:
/// memory and the cost of a percentile do not grow with the request count
/// (a list of every latency, copied and sorted on every progress tick
/// under the sessions' lock, held 1.8 million after 30 minutes at 1,000
/// requests a second: 14 MB, sorted 4 times a second). Below 1,024 µs a bucket is one microsecond;
/// above, each power of two holds [`SUB`] buckets, so a latency is kept to
/// within 0.1 % (the reports show a tenth of a millisecond). The maximum is
/// kept exactly.
#[derive(Debug, Clone, Default)]
struct Latencies {
    counts: Vec<u64>,
    total: u64,
    max_ms: Option<f64>,
}

/// Buckets per power of two above the exact range (whose size is `2 * SUB`).
const SUB: u64 = 512;
/// Latencies are kept up to 2^36 µs (19 hours); a longer one counts as that.
const TOP_BIT: u32 = 36;

impl Latencies {
    fn index(us: u64) -> usize {
        let us = us.min((1 << TOP_BIT) - 1);
        if us < 2 * SUB {
            return us as usize;
        }
        let bit = 63 - us.leading_zeros() as u64; // >= 10
        let shift = bit - 9;
        (2 * SUB + (bit - 10) * SUB + ((us >> shift) - SUB)) as usize
    }

    /// The middle of bucket `i`, in milliseconds.
    fn value_ms(i: usize) -> f64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i as f64 / 1000.0;
        }
        let octave = (i - 2 * SUB) / SUB;
        let shift = octave + 1;
        let lower = (SUB + (i - 2 * SUB) % SUB) << shift;
        (lower as f64 + (1u64 << shift) as f64 / 2.0) / 1000.0
    }

    fn push(&mut self, ms: f64) {
        let i = Self::index((ms.max(0.0) * 1000.0).round() as u64);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
        self.max_ms = Some(self.max_ms.map_or(ms, |m| m.max(ms)));
    }

    /// The latency of rank `round((n - 1)·q)` in ascending order, as a
    /// sorted list picks it.
    fn quantile_ms(&self, q: f64) -> Option<f64> {
        if self.total == 0 {
            return None;
        }
        let rank = ((self.total - 1) as f64 * q).round() as u64;
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen > rank {
                // Never above the exact maximum (the top bucket's middle may be).
                return Some(Self::value_ms(i).min(self.max_ms.unwrap_or(f64::MAX)));
            }
        }
        self.max_ms
    }
}

/// The limiter's window: a second and a margin for the way to the game.
const WINDOW: Duration = Duration::from_millis(1030);

impl Limiter {
    /// Takes one request at `now`; when `cap` were sent in the window, the
    /// moment the oldest of them leaves it instead.
    fn admit(&mut self, now: Instant, cap: f64) -> Result<(), Instant> {
        let cap = cap.floor().max(1.0) as usize;
        while self
            .admitted
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            self.admitted.pop_front();
        }
        match self.admitted.front() {
            Some(&oldest) if self.admitted.len() >= cap => Err(oldest + WINDOW),
            _ => {
                self.admitted.push_back(now);
                Ok(())
            }
        }
    }
}

/// The sessions' measurements, as the report shows them.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SessionStats {
    pub sessions: usize,
    /// Requests the plan meant to send by now (or by the stop): each session
    /// at its rate from its start (after the ramp) to the stop.
    pub planned: f64,
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    pub capped: u64,
    /// Requests the cap delayed (sent late, but within their period).
    pub delayed: u64,
    /// Requests sent but not answered yet (or cut when the sessions stopped):
    /// neither delivered nor failed.
    pub in_flight: u64,
    /// Requests per second sent: `requests / (span + 1 s)`, the span from the
    /// first send to the last. The requests of a span of T seconds fit in
    /// ⌊T⌋ + 1 one-second windows, each holding at most the cap, so this
    /// never reads above `--max-rps`; a steady rate r over T seconds reads
    /// r·T/(T+1) + …, a little under r on short runs.
    pub delivered_per_second: f64,
    pub latency_p50_ms: Option<f64>,
    pub latency_p95_ms: Option<f64>,
    pub latency_max_ms: Option<f64>,
    /// The first error, one line, neutralised, at most 200 characters.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// Where each request goes. Built once, never changed by an answer.
#[derive(Clone)]
pub enum Sink {
    /// Through the API server's service proxy: `uri` is the whole proxy path.
    Proxy { kube: kube::Client, uri: String },
    /// The game's URL exactly as given; `http` follows no redirect.
    Url {
        http: reqwest::Client,
        url: url::Url,
    },
}

/// Where and how fast the sessions send.
#[derive(Clone)]
pub struct Target {
    pub sink: Sink,
    /// Where requests go, for messages (never with credentials).
    pub describe: String,
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
    origin: Instant,
    /// When each session sends its first request, after `origin`.
    firsts: Vec<Duration>,
    rate: f64,
}

impl Drop for Sessions {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}

fn lock(tally: &Mutex<Tally>) -> std::sync::MutexGuard<'_, Tally> {
    // A session task that panicked holding the lock leaves counts that are
    // still counts: keep using them.
    tally
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Sessions {
    /// Starts `count` sessions, session `i` after `ramp * i / count` plus
    /// its phase (see [`first_sends`]); every one stops by itself `deadline`
    /// after the start, whatever the caller is busy with.
    pub fn start(target: Target, count: usize, ramp: Duration, deadline: Duration) -> Sessions {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let (stop, _) = watch::channel(false);
        let origin = Instant::now();
        let firsts = first_sends(count, ramp, target.per_session_rate, PHASE_SEED);
        let tasks = firsts
            .iter()
            .map(|&delay| {
                tokio::spawn(session(
                    target.clone(),
                    delay,
                    tally.clone(),
                    stop.subscribe(),
                ))
            })
            .collect();
        let mut sessions = Sessions {
            tally,
            stop,
            tasks,
            count,
            origin,
            firsts,
            rate: target.per_session_rate,
        };
        // The deadline: its own task, so nothing the caller awaits delays it.
        let (tally, stop, handles) = (
            sessions.tally.clone(),
            sessions.stop.clone(),
            sessions
                .tasks
                .iter()
                .map(|t| t.abort_handle())
                .collect::<Vec<_>>(),
        );
        let mut stopped = sessions.stop.subscribe();
        sessions.tasks.push(tokio::spawn(async move {
            tokio::select! {
                _ = tokio::time::sleep_until(origin + deadline) => {}
                _ = stopped.changed() => return,
            }
            let _ = stop.send(true);
            for h in &handles {
                h.abort();
            }
            halt(&tally, Instant::now());
        }));
        sessions
    }

    /// Stops every session at once: requests in flight are dropped.
    pub fn stop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
        halt(&self.tally, Instant::now());
    }

    /// How long after the start the sessions stopped, once they did (by
    /// `stop` or by their deadline).
    pub fn stopped_after(&self) -> Option<Duration> {
        lock(&self.tally)
            .stopped
            .map(|s| s.saturating_duration_since(self.origin))
    }

    /// Sessions sending right now.
    pub fn sending(&self) -> usize {
        lock(&self.tally).sending
    }

    pub fn stats(&self) -> SessionStats {
        let stopped = lock(&self.tally).stopped;
        let ran = stopped
            .unwrap_or_else(Instant::now)
            .saturating_duration_since(self.origin);
        let planned = planned(&self.firsts, self.rate, ran);
        summarize(&lock(&self.tally), self.count, planned)
    }
}

/// Records the stop once: what was in flight then is cut, not failed.
fn halt(tally: &Mutex<Tally>, now: Instant) {
    let mut t = lock(tally);
    if t.stopped.is_none() {
        t.stopped = Some(now);
        t.cut = t.sent.saturating_sub(t.ok + t.errors);
    }
    t.sending = 0;
}

/// The seed of the sessions' phases: fixed, so that two runs of one plan
/// send on the same schedule.
const PHASE_SEED: u64 = 0x5eed_5e55_1075_0f0f;

/// SplitMix64 (Steele, Lea, Flood 2014): one well-mixed 64-bit number for
/// each input, enough to spread phases without a crate.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// When each of `count` sessions at `rate` requests a second sends its
/// first request, after the start: its place in the ramp (`ramp·i/count`)
/// plus a phase drawn uniformly in [0, period) from `seed`. Players are not
/// phase-locked: sessions that all tick at the same instant send each
/// period's requests within a millisecond, and the pool answers such a
/// burst with a connection per request and self-made queueing.
pub fn first_sends(count: usize, ramp: Duration, rate: f64, seed: u64) -> Vec<Duration> {
    // A rate the plan would never allow (0, NaN) gets no phase rather than
    // a panic.
    let period = Duration::try_from_secs_f64(1.0 / rate)
        .ok()
        .filter(|p| *p <= Duration::from_secs(3600))
        .unwrap_or(Duration::ZERO);
    (0..count)
        .map(|i| {
            let at = ramp.mul_f64(i as f64 / count.max(1) as f64);
            // The top 53 bits as a fraction in [0, 1).
            let unit = (splitmix64(seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d)) >> 11)
                as f64
                / (1u64 << 53) as f64;
            at + period.mul_f64(unit)
        })
        .collect()
}

/// Requests the sessions at `rate` each, session `i` sending first at
/// `firsts[i]`, meant to send in the first `ran` of the test: each
/// session's ticks (the first at its first send, then one a period) that
/// have been due for half a period (at most half a second). A tick due just
/// now may not have fired yet when the count is read (timers lag on a busy
/// machine, and a deadline that falls on a tick ends the session first), so
/// it is not counted as missing; a tick that fired early in that half
/// period is simply one more request sent.
pub fn planned(firsts: &[Duration], rate: f64, ran: Duration) -> f64 {
    let grace = (0.5 / rate).min(0.5);
    firsts
        .iter()
        .filter_map(|&first| {
            let since = ran.checked_sub(first)?.as_secs_f64() - grace;
            (since >= 0.0).then(|| (since * rate + 1e-9).floor() + 1.0)
        })
        .sum()
}

fn summarize(t: &Tally, sessions: usize, planned: f64) -> SessionStats {
    let pick = |q: f64| t.latencies.quantile_ms(q).map(round1);
    let span = match (t.first_send, t.last_send) {
        (Some(a), Some(b)) => (b - a).as_secs_f64(),
        _ => 0.0,
    };
    SessionStats {
        sessions,
        planned: round1(planned),
        requests: t.sent,
        ok: t.ok,
        errors: t.errors,
        capped: t.capped,
        delayed: t.delayed,
        in_flight: if t.stopped.is_some() {
            t.cut
        } else {
            t.sent.saturating_sub(t.ok + t.errors)
        },
        delivered_per_second: (t.sent as f64 / (span + 1.0) * 100.0).floor() / 100.0,
        latency_p50_ms: pick(0.5),
        latency_p95_ms: pick(0.95),
        latency_max_ms: t.latencies.max_ms.map(round1),
        first_error: t.first_error.clone(),
        last_error: t.last_error.clone(),
    }
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Takes one request from the cap's window, or says when to try again.
fn admit(tally: &Mutex<Tally>, max_per_second: f64) -> Result<(), Instant> {
    lock(tally).limiter.admit(Instant::now(), max_per_second)
}

/// Waits for room under the cap, at most until `give_up` (the session's
/// next tick): true when admitted, false when held back (counted as capped)
/// or stopped.
async fn room(
    tally: &Mutex<Tally>,
    max_per_second: f64,
    give_up: Instant,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    let mut waited = false;
    loop {
        match admit(tally, max_per_second) {
            Ok(()) => {
                if waited {
                    lock(tally).delayed += 1;
                }
                return true;
            }
            Err(at) if at >= give_up => {
                lock(tally).capped += 1;
                return false;
            }
            Err(at) => {
                waited = true;
                tokio::select! {
                    _ = tokio::time::sleep_until(at) => {}
                    _ = stop.changed() => return false,
                }
            }
        }
    }
}

/// An answer the game (or the API server in front of it) gave, or why none came.
enum Answer {
    Status(u16, String),
    Failed(String),
}

/// One `GET`: the status and the start of the body (enough to quote).
async fn send(sink: &Sink) -> Answer {
    match sink {
        Sink::Proxy { kube, uri } => {
            let request =
                match http::Request::get(uri.as_str()).body(kube::client::Body::from(Vec::new())) {
                    Ok(r) => r,
                    Err(e) => return Answer::Failed(e.to_string()),
                };
            match kube.send(request).await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let body = read_bounded(response.into_body()).await;
                    Answer::Status(status, body)
                }
                Err(e) => Answer::Failed(crate::error::chain_text(&e)),
            }
        }
        Sink::Url { http, url } => match http.get(url.clone()).send().await {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let mut body = Vec::new();
                while let Ok(Some(chunk)) = response.chunk().await {
                    if body.len() < BODY_BYTES {
                        body.extend_from_slice(&chunk[..chunk.len().min(BODY_BYTES - body.len())]);
                    }
                }
                Answer::Status(status, String::from_utf8_lossy(&body).into_owned())
            }
            // Without the URL: reqwest's message names it, query and all.
            Err(e) => Answer::Failed(crate::error::chain_text(&e.without_url())),
        },
    }
}

async fn read_bounded(mut body: kube::client::Body) -> String {
    use http_body_util::BodyExt;
    let mut kept = Vec::new();
    while let Some(Ok(frame)) = body.frame().await {
        if let Ok(data) = frame.into_data()
            && kept.len() < BODY_BYTES
        {
            kept.extend_from_slice(&data[..data.len().min(BODY_BYTES - kept.len())]);
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

/// An error answer as the report quotes it: `HTTP 503: <why>`, the why being
/// a Kubernetes `Status`'s `message` or the body itself, on one line,
/// neutralised and at most [`QUOTE_CHARS`] characters.
pub fn quote_error(code: u16, body: &str) -> String {
    let status_message = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .filter(|v| v["kind"] == "Status")
        .and_then(|v| v["message"].as_str().map(str::to_string));
    let why = status_message.unwrap_or_else(|| body.to_string());
    let why = bounded(&why);
    if why.is_empty() {
        format!("HTTP {code}")
    } else {
        format!("HTTP {code}: {why}")
    }
}

/// One line, neutralised, at most [`QUOTE_CHARS`] characters (`…` when cut).
fn bounded(text: &str) -> String {
    let line = crate::domain::text::one_line(text.trim());
    let line: String = line.split_whitespace().collect::<Vec<_>>().join(" ");
    let clean = super::render::clean(&line);
    if clean.chars().count() <= QUOTE_CHARS {
        clean
    } else {
        clean.chars().take(QUOTE_CHARS - 1).collect::<String>() + "…"
    }
}

async fn session(
    target: Target,
    delay: Duration,
    tally: Arc<Mutex<Tally>>,
    mut stop: watch::Receiver<bool>,
) {
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = stop.changed() => return,
    }
    lock(&tally).sending += 1;
    let period = Duration::from_secs_f64(1.0 / target.per_session_rate);
    let mut tick = tokio::time::interval(period);
    // After a stall, skip missed ticks instead of bursting.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let give_up = Instant::now() + period;
        if !room(&tally, target.max_per_second, give_up, &mut stop).await {
            continue;
        }
        let started = Instant::now();
        {
            let mut t = lock(&tally);
            t.sent += 1;
            t.first_send.get_or_insert(started);
            t.last_send = Some(started);
        }
        let answer = tokio::select! {
            a = tokio::time::timeout(target.request_timeout, send(&target.sink)) => a,
            _ = stop.changed() => return,
        };
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut t = lock(&tally);
        if t.stopped.is_some() {
            return;
        }
        let error = match answer {
            // A 3xx is the game's answer: counted, never followed.
            Ok(Answer::Status(code, _)) if (200..400).contains(&code) => {
                t.ok += 1;
                t.latencies.push(ms);
                continue;
            }
            Ok(Answer::Status(code, body)) => quote_error(code, &body),
            Ok(Answer::Failed(why)) => bounded(&why),
            Err(_) => format!(
                "no answer within {}s",
                crate::report::num(target.request_timeout.as_secs_f64())
            ),
        };
        t.errors += 1;
        t.first_error.get_or_insert_with(|| error.clone());
        t.last_error = Some(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The most sends any window of `len` holds, over `times`.
    fn busiest(times: &[Instant], len: Duration) -> usize {
        (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|&&t| t - times[i] < len)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn the_limiter_never_lets_more_than_the_cap_into_any_sliding_second() {
        // Bursts at the edges of calendar seconds: the old per-second budget
        // let 2 × cap through between 0.9 s and 1.1 s.
        let origin = Instant::now();
        let mut limiter = Limiter::default();
        let mut sent = Vec::new();
        for ms in (0..5000u64).step_by(5) {
            let now = origin + Duration::from_millis(ms);
            // 20 wanted every 5 ms around each second's end and start.
            let wanted = if ms % 1000 >= 900 || ms % 1000 < 100 {
                20
            } else {
                1
            };
            for _ in 0..wanted {
                if limiter.admit(now, 100.0).is_ok() {
                    sent.push(now);
                }
            }
        }
        let most = busiest(&sent, Duration::from_secs(1));
        assert!((90..=100).contains(&most), "{most} in one second");
        // Still sends: about 100 per window.
        assert!(sent.len() >= 400, "{}", sent.len());
    }

    #[test]
    fn the_limiter_admits_the_cap_at_once_then_waits_for_the_window() {
        let origin = Instant::now();
        let mut limiter = Limiter::default();
        let admitted = (0..10)
            .filter(|_| limiter.admit(origin, 3.0).is_ok())
            .count();
        assert_eq!(admitted, 3);
        let soon = origin + Duration::from_millis(1000);
        assert_eq!(
            limiter.admit(soon, 3.0),
            Err(origin + WINDOW),
            "within the window"
        );
        let later = origin + WINDOW;
        assert!(limiter.admit(later, 3.0).is_ok());
        // A cap under 1 still lets one request a window through.
        let mut small = Limiter::default();
        assert!(small.admit(origin, 0.5).is_ok());
        assert!(small.admit(origin, 0.5).is_err());
    }

    #[tokio::test]
    async fn a_request_waits_for_room_within_its_period_else_is_capped() {
        let tally = Mutex::new(Tally::default());
        let (_tx, mut stop) = watch::channel(false);
        let start = Instant::now();
        let far = start + Duration::from_secs(5);
        for _ in 0..3 {
            assert!(room(&tally, 3.0, far, &mut stop).await);
        }
        // The 4th waits for the window to pass the 1st.
        assert!(room(&tally, 3.0, far, &mut stop).await);
        let waited = Instant::now() - start;
        assert!(
            waited >= WINDOW && waited < WINDOW + Duration::from_secs(1),
            "{waited:?}"
        );
        // The window is full again (the 4th and two more)…
        for _ in 0..2 {
            assert!(room(&tally, 3.0, far, &mut stop).await);
        }
        // …and no room before the next tick: held back, not sent.
        let soon = Instant::now() + Duration::from_millis(10);
        assert!(!room(&tally, 3.0, soon, &mut stop).await);
        let t = tally.lock().unwrap();
        assert_eq!((t.delayed, t.capped), (1, 1));
    }

    #[test]
    fn the_delivered_rate_never_reads_above_the_cap() {
        let now = Instant::now();
        // The old 167 in a second: 100 at 0.95 s and 67 at 1.0 s. With the
        // limiter that cannot happen; even the worst the limiter allows, cap
        // at the start of the span and cap just after a window, reads ≤ cap.
        for (sent, span_ms) in [(200u64, 1030u64), (100, 0), (300, 2060)] {
            let t = Tally {
                sent,
                first_send: Some(now),
                last_send: Some(now + Duration::from_millis(span_ms)),
                ..Tally::default()
            };
            let s = summarize(&t, 100, 100.0);
            assert!(
                s.delivered_per_second <= 100.0,
                "{sent} in {span_ms} ms: {s:?}"
            );
        }
    }

    #[test]
    fn stats_summarize_latency_and_rate() {
        let now = Instant::now();
        let t = Tally {
            sent: 20,
            ok: 19,
            errors: 1,
            latencies: {
                let mut l = Latencies::default();
                (1..=19).for_each(|ms| l.push(f64::from(ms)));
                l
            },
            first_send: Some(now),
            last_send: Some(now + Duration::from_secs(9)),
            ..Tally::default()
        };
        let s = summarize(&t, 2, 20.0);
        assert_eq!(s.delivered_per_second, 2.0);
        assert_eq!(s.latency_p50_ms, Some(10.0));
        assert_eq!(s.latency_max_ms, Some(19.0));
        assert_eq!(s.errors, 1);
        assert_eq!(s.in_flight, 0);
        assert_eq!(s.planned, 20.0);
    }

    #[test]
    fn latency_percentiles_are_within_a_thousandth_of_the_exact_ones_in_bounded_memory() {
        let mut l = Latencies::default();
        let mut exact = Vec::new();
        // 0.3 ms to 30 s, spread over every octave the histogram has.
        let mut x: u64 = 12_345;
        for _ in 0..200_000 {
            x = splitmix64(x);
            let ms = 0.3 * 100_000f64.powf((x >> 11) as f64 / (1u64 << 53) as f64);
            l.push(ms);
            exact.push(ms);
        }
        exact.sort_by(f64::total_cmp);
        for q in [0.0, 0.5, 0.9, 0.95, 0.99, 1.0] {
            let want = exact[((exact.len() - 1) as f64 * q).round() as usize];
            let got = l.quantile_ms(q).unwrap();
            assert!(
                (got - want).abs() <= want * 0.001 + 0.001,
                "q {q}: {got} vs {want}"
            );
        }
        assert_eq!(l.max_ms, exact.last().copied());
        // A day at the largest rate fits the same buckets: ~15,000 at most.
        l.push(1e9);
        assert!(l.counts.len() <= 15_000, "{}", l.counts.len());
        assert_eq!(Latencies::default().quantile_ms(0.5), None);
    }

    #[test]
    fn planned_counts_each_session_from_its_first_send() {
        let s = Duration::from_secs;
        // Sessions send first at 0, 1, 2, 3 s, then each second; a tick
        // counts once it has been due for half a second: by 5.5 s they
        // meant 6 + 5 + 4 + 3 at 1/s…
        let firsts = [s(0), s(1), s(2), s(3)];
        assert_eq!(planned(&firsts, 1.0, Duration::from_millis(5500)), 18.0);
        // …and by 5.4 s the ticks at 5, 4, 3 and 2 s are not counted yet.
        assert_eq!(planned(&firsts, 1.0, Duration::from_millis(5400)), 14.0);
        // At 2/s half a period is 0.25 s: by 0.5 s only the first session
        // started, and its tick at 0 counts.
        assert_eq!(planned(&firsts, 2.0, Duration::from_millis(500)), 1.0);
        assert_eq!(planned(&firsts, 2.0, Duration::from_millis(750)), 2.0);
        assert_eq!(planned(&[s(0); 3], 1.0, Duration::ZERO), 0.0);
    }

    #[test]
    fn phases_spread_over_the_period_and_the_first_send_comes_within_it() {
        // 1,000 sessions at 1/s without a ramp (the case that sent every
        // second's 1,000 requests within a millisecond).
        let firsts = first_sends(1_000, Duration::ZERO, 1.0, PHASE_SEED);
        assert_eq!(firsts.len(), 1_000);
        assert!(firsts.iter().all(|f| *f < Duration::from_secs(1)));
        // Every tenth of the period holds 100 ± 40 of them, and no
        // millisecond more than 8 (a phase-locked start put all 1,000 in one).
        let mut tenths = [0usize; 10];
        let mut millis = vec![0usize; 1_000];
        for f in &firsts {
            tenths[(f.as_secs_f64() * 10.0) as usize] += 1;
            millis[f.as_millis() as usize] += 1;
        }
        assert!(tenths.iter().all(|n| (60..=140).contains(n)), "{tenths:?}");
        assert!(millis.iter().all(|n| *n <= 8), "{:?}", millis.iter().max());
        // With a ramp, each session still sends within one period of its
        // place in the ramp: session i of 4 over 4 s at 2/s starts at i s.
        let ramped = first_sends(4, Duration::from_secs(4), 2.0, PHASE_SEED);
        for (i, f) in ramped.iter().enumerate() {
            let start = Duration::from_secs(i as u64);
            assert!(
                *f >= start && *f < start + Duration::from_millis(500),
                "{i}: {f:?}"
            );
        }
        // The same seed gives the same schedule, another seed another one.
        assert_eq!(firsts, first_sends(1_000, Duration::ZERO, 1.0, PHASE_SEED));
        assert_ne!(firsts, first_sends(1_000, Duration::ZERO, 1.0, 7));
        // A rate no plan allows gets no phase, and no panic.
        assert_eq!(first_sends(2, Duration::ZERO, 0.0, 1), [Duration::ZERO; 2]);
    }

    #[test]
    fn an_error_quotes_a_status_message_on_one_bounded_clean_line() {
        let status = r#"{"kind":"Status","apiVersion":"v1","status":"Failure","message":"no endpoints available for service \"spice-runner-nginx\"","reason":"ServiceUnavailable","code":503}"#;
        assert_eq!(
            quote_error(503, status),
            "HTTP 503: no endpoints available for service \"spice-runner-nginx\""
        );
        let hostile = format!("<h1>Bad\n\x1b[31mGateway</h1>{}", "x".repeat(500));
        let q = quote_error(502, &hostile);
        assert!(!q.contains('\n') && !q.contains('\x1b'), "{q}");
        assert!(q.starts_with("HTTP 502: <h1>Bad"), "{q}");
        assert_eq!(q.chars().count(), "HTTP 502: ".len() + QUOTE_CHARS, "{q}");
        assert!(q.ends_with('…'));
        assert_eq!(quote_error(500, "  \n "), "HTTP 500");
    }
}
