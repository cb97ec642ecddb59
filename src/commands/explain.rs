//! `kubectl spice explain ID` and `explain --list`: the checks' own docs.

use crate::checks::{self, Check, CheckId};
use crate::cli::ExplainArgs;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use std::io::Write;

mod runbook;

pub fn run(args: &ExplainArgs, out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    if args.id.as_deref() == Some("runbook") {
        return runbook::run(args.entry.as_deref(), out);
    }
    if let Some(entry) = &args.entry {
        return Err(Fatal::new(
            format!(
                "unexpected argument {:?}",
                entry.chars().take(60).collect::<String>()
            ),
            "only `kubectl spice explain runbook` takes a second argument (a number or a name)",
        ));
    }
    let registry = checks::registry();
    if args.list {
        let width = registry
            .iter()
            .map(|c| c.id.as_str().len())
            .max()
            .unwrap_or(10)
            + 2;
        writeln!(out, "{:<width$}{:<12}TITLE", "ID", "AREA")?;
        for c in &registry {
            writeln!(
                out,
                "{:<width$}{:<12}{}",
                c.id.as_str(),
                c.area().title(),
                c.title
            )?;
        }
        return Ok(ExitStatus::Ok);
    }
    let id = args.id.as_deref().unwrap_or_default();
    let Ok(id) = id.parse::<CheckId>() else {
        let suggestion = closest(id, &registry);
        return Err(Fatal::new(
            format!("no check named {id:?}"),
            match suggestion {
                Some(s) => {
                    format!("did you mean {s}? `kubectl spice explain --list` lists them all")
                }
                None => "`kubectl spice explain --list` lists them all".into(),
            },
        ));
    };
    let check = checks::find(id);
    writeln!(out, "{} · {}", check.id, check.title)?;
    writeln!(out)?;
    writeln!(out, "Area:     {}", check.area().title())?;
    writeln!(out, "Runbook:  {}", check.runbook)?;
    writeln!(
        out,
        "Needs:    {}",
        if check.needs.is_empty() {
            "nothing (always runs)".to_string()
        } else {
            let needs: Vec<&str> = check.needs.iter().map(|n| n.as_str()).collect();
            needs.join(", ")
        }
    )?;
    writeln!(out, "Reads:    {}", check.reads)?;
    writeln!(out, "Source:   {}", check.source)?;
    writeln!(out)?;
    writeln!(out, "What it looks at\n  {}", check.docs.what)?;
    writeln!(out)?;
    writeln!(out, "Why\n  {}", check.docs.why)?;
    writeln!(out)?;
    writeln!(out, "How to fix what it finds\n  {}", check.docs.fix)?;
    Ok(ExitStatus::Ok)
}

/// The registered id sharing the longest prefix with `id` (or containing it).
fn closest(id: &str, registry: &[&'static Check]) -> Option<&'static str> {
    let common = |a: &str, b: &str| a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count();
    registry
        .iter()
        .map(|c| {
            let known = c.id.as_str();
            (
                if known.contains(id) && !id.is_empty() {
                    100
                } else {
                    common(id, known)
                },
                known,
            )
        })
        .filter(|(score, _)| *score >= 3)
        .max_by_key(|(score, _)| *score)
        .map(|(_, id)| id)
}
