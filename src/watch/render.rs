//! Drawing the full-screen view of `kubectl spice watch` from the model. All
//! drawing lives here and reads only the model; nothing here changes state.
//! Colour never carries meaning alone: bands and outcomes are words too.

use super::model::{Model, episode_line};
use super::view::{Diagnosis, HELP, LoadView, View};
use crate::checks::Outcome;
use crate::domain::figures::is_running;
use crate::report::status::Band;
use crate::report::text::neutralise;
use crate::report::{human_duration, num};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Clear, Dataset, Gauge, GraphType, Paragraph, Row, Table,
    Wrap,
};

/// What the screen says about where it reads from.
pub struct Header {
    pub context: String,
    pub namespace: String,
    pub color: bool,
}

fn style(color: bool, c: Color) -> Style {
    if color {
        Style::default().fg(c)
    } else {
        Style::default()
    }
}

fn changed(color: bool) -> Style {
    if color {
        Style::default()
            .add_modifier(Modifier::BOLD)
            .fg(Color::Cyan)
    } else {
        Style::default().add_modifier(Modifier::REVERSED)
    }
}

/// Text from the cluster, made safe before it becomes a widget: this view
/// draws through ratatui, not through `report::text::SafeWriter`.
fn safe(s: &str) -> String {
    neutralise(s).into_owned()
}

fn band_color(b: Option<Band>) -> Color {
    match b {
        Some(Band::Green | Band::Idle | Band::Expected) => Color::Green,
        Some(Band::Yellow) => Color::Yellow,
        Some(Band::Red) => Color::Red,
        _ => Color::Gray,
    }
}

/// Draws one frame: the live model, or the frozen one while paused, with
/// the help or diagnosis panel on top when open.
pub fn draw(f: &mut Frame, live: &Model, h: &Header, view: &View) {
    let (m, load) = view.shown(live);
    let banner = m.banner();
    let [top, body, status] = Layout::vertical([
        Constraint::Length(if banner.is_some() { 2 } else { 1 }),
        Constraint::Min(10),
        Constraint::Length(2),
    ])
    .areas(f.area());
    draw_header(f, top, m, h, banner.as_deref(), view.paused());
    let [upper, lower] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    let [chart, side] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(upper);
    draw_chart(f, chart, m, h);
    draw_side(f, side, m, h, load);
    let [pods, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(lower);
    draw_pods(f, pods, m, h, view);
    let [events, episodes] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(right);
    draw_events(f, events, m, h);
    draw_episodes(f, episodes, m, h);
    draw_status(f, status, m, h, view.paused());
    if let Some(d) = &view.diagnosis {
        draw_diagnosis(f, body, d, h);
    } else if view.help {
        draw_help(f, body);
    }
}

fn draw_header(
    f: &mut Frame,
    area: Rect,
    m: &Model,
    h: &Header,
    banner: Option<&str>,
    paused: bool,
) {
    let at = m
        .last_at
        .map(|t| t.strftime("%H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "waiting for data".into());
    let mut spans = vec![
        Span::styled(
            "kubectl spice watch",
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "  context {}  namespace {}  {at}",
            safe(&h.context),
            safe(&h.namespace)
        )),
    ];
    if paused {
        spans.push(Span::styled(
            "  PAUSED (p resumes; sources keep recording)",
            style(h.color, Color::Yellow).add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ));
    }
    let mut lines = vec![Line::from(spans)];
    if let Some(b) = banner {
        lines.push(Line::from(Span::styled(
            format!("! {}", safe(b)),
            style(h.color, Color::Red).add_modifier(Modifier::BOLD),
        )));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_chart(f: &mut Frame, area: Rect, m: &Model, h: &Header) {
    let Some(now) = m.last_at else {
        f.render_widget(
            Block::default()
                .borders(Borders::ALL)
                .title(" Sessions vs running pods "),
            area,
        );
        return;
    };
    let window = m.config.window_secs;
    let points = |ring: &super::model::Ring<super::model::Point>| -> Vec<(f64, f64)> {
        ring.iter()
            .map(|p| {
                let x = (p.at.as_millisecond() - now.as_millisecond()) as f64 / 1000.0;
                (x.max(-window), p.value)
            })
            .collect()
    };
    let sessions = points(&m.sessions);
    let running = points(&m.running);
    let top = sessions
        .iter()
        .chain(running.iter())
        .map(|p| p.1)
        .fold(1.0f64, f64::max)
        .ceil()
        + 1.0;
    let datasets = vec![
        Dataset::default()
            .name("sessions")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(style(h.color, Color::Cyan))
            .data(&sessions),
        Dataset::default()
            .name("running pods")
            .marker(Marker::Dot)
            .graph_type(GraphType::Line)
            .style(style(h.color, Color::Magenta))
            .data(&running),
    ];
    // A failed history read is said, so an empty past never reads as zero.
    let title = match &m.history {
        super::model::HistoryState::Failed(e) => {
            format!(" Sessions vs running pods · no history: {} ", safe(e))
        }
        _ => " Sessions vs running pods ".to_string(),
    };
    let chart = Chart::new(datasets)
        .block(Block::default().borders(Borders::ALL).title(title))
        .x_axis(Axis::default().bounds([-window, 0.0]).labels(vec![
            Line::from(format!("-{}", human_duration(window as i64))),
            Line::from("now"),
        ]))
        .y_axis(
            Axis::default()
                .bounds([0.0, top])
                .labels(vec![Line::from("0"), Line::from(num(top))]),
        );
    f.render_widget(chart, area);
}

fn draw_side(f: &mut Frame, area: Rect, m: &Model, h: &Header, load: &LoadView) {
    let [gauge, text] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    let fig = &m.figures;
    let band = fig.band;
    let word = band.map_or("unknown", |b| b.word());
    // The gauge spans 0–2 sessions per pod; 1.0 (one pod per session) is mid-way.
    let ratio = fig.ratio.unwrap_or(0.0);
    let hl = |name: &str| {
        if m.highlighted.contains(name) {
            changed(h.color)
        } else {
            Style::default()
        }
    };
    f.render_widget(
        Gauge::default()
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" Sessions per pod "),
            )
            .gauge_style(style(h.color, band_color(band)))
            .ratio((ratio / 2.0).clamp(0.0, 1.0))
            .label(format!(
                "{} {word}",
                fig.ratio.map_or("-".to_string(), |r| format!("{r:.2}"))
            )),
        gauge,
    );
    let opt = |v: Option<usize>| v.map_or("?".to_string(), |v| v.to_string());
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!("sessions {}", fig.sessions.map_or("?".to_string(), num)),
                hl("sessions"),
            ),
            Span::raw("  "),
            Span::styled(format!("running {}", opt(fig.running)), hl("running")),
            Span::raw("  "),
            Span::styled(format!("pending {}", opt(fig.pending)), hl("pending")),
        ]),
        Line::from(vec![
            Span::styled(format!("nodes {}", opt(fig.nodes)), hl("nodes")),
            Span::raw(format!(
                "  requests/pod {}",
                fig.requests_per_pod
                    .map_or("-".to_string(), |r| format!("{r:.2}/s"))
            )),
        ]),
        Line::from(Span::styled(
            format!("HPA {}", safe(m.hpa.as_deref().unwrap_or("not found"))),
            hl("hpa"),
        )),
        Line::from(Span::styled(
            format!(
                "ScaledObject {}",
                safe(m.scaled_object.as_deref().unwrap_or("not read"))
            ),
            hl("scaledobject"),
        )),
    ];
    lines.extend(load_lines(load, h));
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Scaling and load "),
        ),
        text,
    );
}

fn draw_pods(f: &mut Frame, area: Rect, m: &Model, h: &Header, view: &View) {
    let now = m.last_at;
    let mut pods: Vec<_> = m.pods.values().collect();
    // Pods that are not running yet come first: they are the news.
    pods.sort_by_key(|p| (is_running(p), p.name.clone()));
    // Borders and the header row take three lines; the rest are pod rows.
    let fit = area.height.saturating_sub(3) as usize;
    view.pod_rows.set(pods.len());
    view.pod_rows_shown.set(fit);
    let first = view.scroll.min(pods.len().saturating_sub(fit));
    let total = pods.len();
    let pods: Vec<_> = pods.into_iter().skip(first).take(fit).collect();
    let rows: Vec<Row> = pods
        .iter()
        .map(|p| {
            let age = match (now, p.created) {
                (Some(n), Some(c)) => human_duration(n.as_second() - c.as_second()),
                _ => "-".into(),
            };
            let ready = format!(
                "{}/{}",
                p.containers.iter().filter(|c| c.ready).count(),
                p.containers.len()
            );
            let row = Row::new(vec![
                Cell::from(safe(&p.name)),
                Cell::from(safe(&p.display_status())),
                Cell::from(ready),
                Cell::from(p.restarts.to_string()),
                Cell::from(age),
                Cell::from(safe(p.node.as_deref().unwrap_or("<none>"))),
            ]);
            if m.highlighted.contains(&p.name) {
                row.style(changed(h.color))
            } else {
                row
            }
        })
        .collect();
    // Columns as wide as their longest value, so pod names are never cut
    // while there is room; the node name takes what is left.
    let name_width = pods
        .iter()
        .map(|p| safe(&p.name).len())
        .max()
        .unwrap_or(0)
        .max(4) as u16;
    let status_width = pods
        .iter()
        .map(|p| safe(&p.display_status()).len())
        .max()
        .unwrap_or(0)
        .max(6) as u16;
    let table = Table::new(
        rows,
        [
            Constraint::Length(name_width),
            Constraint::Length(status_width),
            Constraint::Length(5),
            Constraint::Length(8),
            Constraint::Length(6),
            Constraint::Min(8),
        ],
    )
    .header(
        Row::new(vec!["NAME", "STATUS", "READY", "RESTARTS", "AGE", "NODE"])
            .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .block(
        Block::default()
            .borders(Borders::ALL)
            .title(if total > pods.len() {
                format!(
                    " Pods ({total}, rows {}–{}, ↑↓ PgUp/PgDn scroll) ",
                    first + 1,
                    first + pods.len()
                )
            } else if m.pods_known {
                format!(" Pods ({total}) ")
            } else {
                " Pods (?) ".to_string()
            }),
    );
    f.render_widget(table, area);
}

fn draw_events(f: &mut Frame, area: Rect, m: &Model, h: &Header) {
    let lines: Vec<Line> = m
        .events
        .iter()
        .map(|e| {
            let s = if e.contains(" Warning ") {
                style(h.color, Color::Yellow)
            } else {
                Style::default()
            };
            Line::from(Span::styled(safe(e), s))
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Scaling events (newest first) "),
        ),
        area,
    );
}

fn draw_episodes(f: &mut Frame, area: Rect, m: &Model, h: &Header) {
    let mut lines = Vec::new();
    if let (Some((d, since)), Some(now)) = (m.open_episode(), m.last_at) {
        lines.push(Line::from(Span::styled(
            format!(
                "  {} in progress for {}{}s{}",
                d.word(),
                if m.open_is_lower_bound() { "≥ " } else { "" },
                (now.as_second() - since.as_second()).max(0),
                if m.open_from_history() {
                    " (from history)"
                } else {
                    ""
                }
            ),
            style(h.color, Color::Cyan),
        )));
    }
    let shown = area.height.saturating_sub(2) as usize;
    let mut ended: Vec<_> = m.episodes.iter().collect();
    ended.reverse();
    for e in ended.into_iter().take(shown) {
        let c = if e.within_target {
            Color::Green
        } else {
            Color::Red
        };
        lines.push(Line::from(Span::styled(
            safe(&episode_line(e)),
            style(h.color, c),
        )));
    }
    if lines.is_empty() {
        lines.push(Line::from("  no scaling episode yet"));
    }
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Scaling episodes (newest first) "),
        ),
        area,
    );
}

fn draw_status(f: &mut Frame, area: Rect, m: &Model, h: &Header, paused: bool) {
    let bad: Vec<String> = m
        .findings
        .iter()
        // A check that could not read its source is shown with the failures:
        // a gap is never healthy.
        .filter(|(_, (o, _))| matches!(o, Outcome::Fail | Outcome::Warn | Outcome::Error))
        .map(|(id, (o, _))| format!("{} {id}", o.mark()))
        .collect();
    let (text, c) = if bad.is_empty() {
        // Checks whose sources watch does not poll (logs, Loki, alert rules)
        // skip here; the line says "judged live" so it claims no more.
        ("✓ every check judged live passes".to_string(), Color::Green)
    } else {
        (format!("checks: {}", bad.join("  ")), Color::Yellow)
    };
    let lines = vec![
        Line::from(Span::styled(text, style(h.color, c))),
        Line::from(Span::styled(
            format!(
                "q/Esc quit · ? help · p {} · d diagnose · ↑↓ PgUp/PgDn scroll pods · changed rows are highlighted for one refresh",
                if paused { "resume" } else { "pause" }
            ),
            Style::default().add_modifier(Modifier::DIM),
        )),
    ];
    f.render_widget(Paragraph::new(lines), area);
}

/// The load-test lines (runbook Test 3): node CPU and memory as `kubectl top
/// nodes` would show them, and heartbeats per session against the target. A
/// source without an answer is a gap line, never a blank.
fn load_lines(load: &LoadView, h: &Header) -> Vec<Line<'static>> {
    let gap = |what: &str, why: &str| {
        Line::from(Span::styled(
            format!("{what}: ? {}", safe(why)),
            style(h.color, Color::Yellow),
        ))
    };
    let mut lines = Vec::new();
    match &load.nodes {
        None => lines.push(Line::from("node CPU/memory: waiting for the metrics API")),
        Some(Err(why)) => lines.push(gap("node CPU/memory", why)),
        Some(Ok(n)) => {
            let hot = |p: f64| {
                if p >= 90.0 {
                    style(h.color, Color::Red)
                } else {
                    Style::default()
                }
            };
            lines.push(Line::from(Span::styled(
                format!(
                    "node CPU avg {:.0}% max {:.0}% {}",
                    n.cpu_avg,
                    n.cpu_max,
                    safe(short_node(&n.cpu_max_node))
                ),
                hot(n.cpu_max),
            )));
            lines.push(Line::from(Span::styled(
                format!(
                    "node memory avg {:.0}% max {:.0}% {}",
                    n.memory_avg,
                    n.memory_max,
                    safe(short_node(&n.memory_max_node))
                ),
                hot(n.memory_max),
            )));
            if n.reporting < n.nodes {
                lines.push(gap(
                    "node metrics",
                    &format!("{} of {} nodes reporting", n.reporting, n.nodes),
                ));
            }
        }
    }
    match &load.heartbeats {
        None => lines.push(Line::from("heartbeats: waiting for Loki")),
        Some(Err(why)) => lines.push(gap("heartbeats", why)),
        Some(Ok(hb)) => {
            let text = match hb.per_session {
                Some(per) => {
                    // Within half to double the target, as loki.heartbeats judges.
                    let ok = per >= hb.target / 2.0 && per <= hb.target * 2.0;
                    format!(
                        "heartbeats {:.2}/s per session (target {}/s) {}",
                        per,
                        num(hb.target),
                        if ok { "ok" } else { "OFF TARGET" }
                    )
                }
                None => format!(
                    "heartbeats {:.2}/s in all (sessions unknown, target {}/s per session)",
                    hb.per_second,
                    num(hb.target)
                ),
            };
            lines.push(Line::from(text));
        }
    }
    lines
}

/// A node's name up to its first dot (`ip-10-0-45-112` of an EC2 name), so
/// a load line fits the panel; the first label names the node uniquely in
/// the usual cloud naming schemes.
fn short_node(name: &str) -> &str {
    name.split('.').next().unwrap_or(name)
}

/// A rectangle of at most `w`×`h` in the middle of `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect {
        x: area.x + (area.width - w) / 2,
        y: area.y + (area.height - h) / 2,
        width: w,
        height: h,
    }
}

fn draw_help(f: &mut Frame, area: Rect) {
    let mut lines: Vec<Line> = HELP
        .iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(
                    format!("  {k:<14}"),
                    Style::default().add_modifier(Modifier::BOLD),
                ),
                Span::raw(*what),
            ])
        })
        .collect();
    lines.push(Line::from(""));
    lines.push(Line::from(
        "  Changed rows are highlighted for one refresh. Node CPU/memory come from",
    ));
    lines.push(Line::from(
        "  the metrics API (kubectl top nodes); heartbeats from Loki every 10 s.",
    ));
    let rect = centered(area, 84, lines.len() as u16 + 2);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Keys (? or Esc closes) "),
        ),
        rect,
    );
}

/// The root cause of the current snapshot and its fix, as `diagnose` says it.
fn draw_diagnosis(f: &mut Frame, area: Rect, d: &Diagnosis, h: &Header) {
    let mut lines = Vec::new();
    match &d.root {
        Some(r) => {
            lines.push(Line::from(Span::styled(
                format!("ROOT CAUSE ✗ {}: {}", r.id, safe(&r.message)),
                style(h.color, Color::Red).add_modifier(Modifier::BOLD),
            )));
            for e in &r.evidence {
                lines.push(Line::from(format!("  {}", safe(e))));
            }
            if let Some(fix) = &r.fix {
                lines.push(Line::from(format!("fix: {}", safe(fix))));
            }
            if let Some(c) = &r.command {
                lines.push(Line::from(format!("look: {}", safe(c))));
            }
            if !r.blocks.is_empty() {
                lines.push(Line::from(format!("blocks: {}", r.blocks.join(", "))));
            }
        }
        None if d.warn == 0 && d.error == 0 => {
            lines.push(Line::from(Span::styled(
                "✓ no check fails: pod-per-session scaling is healthy",
                style(h.color, Color::Green),
            )));
        }
        None => {
            lines.push(Line::from("no check fails"));
            if let Some((id, message)) = &d.first_warn {
                lines.push(Line::from(format!("! {id}: {}", safe(message))));
            }
        }
    }
    lines.push(Line::from(""));
    lines.push(Line::from(format!(
        "{} fail · {} warn · {} could not look · checks of the KEDA operator log, alert rules and Loki need kubectl spice diagnose",
        d.fail, d.warn, d.error
    )));
    let rect = centered(
        area,
        area.width.saturating_sub(8),
        area.height.saturating_sub(4),
    );
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default().borders(Borders::ALL).title(format!(
                " Diagnose: snapshot of {} (d or Esc closes) ",
                d.at.strftime("%H:%M:%S UTC")
            )),
        ),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::Settings;
    use crate::watch::model::{Config, Observation};
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    /// A model that saw `first` then `second` pods, 10 s apart, with 2 sessions.
    fn model(first: &[&str], second: &[&str], hpa: &str) -> Model {
        let s = Settings::defaults();
        let mut m = Model::new(Config {
            interval_secs: 2.0,
            window_secs: 600.0,
            targets: s.targets,
            bands: s.bands,
        });
        let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let pod = |name: &&str| crate::domain::snapshot::PodInfo {
            name: name.to_string(),
            namespace: "default".into(),
            phase: "Running".into(),
            node: Some("node-a".into()),
            created: Some(t0),
            deleting: None,
            grace_period_secs: None,
            ready: true,
            ready_since: None,
            restarts: 0,
            containers: Vec::new(),
            scheduled: None,
            nominated_node: None,
        };
        let mut o = Observation::new(t0);
        o.sessions = Some(2.0);
        o.pods = Some(first.iter().map(pod).collect());
        o.nodes = Some(1);
        o.hpa = Some(hpa.into());
        m.observe(o.clone());
        o.at = jiff::Timestamp::from_second(1_800_000_010).unwrap();
        o.pods = Some(second.iter().map(pod).collect());
        m.observe(o);
        m
    }

    /// The characters of one 140×40 frame.
    fn screen(m: &Model, context: &str) -> String {
        screen_with(m, context, &View::default())
    }

    fn screen_with(m: &Model, context: &str, view: &View) -> String {
        let mut term = Terminal::new(TestBackend::new(140, 40)).unwrap();
        let header = Header {
            context: context.into(),
            namespace: "default".into(),
            color: false,
        };
        term.draw(|f| draw(f, m, &header, view)).unwrap();
        term.backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect()
    }

    #[test]
    fn the_screen_shows_figures_pods_and_episodes() {
        let m = model(
            &["game-a"],
            &["game-a", "game-b"],
            "keda-hpa-x replicas 1/2",
        );
        let screen = screen(&m, "sim");
        assert!(screen.contains("sessions 2"), "{screen}");
        assert!(screen.contains("running 2"), "{screen}");
        assert!(screen.contains("game-b"), "{screen}");
        assert!(screen.contains("1.00 green"), "{screen}");
        assert!(screen.contains("scale-up 1 → 2 sessions"), "{screen}");
        assert!(screen.contains("HPA keda-hpa-x"), "{screen}");
    }

    #[test]
    fn pods_never_read_are_a_question_mark_not_zero() {
        let mut m = model(&[], &[], "keda-hpa-x replicas 0/0");
        let read = screen(&m, "sim");
        assert!(read.contains(" Pods (0) "), "{read}");
        m = Model::new(m.config);
        let mut o = Observation::new(jiff::Timestamp::from_second(1_800_000_000).unwrap());
        o.sessions = Some(2.0);
        m.observe(o);
        let unknown = screen(&m, "sim");
        assert!(unknown.contains(" Pods (?) "), "{unknown}");
        assert!(!unknown.contains(" Pods (0) "), "{unknown}");
    }

    #[test]
    fn cluster_text_is_shown_escaped_on_the_full_screen() {
        let m = model(
            &["a\u{1b}[2J"],
            &["a\u{1b}[2J", "b\u{202e}"],
            "hpa\u{9b}31m",
        );
        let screen = screen(&m, "ctx\u{1b}]0;t\u{7}");
        assert!(
            !screen.chars().any(crate::report::text::is_unsafe),
            "{screen:?}"
        );
        for shown in [
            "a\\u001b[2J",
            "b\\u202e",
            "hpa\\u009b31m",
            "ctx\\u001b]0;t\\u0007",
        ] {
            assert!(screen.contains(shown), "{shown} in {screen}");
        }
    }

    #[test]
    fn load_lines_and_panels_show_cluster_text_escaped() {
        use crate::watch::view::{Diagnosis, NodeLoad, RootCause};
        let m = model(&["game-a"], &["game-a"], "keda-hpa-x replicas 1/1");
        let mut view = View::default();
        view.load.nodes = Some(Ok(NodeLoad {
            reporting: 3,
            nodes: 3,
            cpu_avg: 43.0,
            cpu_max: 90.0,
            cpu_max_node: "evil\u{1b}[2J.compute.internal".into(),
            memory_avg: 30.0,
            memory_max: 50.0,
            memory_max_node: "ip-10-0-45-112.compute.internal".into(),
        }));
        view.load.heartbeats = Some(Err("Loki answered HTTP 502: \u{1b}]0;x\u{7}".into()));
        let screen = screen_with(&m, "sim", &view);
        assert!(
            !screen.chars().any(crate::report::text::is_unsafe),
            "{screen:?}"
        );
        assert!(
            screen.contains("node CPU avg 43% max 90% evil\\u001b[2J"),
            "{screen}"
        );
        assert!(
            screen.contains("node memory avg 30% max 50% ip-10-0-45-112"),
            "{screen}"
        );
        assert!(
            screen.contains("heartbeats: ? Loki answered HTTP 502"),
            "{screen}"
        );

        view.diagnosis = Some(Diagnosis {
            at: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
            root: Some(RootCause {
                id: "keda.paused".into(),
                message: "paused by \u{1b}[31mx".into(),
                evidence: vec![],
                fix: Some("kubectl annotate scaledobject x autoscaling.keda.sh/paused-".into()),
                command: None,
                blocks: vec!["keda.active".into()],
            }),
            fail: 1,
            warn: 0,
            error: 0,
            first_warn: None,
        });
        let screen = screen_with(&m, "sim", &view);
        assert!(
            !screen.chars().any(crate::report::text::is_unsafe),
            "{screen:?}"
        );
        assert!(
            screen.contains("ROOT CAUSE ✗ keda.paused: paused by \\u001b[31mx"),
            "{screen}"
        );
        assert!(screen.contains("fix: kubectl annotate"), "{screen}");
        assert!(screen.contains("blocks: keda.active"), "{screen}");
    }

    #[test]
    fn a_check_that_could_not_read_is_not_shown_as_passing() {
        let mut m = model(&["game-a"], &["game-a"], "keda-hpa-x replicas 1/1");
        m.findings.insert(
            "pods.crashloop".into(),
            (Outcome::Error, "pods: 500".into()),
        );
        let failing = screen(&m, "sim");
        assert!(failing.contains("? pods.crashloop"), "{failing}");
        assert!(!failing.contains("passes"), "{failing}");

        m.findings.clear();
        m.findings.insert(
            "loki.heartbeats".into(),
            (Outcome::Skip, "not polled".into()),
        );
        let screen = screen(&m, "sim");
        assert!(
            screen.contains("every check judged live passes"),
            "{screen}"
        );
    }
}
