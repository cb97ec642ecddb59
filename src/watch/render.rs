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
    /// The workload followed from the ScaledObject's scaleTargetRef and its
    /// pods' selector (`report::sources::scale_target`): a line of its own.
    pub target: Option<(String, Option<String>)>,
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

/// Below this many columns the panels stack (one column, top borders
/// only) and the pod table drops the columns used least, as k9s does.
pub const STACK_BELOW: u16 = 120;

/// Draws one frame: the live model, or the frozen one while paused, with
/// the help or diagnosis panel on top when open. Laid out by width: side by
/// side from [`STACK_BELOW`] columns, stacked below; every cut is marked `…`.
pub fn draw(f: &mut Frame, live: &Model, h: &Header, view: &View) {
    let (m, load) = view.shown(live);
    let banner = m.banner();
    let rows = 1 + u16::from(banner.is_some()) + u16::from(h.target.is_some());
    let [top, body, status] = Layout::vertical([
        Constraint::Length(rows),
        Constraint::Min(10),
        Constraint::Length(2),
    ])
    .areas(f.area());
    draw_header(f, top, m, h, banner.as_deref(), view.paused());
    if f.area().width >= STACK_BELOW {
        let [upper, lower] =
            Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(body);
        let [chart, side] =
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(upper);
        draw_chart(f, chart, m, h, Borders::ALL);
        draw_side(f, side, m, h, load);
        let [pods, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(lower);
        draw_pods(f, pods, m, h, view, Borders::ALL);
        let [events, episodes] =
            Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(right);
        draw_events(f, events, m, h, Borders::ALL);
        draw_episodes(f, episodes, m, h, Borders::ALL);
    } else {
        draw_stacked(f, body, m, h, view, load);
    }
    draw_status(f, status, m, h, view.paused());
    if let Some(d) = &view.diagnosis {
        draw_diagnosis(f, body, d, h);
    } else if view.help {
        draw_help(f, body);
    }
}

/// The narrow layout: figures, pods, events and episodes one under the
/// other, each panel a title line; the chart only when the height leaves
/// room for it after the rest.
fn draw_stacked(f: &mut Frame, body: Rect, m: &Model, h: &Header, view: &View, load: &LoadView) {
    let side = compact_side_lines(m, h, load);
    let tall = body.height >= 30;
    let events = 1 + m.events.len().clamp(1, if tall { 6 } else { 4 }) as u16;
    let episodes = 1 + episode_lines(m, h, if tall { 3 } else { 1 }).len() as u16;
    let chart = if body.height >= 44 { 12 } else { 0 };
    let [chart_area, side_area, pods, events_area, episodes_area] = Layout::vertical([
        Constraint::Length(chart),
        Constraint::Length(1 + side.len() as u16),
        Constraint::Min(4),
        Constraint::Length(events),
        Constraint::Length(episodes),
    ])
    .areas(body);
    if chart > 0 {
        draw_chart(f, chart_area, m, h, Borders::TOP);
    }
    let width = side_area.width as usize;
    f.render_widget(
        Paragraph::new(
            side.into_iter()
                .map(|l| fit_line(l, width))
                .collect::<Vec<_>>(),
        )
        .block(
            Block::default()
                .borders(Borders::TOP)
                .title(" Scaling and load "),
        ),
        side_area,
    );
    draw_pods(f, pods, m, h, view, Borders::TOP);
    draw_events(f, events_area, m, h, Borders::TOP);
    draw_episodes(f, episodes_area, m, h, Borders::TOP);
}

/// Display width of `s` in terminal cells.
fn cells(s: &str) -> usize {
    Span::raw(s).width()
}

/// `s` cut to at most `w` cells, ending in `…`.
fn cut(s: &str, w: usize) -> String {
    let mut out = String::new();
    if w == 0 {
        return out;
    }
    let mut used = 0;
    let mut buf = [0u8; 4];
    for c in s.chars() {
        let cw = cells(c.encode_utf8(&mut buf));
        if used + cw > w - 1 {
            break;
        }
        out.push(c);
        used += cw;
    }
    out.push('…');
    out
}

/// `s` as it is when it fits `w` cells, else cut with `…`: nothing on the
/// screen is cut without saying so.
pub fn fit(s: &str, w: usize) -> String {
    if cells(s) <= w {
        s.to_string()
    } else {
        cut(s, w)
    }
}

/// A line of styled spans cut to `w` cells, the cut marked `…`.
fn fit_line(line: Line<'static>, w: usize) -> Line<'static> {
    if line.width() <= w {
        return line;
    }
    let style = line.style;
    let mut spans = Vec::new();
    let mut used = 0;
    for s in line.spans {
        let sw = s.width();
        if used + sw < w {
            used += sw;
            spans.push(s);
            continue;
        }
        spans.push(Span::styled(cut(&s.content, w - used), s.style));
        break;
    }
    Line::from(spans).style(style)
}

/// The inner width of a panel with these borders.
fn inner(area: Rect, borders: Borders) -> usize {
    let mut w = area.width;
    if borders.contains(Borders::LEFT) {
        w = w.saturating_sub(1);
    }
    if borders.contains(Borders::RIGHT) {
        w = w.saturating_sub(1);
    }
    w as usize
}

fn panel(borders: Borders, title: String) -> Block<'static> {
    Block::default().borders(borders).title(title)
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
    let w = area.width as usize;
    let mut lines = vec![fit_line(Line::from(spans), w)];
    // As `status` and `diagnose` say it; the pods' selector only when the
    // whole line fits, never cut in the middle of a label.
    if let Some((what, pods)) = &h.target {
        let full = match pods {
            Some(p) => safe(&format!("{what} {p}")),
            None => safe(what),
        };
        let text = if cells(&full) <= w { full } else { safe(what) };
        lines.push(Line::from(Span::raw(fit(&text, w))));
    }
    if let Some(b) = banner {
        lines.push(fit_line(
            Line::from(Span::styled(
                format!("! {}", safe(b)),
                style(h.color, Color::Red).add_modifier(Modifier::BOLD),
            )),
            w,
        ));
    }
    f.render_widget(Paragraph::new(lines), area);
}

fn draw_chart(f: &mut Frame, area: Rect, m: &Model, h: &Header, borders: Borders) {
    let width = inner(area, borders).saturating_sub(2);
    let Some(now) = m.last_at else {
        f.render_widget(
            panel(borders, fit(" Sessions vs running pods ", width)),
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
        .block(panel(borders, fit(&title, width)))
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

/// The figures line, the HPA and the ScaledObject, as both layouts show them
/// (the wide one shows the ratio on its gauge instead).
fn figure_lines(m: &Model, h: &Header, with_ratio: bool) -> Vec<Line<'static>> {
    let fig = &m.figures;
    let hl = |name: &str| {
        if m.highlighted.contains(name) {
            changed(h.color)
        } else {
            Style::default()
        }
    };
    let opt = |v: Option<usize>| v.map_or("?".to_string(), |v| v.to_string());
    let mut counts = Vec::new();
    if with_ratio {
        counts.push(Span::styled(
            format!(
                "{} {} per pod",
                fig.ratio.map_or("-".to_string(), |r| format!("{r:.2}")),
                fig.band.map_or("unknown", |b| b.word())
            ),
            style(h.color, band_color(fig.band)),
        ));
        counts.push(Span::raw("  "));
    }
    counts.extend([
        Span::styled(format!("sessions {}", m.sessions_shown()), hl("sessions")),
        Span::raw("  "),
        Span::styled(format!("running {}", opt(fig.running)), hl("running")),
        Span::raw("  "),
        Span::styled(format!("pending {}", opt(fig.pending)), hl("pending")),
    ]);
    let nodes = vec![
        Span::styled(format!("nodes {}", opt(fig.nodes)), hl("nodes")),
        Span::raw(format!(
            "  requests/pod {}",
            fig.requests_per_pod
                .map_or("-".to_string(), |r| format!("{r:.2}/s"))
        )),
    ];
    let mut lines = if with_ratio {
        // Narrow: nodes go on the counts line, as far as it reaches.
        counts.push(Span::raw("  "));
        counts.extend(nodes);
        vec![Line::from(counts)]
    } else {
        vec![Line::from(counts), Line::from(nodes)]
    };
    lines.push(Line::from(Span::styled(
        format!("HPA {}", safe(m.hpa.as_deref().unwrap_or("not found"))),
        hl("hpa"),
    )));
    lines.push(Line::from(Span::styled(
        format!(
            "ScaledObject {}",
            safe(m.scaled_object.as_deref().unwrap_or("not read"))
        ),
        hl("scaledobject"),
    )));
    lines
}

/// The side panel's lines for the stacked layout: no gauge, the ratio in words.
fn compact_side_lines(m: &Model, h: &Header, load: &LoadView) -> Vec<Line<'static>> {
    let mut lines = figure_lines(m, h, true);
    lines.extend(load_lines(load, h));
    lines
}

fn draw_side(f: &mut Frame, area: Rect, m: &Model, h: &Header, load: &LoadView) {
    let [gauge, text] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    let fig = &m.figures;
    let band = fig.band;
    let word = band.map_or("unknown", |b| b.word());
    // The gauge spans 0–2 sessions per pod; 1.0 (one pod per session) is mid-way.
    let ratio = fig.ratio.unwrap_or(0.0);
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
    let mut lines = figure_lines(m, h, false);
    lines.extend(load_lines(load, h));
    // Side by side there is room below: long lines wrap, nothing is cut.
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .title(" Scaling and load "),
        ),
        text,
    );
}

/// Pod names as the NAME column shows them in `w` cells: whole when they
/// fit; else by their unique end when the names share a prefix (the
/// Deployment's name: `…-7d9c8b5f4-rbbbb`, the ReplicaSet hash and the pod's
/// own suffix kept); else cut at the front, the end being what tells pods
/// apart. Every shortened name starts with `…`.
pub fn pod_names(names: &[String], w: usize) -> Vec<String> {
    if names.iter().all(|n| cells(n) <= w) {
        return names.to_vec();
    }
    let common = names
        .iter()
        .skip(1)
        .fold(names.first().map_or(0, |n| n.len()), |len, n| {
            names[0]
                .bytes()
                .zip(n.bytes())
                .take(len)
                .take_while(|(a, b)| a == b)
                .count()
        });
    names
        .iter()
        .map(|n| {
            // The last two `-` parts are kept; the cut falls on a `-`.
            let keep = n.rmatch_indices('-').nth(1).map_or(0, |(i, _)| i);
            let at = if keep < common {
                keep
            } else {
                n.get(..common).and_then(|p| p.rfind('-')).unwrap_or(0)
            };
            let short = if at > 0 && n.is_char_boundary(at) {
                format!("…{}", &n[at..])
            } else {
                n.clone()
            };
            if cells(&short) <= w {
                return short;
            }
            // The end, whole, as far as it reaches.
            let tail: Vec<char> = n.chars().collect();
            let mut out = String::new();
            let mut used = 1;
            for c in tail.iter().rev() {
                let cw = cells(&c.to_string());
                if used + cw > w {
                    break;
                }
                out.insert(0, *c);
                used += cw;
            }
            if w == 0 {
                String::new()
            } else {
                format!("…{out}")
            }
        })
        .collect()
}

/// The pod table's columns that fit `width` cells, widest data first:
/// NODE, AGE and RESTARTS go in that order (the ones used least), then the
/// names shorten to their unique end, then STATUS and NAME are cut with `…`.
/// Returns the column indexes kept and their widths.
pub fn pod_columns(
    names: &[String],
    statuses: &[String],
    ages: &[String],
    nodes: &[String],
    width: usize,
) -> (Vec<usize>, Vec<usize>, Vec<String>) {
    let widest = |v: &[String], min: usize| v.iter().map(|s| cells(s)).max().unwrap_or(0).max(min);
    let mut name_w = widest(names, 4);
    let mut status_w = widest(statuses, 6);
    let mut cols = vec![
        (0, name_w),
        (1, status_w),
        (2, 5),
        (3, 8),
        (4, widest(ages, 3)),
        (5, widest(nodes, 4)),
    ];
    let total = |cols: &[(usize, usize)]| {
        cols.iter().map(|c| c.1).sum::<usize>() + cols.len().saturating_sub(1)
    };
    for drop in [5, 4] {
        if total(&cols) > width {
            cols.retain(|c| c.0 != drop);
        }
    }
    let mut shown = names.to_vec();
    if total(&cols) > width {
        // The names by their unique end (or one cell shorter, cut at the front).
        shown = pod_names(names, name_w.saturating_sub(1).max(1));
        name_w = widest(&shown, 4);
        cols[0].1 = name_w;
    }
    if total(&cols) > width {
        cols.retain(|c| c.0 != 3);
    }
    if total(&cols) > width {
        // Still too wide: the status gives up what it must (cut with …),
        // then the names.
        let over = total(&cols) - width;
        status_w = status_w.saturating_sub(over).max(6);
        cols[1].1 = status_w;
        if total(&cols) > width {
            let others = total(&cols) - name_w;
            let room = width.saturating_sub(others).max(1);
            shown = pod_names(names, room);
            cols[0].1 = room;
        }
    }
    let (idx, widths) = cols.into_iter().unzip();
    (idx, widths, shown)
}

fn draw_pods(f: &mut Frame, area: Rect, m: &Model, h: &Header, view: &View, borders: Borders) {
    let now = m.last_at;
    let mut pods: Vec<_> = m.pods.values().collect();
    // Pods that are not running yet come first: they are the news.
    pods.sort_by(|a, b| (is_running(a), &a.name).cmp(&(is_running(b), &b.name)));
    // Borders and the header row take the lines around the pod rows.
    let frame = if borders.contains(Borders::BOTTOM) {
        3
    } else {
        2
    };
    let fit_rows = area.height.saturating_sub(frame) as usize;
    view.pod_rows.set(pods.len());
    view.pod_rows_shown.set(fit_rows);
    let first = view.scroll.min(pods.len().saturating_sub(fit_rows));
    let total = pods.len();
    // Names are shortened against every pod, so a row keeps its form
    // while scrolling.
    let all_names: Vec<String> = pods.iter().map(|p| safe(&p.name)).collect();
    let pods: Vec<_> = pods.into_iter().skip(first).take(fit_rows).collect();
    let statuses: Vec<String> = pods.iter().map(|p| safe(&p.display_status())).collect();
    let ages: Vec<String> = pods
        .iter()
        .map(|p| match (now, p.created) {
            (Some(n), Some(c)) => human_duration(n.as_second() - c.as_second()),
            _ => "-".into(),
        })
        .collect();
    let nodes: Vec<String> = pods
        .iter()
        .map(|p| match p.node.as_deref() {
            None => "<none>".to_string(),
            Some(n) if short_node(n) != n => format!("{}…", safe(short_node(n))),
            Some(n) => safe(n),
        })
        .collect();
    let width = inner(area, borders);
    let (cols, widths, names) = pod_columns(&all_names, &statuses, &ages, &nodes, width);
    let names = &names[first..(first + pods.len()).min(names.len())];
    let rows: Vec<Row> = pods
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let ready = format!(
                "{}/{}",
                p.containers.iter().filter(|c| c.ready).count(),
                p.containers.len()
            );
            let all = [
                names[i].clone(),
                statuses[i].clone(),
                ready,
                p.restarts.to_string(),
                ages[i].clone(),
                nodes[i].clone(),
            ];
            let row = Row::new(
                cols.iter()
                    .zip(&widths)
                    .map(|(c, w)| Cell::from(fit(&all[*c], *w)))
                    .collect::<Vec<_>>(),
            );
            if m.highlighted.contains(&p.name) {
                row.style(changed(h.color))
            } else {
                row
            }
        })
        .collect();
    const HEADERS: [&str; 6] = ["NAME", "STATUS", "READY", "RESTARTS", "AGE", "NODE"];
    let title = if total > pods.len() {
        format!(
            " Pods ({total}, rows {}–{}, ↑↓ PgUp/PgDn scroll) ",
            first + 1,
            first + pods.len()
        )
    } else if m.pods_known {
        format!(" Pods ({total}) ")
    } else {
        " Pods (?) ".to_string()
    };
    let table = Table::new(
        rows,
        widths
            .iter()
            .map(|w| Constraint::Length(*w as u16))
            .collect::<Vec<_>>(),
    )
    .header(
        Row::new(
            cols.iter()
                .zip(&widths)
                .map(|(c, w)| fit(HEADERS[*c], *w))
                .collect::<Vec<_>>(),
        )
        .style(Style::default().add_modifier(Modifier::BOLD)),
    )
    .block(panel(borders, fit(&title, width)));
    f.render_widget(table, area);
}

/// An event line as the panel shows it: the reason right after the time and
/// type, before the object, so a narrow panel still shows it whole.
/// `HH:MM:SS Type Kind/name Reason: message` becomes
/// `HH:MM:SS Type Reason Kind/name: message`; a line of another form is
/// kept as it is.
pub fn event_line(e: &str) -> String {
    let mut parts = e.splitn(5, ' ');
    let (Some(at), Some(kind), Some(object), Some(reason)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return e.to_string();
    };
    let Some(reason) = reason.strip_suffix(':') else {
        return e.to_string();
    };
    if !object.contains('/') {
        return e.to_string();
    }
    let object = object.replacen("HorizontalPodAutoscaler/", "HPA/", 1);
    match parts.next() {
        Some(message) => format!("{at} {kind} {reason} {object}: {message}"),
        None => format!("{at} {kind} {reason} {object}"),
    }
}

fn draw_events(f: &mut Frame, area: Rect, m: &Model, h: &Header, borders: Borders) {
    let width = inner(area, borders);
    let lines: Vec<Line> = m
        .events
        .iter()
        .map(|e| {
            let s = if e.contains(" Warning ") {
                style(h.color, Color::Yellow)
            } else {
                Style::default()
            };
            Line::from(Span::styled(fit(&safe(&event_line(e)), width), s))
        })
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(panel(
            borders,
            fit(" Scaling events (newest first) ", width),
        )),
        area,
    );
}

/// The episode in progress, then up to `shown` ended ones, newest first.
fn episode_lines(m: &Model, h: &Header, shown: usize) -> Vec<Line<'static>> {
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
    let mut ended: Vec<_> = m.episodes.iter().collect();
    ended.reverse();
    for e in ended.into_iter().take(shown.saturating_sub(lines.len())) {
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
    lines
}

fn draw_episodes(f: &mut Frame, area: Rect, m: &Model, h: &Header, borders: Borders) {
    let frame = if borders.contains(Borders::BOTTOM) {
        2
    } else {
        1
    };
    let width = inner(area, borders);
    let lines: Vec<Line> = episode_lines(m, h, area.height.saturating_sub(frame) as usize)
        .into_iter()
        .map(|l| fit_line(l, width))
        .collect();
    f.render_widget(
        Paragraph::new(lines).block(panel(
            borders,
            fit(" Scaling episodes (newest first) ", width),
        )),
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
    let w = area.width as usize;
    let pause = if paused { "resume" } else { "pause" };
    let keys = format!(
        "q/Esc quit · ? help · p {pause} · d diagnose · ↑↓ PgUp/PgDn scroll pods · changed rows are highlighted for one refresh"
    );
    // Narrow: the keys first, the rest of the sentence only where it fits.
    let keys = if cells(&keys) <= w {
        keys
    } else {
        format!("q quit · ? help · p {pause} · d diagnose · ↑↓ scroll pods")
    };
    let lines = vec![
        Line::from(Span::styled(fit(&text, w), style(h.color, c))),
        Line::from(Span::styled(
            fit(&keys, w),
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
    // Narrower than the text: it wraps, and the panel grows to hold it.
    let extra = if area.width < 84 {
        lines.len() as u16
    } else {
        0
    };
    let rect = centered(area, 84, lines.len() as u16 + 2 + extra);
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
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
    let cause = |lines: &mut Vec<Line<'static>>, r: &super::view::RootCause| {
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
    };
    match (&d.root, &d.warning) {
        (Some(r), _) => {
            lines.push(Line::from(Span::styled(
                format!("ROOT CAUSE ✗ {}: {}", r.id, safe(&r.message)),
                style(h.color, Color::Red).add_modifier(Modifier::BOLD),
            )));
            cause(&mut lines, r);
        }
        (None, None) if d.error == 0 => {
            lines.push(Line::from(Span::styled(
                "✓ no check fails: pod-per-session scaling is healthy",
                style(h.color, Color::Green),
            )));
        }
        (None, None) => {
            lines.push(Line::from(Span::styled(
                "no check fails, but some could not look (see below)",
                style(h.color, Color::Yellow),
            )));
        }
        (None, Some(w)) => {
            lines.push(Line::from(Span::styled(
                format!("no check fails · WARNING ! {}: {}", w.id, safe(&w.message)),
                style(h.color, Color::Yellow).add_modifier(Modifier::BOLD),
            )));
            cause(&mut lines, w);
            if !d.other_warnings.is_empty() {
                lines.push(Line::from(format!(
                    "other warnings: {}",
                    d.other_warnings.join(", ")
                )));
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
        o.pods = Some(std::sync::Arc::new(first.iter().map(pod).collect()));
        o.nodes = Some(1);
        o.hpa = Some(hpa.into());
        m.observe(o.clone());
        o.at = jiff::Timestamp::from_second(1_800_000_010).unwrap();
        o.pods = Some(std::sync::Arc::new(second.iter().map(pod).collect()));
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
            target: None,
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
            warning: None,
            other_warnings: Vec::new(),
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

    /// A pending-no-node-like model: two Pending, two Running pods with
    /// EC2 node names, the scheduler's and Karpenter's events.
    fn busy_model() -> Model {
        let s = Settings::defaults();
        let mut m = Model::new(Config {
            interval_secs: 2.0,
            window_secs: 600.0,
            targets: s.targets,
            bands: s.bands,
        });
        let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
        let pod = |name: &str, phase: &str| crate::domain::snapshot::PodInfo {
            name: name.to_string(),
            namespace: "default".into(),
            phase: phase.into(),
            node: (phase == "Running").then(|| "ip-10-0-45-112.us-west-2.compute.internal".into()),
            created: Some(t0),
            deleting: None,
            grace_period_secs: None,
            ready: phase == "Running",
            ready_since: None,
            restarts: 0,
            containers: Vec::new(),
            scheduled: None,
            nominated_node: None,
        };
        let mut o = Observation::new(t0);
        o.sessions = Some(4.0);
        o.pods = Some(std::sync::Arc::new(vec![
            pod("spice-runner-7d9c8b5f4-6vtrl", "Pending"),
            pod("spice-runner-7d9c8b5f4-s8gcf", "Pending"),
            pod("spice-runner-7d9c8b5f4-k2x9m", "Running"),
            pod("spice-runner-7d9c8b5f4-p7wqz", "Running"),
        ]));
        o.nodes = Some(3);
        o.hpa = Some("keda-hpa-spice-runner-keda replicas 4/4".into());
        o.events = vec![
            "12:00:05 Warning HorizontalPodAutoscaler/keda-hpa-spice-runner-keda FailedGetExternalMetric: unable to get external metric".into(),
            "12:00:04 Warning NodePool/default NoCompatibleInstanceTypes: all available instance types exceed limits for nodepool".into(),
            "12:00:03 Warning Pod/spice-runner-7d9c8b5f4-6vtrl FailedScheduling: 0/3 nodes are available: 3 Insufficient cpu.".into(),
        ];
        m.observe(o);
        m
    }

    fn screen_sized(m: &Model, w: u16, h: u16) -> Vec<String> {
        screen_sized_with(m, w, h, None)
    }

    fn screen_sized_with(
        m: &Model,
        w: u16,
        h: u16,
        target: Option<(String, Option<String>)>,
    ) -> Vec<String> {
        let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
        let header = Header {
            target,
            context: "sim".into(),
            namespace: "default".into(),
            color: false,
        };
        term.draw(|f| draw(f, m, &header, &View::default()))
            .unwrap();
        let cells: Vec<&str> = term
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        cells.chunks(w as usize).map(|r| r.concat()).collect()
    }

    /// The workload followed is the header's second line, in `diagnose`'s
    /// words; its pods' selector only where the whole line fits.
    #[test]
    fn the_header_says_which_workload_was_followed_within_the_width() {
        let m = busy_model();
        let target = Some((
            "Deployment spice-game from the ScaledObject's scaleTargetRef".to_string(),
            Some("(pods app.kubernetes.io/name=spice-game)".to_string()),
        ));
        let wide = screen_sized_with(&m, 160, 50, target.clone());
        assert_eq!(
            wide[1].trim_end(),
            "Deployment spice-game from the ScaledObject's scaleTargetRef (pods app.kubernetes.io/name=spice-game)"
        );
        let narrow = screen_sized_with(&m, 80, 24, target);
        assert_eq!(
            narrow[1].trim_end(),
            "Deployment spice-game from the ScaledObject's scaleTargetRef"
        );
        assert!(
            narrow[0].starts_with("kubectl spice watch  context sim"),
            "{}",
            narrow[0]
        );
        // Nothing followed: no line for it.
        let plain = screen_sized(&m, 80, 24);
        assert!(!plain.join("\n").contains("scaleTargetRef"));
    }

    #[test]
    fn at_every_size_a_whole_pod_name_phase_and_event_reason_are_on_screen() {
        let m = busy_model();
        for (w, h) in [(80, 24), (100, 30), (160, 50), (200, 60)] {
            let lines = screen_sized(&m, w, h);
            let all = lines.join("\n");
            let row = lines
                .iter()
                .find(|l| l.contains("-7d9c8b5f4-6vtrl"))
                .unwrap_or_else(|| panic!("{w}×{h}: no pod row\n{all}"));
            let row = row.replace('│', " ");
            let words: Vec<&str> = row.split_whitespace().collect();
            assert!(
                words.contains(&"spice-runner-7d9c8b5f4-6vtrl")
                    || words.contains(&"…-7d9c8b5f4-6vtrl"),
                "{w}×{h}: the pod name whole or by its unique end: {row}\n{all}"
            );
            assert!(words.contains(&"Pending"), "{w}×{h}: {row}\n{all}");
            for reason in ["NoCompatibleInstanceTypes", "FailedScheduling"] {
                assert!(
                    lines
                        .iter()
                        .any(|l| l.split_whitespace().any(|w| w == reason)),
                    "{w}×{h}: {reason} whole\n{all}"
                );
            }
            // Nothing cut without saying so: no status or reason broken off.
            for cut in ["Runnin ", "Pendin ", "HorizontalPodAutos "] {
                assert!(!all.contains(cut), "{w}×{h}: {cut:?}\n{all}");
            }
            assert!(
                all.contains("q quit") || all.contains("q/Esc quit"),
                "{all}"
            );
        }
    }

    #[test]
    fn below_120_columns_the_panels_stack_and_node_goes_first() {
        let m = busy_model();
        let narrow = screen_sized(&m, 80, 24).join("\n");
        assert!(!narrow.contains("Sessions per pod"), "no gauge:\n{narrow}");
        assert!(narrow.contains("per pod"), "the ratio in words:\n{narrow}");
        let wide = screen_sized(&m, 200, 60).join("\n");
        assert!(wide.contains("Sessions per pod"), "{wide}");
        assert!(wide.contains("NODE"), "{wide}");
        assert!(
            wide.contains("ip-10-0-45-112…"),
            "the node's first label, cut marked: {wide}"
        );
        assert!(
            wide.contains("spice-runner-7d9c8b5f4-6vtrl"),
            "whole names when wide: {wide}"
        );
    }

    #[test]
    fn columns_drop_node_then_age_then_names_shorten_then_restarts() {
        let names = vec![
            "spice-runner-7d9c8b5f4-6vtrl".to_string(),
            "spice-runner-7d9c8b5f4-s8gcf".to_string(),
        ];
        let statuses = vec!["ContainerCreating".to_string(), "Running".into()];
        let ages = vec!["3m".to_string(), "10m".into()];
        let nodes = vec!["ip-10-0-45-112…".to_string(), "<none>".into()];
        let cols = |w| pod_columns(&names, &statuses, &ages, &nodes, w);
        assert_eq!(cols(100).0, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(cols(70).0, vec![0, 1, 2, 3, 4]);
        assert_eq!(cols(63).0, vec![0, 1, 2, 3]);
        let (c, _, shown) = cols(50);
        assert_eq!(c, vec![0, 1, 2, 3]);
        assert_eq!(shown[0], "…-7d9c8b5f4-6vtrl");
        let (c, w, shown) = cols(30);
        assert_eq!(c, vec![0, 1, 2]);
        assert!(w.iter().sum::<usize>() + w.len() - 1 <= 30, "{w:?}");
        assert!(
            shown[0].starts_with('…') && shown[0].ends_with("6vtrl"),
            "{shown:?}"
        );
    }

    #[test]
    fn pod_names_shorten_to_their_unique_end_marked() {
        let n = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let pods = n(&[
            "spice-runner-7d9c8b5f4-rbbbb",
            "spice-runner-7d9c8b5f4-aaaaa",
        ]);
        assert_eq!(pod_names(&pods, 40), pods, "whole when they fit");
        assert_eq!(pod_names(&pods, 20)[0], "…-7d9c8b5f4-rbbbb");
        assert_eq!(pod_names(&pods, 7)[0], "…-rbbbb");
        assert_eq!(pod_names(&pods, 6)[0], "…rbbbb");
        let mixed = n(&[
            "nginx-ingress-controller-abc12",
            "spice-runner-7d9c8b5f4-rbbbb",
        ]);
        assert_eq!(pod_names(&mixed, 12), n(&["…oller-abc12", "…8b5f4-rbbbb"]));
    }

    #[test]
    fn fit_marks_every_cut_and_event_lines_lead_with_the_reason() {
        assert_eq!(fit("Running", 7), "Running");
        assert_eq!(fit("Running", 6), "Runni…");
        assert_eq!(fit("Running", 0), "");
        assert_eq!(
            event_line("12:00:05 Warning HorizontalPodAutoscaler/x FailedGetExternalMetric: no"),
            "12:00:05 Warning FailedGetExternalMetric HPA/x: no"
        );
        assert_eq!(event_line("odd line"), "odd line");
    }

    #[test]
    fn the_d_panel_without_a_failure_shows_the_warning_and_why_it_matters() {
        use crate::watch::view::{Diagnosis, RootCause};
        let m = model(&["game-a"], &["game-a"], "keda-hpa-x replicas 1/1");
        let view = View {
            diagnosis: Some(Diagnosis {
                at: jiff::Timestamp::from_second(1_800_000_000).unwrap(),
                root: None,
                fail: 0,
                warn: 2,
                error: 0,
                warning: Some(RootCause {
                    id: "sessions.ratio".into(),
                    message: "4 sessions / 2 running pods = 2.00".into(),
                    evidence: vec!["2× a, b Pending 3m: Unschedulable".into()],
                    fix: Some("pods lag sessions".into()),
                    command: None,
                    blocks: vec![],
                }),
                other_warnings: vec!["keda.cooldown".into()],
            }),
            ..View::default()
        };
        let screen = screen_with(&m, "sim", &view);
        assert!(
            screen.contains("no check fails · WARNING ! sessions.ratio: 4 sessions"),
            "{screen}"
        );
        assert!(screen.contains("fix: pods lag sessions"), "{screen}");
        assert!(screen.contains("other warnings: keda.cooldown"), "{screen}");
    }
}
