//! `kubectl spice diagnose`: collect once, run the checks, render, exit 1 on failure.

use crate::checks::{self, Outcome, Selection, Symptom};
use crate::cli::{self, DiagnoseArgs, FailOn, GlobalArgs, ReportFormat};
use crate::cluster::collect::Scope;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::report::diagnose::{DiagnoseReport, render_junit, render_markdown, render_table};
use crate::report::{Styles, write_data};
use std::io::{IsTerminal, Write};

pub async fn run(
    global: &GlobalArgs,
    args: &DiagnoseArgs,
    out: &mut dyn Write,
) -> Result<ExitStatus, Fatal> {
    for pattern in args.only.iter().chain(args.skip.iter()) {
        if !checks::registry()
            .iter()
            .any(|c| checks::glob_match(pattern, c.id.as_str()))
        {
            return Err(Fatal::new(
                format!("--only/--skip: {pattern:?} matches no check"),
                "list the checks with `kubectl spice explain --list`",
            ));
        }
    }
    let (mut snapshot, settings) = match (&args.from, &args.example) {
        (Some(path), _) => super::status::load_snapshot(global, path)?,
        (None, Some(name)) => super::snapshot::load_example(global, name)?,
        (None, None) => super::collect(global, Scope::Full).await?,
    };
    // "Scaling too fast" is judged on the last 30 minutes of history
    // (sessions.flapping), read only when that symptom is asked about.
    if args.symptom == Some(cli::Symptom::TooFast) && args.from.is_none() && args.example.is_none()
    {
        let history =
            super::report::running_pods_30m(global, &settings, snapshot.captured_at).await;
        snapshot
            .prometheus
            .insert(crate::domain::promql::RUNNING_PODS_30M.into(), history);
    }
    let selection = Selection {
        only: args.only.clone(),
        skip: args.skip.clone(),
        silenced: settings.silence.clone(),
        chain: args.symptom.map(|s| checks::symptom_chain(symptom(s))),
    };
    let findings = checks::run(&snapshot, &settings, &selection);
    let mut report = DiagnoseReport::build(&snapshot, findings, args.symptom.map(|s| s.name()));
    let replayed = args
        .from
        .clone()
        .or_else(|| args.example.as_ref().map(|e| format!("example {e}").into()));
    report.replay = replayed.as_deref().map(|path| {
        crate::report::replay::Replay::of(path, snapshot.captured_at, super::replay_now())
    });
    let warn_fails = args.fail_on == FailOn::Warn;
    match args.output {
        ReportFormat::Json => write_data(out, &report, crate::cli::Output::Json)?,
        ReportFormat::Yaml => write_data(out, &report, crate::cli::Output::Yaml)?,
        ReportFormat::Junit => render_junit(out, &report, warn_fails)?,
        ReportFormat::Markdown => render_markdown(out, &report, settings.workload_name())?,
        ReportFormat::Table | ReportFormat::Wide => {
            let styles = Styles::decide(
                settings.color,
                &crate::process_env,
                std::io::stdout().is_terminal(),
            );
            render_table(
                out,
                &report,
                settings.workload_name(),
                &styles,
                args.output == ReportFormat::Wide,
            )?;
        }
    }
    out.flush()?;
    let failed = report.summary.fail > 0 || (warn_fails && report.summary.outcome == Outcome::Warn);
    if report.summary.incomplete && !matches!(args.output, ReportFormat::Table | ReportFormat::Wide)
    {
        // A machine format on stdout still tells a person why the gate did not pass.
        eprintln_safe(&format!(
            "{} (exit 3 unless a check failed): {}",
            report.incomplete_line().unwrap_or_default(),
            report
                .summary
                .unread_sources
                .iter()
                .map(|u| format!("{} ({})", u.source, u.reason))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Ok(ExitStatus::verdict(failed, report.summary.incomplete))
}

/// One line on stderr, neutralised (source names come from the cluster's
/// answers), and never a panic when stderr is gone.
fn eprintln_safe(line: &str) {
    let mut err = crate::report::text::SafeWriter::new(std::io::stderr().lock());
    let _ = writeln!(err, "{line}");
}

/// The flag's value as the checks' symptom: the checks do not import `cli`.
fn symptom(s: cli::Symptom) -> Symptom {
    match s {
        cli::Symptom::NoScaleUp => Symptom::NoScaleUp,
        cli::Symptom::NoScaleDown => Symptom::NoScaleDown,
        cli::Symptom::TooFast => Symptom::TooFast,
        cli::Symptom::TooSlow => Symptom::TooSlow,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_symptom_flag_maps_to_the_symptom_of_the_same_name() {
        for s in [
            cli::Symptom::NoScaleUp,
            cli::Symptom::NoScaleDown,
            cli::Symptom::TooFast,
            cli::Symptom::TooSlow,
        ] {
            assert_eq!(symptom(s).as_str(), s.name());
        }
    }
}
