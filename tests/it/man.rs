//! `kubectl spice man`: generated from the same clap definitions that parse
//! the command line, so it names every subcommand and every flag.

use crate::support::spice::{BIN, run_bin};
use clap::CommandFactory;

fn man_page() -> String {
    let home = tempfile::tempdir().expect("tempdir");
    let run = run_bin(BIN, &["man"], &[], home.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(".TH KUBECTL-SPICE 1"), "not a man page");
    // roff escapes dashes; the reader sees them plain.
    run.stdout.replace("\\-", "-")
}

/// Every visible subcommand path and its visible flags.
fn walk(cmd: &clap::Command, path: &str, out: &mut Vec<(String, Vec<String>)>) {
    let flags = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .flat_map(|a| {
            let mut f = Vec::new();
            if let Some(l) = a.get_long() {
                f.push(format!("--{l}"));
            }
            if let Some(s) = a.get_short() {
                f.push(format!("-{s}"));
            }
            f
        })
        .collect();
    out.push((path.to_string(), flags));
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        walk(sub, &format!("{path} {}", sub.get_name()), out);
    }
}

#[test]
fn man_page_documents_every_subcommand_and_flag() {
    let page = man_page();
    let mut cmd = kubectl_spice::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut all = Vec::new();
    walk(&cmd, "kubectl spice", &mut all);
    assert!(all.len() > 10, "{all:?}");
    for (path, flags) in &all {
        assert!(page.contains(path.as_str()), "man page lacks {path}");
        for flag in flags {
            assert!(
                page.contains(&format!("\\fB{flag}\\fR")),
                "man page lacks {flag} of {path}"
            );
        }
    }
    for sub in ["alerts", "dashboard", "completion", "man", "version"] {
        assert!(
            page.contains(&format!(".SH \"KUBECTL SPICE {}\"", sub.to_uppercase())),
            "no section for {sub}"
        );
    }
}

#[test]
fn man_page_says_explain_runbook_and_its_entry() {
    let page = man_page();
    assert!(page.contains("explain runbook"), "no explain runbook");
    assert!(page.contains("ENTRY"), "no ENTRY argument");
}
