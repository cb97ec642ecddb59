//! `kubectl spice watch`: the status view, live. Kubernetes state comes from
//! watch streams (`cluster::live`), Prometheus is polled every interval; each
//! frame is the same Snapshot the one-shot commands build, judged by the same
//! checks, and fed to the pure `watch::model`. Output is one line per change
//! (`kind: WatchEvent` JSON lines with `-o json`), like `kubectl get -w`.

use crate::checks::{self, Selection};
use crate::cli::{Until as UntilArg, WatchArgs, WatchOutput};
use crate::cluster::collect::Sources;
use crate::cluster::live::Live;
use crate::cluster::load::Load;
use crate::cluster::{history, start};
use crate::domain::figures::Figures;
use crate::domain::promql;
use crate::domain::snapshot::{API_VERSION, PodInfo, Snapshot};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::report::num;
use crate::settings::{DurationRange, Settings, show_duration};
use crate::watch::model::{
    self, Config, Episode, FindingChange, HistoryState, Model, Observation, Until,
};
use crate::watch::render;
use crate::watch::view::{Action, Diagnosis, Key, LoadView, View};
use serde::Serialize;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// One line of `-o json`: what the view shows after a change.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchEvent {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub captured_at: jiff::Timestamp,
    #[serde(serialize_with = "crate::report::round::option")]
    pub sessions: Option<f64>,
    pub running_pods: Option<usize>,
    pub pending_pods: Option<usize>,
    pub nodes: Option<usize>,
    #[serde(serialize_with = "crate::report::round::option")]
    pub ratio: Option<f64>,
    pub band: &'static str,
    /// Rows that changed since the previous line (pod names, `running`, ...).
    pub changed: Vec<String>,
    pub findings_changed: Vec<FindingChange>,
    pub episodes_ended: Vec<Episode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episode_in_progress: Option<InProgress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub banner: Option<String>,
    /// The metric history read at start over `--window`: on the first line
    /// (or the first after it arrived).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history: Option<Series>,
    /// The samples taken since the previous line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<Series>,
    /// Why there is no history ("no history: …"), once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub history_note: Option<String>,
    /// Which KEDA, Prometheus and workload were read and how each was found,
    /// as `status -o json` says it: on the first line, and again when it changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_from: Option<String>,
}

/// Points of the four series as `[unixSeconds, value]` pairs, oldest first.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Series {
    pub sessions: Vec<[f64; 2]>,
    pub running_pods: Vec<[f64; 2]>,
    pub pending_pods: Vec<[f64; 2]>,
    pub nodes: Vec<[f64; 2]>,
}

impl Series {
    fn of(m: &Model, after: Option<jiff::Timestamp>) -> Series {
        let pairs = |points: Vec<model::Point>| -> Vec<[f64; 2]> {
            points
                .iter()
                .map(|p| {
                    [
                        p.at.as_millisecond() as f64 / 1000.0,
                        crate::report::round::rate(p.value),
                    ]
                })
                .collect()
        };
        let p = m.points_after(after);
        Series {
            sessions: pairs(p.sessions),
            running_pods: pairs(p.running),
            pending_pods: pairs(p.pending),
            nodes: pairs(p.nodes),
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InProgress {
    pub direction: model::Direction,
    pub started_at: jiff::Timestamp,
    /// It was under way when the watch started: its duration is a lower bound.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub started_before_watch: bool,
    pub from_history: bool,
}

/// The last line of `-o json`: every episode seen.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchSummary {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub reason: &'static str,
    pub episodes: Vec<Episode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub episode_in_progress: Option<InProgress>,
    /// With `--until`, when the watch stopped before the condition held and
    /// could not judge it on the latest frame (a source unread): why. The
    /// exit code is then 3, not 1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incomplete: Option<String>,
}

/// `--interval`: short enough to follow a scale-up, long enough not to busy-poll.
const INTERVAL_RANGE: DurationRange =
    DurationRange::new(Duration::from_millis(100), Duration::from_secs(3600));
/// `--window`: at least one interval (checked apart), at most a day of history.
const WINDOW_RANGE: DurationRange =
    DurationRange::new(Duration::from_millis(100), Duration::from_secs(86_400));
/// `--timeout`: up to a week, far below any `Instant` overflow.
const TIMEOUT_RANGE: DurationRange =
    DurationRange::new(Duration::from_millis(100), Duration::from_secs(7 * 86_400));

pub(crate) fn duration_arg(flag: &str, v: &str, range: DurationRange) -> Result<Duration, Fatal> {
    range.parse(v).map_err(|e| {
        Fatal::new(
            format!("--{flag}: {e}"),
            format!(
                "give a duration such as 2s, 500ms, 10m, from {} to {}",
                show_duration(range.min),
                show_duration(range.max)
            ),
        )
    })
}

/// Builds the model's input from a frame's snapshot; `pods` is the
/// snapshot's pod list, shared with the frames that read the same one.
pub fn observation(
    snap: &Snapshot,
    pods: Option<Arc<Vec<PodInfo>>>,
    settings: &Settings,
    api_error: Option<String>,
    prometheus_error: Option<String>,
) -> Observation {
    let mut o = Observation::new(snap.captured_at);
    let figures = Figures::of(snap, settings);
    o.sessions = figures.sessions;
    o.idle = figures.idle;
    o.scaling = Some(figures.scaling.clone());
    o.hpa_holding =
        crate::domain::model::scaling::hpa_holding(snap.keda_hpa(&settings.scaled_object));
    o.pods = pods;
    o.nodes = snap.nodes.as_ref().map(Vec::len);
    let running = figures.pods.map(|p| p.running);
    o.requests_per_pod = match (o.sessions, running) {
        (Some(rate), Some(r)) if r > 0 => Some(rate / r as f64),
        _ => None,
    };
    o.findings = checks::run(snap, settings, &Selection::default());
    o.hpa = snap.keda_hpa(&settings.scaled_object).map(|h| {
        let metric = figures
            .hpa_metrics
            .first()
            .map(|m| format!("  {m}"))
            .unwrap_or_default();
        format!(
            "{}  replicas {}/{}  min {} max {}{metric}",
            h.name,
            h.current_replicas.unwrap_or(0),
            h.desired_replicas,
            h.min_replicas.unwrap_or(1),
            h.max_replicas
        )
    });
    o.scaled_object = snap.scaled_object.as_ref().map(|so| match so.found() {
        Some(so) => {
            let c = |t: &str| {
                crate::domain::snapshot::condition(&so.conditions, t)
                    .map_or("Unknown", |c| c.status.as_str())
                    .to_string()
            };
            format!(
                "{}  READY {}  ACTIVE {}{}",
                so.name,
                c("Ready"),
                c("Active"),
                if so.paused() { "  PAUSED" } else { "" }
            )
        }
        None => format!("{} not found", settings.scaled_object),
    });
    o.events = scaling_events(snap);
    o.api_error = api_error;
    o.prometheus_error = prometheus_error;
    o
}

/// Reasons of events about scaling: KEDA, the HPA, pod scheduling, Karpenter.
const SCALING_REASONS: &[&str] = &[
    "SuccessfulRescale",
    "FailedRescale",
    "FailedGetExternalMetric",
    "Scheduled",
    "FailedScheduling",
    "Nominated",
    "TriggeredScaleUp",
    "NotTriggerScaleUp",
    "Killing",
    "Started",
];

/// The latest scaling-related events, newest first, one line each.
fn scaling_events(snap: &Snapshot) -> Vec<String> {
    let Some(events) = &snap.events else {
        return Vec::new();
    };
    events
        .iter()
        .filter(|e| {
            matches!(
                e.object_kind.as_str(),
                "ScaledObject" | "HorizontalPodAutoscaler" | "NodeClaim" | "NodePool"
            ) || SCALING_REASONS.contains(&e.reason.as_str())
                || e.source.as_deref().is_some_and(|s| s.contains("karpenter"))
        })
        .take(8)
        .map(|e| {
            format!(
                "{} {} {}/{} {}: {}",
                e.last_seen
                    .map(|t| t.strftime("%H:%M:%S").to_string())
                    .unwrap_or_else(|| "--:--:--".into()),
                e.type_,
                e.object_kind,
                e.object_name,
                e.reason,
                e.message.lines().next().unwrap_or_default()
            )
        })
        .collect()
}

fn in_progress(m: &Model) -> Option<InProgress> {
    m.open_episode().map(|(direction, started_at)| InProgress {
        direction,
        started_at,
        started_before_watch: m.open_is_lower_bound(),
        from_history: m.open_from_history(),
    })
}

/// What the JSON lines have said about the series so far.
#[derive(Default)]
struct Emitted {
    /// The newest point already on a line.
    through: Option<jiff::Timestamp>,
    /// The history (or why there is none) is on a line.
    history: bool,
    /// The `readFrom` last on a line.
    read_from: Option<String>,
}

fn event(
    m: &Model,
    update: &model::Update,
    read_from: Option<String>,
    emitted: &mut Emitted,
) -> WatchEvent {
    let f = &m.figures;
    let read_from_changed = (read_from != emitted.read_from).then(|| read_from.clone());
    emitted.read_from = read_from;
    let (mut history, mut samples, mut history_note) = (None, None, None);
    match &m.history {
        HistoryState::Loaded if !emitted.history => {
            emitted.history = true;
            history = Some(Series::of(m, None));
        }
        HistoryState::Failed(e) if !emitted.history => {
            emitted.history = true;
            history_note = Some(format!("no history: {e}"));
        }
        _ => {}
    }
    if history.is_none() {
        samples = Some(Series::of(m, emitted.through));
    }
    emitted.through = m.last_at;
    WatchEvent {
        api_version: API_VERSION,
        kind: "WatchEvent",
        captured_at: m.last_at.unwrap_or_else(jiff::Timestamp::now),
        sessions: f.sessions.map(|s| (s * 100.0).round() / 100.0),
        running_pods: f.running,
        pending_pods: f.pending,
        nodes: f.nodes,
        ratio: f.ratio.map(|r| (r * 100.0).round() / 100.0),
        band: f.band.map_or("unknown", |b| b.word()),
        changed: m.highlighted.iter().cloned().collect(),
        findings_changed: update.findings_changed.clone(),
        episodes_ended: update.episodes_ended.clone(),
        episode_in_progress: in_progress(m),
        banner: m.banner(),
        history,
        samples,
        history_note,
        read_from: read_from_changed.flatten(),
    }
}

/// One human line per change, then one per finding or episode news.
fn text_lines(m: &Model, update: &model::Update) -> String {
    let f = &m.figures;
    let opt = |v: Option<usize>| v.map_or("?".to_string(), |v| v.to_string());
    let mut s = format!(
        "{}  sessions {}  running {}  pending {}  nodes {}  ratio {} {}",
        m.last_at
            .map(|t| t.strftime("%H:%M:%S").to_string())
            .unwrap_or_default(),
        m.sessions_shown(),
        opt(f.running),
        opt(f.pending),
        opt(f.nodes),
        f.ratio.map_or("-".to_string(), num),
        f.band.map_or("unknown", |b| b.word()),
    );
    if let Some((d, since)) = m.open_episode() {
        s.push_str(&format!(
            "  [{} since {}{}]",
            d.word(),
            if m.open_is_lower_bound() {
                "at least "
            } else {
                ""
            },
            since.strftime("%H:%M:%S")
        ));
    }
    s.push('\n');
    if let Some(b) = m.banner() {
        s.push_str(&format!("  ! {b}\n"));
    }
    for c in &update.findings_changed {
        if c.from.is_some() || c.turned_bad() {
            s.push_str(&format!(
                "  {} {} {}: {}\n",
                c.to.mark(),
                c.to.word(),
                c.id,
                c.message
            ));
        }
    }
    for e in &update.episodes_ended {
        s.push_str(&model::episode_line(e));
        s.push('\n');
    }
    s
}

/// A terminal key as the view's key; raw mode turns Ctrl-C into a key.
fn view_key(k: ratatui::crossterm::event::KeyEvent) -> Option<Key> {
    use ratatui::crossterm::event::{KeyCode, KeyModifiers};
    Some(match k.code {
        KeyCode::Char('c') if k.modifiers.contains(KeyModifiers::CONTROL) => Key::CtrlC,
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Esc => Key::Esc,
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::PageUp => Key::PageUp,
        KeyCode::PageDown => Key::PageDown,
        KeyCode::Home => Key::Home,
        KeyCode::End => Key::End,
        _ => return None,
    })
}

/// Reads the terminal's input on its own thread (crossterm's read blocks);
/// what a key does is `watch::view`'s.
fn spawn_key_reader(tx: tokio::sync::mpsc::UnboundedSender<Key>, done: Arc<AtomicBool>) {
    use ratatui::crossterm::event::{self, Event, KeyEventKind};
    std::thread::spawn(move || {
        while !done.load(Ordering::Relaxed) {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(_) => return,
            }
            let key = match event::read() {
                Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => view_key(k),
                Ok(Event::Resize(..)) => Some(Key::Resize),
                Ok(_) => None,
                Err(_) => return,
            };
            if let Some(k) = key
                && tx.send(k).is_err()
            {
                return;
            }
        }
    });
}

/// The alternate screen in raw mode; dropping it restores the terminal, a
/// panic anywhere restores it before the panic is printed (see
/// [`restore_on_panic`]), and SIGTERM, SIGINT, SIGHUP and SIGQUIT end the
/// view's loop, which drops it (see [`stop_requested`]). Only an abort
/// (out of memory) cannot: the bounds on every answer (`cluster::bounded`)
/// are what keep that from happening.
struct Screen {
    terminal: ratatui::DefaultTerminal,
}

/// Leaves the alternate screen and raw mode, and shows the cursor again.
fn leave_screen() {
    use ratatui::crossterm::{cursor, execute, terminal};
    let _ = terminal::disable_raw_mode();
    let _ = execute!(
        std::io::stdout(),
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
}

/// A panic hook (installed once) that leaves the full screen before the
/// previous hook prints the panic, so the message lands on the normal
/// screen of a terminal in cooked mode.
fn restore_on_panic() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            leave_screen();
            previous(info);
        }));
    });
}

impl Screen {
    fn start() -> Result<Screen, Fatal> {
        restore_on_panic();
        let terminal = ratatui::try_init().map_err(|e| {
            ratatui::restore();
            Fatal::new(
                format!("cannot open the terminal: {}", crate::error::io_reason(&e)),
                "use -o text or -o json for one line per change",
            )
        })?;
        Ok(Screen { terminal })
    }

    fn draw(&mut self, model: &Model, header: &render::Header, view: &View) -> Result<(), Fatal> {
        self.terminal
            .draw(|f| render::draw(f, model, header, view))
            .map(|_| ())
            .map_err(|e| Fatal::new(format!("drawing: {}", crate::error::io_reason(&e)), ""))
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        let _ = self.terminal.show_cursor();
        ratatui::restore();
        leave_screen();
    }
}

/// The load-test view of the latest polls against this frame's nodes and sessions.
fn load_view(load: &Load, snap: &Snapshot, model: &Model, settings: &Settings) -> LoadView {
    LoadView::of(
        &load.node_usage(),
        &load.heartbeats(),
        snap.nodes.as_deref(),
        model.figures.sessions,
        settings.targets.heartbeat_per_session,
    )
}

/// The `d` key: every check of the registry on the current snapshot, as
/// `diagnose` runs them (silenced checks included), pure.
fn diagnose(snap: &Snapshot, settings: &Settings) -> Diagnosis {
    let selection = Selection {
        silenced: settings.silence.clone(),
        ..Selection::default()
    };
    Diagnosis::of(&checks::run(snap, settings, &selection), snap.captured_at)
}

/// Applies a key to the view, running the checks for `d`; what is left for
/// the loop: quit, redraw, or nothing.
fn on_key(
    key: Key,
    view: &mut View,
    model: &Model,
    live: &Live,
    base: &Snapshot,
    settings: &Settings,
) -> Action {
    match view.key(key, model) {
        Action::Diagnose => {
            let snap = live.snapshot(base, settings, jiff::Timestamp::now());
            view.diagnosis = Some(diagnose(&snap, settings));
            Action::Redraw
        }
        other => other,
    }
}

/// The next change of an optional signal; never, without one.
async fn changed(
    rx: &mut Option<tokio::sync::watch::Receiver<u64>>,
) -> Result<(), tokio::sync::watch::error::RecvError> {
    match rx {
        Some(rx) => rx.changed().await,
        None => std::future::pending().await,
    }
}

/// Resolves when the process is asked to stop: Ctrl-C (SIGINT), SIGTERM,
/// SIGHUP (the terminal went away) or SIGQUIT, each of which would
/// otherwise end it on the spot, with no clean-up (the full screen left
/// up, a scaled-down game left at zero).
pub(crate) async fn stop_requested() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            SignalKind::terminate(),
            SignalKind::hangup(),
            SignalKind::quit(),
        ];
        let mut streams: Vec<_> = kinds.into_iter().filter_map(|k| signal(k).ok()).collect();
        if streams.is_empty() {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
        let others = futures::future::select_all(streams.iter_mut().map(|s| Box::pin(s.recv())));
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = others => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What a drawn frame shows that time changes: the clock's second and the
/// number of points. Two ticks with the same key and no news look the same.
#[derive(Clone, Copy, PartialEq, Eq)]
struct FrameKey {
    second: i64,
    points: usize,
    news: bool,
}

impl FrameKey {
    fn of(m: &Model, news: bool) -> FrameKey {
        FrameKey {
            second: m.last_at.map_or(0, |t| t.as_second()),
            points: m.sessions.len() + m.running.len(),
            news,
        }
    }
}

/// One frame's snapshot, kept for the next: while no watched Kubernetes
/// source changed, the next frame is this one brought to the new time with
/// Prometheus's latest answers ([`Live::refresh`]), so a steady cluster's
/// frame does not copy, convert or compare every pod again.
struct Frame {
    /// [`Live::kube_version`] when `snap` was taken.
    kube: u64,
    snap: Snapshot,
    /// `snap.pods`, shared with the model (which compares a new list only).
    pods: Option<Arc<Vec<PodInfo>>>,
}

impl Frame {
    fn next(last: Option<Frame>, live: &Live, base: &Snapshot, settings: &Settings) -> Frame {
        let now = jiff::Timestamp::now();
        // Read before the stores: a change after it makes the next frame
        // read them again.
        let kube = live.kube_version();
        match last {
            Some(mut f) if f.kube == kube => {
                live.refresh(&mut f.snap, now);
                f
            }
            _ => {
                let (snap, pods) = live.snapshot_sharing_pods(base, settings, now);
                Frame { kube, snap, pods }
            }
        }
    }
}

/// The history over the window, read in its own task so it never holds the
/// view back by more than its timeout.
struct HistoryRead {
    task: tokio::task::JoinHandle<Result<model::History, String>>,
}

impl HistoryRead {
    fn spawn(
        sources: &Sources,
        settings: &Settings,
        window: Duration,
        interval: Duration,
    ) -> HistoryRead {
        let api = sources.prometheus.clone();
        let queries = vec![
            promql::sessions(settings),
            promql::running_pods(settings),
            promql::pending_pods(settings),
            promql::nodes(),
        ];
        let timeout = settings.request_timeout;
        let end = jiff::Timestamp::now().as_millisecond() as f64 / 1000.0;
        let (kube, settings) = (sources.kube.clone(), settings.clone());
        let task = tokio::spawn(async move {
            let read = |api: crate::cluster::prometheus::HttpApi| {
                let queries = &queries;
                async move { history::read(&api, queries, window, interval, timeout, end).await }
            };
            let ranges = match read(api.clone()?).await {
                // A multi-tenant Prometheus wants the tenant KEDA's trigger
                // sends (one GET of the ScaledObject, only then).
                Err(f) => match crate::cluster::collect::with_trigger_tenant(
                    &kube,
                    &api,
                    &settings,
                    Some(&f.message),
                )
                .await
                {
                    Some(with) => read(with).await,
                    None => Err(f),
                },
                ok => ok,
            }
            .map_err(|f| f.message)?;
            Ok(to_history(ranges))
        });
        HistoryRead { task }
    }

    fn finished(&self) -> bool {
        self.task.is_finished()
    }
}

impl Drop for HistoryRead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn to_history(r: history::Ranges) -> model::History {
    let points = |key: &str| -> Vec<model::Point> {
        r.series
            .get(key)
            .into_iter()
            .flatten()
            .filter_map(|&(secs, value)| {
                let at = jiff::Timestamp::from_millisecond((secs * 1000.0).round() as i64).ok()?;
                Some(model::Point { at, value })
            })
            .collect()
    };
    model::History {
        sessions: points(promql::SESSIONS),
        running: points(promql::RUNNING_PODS),
        pending: points(promql::PENDING_PODS),
        nodes: points(promql::NODES),
        step_secs: r.step_secs,
    }
}

/// Gives the model the history once it has answered; true when it did now.
async fn take_history(read: &mut Option<HistoryRead>, model: &mut Model) -> bool {
    if !read.as_ref().is_some_and(HistoryRead::finished) {
        return false;
    }
    let Some(mut h) = read.take() else {
        return false;
    };
    let result = match (&mut h.task).await {
        Ok(r) => r,
        Err(e) => Err(format!("the history read stopped: {e}")),
    };
    model.backfill(result);
    true
}

/// The text lines saying what the history held, once it answered.
fn history_lines(m: &Model) -> String {
    match &m.history {
        HistoryState::Failed(e) => format!("  ! no history: {e}\n"),
        _ => {
            let mut s = format!(
                "  history: {} points of sessions and pods from Prometheus\n",
                m.sessions.len()
            );
            for e in m.episodes.iter().filter(|e| e.from_history) {
                s.push_str(&model::episode_line(e));
                s.push('\n');
            }
            s
        }
    }
}

pub async fn run(
    global: &crate::cli::GlobalArgs,
    args: &WatchArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    let interval = duration_arg("interval", &args.interval, INTERVAL_RANGE)?;
    let window = duration_arg("window", &args.window, WINDOW_RANGE)?;
    if window < interval {
        return Err(Fatal::new(
            format!(
                "--window {} is shorter than --interval {}",
                args.window, args.interval
            ),
            "the window holds the history: make it several intervals long (default 10m)",
        ));
    }
    let timeout = args
        .timeout
        .as_deref()
        .map(|t| duration_arg("timeout", t, TIMEOUT_RANGE))
        .transpose()?;
    let until = args.until.map(|u| match u {
        UntilArg::Healthy => Until::Healthy,
        UntilArg::Scaled => Until::Scaled,
        UntilArg::Idle => Until::Idle,
    });
    let json = args.output == Some(WatchOutput::Json);
    let started = Instant::now();
    let deadline = timeout.map(|t| started + t);

    let (target, mut settings) = super::connect(global).await?;
    let client = target.client(settings.request_timeout)?;
    let sources = Sources::new(
        client,
        target.context.clone(),
        target.server.clone(),
        &settings,
        &crate::process_env,
    );
    // Everything starts at once: the watchers' initial lists, the Prometheus
    // poller, the history over the window, and the one read of what is not
    // watched (discovery, Karpenter, the KEDA operator), which also turns
    // "no cluster at all" into exit 2 at once.
    let watch_client = target.watch_client(settings.request_timeout)?;
    let mut live = Live::start(
        watch_client.clone(),
        sources.prometheus.clone(),
        promql::watch_queries(&settings),
        &settings,
        interval,
    );
    let mut history = Some(HistoryRead::spawn(&sources, &settings, window, interval));
    let mut base = start::unwatched(&sources, &settings, jiff::Timestamp::now()).await?;
    // The Prometheus the headers name until the poller reads another (the
    // trigger's, when the configured Service does not exist).
    base.prometheus_read = Some(crate::snapshot::ReadFrom {
        tenant: settings.prometheus_tenant.clone(),
        tenant_from: settings
            .prometheus_tenant
            .as_ref()
            .map(|_| "setting".into()),
        ..crate::cluster::collect::configured_prometheus(&settings)
    });
    if base.apis.karpenter == Some(true) {
        let version = base.apis.karpenter_version.as_deref().unwrap_or("v1");
        live.watch_node_claims(watch_client.clone(), version);
    }
    let mut changes = live.changes();

    // The first frame waits for the initial lists and the history (bounded:
    // each history query has the request timeout too), and, unless
    // `deployment` is set, for the ScaledObject: KEDA may scale another
    // workload (scaleTargetRef), as `diagnose` follows it.
    let ready_by = Instant::now() + settings.request_timeout.max(interval);
    let history_done = |h: &Option<HistoryRead>| h.as_ref().is_none_or(HistoryRead::finished);
    let follows = !settings.is_set("deployment") && base.apis.keda != Some(false);
    let listed = |live: &Live| !follows || live.scaled_object_listed();
    while !(live.ready() && history_done(&history) && listed(&live)) && Instant::now() < ready_by {
        tokio::select! {
            _ = changes.changed() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
    let so = live.scaled_object(&settings.scaled_object);
    // The checks each frame judges name KEDA's HPA as the ScaledObject does
    // (the polled queries and the history name no HPA: nothing is re-read).
    if let Some(name) = so.as_ref().and_then(crate::cluster::target::hpa_name) {
        settings.follow_hpa_name(&name);
    }
    if let Some(what) = crate::cluster::target::to_follow(&settings, so.as_ref()) {
        // Off the usual path only: one more round for the workload's
        // selector, then the watches and the history again, by its pods.
        let (found, gap) = crate::cluster::target::found(&sources.kube, &settings, &what).await;
        super::follow_target(&mut settings, &found);
        // Every frame says what was followed, as `diagnose` does.
        base.gaps.extend(gap);
        base.scale_target = Some(found);
        live = Live::start(
            watch_client.clone(),
            sources.prometheus.clone(),
            promql::watch_queries(&settings),
            &settings,
            interval,
        );
        if base.apis.karpenter == Some(true) {
            let version = base.apis.karpenter_version.as_deref().unwrap_or("v1");
            live.watch_node_claims(watch_client.clone(), version);
        }
        history = Some(HistoryRead::spawn(&sources, &settings, window, interval));
        changes = live.changes();
        let ready_by = Instant::now() + settings.request_timeout.max(interval);
        while !(live.ready() && history_done(&history)) && Instant::now() < ready_by {
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }
    let mut model = Model::new(Config {
        interval_secs: interval.as_secs_f64(),
        window_secs: window.as_secs_f64(),
        targets: settings.targets,
        bands: settings.bands,
    });

    // The full screen on a terminal, unless a line format was asked for.
    let mut screen = if args.output.is_none() && std::io::stdout().is_terminal() {
        Some(Screen::start()?)
    } else {
        None
    };
    let header = render::Header {
        target: base
            .scale_target
            .as_ref()
            .map(crate::report::sources::scale_target),
        context: target
            .context
            .clone()
            .unwrap_or_else(|| "in-cluster".into()),
        namespace: settings.namespace.clone(),
        color: crate::report::Styles::decide(settings.color, &crate::process_env, true).color,
    };
    let (keys_tx, mut keys) = tokio::sync::mpsc::unbounded_channel::<Key>();
    let keys_done = Arc::new(AtomicBool::new(false));
    if screen.is_some() {
        spawn_key_reader(keys_tx, keys_done.clone());
    }
    // The load-test readings are shown only on the full screen.
    let load = screen.is_some().then(|| {
        Load::start(
            sources.kube.clone(),
            sources.loki.clone(),
            &settings,
            interval,
        )
    });
    let mut load_changes = load.as_ref().map(Load::changes);
    let mut view = View::default();
    let mut keys_open = true;
    let stop = stop_requested();
    tokio::pin!(stop);
    // A sample every interval, whether or not a value changed: the clock,
    // the chart and every running duration move on a steady cluster too.
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut emitted = Emitted::default();
    let mut shown: Option<FrameKey> = None;
    let mut last: Option<Frame> = None;
    let deadline_at = deadline.unwrap_or(started + Duration::from_secs(86_400 * 365));
    let outcome = loop {
        tokio::select! {
            _ = tick.tick() => {
                let fresh_history = take_history(&mut history, &mut model).await;
                let frame = Frame::next(last.take(), &live, &base, &settings);
                let snap = &frame.snap;
                let obs = observation(
                    snap,
                    frame.pods.clone(),
                    &settings,
                    live.api_error(),
                    live.prometheus_error(),
                );
                let first = model.frames() == 0;
                let update = model.observe(obs);
                let news = first || update.changed || fresh_history;
                let load_changed = load.as_ref().is_some_and(|l| {
                    let now = load_view(l, snap, &model, &settings);
                    let changed = now != view.load;
                    view.load = now;
                    changed
                });
                let read_from = json
                    .then(|| crate::report::sources::read_from(snap, false))
                    .flatten();
                last = Some(frame);
                if let Some(screen) = screen.as_mut() {
                    // Identical frames are not drawn: the clock shows seconds.
                    // While paused the screen shows the frozen frame.
                    let key = FrameKey::of(&model, news || load_changed);
                    if (news || load_changed || shown != Some(key)) && !view.paused() {
                        screen.draw(&model, &header, &view)?;
                        shown = Some(key);
                        // The tests' way to make the view panic with the
                        // screen up (debug builds only).
                        #[cfg(debug_assertions)]
                        if std::env::var_os("SPICE_DEBUG_PANIC_IN_VIEW").is_some() {
                            panic!("SPICE_DEBUG_PANIC_IN_VIEW is set");
                        }
                    }
                } else if news {
                    if json {
                        let line = event(&model, &update, read_from, &mut emitted);
                        serde_json::to_writer(&mut *out, &line)
                            .map_err(std::io::Error::from)?;
                        out.write_all(b"\n")?;
                    } else {
                        // The workload followed, once, in the headers' words.
                        if let Some(t) = base.scale_target.as_ref().filter(|_| first) {
                            let line = match crate::report::sources::scale_target(t) {
                                (what, Some(pods)) => format!("{what} {pods}"),
                                (what, None) => what,
                            };
                            writeln!(out, "  {}", crate::domain::text::one_line(&line))?;
                        }
                        if fresh_history {
                            out.write_all(history_lines(&model).as_bytes())?;
                        }
                        out.write_all(text_lines(&model, &update).as_bytes())?;
                    }
                    out.flush()?;
                }
                if let Some(u) = until
                    && model.holds(u)
                {
                    break ("until", ExitStatus::Ok);
                }
            }
            // The stores are read at the next tick; a closed channel means
            // every source ended.
            r = changes.changed() => {
                if r.is_err() {
                    break ("sources ended", ExitStatus::Ok);
                }
            }
            _ = tokio::time::sleep_until(deadline_at) => {
                break ("timeout", ExitStatus::Ok);
            }
            _ = &mut stop => break ("interrupted", ExitStatus::Ok),
            // The load readings are read at the next tick too.
            r = changed(&mut load_changes) => if r.is_err() {
                load_changes = None;
            },
            // The reader ends only when the terminal cannot be read.
            key = keys.recv(), if screen.is_some() && keys_open => match key {
                None => keys_open = false,
                Some(key) => match on_key(key, &mut view, &model, &live, &base, &settings) {
                    Action::Quit => break ("quit", ExitStatus::Ok),
                    Action::Nothing => {}
                    _ => {
                        if let Some(screen) = screen.as_mut() {
                            screen.draw(&model, &header, &view)?;
                        }
                    }
                },
            },
        }
    };
    keys_done.store(true, Ordering::Relaxed);
    // The terminal is restored before the summary is printed.
    drop(screen);
    drop(live);
    let (reason, mut status) = outcome;
    // A gate that stopped before its condition held never exits 0: 1 when
    // what was read shows it does not hold, 3 when it could not be judged.
    let undecided = match until {
        Some(u) if reason != "until" => {
            let why = model.undecided(u);
            status = ExitStatus::verdict(why.is_none(), why.is_some());
            why
        }
        _ => None,
    };
    if json {
        let summary = WatchSummary {
            api_version: API_VERSION,
            kind: "WatchSummary",
            reason,
            episodes: model.episodes.iter().cloned().collect(),
            episode_in_progress: in_progress(&model),
            incomplete: undecided.clone(),
        };
        serde_json::to_writer(&mut *out, &summary).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    } else {
        if reason != "until" && until.is_some() {
            let stopped = if reason == "timeout" {
                format!("Timed out after {}s", started.elapsed().as_secs())
            } else {
                format!("Stopped ({reason}) after {}s", started.elapsed().as_secs())
            };
            let line = match &undecided {
                Some(why) => format!(
                    "{stopped} before the --until condition held. INCOMPLETE: it could not be judged ({why}).\n"
                ),
                None => format!("{stopped} before the --until condition held.\n"),
            };
            out.write_all(line.as_bytes())?;
        }
        out.write_all(model.summary().as_bytes())?;
    }
    out.flush()?;
    Ok(status)
}

#[cfg(test)]
mod frame_cost {
    use super::*;
    use crate::checks::testkit;

    /// What one frame costs in-process at 200 and 2,000 pods: the checks and
    /// the model on a steady cluster (the snapshot of the previous frame
    /// brought to a new time, as `Frame::next` does), and on a cluster whose
    /// pod list changed each frame (a copy of the list, compared row by row).
    /// Run: `cargo test --release --lib frame_cost -- --ignored --nocapture`.
    #[test]
    #[ignore = "a measurement: prints µs a frame"]
    fn frame_cost_by_pod_count() {
        let settings = Settings::defaults();
        for (pods, nodes) in [(200usize, 20usize), (2_000, 500)] {
            let mut snap = testkit::healthy();
            snap.pods = Some(
                (0..pods)
                    .map(|i| testkit::running_pod(&format!("spice-runner-7d9c8b5f4-b{i:04}"), 600))
                    .collect(),
            );
            snap.nodes = Some(
                (0..nodes)
                    .map(|i| testkit::node(&format!("node-{i}"), Some("default")))
                    .collect(),
            );
            testkit::set_prom(&mut snap, promql::SESSIONS, Some(pods as f64));
            for steady in [true, false] {
                let mut model = Model::new(Config {
                    interval_secs: 2.0,
                    window_secs: 600.0,
                    targets: settings.targets,
                    bands: settings.bands,
                });
                let shared = snap.pods.clone().map(Arc::new);
                let frames = 50;
                let t0 = std::time::Instant::now();
                for f in 0..frames {
                    snap.captured_at = testkit::now() + jiff::SignedDuration::from_secs(2 * f);
                    let pods = if steady {
                        shared.clone()
                    } else {
                        snap.pods.clone().map(Arc::new)
                    };
                    let obs = observation(&snap, pods, &settings, None, None);
                    model.observe(obs);
                }
                eprintln!(
                    "{pods} pods / {nodes} nodes, {}: {:.0} µs a frame",
                    if steady { "steady" } else { "every pod new" },
                    t0.elapsed().as_secs_f64() * 1e6 / frames as f64
                );
            }
        }
    }
}
