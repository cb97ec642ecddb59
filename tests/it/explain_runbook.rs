//! `kubectl spice explain runbook`: the runbook's own mistakes, listed at 80
//! columns, one shown by number or name, and each corrected query the very
//! one the binary sends to Prometheus.

use crate::support::spice::{BIN, Cluster, Run, run_bin};

fn explain(args: &[&str]) -> Run {
    let home = tempfile::tempdir().expect("tempdir");
    let mut all = vec!["explain", "runbook"];
    all.extend_from_slice(args);
    run_bin(BIN, &all, &[], home.path())
}

/// The lines of the "The plugin runs instead" block of one entry.
fn corrected(text: &str) -> Vec<String> {
    text.lines()
        .skip_while(|l| *l != "The plugin runs instead")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .map(|l| l.strip_prefix("  ").expect("indented by two").to_string())
        .collect()
}

#[test]
fn explain_runbook_lists_every_flaw_at_80_columns_and_shows_one_by_number_or_name() {
    let list = explain(&[]);
    assert_eq!(list.code, 0, "{}", list.stderr);
    for line in list.stdout.lines() {
        assert!(line.chars().count() <= 80, "wider than 80: {line}");
    }
    for slug in [
        "printer-columns",
        "wc-header",
        "idle-floor",
        "count-not-sum",
        "pod-regex",
        "terminating",
        "status-200",
        "no-service",
        "alloy-grep",
        "querying-prometheus",
        "keda-not-responding",
        "tolerance",
    ] {
        assert!(list.stdout.contains(&format!(" {slug} · ")), "{slug}");
    }
    let by_name = explain(&["wc-header"]);
    assert_eq!(by_name.code, 0, "{}", by_name.stderr);
    let number = by_name
        .stdout
        .split('.')
        .next()
        .expect("a number first")
        .to_string();
    let by_number = explain(&[&number]);
    assert_eq!(by_number.stdout, by_name.stdout);
    assert!(
        by_name
            .stdout
            .contains("kubectl get pods -l app=spice-runner -n default | wc -l"),
        "{}",
        by_name.stdout
    );
    assert!(
        by_name.stdout.contains("--no-headers"),
        "{}",
        by_name.stdout
    );
    assert!(by_name.stdout.contains("header line"), "{}", by_name.stdout);

    let unknown = explain(&["no-such-flaw"]);
    assert_eq!(unknown.code, 2);
    assert!(unknown.stdout.is_empty());
    assert!(
        unknown.stderr.contains("kubectl spice explain runbook"),
        "{}",
        unknown.stderr
    );
    assert_eq!(unknown.stderr.lines().count(), 2, "{}", unknown.stderr);
}

#[test]
fn each_corrected_query_explain_runbook_shows_is_one_diagnose_sends() {
    let c = Cluster::start("healthy");
    c.sim.reset_requests();
    let run = c.spice(&["diagnose"]);
    assert!(
        run.code == 0 || run.code == 1 || run.code == 3,
        "{}",
        run.stderr
    );
    let sent: Vec<String> = c
        .sim
        .requests()
        .iter()
        .filter(|r| r.contains("/proxy/api/v1/query?"))
        .filter_map(|r| {
            let query = r.split_once('?')?.1;
            url::form_urlencoded::parse(query.as_bytes())
                .find(|(k, _)| k == "query")
                .map(|(_, v)| v.into_owned())
        })
        .collect();
    assert!(sent.len() >= 6, "{sent:#?}");
    for slug in [
        "idle-floor",
        "count-not-sum",
        "terminating",
        "pending-pods",
        "ratio-alert",
        "keda-not-responding",
    ] {
        let one = explain(&[slug]);
        assert_eq!(one.code, 0, "{}", one.stderr);
        let lines = corrected(&one.stdout);
        assert!(!lines.is_empty(), "{slug}: {}", one.stdout);
        // One query per line, or one multi-line query (an alert's).
        let whole = lines.join("\n");
        assert!(
            lines.iter().all(|q| sent.contains(q)) || sent.contains(&whole),
            "{slug}: diagnose never sent\n{whole}\nit sent:\n{sent:#?}"
        );
    }
}
