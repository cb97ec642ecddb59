//! The state of the full screen beside the model: the keys an on-call
//! expects (`?` help, `p` pause, `d` diagnose, arrows and PgUp/PgDn to scroll
//! the pods, `q`/Esc/Ctrl-C to quit), what each does, and the load-test
//! readings (node CPU and memory, heartbeats) as the screen shows them. Pure:
//! the run loop feeds keys in and performs the returned [`Action`].

use super::model::Model;
use crate::checks::{Finding, Outcome};
use crate::domain::load::{NodeUsage, Polled};
use crate::domain::snapshot::NodeInfo;
use std::cell::Cell;

/// A key press, independent of the terminal library.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Char(char),
    CtrlC,
    Esc,
    Up,
    Down,
    PageUp,
    PageDown,
    Home,
    End,
    /// The terminal changed size.
    Resize,
}

/// What the run loop does after a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Quit,
    Redraw,
    /// Run the checks on the current snapshot and show [`View::diagnosis`].
    Diagnose,
    Nothing,
}

/// What the screen shows about the load test (runbook Test 3).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LoadView {
    /// Node CPU and memory use, or why not (one line).
    pub nodes: Option<Result<NodeLoad, String>>,
    /// The heartbeat rate, or why not (one line).
    pub heartbeats: Option<Result<Heartbeats, String>>,
}

/// Node use against allocatable, as `kubectl top nodes` computes it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeLoad {
    /// Nodes with both a metric and an allocatable figure.
    pub reporting: usize,
    /// Nodes the cluster lists.
    pub nodes: usize,
    pub cpu_avg: f64,
    pub cpu_max: f64,
    pub cpu_max_node: String,
    pub memory_avg: f64,
    pub memory_max: f64,
    pub memory_max_node: String,
}

impl NodeLoad {
    /// Percentages per node matched by name; `None` when no node matched.
    pub fn of(usage: &[NodeUsage], nodes: &[NodeInfo]) -> Option<NodeLoad> {
        let mut cpu = Vec::new();
        let mut memory = Vec::new();
        for u in usage {
            let Some(n) = nodes.iter().find(|n| n.name == u.name) else {
                continue;
            };
            if let (Some(c), Some(m)) = (n.allocatable_cpu, n.allocatable_memory)
                && c > 0.0
                && m > 0.0
            {
                cpu.push((u.cpu_cores / c * 100.0, &u.name));
                memory.push((u.memory_bytes / m * 100.0, &u.name));
            }
        }
        if cpu.is_empty() {
            return None;
        }
        let (cpu_avg, cpu_max, cpu_node) = avg_max(&cpu);
        let (memory_avg, memory_max, memory_node) = avg_max(&memory);
        Some(NodeLoad {
            reporting: cpu.len(),
            nodes: nodes.len(),
            cpu_avg,
            cpu_max,
            cpu_max_node: cpu_node.to_string(),
            memory_avg,
            memory_max,
            memory_max_node: memory_node.to_string(),
        })
    }
}

/// The average and the largest percentage, with the node it belongs to.
fn avg_max<'a>(v: &[(f64, &'a String)]) -> (f64, f64, &'a str) {
    let avg = v.iter().map(|p| p.0).sum::<f64>() / v.len() as f64;
    let (max, node) = v.iter().fold(
        (f64::MIN, ""),
        |a, &(p, n)| if p > a.0 { (p, n.as_str()) } else { a },
    );
    (avg, max, node)
}

/// Heartbeat events per second, and per session when sessions are known.
#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeats {
    pub per_second: f64,
    pub per_session: Option<f64>,
    /// The runbook's target per session (`targets.heartbeatPerSession`).
    pub target: f64,
}

impl LoadView {
    /// The view of the latest polls. `nodes` is the snapshot's node list,
    /// `sessions` the current nginx sessions (the same figure the
    /// `loki.heartbeats` check divides by).
    pub fn of(
        usage: &Polled<Vec<NodeUsage>>,
        heartbeats: &Polled<Option<f64>>,
        nodes: Option<&[NodeInfo]>,
        sessions: Option<f64>,
        target: f64,
    ) -> LoadView {
        let node_view = match (&usage.gap, usage.current(), nodes) {
            (Some(gap), _, _) => Some(Err(gap.clone())),
            (None, Some(u), Some(nodes)) => Some(NodeLoad::of(u, nodes).ok_or_else(|| {
                "metrics API: no node matches a listed node with allocatable CPU and memory"
                    .to_string()
            })),
            (None, Some(_), None) => Some(Err(
                "metrics API answered, but the node list could not be read".into(),
            )),
            (None, None, _) => None,
        };
        let hb_view = match (&heartbeats.gap, heartbeats.current()) {
            (Some(gap), _) => Some(Err(gap.clone())),
            (None, Some(None)) => Some(Err(
                "Loki: no heartbeat stream matches lokiQuery (see kubectl spice diagnose)".into(),
            )),
            (None, Some(Some(rate))) => Some(Ok(Heartbeats {
                per_second: *rate,
                per_session: sessions.filter(|s| *s >= 0.5).map(|s| rate / s),
                target,
            })),
            (None, None) => None,
        };
        LoadView {
            nodes: node_view,
            heartbeats: hb_view,
        }
    }
}

/// The root cause of the current snapshot, as `diagnose` would name it.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnosis {
    pub at: jiff::Timestamp,
    pub root: Option<RootCause>,
    pub fail: usize,
    pub warn: usize,
    pub error: usize,
    /// When nothing fails: the warning about what the screen shows first
    /// (sessions, pods, nodes, the HPA before configuration), with its
    /// evidence and fix, which say why it matters.
    pub warning: Option<RootCause>,
    /// The other warnings' ids.
    pub other_warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RootCause {
    pub id: String,
    pub message: String,
    pub evidence: Vec<String>,
    pub fix: Option<String>,
    pub command: Option<String>,
    /// The checks this failure blocks.
    pub blocks: Vec<String>,
}

impl Diagnosis {
    /// From the findings of `checks::run` on one snapshot.
    pub fn of(findings: &[Finding], at: jiff::Timestamp) -> Diagnosis {
        let count = |o: Outcome| findings.iter().filter(|f| f.outcome == o).count();
        let panel = |f: &Finding| RootCause {
            id: f.id.clone(),
            message: f.message.clone(),
            evidence: crate::report::evidence::arrange(&f.evidence)
                .into_iter()
                .take(3)
                .collect(),
            fix: f.remediation.as_ref().and_then(|r| r.fix.clone()),
            command: f.remediation.as_ref().and_then(|r| r.command.clone()),
            blocks: findings
                .iter()
                .filter(|b| b.blocked_by.as_deref() == Some(f.id.as_str()))
                .map(|b| b.id.clone())
                .collect(),
        };
        let root = crate::checks::root_cause(findings).map(panel);
        let mut warnings: Vec<&Finding> = findings
            .iter()
            .filter(|f| f.outcome == Outcome::Warn)
            .collect();
        // What the screen shows first: its figures (sessions), pods, nodes,
        // the HPA; configuration and sources after.
        warnings.sort_by_key(|f| {
            use crate::checks::Area;
            match f.area {
                Area::Sessions => 0,
                Area::Pods => 1,
                Area::Nodes => 2,
                Area::Hpa => 3,
                Area::Keda => 4,
                Area::Prometheus => 5,
                Area::Loki => 6,
                Area::Alerts => 7,
            }
        });
        Diagnosis {
            at,
            root,
            fail: count(Outcome::Fail),
            warn: count(Outcome::Warn),
            error: count(Outcome::Error),
            warning: warnings.first().map(|f| panel(f)),
            other_warnings: warnings.iter().skip(1).map(|f| f.id.clone()).collect(),
        }
    }
}

/// The full screen's state apart from the model.
#[derive(Default)]
pub struct View {
    pub help: bool,
    /// While paused: the model and load as they were when `p` was pressed
    /// (the sources keep recording into the live model).
    pub frozen: Option<Box<(Model, LoadView)>>,
    pub diagnosis: Option<Diagnosis>,
    pub load: LoadView,
    /// The first pod row shown.
    pub scroll: usize,
    /// Pod rows that fit, and rows there are: written by the renderer at
    /// each draw, read to clamp scrolling and to size a page.
    pub pod_rows_shown: Cell<usize>,
    pub pod_rows: Cell<usize>,
}

impl View {
    pub fn paused(&self) -> bool {
        self.frozen.is_some()
    }

    /// What the screen draws: the frozen copy while paused, else the live one.
    pub fn shown<'a>(&'a self, live: &'a Model) -> (&'a Model, &'a LoadView) {
        match &self.frozen {
            Some(f) => (&f.0, &f.1),
            None => (live, &self.load),
        }
    }

    /// The furthest the pod table can scroll.
    fn max_scroll(&self) -> usize {
        self.pod_rows
            .get()
            .saturating_sub(self.pod_rows_shown.get().max(1))
    }

    fn scroll_by(&mut self, delta: isize) -> Action {
        let to = self
            .scroll
            .saturating_add_signed(delta)
            .min(self.max_scroll());
        self.scroll = to;
        Action::Redraw
    }

    /// Applies a key to the view; `live` is the model the sources feed.
    pub fn key(&mut self, key: Key, live: &Model) -> Action {
        let page = self.pod_rows_shown.get().max(1) as isize;
        match key {
            Key::CtrlC | Key::Char('q') => Action::Quit,
            // Esc closes what is open first; with nothing open it quits.
            Key::Esc if self.diagnosis.is_some() => {
                self.diagnosis = None;
                Action::Redraw
            }
            Key::Esc if self.help => {
                self.help = false;
                Action::Redraw
            }
            Key::Esc => Action::Quit,
            Key::Char('?') | Key::Char('h') => {
                self.help = !self.help;
                Action::Redraw
            }
            Key::Char('p') | Key::Char(' ') => {
                self.frozen = match self.frozen.take() {
                    Some(_) => None,
                    None => Some(Box::new((live.clone(), self.load.clone()))),
                };
                Action::Redraw
            }
            Key::Char('d') if self.diagnosis.is_some() => {
                self.diagnosis = None;
                Action::Redraw
            }
            Key::Char('d') => Action::Diagnose,
            Key::Up | Key::Char('k') => self.scroll_by(-1),
            Key::Down | Key::Char('j') => self.scroll_by(1),
            Key::PageUp => self.scroll_by(-page),
            Key::PageDown => self.scroll_by(page),
            Key::Home => self.scroll_by(isize::MIN),
            Key::End => self.scroll_by(isize::MAX),
            Key::Resize => Action::Redraw,
            Key::Char(_) => Action::Nothing,
        }
    }
}

/// The keys, as the help overlay and the footer list them.
pub const HELP: &[(&str, &str)] = &[
    ("?", "show or hide this help"),
    ("p", "pause or resume the display (sources keep recording)"),
    (
        "d",
        "diagnose the current snapshot: root cause and fix (d or Esc closes)",
    ),
    ("↑ ↓", "scroll the pod table one row"),
    ("PgUp PgDn", "scroll the pod table one page (Home, End)"),
    ("q Esc Ctrl-C", "quit (Esc first closes an open panel)"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::watch::model::{Config, Observation};

    fn model() -> Model {
        let s = Settings::defaults();
        let mut m = Model::new(Config {
            interval_secs: 1.0,
            window_secs: 600.0,
            targets: s.targets,
            bands: s.bands,
        });
        let mut o = Observation::new(jiff::Timestamp::from_second(1_800_000_000).unwrap());
        o.sessions = Some(2.0);
        m.observe(o);
        m
    }

    #[test]
    fn quit_keys_quit_and_esc_first_closes_what_is_open() {
        let m = model();
        let mut v = View::default();
        assert_eq!(v.key(Key::Char('q'), &m), Action::Quit);
        assert_eq!(v.key(Key::CtrlC, &m), Action::Quit);
        assert_eq!(v.key(Key::Char('?'), &m), Action::Redraw);
        assert!(v.help);
        assert_eq!(v.key(Key::Esc, &m), Action::Redraw);
        assert!(!v.help);
        v.diagnosis = Some(Diagnosis::of(&[], jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(v.key(Key::Esc, &m), Action::Redraw);
        assert!(v.diagnosis.is_none());
        assert_eq!(v.key(Key::Esc, &m), Action::Quit);
        assert_eq!(v.key(Key::Char('x'), &m), Action::Nothing);
    }

    #[test]
    fn pause_freezes_what_is_shown_while_the_live_model_moves_on() {
        let mut live = model();
        let mut v = View::default();
        v.key(Key::Char('p'), &live);
        assert!(v.paused());
        let mut o = Observation::new(jiff::Timestamp::from_second(1_800_000_060).unwrap());
        o.sessions = Some(5.0);
        live.observe(o);
        assert_eq!(v.shown(&live).0.figures.sessions, Some(2.0));
        v.key(Key::Char('p'), &live);
        assert!(!v.paused());
        assert_eq!(v.shown(&live).0.figures.sessions, Some(5.0));
    }

    #[test]
    fn d_asks_for_a_diagnosis_and_closes_it() {
        let m = model();
        let mut v = View::default();
        assert_eq!(v.key(Key::Char('d'), &m), Action::Diagnose);
        v.diagnosis = Some(Diagnosis::of(&[], jiff::Timestamp::UNIX_EPOCH));
        assert_eq!(v.key(Key::Char('d'), &m), Action::Redraw);
        assert!(v.diagnosis.is_none());
    }

    #[test]
    fn scrolling_stays_within_the_rows() {
        let m = model();
        let mut v = View::default();
        v.pod_rows.set(50);
        v.pod_rows_shown.set(10);
        v.key(Key::Down, &m);
        assert_eq!(v.scroll, 1);
        v.key(Key::PageDown, &m);
        assert_eq!(v.scroll, 11);
        v.key(Key::End, &m);
        assert_eq!(v.scroll, 40);
        v.key(Key::PageDown, &m);
        assert_eq!(v.scroll, 40, "never past the last page");
        v.key(Key::PageUp, &m);
        assert_eq!(v.scroll, 30);
        v.key(Key::Home, &m);
        assert_eq!(v.scroll, 0);
        v.key(Key::Up, &m);
        assert_eq!(v.scroll, 0, "never before the first row");
    }

    fn node(name: &str) -> NodeInfo {
        crate::checks::testkit::node(name, None)
    }

    #[test]
    fn node_load_is_use_against_allocatable_with_the_busiest_node() {
        let nodes = [node("a"), node("b")];
        let usage = [
            NodeUsage {
                name: "a".into(),
                cpu_cores: 0.193,
                memory_bytes: 729_194_496.0,
            },
            NodeUsage {
                name: "b".into(),
                cpu_cores: 1.737,
                memory_bytes: 3_645_972_480.0,
            },
            NodeUsage {
                name: "gone".into(),
                cpu_cores: 9.0,
                memory_bytes: 9.0,
            },
        ];
        let l = NodeLoad::of(&usage, &nodes).unwrap();
        assert_eq!((l.reporting, l.nodes), (2, 2));
        assert!((l.cpu_max - 90.0).abs() < 0.1, "{l:?}");
        assert_eq!(l.cpu_max_node, "b");
        assert!((l.cpu_avg - 50.0).abs() < 0.1, "{l:?}");
        assert!((l.memory_max - 50.0).abs() < 0.1, "{l:?}");
        assert!(NodeLoad::of(&usage[2..], &nodes).is_none());
    }

    #[test]
    fn the_load_view_says_why_when_a_source_has_no_answer() {
        let nodes = [node("a")];
        let mut usage = Polled::default();
        let mut hb = Polled::default();
        let v = LoadView::of(&usage, &hb, Some(&nodes), Some(3.0), 0.2);
        assert_eq!(v, LoadView::default(), "nothing polled yet");
        usage.gap = Some("metrics API not served".into());
        hb.latest = Some((Some(0.6), jiff::Timestamp::UNIX_EPOCH));
        let v = LoadView::of(&usage, &hb, Some(&nodes), Some(3.0), 0.2);
        assert_eq!(v.nodes, Some(Err("metrics API not served".into())));
        let Some(Ok(h)) = v.heartbeats else {
            panic!("{v:?}")
        };
        assert!((h.per_session.unwrap() - 0.2).abs() < 1e-9);
        hb.latest = Some((None, jiff::Timestamp::UNIX_EPOCH));
        let v = LoadView::of(&usage, &hb, Some(&nodes), None, 0.2);
        assert!(matches!(v.heartbeats, Some(Err(ref e)) if e.contains("no heartbeat stream")));
    }

    #[test]
    fn a_diagnosis_names_the_first_unblocked_failure_and_what_it_blocks() {
        let mut snap = crate::checks::testkit::healthy();
        if let Some(pods) = snap.pods.as_mut() {
            pods.push(crate::checks::testkit::pending_pod("stuck", 600));
        }
        let findings = crate::checks::run(
            &snap,
            &Settings::defaults(),
            &crate::checks::Selection::default(),
        );
        let d = Diagnosis::of(&findings, snap.captured_at);
        assert!(d.root.is_some(), "{findings:#?}");
        assert_eq!(
            d.root.as_ref().map(|r| r.id.as_str()),
            crate::checks::root_cause(&findings).map(|f| f.id.as_str())
        );
        assert_eq!(
            d.fail,
            findings
                .iter()
                .filter(|f| f.outcome == Outcome::Fail)
                .count()
        );
    }

    fn finding(id: &str, area: crate::checks::Area, outcome: Outcome) -> Finding {
        Finding {
            id: id.into(),
            area,
            title: id.into(),
            outcome,
            message: format!("{id} says so"),
            evidence: vec![format!("{id} evidence")],
            remediation: Some(crate::checks::Remediation {
                fix: Some(format!("why {id} matters")),
                command: None,
            }),
            needs: Vec::new(),
            blocked_by: None,
            runbook: String::new(),
            unread_source: None,
        }
    }

    #[test]
    fn with_nothing_failing_the_panel_holds_the_warning_about_what_is_on_screen_and_why() {
        use crate::checks::Area;
        let findings = [
            finding("keda.cooldown", Area::Keda, Outcome::Warn),
            finding("keda.ready", Area::Keda, Outcome::Pass),
            finding("sessions.ratio", Area::Sessions, Outcome::Warn),
            finding("pods.success-rate", Area::Pods, Outcome::Warn),
        ];
        let d = Diagnosis::of(&findings, jiff::Timestamp::UNIX_EPOCH);
        assert!(d.root.is_none());
        let w = d.warning.expect("a warning");
        assert_eq!(
            w.id, "sessions.ratio",
            "the screen's figures first, config last"
        );
        assert_eq!(w.fix.as_deref(), Some("why sessions.ratio matters"));
        assert_eq!(w.evidence, vec!["sessions.ratio evidence".to_string()]);
        assert_eq!(d.other_warnings, vec!["pods.success-rate", "keda.cooldown"]);
    }
}
