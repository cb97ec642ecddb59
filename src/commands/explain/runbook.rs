//! `kubectl spice explain runbook [N|NAME]`: the runbook's own mistakes,
//! listed, or one with the corrected command. Prose is wrapped at 80
//! columns; commands and queries are printed whole, to be copied.

use crate::checks::runbook::{Flaw, find, flaws};
use crate::error::Fatal;
use crate::exit::ExitStatus;
use crate::settings::Settings;
use std::io::Write;

const WIDTH: usize = 80;

pub fn run(entry: Option<&str>, out: &mut dyn Write) -> Result<ExitStatus, Fatal> {
    // The runbook's own names: the corrected forms are shown for them.
    let settings = Settings::defaults();
    let Some(key) = entry else {
        out.write_all(list(&flaws(&settings)).as_bytes())?;
        return Ok(ExitStatus::Ok);
    };
    let Some((n, flaw)) = find(&settings, key) else {
        let count = flaws(&settings).len();
        return Err(Fatal::new(
            format!(
                "the runbook has no mistake {:?} listed",
                key.chars().take(60).collect::<String>()
            ),
            format!(
                "give a number from 1 to {count} or a name; `kubectl spice explain runbook` lists them"
            ),
        ));
    };
    out.write_all(one(n, &flaw).as_bytes())?;
    Ok(ExitStatus::Ok)
}

/// Every flaw: number, name, runbook section, and the first sentence of
/// what is wrong.
pub fn list(all: &[Flaw]) -> String {
    let mut text = String::from(
        "What the runbook gets wrong, and the plugin does differently\n(kubectl spice explain runbook N shows one with the corrected command)\n\n",
    );
    for (i, f) in all.iter().enumerate() {
        text.push_str(&format!("{:>2}. {} · {}\n", i + 1, f.slug, f.section));
        text.push_str(&wrap(first_sentence(f.wrong), 4));
    }
    text
}

/// One flaw in full.
pub fn one(n: usize, f: &Flaw) -> String {
    let mut text = format!("{n}. {} · {}\n\n", f.slug, f.section);
    text.push_str("The runbook has\n");
    text.push_str(&indent(f.runbook));
    text.push_str("\nWhat is wrong\n");
    text.push_str(&wrap(f.wrong, 2));
    text.push_str("\nThe plugin runs instead\n");
    for c in &f.corrected {
        text.push_str(&indent(c));
    }
    text.push_str("\nWhere\n");
    text.push_str(&wrap(f.plugin, 2));
    text
}

fn first_sentence(text: &str) -> &str {
    match text.find(". ") {
        Some(at) => &text[..=at],
        None => text,
    }
}

/// A command or query, each line indented by two, never wrapped.
fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// Words wrapped to `WIDTH` columns after `margin` spaces.
fn wrap(text: &str, margin: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if len > 0 && margin + len + 1 + word.chars().count() > WIDTH {
            out.push_str(&format!("{:margin$}{line}\n", ""));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push_str(&format!("{:margin$}{line}\n", ""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_fits_80_columns_and_commands_are_whole() {
        let all = flaws(&Settings::defaults());
        for line in list(&all).lines() {
            assert!(line.chars().count() <= WIDTH, "{line}");
        }
        for (i, f) in all.iter().enumerate() {
            let text = one(i + 1, f);
            for c in &f.corrected {
                for l in c.lines() {
                    assert!(text.contains(&format!("  {l}\n")), "{}: {l}", f.slug);
                }
            }
            let wrong = wrap(f.wrong, 2);
            assert!(wrong.lines().all(|l| l.chars().count() <= WIDTH), "{wrong}");
        }
    }

    #[test]
    fn wrap_keeps_every_word_in_order() {
        let text = "a b ".repeat(60);
        let wrapped = wrap(&text, 4);
        assert_eq!(
            wrapped.split_whitespace().collect::<Vec<_>>(),
            text.split_whitespace().collect::<Vec<_>>()
        );
        assert!(wrapped.lines().all(|l| l.len() <= WIDTH));
    }
}
