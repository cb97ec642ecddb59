//! `kubectl spice man`: a roff man page generated from the same clap
//! definitions that parse the command line, so the flags it documents are the
//! flags the binary takes. `kubectl spice man | man -l -` reads it;
//! `kubectl spice man > kubectl-spice.1` installs it.

use crate::error::Fatal;
use crate::exit::ExitStatus;
use clap::CommandFactory;
use clap_mangen::Man;
use std::io::Write;

pub fn run(out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    out.write_all(&render()?)?;
    Ok(ExitStatus::Ok)
}

/// The whole page: clap_mangen's sections for the top-level command (global
/// flags), a list of the subcommands, then one section per subcommand with
/// its synopsis and its own flags, then exit codes and version.
pub fn render() -> std::io::Result<Vec<u8>> {
    // `help` is clap's own subcommand, not one to document.
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let man = Man::new(cmd.clone())
        .title("KUBECTL-SPICE")
        .section("1")
        .source(format!("kubectl-spice {}", env!("CARGO_PKG_VERSION")))
        .manual("kubectl plugins");
    let mut page = Vec::new();
    man.render_title(&mut page)?;
    man.render_name_section(&mut page)?;
    man.render_synopsis_section(&mut page)?;
    man.render_description_section(&mut page)?;
    man.render_options_section(&mut page)?;
    let mut subcommands = Vec::new();
    collect_subcommands(&cmd, &mut subcommands);
    // clap_mangen would point at one page per subcommand; here they are
    // sections of this page.
    writeln!(page, ".SH SUBCOMMANDS")?;
    for sub in &subcommands {
        writeln!(page, ".TP")?;
        writeln!(page, "\\fB{}\\fR", roff_text(&bin_name(sub)))?;
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        writeln!(page, "{}", roff_text(&about))?;
    }
    for sub in &subcommands {
        write_subcommand(sub, &mut page)?;
    }
    man.render_extra_section(&mut page)?;
    man.render_version_section(&mut page)?;
    Ok(tidy(&page))
}

/// Every rendered piece repeats clap_mangen's preamble (the `Aq` string
/// definition); keep the first. And name the after-help section for what it
/// holds.
fn tidy(page: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(page);
    let mut out = String::with_capacity(text.len());
    let mut seen_preamble = false;
    for line in text.lines() {
        let preamble = line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq");
        if preamble && seen_preamble && line.starts_with(".ie") {
            continue;
        }
        if preamble && line.starts_with(".el") {
            if seen_preamble {
                continue;
            }
            seen_preamble = true;
        }
        out.push_str(if line == ".SH EXTRA" {
            ".SH NOTES"
        } else {
            line
        });
        out.push('\n');
    }
    out.into_bytes()
}

fn bin_name(sub: &clap::Command) -> String {
    sub.get_bin_name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("kubectl spice {}", sub.get_name()))
}

/// Plain text as one roff text line: backslashes and dashes escaped, and a
/// leading `.` or `'` kept from being read as a request.
fn roff_text(text: &str) -> String {
    let one_line = text.lines().collect::<Vec<_>>().join(" ");
    let escaped = one_line.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else {
        escaped
    }
}

/// Every visible subcommand, depth first (`config`, then `config view`).
fn collect_subcommands(cmd: &clap::Command, into: &mut Vec<clap::Command>) {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        if sub.get_name() == "help" {
            continue;
        }
        into.push(sub.clone());
        collect_subcommands(sub, into);
    }
}

/// One subcommand as a `.SH` section: clap_mangen's synopsis, description
/// and options for it, demoted to `.SS` sub-sections. Global flags are listed
/// once, in the top-level OPTIONS, not again under every subcommand.
fn write_subcommand(sub: &clap::Command, page: &mut Vec<u8>) -> std::io::Result<()> {
    let name = bin_name(sub);
    let own = sub
        .clone()
        .mut_args(|a| if a.is_global_set() { a.hide(true) } else { a })
        .disable_version_flag(true);
    let man = Man::new(own);
    let mut body = Vec::new();
    man.render_synopsis_section(&mut body)?;
    man.render_description_section(&mut body)?;
    if sub
        .get_arguments()
        .any(|a| !a.is_global_set() && !a.is_hide_set())
    {
        man.render_options_section(&mut body)?;
    }
    if sub.has_subcommands() {
        man.render_subcommands_section(&mut body)?;
    }
    writeln!(page, ".SH \"{}\"", name.to_uppercase())?;
    let body = String::from_utf8_lossy(&body);
    for line in body.lines() {
        match line.strip_prefix(".SH ") {
            Some(rest) => writeln!(page, ".SS {rest}")?,
            None => writeln!(page, "{line}")?,
        }
    }
    Ok(())
}
