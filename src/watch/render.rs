//! Drawing the full-screen view of `kubectl spice watch` from the model. All
//! drawing lives here and reads only the model; nothing here changes state.
//! Colour never carries meaning alone: bands and outcomes are words too.

use super::model::{Model, episode_line};
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
    Axis, Block, Borders, Cell, Chart, Dataset, Gauge, GraphType, Paragraph, Row, Table,
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
        Some(Band::Green | Band::Idle) => Color::Green,
        Some(Band::Yellow) => Color::Yellow,
        Some(Band::Red) => Color::Red,
        _ => Color::Gray,
    }
}

/// Draws one frame.
pub fn draw(f: &mut Frame, m: &Model, h: &Header) {
    let banner = m.banner();
    let [top, body, status] = Layout::vertical([
        Constraint::Length(if banner.is_some() { 2 } else { 1 }),
        Constraint::Min(10),
        Constraint::Length(2),
    ])
    .areas(f.area());
    draw_header(f, top, m, h, banner.as_deref());
    let [upper, lower] =
        Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
    let [chart, side] =
        Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(upper);
    draw_chart(f, chart, m, h);
    draw_side(f, side, m, h);
    let [pods, right] =
        Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(lower);
    draw_pods(f, pods, m, h);
    let [events, episodes] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(right);
    draw_events(f, events, m, h);
    draw_episodes(f, episodes, m, h);
    draw_status(f, status, m, h);
}

fn draw_header(f: &mut Frame, area: Rect, m: &Model, h: &Header, banner: Option<&str>) {
    let at = m
        .last_at
        .map(|t| t.strftime("%H:%M:%S UTC").to_string())
        .unwrap_or_else(|| "waiting for data".into());
    let mut lines = vec![Line::from(vec![
        Span::styled(
            "kubectl spice watch",
            Style::default().add_modifier(Modifier::BOLD),
        ),
        Span::raw(format!(
            "  context {}  namespace {}  {at}",
            safe(&h.context),
            safe(&h.namespace)
        )),
    ])];
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

fn draw_side(f: &mut Frame, area: Rect, m: &Model, h: &Header) {
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
    let lines = vec![
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
    f.render_widget(
        Paragraph::new(lines).block(Block::default().borders(Borders::ALL).title(" Scaling ")),
        text,
    );
}

fn draw_pods(f: &mut Frame, area: Rect, m: &Model, h: &Header) {
    let now = m.last_at;
    let mut pods: Vec<_> = m.pods.values().collect();
    // Pods that are not running yet come first: they are the news.
    pods.sort_by_key(|p| (is_running(p), p.name.clone()));
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
            .title(format!(" Pods ({}) ", m.pods.len())),
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

fn draw_status(f: &mut Frame, area: Rect, m: &Model, h: &Header) {
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
            "q quit · changed rows are highlighted for one refresh · kubectl spice diagnose for details",
            Style::default().add_modifier(Modifier::DIM),
        )),
    ];
    f.render_widget(Paragraph::new(lines), area);
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
        let mut term = Terminal::new(TestBackend::new(140, 40)).unwrap();
        let header = Header {
            context: context.into(),
            namespace: "default".into(),
            color: false,
        };
        term.draw(|f| draw(f, m, &header)).unwrap();
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
