//! Reports (plain, serializable data built from a Snapshot) and their
//! renderers. Renderers write to the writer they are handed and take colour
//! from a `Styles` value decided once at the edge; they never look at the
//! terminal themselves.

pub mod alerts;
pub mod dashboard;
pub mod diagnose;
pub mod evidence;
pub mod replay;
pub mod round;
pub mod sources;
pub mod status;
pub mod text;

#[cfg(test)]
mod props;

/// `-o` of `status` and `config view`: the human table, its wide form, or data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    Table,
    Wide,
    Json,
    Yaml,
}

/// `--color`: decided once into [`Styles`]; the `color` setting's type.
pub use crate::settings::ColorChoice;
use serde::Serialize;
use std::io::Write;

/// Colour, decided once: `--color`, then `NO_COLOR`, `TERM=dumb` and whether
/// stdout is a terminal. Styled strings carry colour markers, not escape
/// sequences: only `text::SafeWriter` (stdout) or `text::render` turn them
/// into SGR, so styled text must reach the terminal through one of them.
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub color: bool,
}

impl Styles {
    pub fn decide(
        choice: ColorChoice,
        env: &dyn Fn(&str) -> Option<String>,
        stdout_is_tty: bool,
    ) -> Styles {
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                env("NO_COLOR").is_none_or(|v| v.is_empty())
                    && env("TERM").as_deref() != Some("dumb")
                    && stdout_is_tty
            }
        };
        Styles { color }
    }

    pub fn plain() -> Styles {
        Styles { color: false }
    }

    /// `s` between the colour markers of `on` and `off` (SGR parameters),
    /// which only `text::SafeWriter` turns into escape sequences.
    fn paint(&self, on: &str, s: &str, off: &str) -> String {
        if self.color {
            format!("{}{s}{}", text::sgr_marker(on), text::sgr_marker(off))
        } else {
            s.to_string()
        }
    }

    pub fn good(&self, s: &str) -> String {
        self.paint("32", s, "39")
    }
    pub fn warn(&self, s: &str) -> String {
        self.paint("33", s, "39")
    }
    pub fn bad(&self, s: &str) -> String {
        self.paint("1;31", s, "22;39")
    }
    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s, "22")
    }
    pub fn bold(&self, s: &str) -> String {
        self.paint("1", s, "22")
    }
}

/// Writes any report as JSON or YAML (never coloured).
pub fn write_data<T: Serialize>(
    out: &mut dyn Write,
    value: &T,
    format: Output,
) -> std::io::Result<()> {
    match format {
        Output::Yaml => {
            let text = serde_norway::to_string(value).map_err(std::io::Error::other)?;
            out.write_all(text.as_bytes())
        }
        _ => {
            serde_json::to_writer_pretty(&mut *out, value).map_err(std::io::Error::from)?;
            out.write_all(b"\n")
        }
    }
}

/// A table the way kubectl prints one: no borders, three spaces between
/// columns, no trailing blanks.
pub fn plain_table(builder: tabled::builder::Builder) -> String {
    let mut t = builder.build();
    t.with(tabled::settings::Style::blank());
    t.with(tabled::settings::Padding::new(0, 3, 0, 0));
    t.to_string()
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Numbers and durations as a person reads them (moved to the domain layer;
/// these paths stay).
pub use crate::domain::quantity::{human_duration, num};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_duration(45), "45s");
        assert_eq!(human_duration(192), "3m12s");
        assert_eq!(human_duration(900), "15m");
        assert_eq!(human_duration(7500), "2h5m");
        assert_eq!(human_duration(3 * 86_400 + 7200), "3d2h");
    }

    #[test]
    fn colour_is_off_for_pipes_no_color_and_dumb_terminals() {
        let none = |_: &str| None;
        assert!(!Styles::decide(ColorChoice::Auto, &none, false).color);
        assert!(Styles::decide(ColorChoice::Auto, &none, true).color);
        let no_color = |k: &str| (k == "NO_COLOR").then(|| "1".to_string());
        assert!(!Styles::decide(ColorChoice::Auto, &no_color, true).color);
        let dumb = |k: &str| (k == "TERM").then(|| "dumb".to_string());
        assert!(!Styles::decide(ColorChoice::Auto, &dumb, true).color);
        assert!(Styles::decide(ColorChoice::Always, &dumb, false).color);
        assert!(!Styles::decide(ColorChoice::Never, &none, true).color);
    }

    #[test]
    fn numbers_drop_noise() {
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.5), "2.5");
        assert_eq!(num(1.0 / 3.0), "0.33");
    }
}
