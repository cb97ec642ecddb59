//! `-o html`: one self-contained file (no network fetch, no script) with the
//! charts drawn as inline SVG: sessions vs running pods vs nodes over the
//! period, each scale-up's time against the target line, time in each band.
//! Every string is HTML-escaped after neutralising.

use super::timeline::Timeline;
use super::{Report, Series};
use crate::report::text::neutralise;
use crate::watch::model::Direction;
use std::fmt::Write as _;
use std::io::{self, Write};

/// The colours the charts use (the browser test looks for them).
pub const SESSIONS: &str = "#1f77b4";
pub const PODS: &str = "#ff7f0e";
pub const NODES: &str = "#2ca02c";
pub const TARGET: &str = "#d62728";
pub const EPISODE: &str = "#9467bd";
pub const BANDS: [(&str, &str); 5] = [
    ("green", "#3cb44b"),
    ("yellow", "#ffe119"),
    ("red", "#e6194b"),
    ("idle", "#a9a9a9"),
    ("unknown", "#dddddd"),
];
/// Most points drawn per line: a week at 15 s would be 40,320, far more
/// than a chart's pixels.
const MAX_DRAWN: usize = 1200;

pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in neutralise(s).chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "body{font-family:sans-serif;margin:16px;color:#222;background:#fff}\
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}\
.fail{color:#b00}.pass{color:#070}h2{margin:18px 0 4px}svg{display:block}";

fn head(title: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
<title>{}</title><style>{STYLE}</style></head><body>\n",
        escape(title)
    )
}

/// Every `n`-th point, so at most [`MAX_DRAWN`] are drawn, keeping the
/// highest value of each bucket (a spike must stay visible).
fn thin(points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let n = points.len().div_ceil(MAX_DRAWN).max(1);
    points
        .chunks(n)
        .filter_map(|c| {
            c.iter()
                .copied()
                .reduce(|a, b| if b.1 > a.1 { (a.0, b.1) } else { a })
        })
        .collect()
}

const W: f64 = 900.0;
const H: f64 = 220.0;
const PAD: f64 = 40.0;

fn lines_chart(s: &Series, from: f64, to: f64) -> String {
    let span = (to - from).max(1.0);
    let top = [&s.sessions, &s.running, &s.nodes]
        .iter()
        .flat_map(|v| v.iter().map(|p| p.1))
        .fold(1.0_f64, f64::max);
    let x = |t: f64| PAD + (t - from) / span * (W - 2.0 * PAD);
    let y = |v: f64| H - PAD + -(v / top) * (H - 2.0 * PAD);
    let mut svg = format!(
        "<svg id=\"chart-series\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"sessions, running pods and nodes\">\
<rect x=\"{PAD}\" y=\"{PAD}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>\
<text x=\"4\" y=\"{}\" font-size=\"11\">{top:.0}</text><text x=\"4\" y=\"{}\" font-size=\"11\">0</text>",
        W - 2.0 * PAD,
        H - 2.0 * PAD,
        PAD + 4.0,
        H - PAD
    );
    // Pods under sessions, wider, so both show where they are equal.
    for (pts, colour, name, width) in [
        (&s.running, PODS, "running pods", 5.0),
        (&s.nodes, NODES, "nodes", 2.5),
        (&s.sessions, SESSIONS, "sessions", 2.0),
    ] {
        let mut d = String::new();
        for (i, (t, v)) in thin(pts).into_iter().enumerate() {
            let _ = write!(
                d,
                "{}{:.1},{:.1}",
                if i == 0 { "M" } else { " L" },
                x(t),
                y(v)
            );
        }
        if !d.is_empty() {
            let _ = write!(
                svg,
                "<path d=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\"><title>{name}</title></path>"
            );
        }
    }
    let legend = [
        ("sessions", SESSIONS),
        ("running pods", PODS),
        ("nodes", NODES),
    ];
    for (i, (name, colour)) in legend.iter().enumerate() {
        let lx = PAD + i as f64 * 140.0;
        let _ = write!(
            svg,
            "<rect x=\"{lx}\" y=\"8\" width=\"14\" height=\"14\" fill=\"{colour}\"/><text x=\"{}\" y=\"20\" font-size=\"12\">{name}</text>",
            lx + 18.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn episodes_chart(r: &Report) -> String {
    let ups: Vec<_> = r
        .episodes
        .iter()
        .filter(|e| e.direction == Direction::ScaleUp && !e.started_before_watch)
        .collect();
    let target = r.scale_up.target_seconds;
    let top = ups.iter().map(|e| e.seconds).fold(target * 1.5, f64::max);
    let y = |v: f64| H - PAD - v / top * (H - 2.0 * PAD);
    let mut svg = format!(
        "<svg id=\"chart-episodes\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"scale-up time per episode\">\
<rect x=\"{PAD}\" y=\"{PAD}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>",
        W - 2.0 * PAD,
        H - 2.0 * PAD
    );
    let n = ups.len().max(1) as f64;
    let slot = (W - 2.0 * PAD) / n;
    for (i, e) in ups.iter().enumerate() {
        let bx = PAD + i as f64 * slot + slot * 0.1;
        let by = y(e.seconds);
        let _ = write!(
            svg,
            "<rect x=\"{bx:.1}\" y=\"{by:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{EPISODE}\"><title>{} {:.0} s</title></rect>",
            (slot * 0.8).max(1.0),
            (H - PAD - by).max(1.0),
            e.started_at,
            e.seconds
        );
    }
    let ty = y(target);
    let _ = write!(
        svg,
        "<line x1=\"{PAD}\" y1=\"{ty:.1}\" x2=\"{}\" y2=\"{ty:.1}\" stroke=\"{TARGET}\" stroke-width=\"3\"/>\
<text x=\"{}\" y=\"{:.1}\" font-size=\"12\" fill=\"{TARGET}\">target {target:.0} s</text>\
<text x=\"{PAD}\" y=\"20\" font-size=\"12\">scale-up seconds per episode ({} episodes)</text></svg>",
        W - PAD,
        W - PAD - 80.0,
        ty - 4.0,
        ups.len()
    );
    svg.push('\n');
    svg
}

fn bands_chart(r: &Report) -> String {
    let total = r.bands.total();
    let mut svg = format!(
        "<svg id=\"chart-bands\" width=\"{W}\" height=\"90\" viewBox=\"0 0 {W} 90\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" aria-label=\"time in each band\">"
    );
    let mut x = PAD;
    let width = W - 2.0 * PAD;
    for ((name, secs), (_, colour)) in r.bands.rows().iter().zip(BANDS.iter()) {
        if total <= 0.0 || *secs <= 0.0 {
            continue;
        }
        let w = secs / total * width;
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"10\" width=\"{w:.1}\" height=\"40\" fill=\"{colour}\"><title>{name} {:.1} %</title></rect>",
            secs / total * 100.0
        );
        if w > 60.0 {
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"70\" font-size=\"12\">{name} {:.1} %</text>",
                x + 2.0,
                secs / total * 100.0
            );
        }
        x += w;
    }
    svg.push_str("</svg>\n");
    svg
}

pub fn report_html(out: &mut dyn Write, r: &Report, s: &Series) -> io::Result<()> {
    let from = r.since.as_millisecond() as f64 / 1000.0;
    let to = r.until.as_millisecond() as f64 / 1000.0;
    let mut h = head("kubectl spice report");
    let _ = writeln!(
        h,
        "<h1>Key metrics {} → {} (UTC)</h1>",
        r.since.strftime("%Y-%m-%d %H:%M:%S"),
        r.until.strftime("%Y-%m-%d %H:%M:%S")
    );
    h.push_str("<h2>Sessions, running pods and nodes</h2>\n");
    h.push_str(&lines_chart(s, from, to));
    h.push_str("<h2>Scale-up time per episode</h2>\n");
    h.push_str(&episodes_chart(r));
    h.push_str("<h2>Time in each band</h2>\n");
    h.push_str(&bands_chart(r));
    for n in &r.notes {
        let _ = writeln!(h, "<p class=\"fail\">{}</p>", escape(n));
    }
    if let Some(f) = &r.read_from {
        let _ = writeln!(h, "<p>Read: {}</p>", escape(&f.pods));
    }
    h.push_str("<h2>Targets</h2>\n<table><tr><th>Metric</th><th>Value</th><th>Target</th><th>Verdict</th></tr>\n");
    for m in &r.metrics {
        let class = if m.verdict == super::Verdict::Fail {
            "fail"
        } else {
            "pass"
        };
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{} {}</td></tr>",
            escape(m.title),
            escape(&m.shown),
            escape(&m.target),
            m.verdict.mark(),
            m.verdict.word()
        );
    }
    h.push_str("</table>\n");
    if !r.worst_episodes.is_empty() {
        h.push_str("<h2>Worst episodes</h2>\n<table><tr><th>Start (UTC)</th><th>Direction</th><th>Seconds</th><th>Target</th><th>Cause</th><th>Chain</th></tr>\n");
        for w in &r.worst_episodes {
            let e = &w.episode;
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{:.0}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.started_at.to_string()),
                e.direction.word(),
                e.seconds,
                e.target_seconds,
                escape(&w.cause),
                escape(&super::chain_line(&w.chain))
            );
        }
        h.push_str("</table>\n");
    }
    let _ = writeln!(
        h,
        "<p><b>{}</b></p>\n</body></html>",
        escape(&super::render::verdict_line(r))
    );
    out.write_all(h.as_bytes())
}

pub fn timeline_html(out: &mut dyn Write, t: &Timeline) -> io::Result<()> {
    let mut h = head("kubectl spice timeline");
    let _ = writeln!(
        h,
        "<h1>Timeline {} → {} (UTC)</h1>",
        t.since.strftime("%Y-%m-%d %H:%M:%S"),
        t.until.strftime("%Y-%m-%d %H:%M:%S")
    );
    for n in &t.notes {
        let _ = writeln!(h, "<p>{}</p>", escape(n));
    }
    h.push_str(
        "<table><tr><th>Time (UTC)</th><th>Source</th><th>Object</th><th>What happened</th></tr>\n",
    );
    for e in &t.entries {
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            if e.bad { " class=\"fail\"" } else { "" },
            escape(&e.at.to_string()),
            escape(&e.source),
            escape(&e.object),
            escape(&e.sentence)
        );
    }
    let _ = writeln!(
        h,
        "</table>\n<p>{}</p>\n</body></html>",
        escape(&t.flapping.line())
    );
    out.write_all(h.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_escapes_what_the_cluster_wrote() {
        assert_eq!(
            escape("<img src=x onerror=\"a\">&'"),
            "&lt;img src=x onerror=&quot;a&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn thinning_keeps_spikes_and_bounds_the_points() {
        let mut pts: Vec<(f64, f64)> = (0..40_000).map(|i| (i as f64, 1.0)).collect();
        pts[12_345].1 = 99.0;
        let t = thin(&pts);
        assert!(t.len() <= MAX_DRAWN);
        assert!(t.iter().any(|p| p.1 == 99.0));
    }
}
