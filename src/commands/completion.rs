//! Shell completion, in two ways that share clap_complete's engine:
//!
//! - `kubectl spice completion bash|zsh|fish|powershell` prints a script for
//!   the `kubectl-spice` command. The script calls the binary back on each
//!   <TAB> (with `_KUBECTL_SPICE_COMPLETE` set), so candidates can come from
//!   the kubeconfig (contexts, namespaces) and the check registry.
//! - kubectl 1.26+ completes `kubectl spice ...` by running
//!   `kubectl_complete-spice ARGS... WORD` from `PATH` and reading one
//!   candidate per line, then an optional `:<directive>` line (Cobra's
//!   protocol). Krew cannot install that file, so the README shows a two-line
//!   shim that runs `kubectl-spice __complete "$@"`, answered here.
//!
//! Both are intercepted in `main` before clap parses the command line.

use crate::cli::Shell;
use crate::error::Fatal;
use crate::exit::ExitStatus;
use clap::CommandFactory;
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::{Bash, EnvCompleter, Fish, Powershell, Zsh};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;

/// The environment variable the shell scripts set when they call back.
pub const ENV_VAR: &str = "_KUBECTL_SPICE_COMPLETE";
/// The program the shell scripts complete (and call back).
pub const BIN: &str = "kubectl-spice";
/// The hidden first argument kubectl's completion shim passes.
pub const KUBECTL_HOOK: &str = "__complete";

/// Cobra's `ShellCompDirectiveNoSpace`: do not add a space after the word.
const NO_SPACE: u32 = 2;
/// Cobra's `ShellCompDirectiveNoFileComp`: do not fall back to file names.
const NO_FILE_COMP: u32 = 4;

/// The command definition completion works on, named like the binary the
/// scripts register for (the bash function name is derived from it).
fn command() -> clap::Command {
    crate::cli::Cli::command().name(BIN).bin_name(BIN)
}

/// Handles a completion request, if this run is one; returns the exit code.
pub fn intercept() -> Option<i32> {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == KUBECTL_HOOK) {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        return Some(match kubectl_complete(&args[2..], &mut out) {
            Ok(()) => 0,
            Err(_) => 1,
        });
    }
    std::env::var_os(ENV_VAR)?;
    let cwd = std::env::current_dir().ok();
    let done = clap_complete::env::CompleteEnv::with_factory(command)
        .var(ENV_VAR)
        .bin(BIN)
        .completer(BIN)
        .try_complete(args, cwd.as_deref());
    match done {
        Ok(true) => Some(0),
        Ok(false) => None,
        Err(e) => {
            let _ = e.print();
            Some(ExitStatus::CouldNotRun.code())
        }
    }
}

/// Answers kubectl: `words` are the plugin's arguments, the last one the word
/// being completed (empty for a new word). Never fails on odd input: no
/// candidates is a valid answer.
pub fn kubectl_complete(words: &[OsString], out: &mut dyn Write) -> std::io::Result<()> {
    let mut args = vec![OsString::from(BIN)];
    args.extend(words.iter().cloned());
    if words.is_empty() {
        args.push(OsString::new());
    }
    let index = args.len() - 1;
    let cwd = std::env::current_dir().ok();
    let candidates = clap_complete::engine::complete(&mut command(), args, index, cwd.as_deref())
        .unwrap_or_default();
    // Like Cobra, offer flags only once the word starts with `-`, unless
    // nothing else fits.
    let typing_flag = words
        .last()
        .is_some_and(|w| w.to_string_lossy().starts_with('-'));
    let is_flag = |c: &CompletionCandidate| c.get_value().to_string_lossy().starts_with('-');
    let others = candidates.iter().any(|c| !is_flag(c));
    let mut directive = NO_FILE_COMP;
    for c in candidates
        .iter()
        .filter(|c| !c.is_hide_set() && (typing_flag || !others || !is_flag(c)))
    {
        let value = c.get_value().to_string_lossy();
        if value.ends_with('/') || value.ends_with('=') {
            directive |= NO_SPACE;
        }
        let value = one_line(&value);
        match c.get_help().map(|h| one_line(&h.to_string())) {
            Some(help) if !help.is_empty() => writeln!(out, "{value}\t{help}")?,
            _ => writeln!(out, "{value}")?,
        }
    }
    writeln!(out, ":{directive}")
}

/// The first line of a text, without tabs (they separate value and help).
fn one_line(text: &str) -> String {
    text.lines()
        .next()
        .unwrap_or_default()
        .replace('\t', " ")
        .trim()
        .to_string()
}

/// `kubectl spice completion SHELL`: the registration script for that shell.
pub fn run(shell: Shell, out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    let completer: &dyn EnvCompleter = match shell {
        Shell::Bash => &Bash,
        Shell::Zsh => &Zsh,
        Shell::Fish => &Fish,
        Shell::Powershell => &Powershell,
    };
    completer.write_registration(ENV_VAR, BIN, BIN, BIN, out)?;
    Ok(ExitStatus::Ok)
}

// ---------------------------------------------------------------------------
// Candidates
// ---------------------------------------------------------------------------

/// Every check id, with its title as the help, and `runbook` (`explain runbook`).
pub fn check_ids() -> Vec<CompletionCandidate> {
    crate::checks::registry()
        .into_iter()
        .map(|c| CompletionCandidate::new(c.id.as_str()).help(Some(c.title.into())))
        .chain(std::iter::once(
            CompletionCandidate::new("runbook").help(Some("the runbook's own mistakes".into())),
        ))
        .collect()
}

/// The names of the runbook's mistakes (`explain runbook NAME`), with the
/// runbook section as the help.
pub fn runbook_flaws() -> Vec<CompletionCandidate> {
    crate::checks::runbook::flaws(&crate::settings::Settings::defaults())
        .into_iter()
        .map(|f| CompletionCandidate::new(f.slug).help(Some(f.section.into())))
        .collect()
}

/// Check ids and area globs (`keda.*`), for `--only` and `--skip`.
pub fn check_selectors() -> Vec<CompletionCandidate> {
    let areas: BTreeSet<&str> = crate::checks::registry()
        .into_iter()
        .filter_map(|c| c.id.as_str().split_once('.').map(|(area, _)| area))
        .collect();
    let mut out: Vec<CompletionCandidate> = areas
        .into_iter()
        .map(|a| {
            CompletionCandidate::new(format!("{a}.*")).help(Some("every check of the area".into()))
        })
        .collect();
    out.extend(check_ids());
    out
}

/// The kubeconfig files kubectl would read: `KUBECONFIG`'s list, else
/// `~/.kube/config`. (A `--kubeconfig` earlier on the line is not visible to a
/// value completer.)
fn kubeconfig_files() -> Vec<PathBuf> {
    match std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        Some(list) => std::env::split_paths(&list).collect(),
        None => crate::settings::home_dir()
            .map(|h| vec![h.join(".kube").join("config")])
            .unwrap_or_default(),
    }
}

/// The readable kubeconfigs; an unreadable or broken file is skipped, since
/// completion must never fail or print errors into the shell.
fn kubeconfigs() -> Vec<kube::config::Kubeconfig> {
    kubeconfig_files()
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| crate::cluster::kubeconfig::read(&p).ok())
        .collect()
}

/// Names from a kubeconfig are untrusted text: the shell shows candidates
/// in the terminal, so they are neutralised like everything else printed.
fn candidates(names: BTreeSet<String>) -> Vec<CompletionCandidate> {
    names
        .into_iter()
        .map(|n| CompletionCandidate::new(crate::report::text::neutralise(&n).into_owned()))
        .collect()
}

/// Context names from the kubeconfig.
pub fn contexts() -> Vec<CompletionCandidate> {
    candidates(
        kubeconfigs()
            .iter()
            .flat_map(|kc| kc.contexts.iter().map(|c| c.name.clone()))
            .collect(),
    )
}

/// Cluster names from the kubeconfig.
pub fn clusters() -> Vec<CompletionCandidate> {
    candidates(
        kubeconfigs()
            .iter()
            .flat_map(|kc| kc.clusters.iter().map(|c| c.name.clone()))
            .collect(),
    )
}

/// User names from the kubeconfig.
pub fn users() -> Vec<CompletionCandidate> {
    candidates(
        kubeconfigs()
            .iter()
            .flat_map(|kc| kc.auth_infos.iter().map(|u| u.name.clone()))
            .collect(),
    )
}

/// Namespaces the kubeconfig's contexts name, plus `default`. (Listing the
/// cluster's namespaces would need a request on every <TAB>.)
pub fn namespaces() -> Vec<CompletionCandidate> {
    let mut names: BTreeSet<String> = kubeconfigs()
        .iter()
        .flat_map(|kc| {
            kc.contexts
                .iter()
                .filter_map(|c| c.context.as_ref().and_then(|c| c.namespace.clone()))
        })
        .filter(|n| !n.is_empty())
        .collect();
    names.insert("default".into());
    candidates(names)
}
