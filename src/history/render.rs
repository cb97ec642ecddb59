//! Text (readable at 3 a.m.) and Markdown (paste into a ticket) for
//! `report` and `timeline`. Strings from the cluster are neutralised where
//! they are written (the command's writer is the neutralising one too).

use super::timeline::Timeline;
use super::{Report, Verdict};
use crate::report::text::neutralise;
use std::io::{self, Write};

fn hms(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

fn short(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

pub fn report_text(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "Key metrics {} → {} UTC (step {:.0} s)",
        short(r.since),
        short(r.until),
        r.step_seconds
    )?;
    for n in &r.notes {
        writeln!(out, "  ! {}", neutralise(n))?;
    }
    writeln!(out)?;
    let width = r.metrics.iter().map(|m| m.title.len()).max().unwrap_or(0);
    for m in &r.metrics {
        // "no runbook target" stands alone, not after "target".
        let target = if m.verdict == Verdict::NotJudged {
            format!("{:<21}", m.target)
        } else {
            format!("target {:<14}", m.target)
        };
        writeln!(
            out,
            "  {} {:<width$}  {:<36} {target} {}",
            m.verdict.mark(),
            m.title,
            m.shown,
            m.verdict.word()
        )?;
        if !m.detail.is_empty() {
            writeln!(out, "    {:<width$}  {}", "", neutralise(&m.detail))?;
        }
    }
    writeln!(out)?;
    let total = r.bands.total().max(1.0);
    write!(out, "  Time in band:")?;
    for (name, secs) in r.bands.rows() {
        if secs > 0.0 {
            write!(out, " {name} {} ({:.1} %)", hms(secs), secs / total * 100.0)?;
        }
    }
    writeln!(out)?;
    writeln!(out, "  Node launches: {}", r.node_launches)?;
    if !r.worst_episodes.is_empty() {
        writeln!(out, "\nWorst episodes")?;
        for w in &r.worst_episodes {
            let e = &w.episode;
            writeln!(
                out,
                "  {} {} {} {:.0} s (target {:.0} s): {} → {} sessions, Pending up to {:.0}, nodes {}",
                if e.within_target { "✓" } else { "✗" },
                short(e.started_at),
                e.direction.word(),
                e.seconds,
                e.target_seconds,
                e.from_pods,
                e.sessions,
                w.max_pending,
                match (w.nodes_before, w.nodes_after) {
                    (Some(a), Some(b)) => format!("{a:.0} → {b:.0}"),
                    _ => "unknown".into(),
                }
            )?;
            writeln!(out, "      {}", neutralise(&w.cause))?;
            writeln!(
                out,
                "      chain: {}",
                neutralise(&super::chain_line(&w.chain))
            )?;
        }
    }
    if let Some(f) = &r.read_from {
        writeln!(out, "  Read: {}", neutralise(&f.pods))?;
    }
    for u in &r.unread {
        writeln!(out, "  ? could not read {}", neutralise(u))?;
    }
    writeln!(out, "\n{}", verdict_line(r))?;
    Ok(())
}

pub fn verdict_line(r: &Report) -> String {
    let missed: Vec<&str> = r
        .metrics
        .iter()
        .filter(|m| m.verdict == Verdict::Fail)
        .map(|m| m.title)
        .collect();
    if !missed.is_empty() {
        format!("✗ target missed: {}", missed.join(", "))
    } else if r.incomplete {
        "? incomplete: a source could not be read".into()
    } else {
        "✓ every measured target met".into()
    }
}

pub fn report_markdown(out: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(
        out,
        "## Key metrics {} → {} UTC\n",
        short(r.since),
        short(r.until)
    )?;
    for n in &r.notes {
        writeln!(out, "> {}\n", md(n))?;
    }
    if let Some(f) = &r.read_from {
        writeln!(out, "Read: {}\n", md(&f.pods))?;
    }
    writeln!(out, "| | Metric | Value | Target | Verdict |")?;
    writeln!(out, "|---|---|---|---|---|")?;
    for m in &r.metrics {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            m.verdict.mark(),
            m.title,
            md(&m.shown),
            md(&m.target),
            m.verdict.word()
        )?;
    }
    writeln!(out)?;
    writeln!(out, "- Node launches: {}", r.node_launches)?;
    if !r.worst_episodes.is_empty() {
        writeln!(out, "\n### Worst episodes\n")?;
        writeln!(
            out,
            "| Start (UTC) | Direction | Seconds | Target | Cause | Chain |"
        )?;
        writeln!(out, "|---|---|---|---|---|---|")?;
        for w in &r.worst_episodes {
            let e = &w.episode;
            writeln!(
                out,
                "| {} | {} | {:.0} | {:.0} | {} | {} |",
                short(e.started_at),
                e.direction.word(),
                e.seconds,
                e.target_seconds,
                md(&w.cause),
                md(&super::chain_line(&w.chain))
            )?;
        }
    }
    writeln!(out, "\n**{}**", md(&verdict_line(r)))?;
    Ok(())
}

/// A table cell or line of Markdown: neutralised, with the characters that
/// would break the table or start markup escaped.
pub fn md(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in neutralise(s).chars() {
        if matches!(c, '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']' | '\\') {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

pub fn timeline_text(out: &mut dyn Write, t: &Timeline) -> io::Result<()> {
    writeln!(
        out,
        "Timeline {} → {} UTC ({} entries)",
        short(t.since),
        short(t.until),
        t.entries.len()
    )?;
    for n in &t.notes {
        writeln!(out, "  ! {}", neutralise(n))?;
    }
    for e in &t.entries {
        let obj = if e.object.is_empty() {
            String::new()
        } else {
            format!(" {}", neutralise(&e.object))
        };
        writeln!(
            out,
            "{} {} {:<13}{obj}  {}",
            short(e.at),
            if e.bad { "✗" } else { " " },
            e.source,
            neutralise(&e.sentence)
        )?;
    }
    writeln!(out, "{}", neutralise(&t.flapping.line()))?;
    Ok(())
}

pub fn timeline_markdown(out: &mut dyn Write, t: &Timeline) -> io::Result<()> {
    writeln!(
        out,
        "## Timeline {} → {} UTC\n",
        short(t.since),
        short(t.until)
    )?;
    for n in &t.notes {
        writeln!(out, "> {}\n", md(n))?;
    }
    writeln!(out, "| Time (UTC) | Source | Object | What happened |")?;
    writeln!(out, "|---|---|---|---|")?;
    for e in &t.entries {
        writeln!(
            out,
            "| {} | {} | {} | {}{} |",
            short(e.at),
            e.source,
            md(&e.object),
            if e.bad { "✗ " } else { "" },
            md(&e.sentence)
        )?;
    }
    writeln!(out, "\n- {}", md(&t.flapping.line()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_cannot_break_the_table_or_inject_markup() {
        assert_eq!(md("a|b <script>"), "a\\|b \\<script\\>");
        assert!(!md("x\u{1b}[31m").contains('\u{1b}'));
    }

    #[test]
    fn durations_read_as_hours_minutes_seconds() {
        assert_eq!(hms(42.0), "42s");
        assert_eq!(hms(125.0), "2m05s");
        assert_eq!(hms(7320.0), "2h02m");
    }
}
