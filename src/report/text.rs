//! Untrusted text made harmless at the one place text is written.
//!
//! Pod names, Event messages, condition messages, log lines and server errors
//! are written by whoever can create a pod or an Event, and the plugin prints
//! them in the terminal of an engineer holding cluster-admin credentials. A
//! raw ESC, C1 control or bidi override there can clear the screen, retitle
//! the window, write the clipboard (OSC 52), forge a link (OSC 8) or make a
//! failing line read as passing.
//!
//! The design makes forgetting impossible rather than asking every renderer
//! to remember:
//!
//! - `SafeWriter` wraps the process's stdout once, in `crate::run`, before any
//!   command sees it. Every byte any command writes to stdout, in every
//!   format, passes through `neutralise`: each character of [`is_unsafe`]
//!   becomes the visible, six-character escape `\uXXXX`. Nothing is dropped.
//!   The escape is the JSON spelling of the same character, so JSON output
//!   (where such characters only occur inside strings) still parses to the
//!   same data, and it is plain, valid text in XML and Markdown.
//! - The plugin's own colour cannot be forged by the text it prints. `Styles`
//!   never writes ESC: it writes a *marker* (U+FDD0, a per-process random key,
//!   the SGR parameters, U+FDD1), and only `SafeWriter` turns a marker bearing
//!   the right key into the style's escape sequence, written by `owo-colors`. The key is drawn when the process
//!   starts and never printed, so a string from the cluster cannot carry a
//!   valid marker; any other U+FDD0/U+FDD1 is escaped like a control. So with
//!   `--color always` the only ESC bytes on stdout are the plugin's own SGR.
//! - Lines on stderr (`error:`, `warning:`) go through [`neutralise`] too
//!   (see `crate::error::Fatal::print` and [`warn`]); the full-screen `watch` view,
//!   which draws through ratatui rather than stdout, neutralises each string
//!   before it becomes a widget (`crate::watch::render`).

use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::OnceLock;

/// Starts a colour marker; see the module docs.
const MARK_OPEN: char = '\u{FDD0}';
/// Ends a colour marker.
const MARK_CLOSE: char = '\u{FDD1}';
/// The longest SGR parameter list the plugin emits ("1;31" is four).
const MAX_PARAMS: usize = 8;

/// True for a character that must never reach a terminal raw: C0 controls
/// other than newline and tab, DEL, C1 controls (U+0080–U+009F, which some
/// terminals read as ESC sequences), bidi marks, embeddings, overrides and
/// isolates (which reorder what is shown), the Unicode line and paragraph
/// separators, the marker characters, and U+FFFE/U+FFFF (which XML forbids).
pub fn is_unsafe(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{8}'
        | '\u{b}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{61c}'
        | '\u{200e}' | '\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}'
        | MARK_OPEN | MARK_CLOSE
        | '\u{fffe}' | '\u{ffff}')
}

/// `text` with every unsafe character shown as `\uXXXX` (every such
/// character is in the Basic Multilingual Plane, so four digits suffice).
/// Borrows when there is nothing to change, as almost always.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        push_char(&mut out, c);
    }
    Cow::Owned(out)
}

fn push_char(out: &mut String, c: char) {
    if is_unsafe(c) {
        out.push_str(&format!("\\u{:04x}", c as u32));
    } else {
        out.push(c);
    }
}

pub use crate::domain::text::one_line;

/// Prints `warning: MESSAGE` on stderr, neutralised, on one line (never a
/// panic when stderr is closed, as `eprintln!` would).
pub fn warn(message: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "warning: {}",
        neutralise(&message.replace('\n', " "))
    );
}

/// The per-process key that proves a colour marker came from `Styles`.
fn key() -> &'static str {
    static KEY: OnceLock<String> = OnceLock::new();
    KEY.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        // `RandomState` is seeded from the operating system's randomness;
        // the time and process id only add to it.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        h.write_u32(std::process::id());
        format!("{:016x}", h.finish())
    })
}

/// The marker `SafeWriter` turns into the style's escape sequence (see `sgr`). Only `Styles` calls it.
pub(crate) fn sgr_marker(params: &str) -> String {
    debug_assert!(
        params.len() <= MAX_PARAMS && params.bytes().all(|b| b.is_ascii_digit() || b == b';')
    );
    format!("{MARK_OPEN}{}{params}{MARK_CLOSE}", key())
}

/// Writes everything through [`neutralise`], turning the plugin's own colour
/// markers into SGR sequences. Text is processed a line at a time (a
/// character or marker never straddles a newline) and on `flush`.
pub struct SafeWriter<W: Write> {
    inner: W,
    pending: Vec<u8>,
}

impl<W: Write> SafeWriter<W> {
    pub fn new(inner: W) -> SafeWriter<W> {
        SafeWriter {
            inner,
            pending: Vec::new(),
        }
    }

    /// Writes out the pending bytes up to `end`.
    fn emit(&mut self, end: usize) -> io::Result<()> {
        let chunk: Vec<u8> = self.pending.drain(..end).collect();
        let text = String::from_utf8_lossy(&chunk);
        self.inner.write_all(render(&text).as_bytes())
    }
}

/// `text` neutralised, with valid colour markers turned into SGR.
pub fn render(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_unsafe) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == MARK_OPEN
            && let Some((params, after)) = parse_marker(&rest[c.len_utf8()..])
        {
            out.push_str(&sgr(params));
            rest = after;
            continue;
        }
        push_char(&mut out, c);
        rest = &rest[c.len_utf8()..];
    }
    Cow::Owned(out)
}

/// The escape sequence of a marker, rendered by `owo-colors`: a style's
/// opening for the parameters `Styles` opens with (`32` green, `33` yellow,
/// `1;31` bold red, `2` dim, `1` bold), its end for the others.
fn sgr(params: &str) -> String {
    use owo_colors::Style;
    struct Prefix(Style);
    impl std::fmt::Display for Prefix {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt_prefix(f)
        }
    }
    struct Suffix(Style);
    impl std::fmt::Display for Suffix {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            self.0.fmt_suffix(f)
        }
    }
    let open = match params {
        "32" => Some(Style::new().green()),
        "33" => Some(Style::new().yellow()),
        "1;31" => Some(Style::new().bold().red()),
        "2" => Some(Style::new().dimmed()),
        "1" => Some(Style::new().bold()),
        _ => None,
    };
    match open {
        Some(style) => Prefix(style).to_string(),
        // Any end: the style's end, as owo-colors writes it (a reset).
        None => Suffix(Style::new().bold()).to_string(),
    }
}

/// After a `MARK_OPEN`: the SGR parameters and the text after the marker,
/// when the key is right and the parameters are digits and semicolons.
fn parse_marker(s: &str) -> Option<(&str, &str)> {
    let body = s.strip_prefix(key())?;
    let end = body.find(MARK_CLOSE)?;
    let params = &body[..end];
    let valid = !params.is_empty()
        && params.len() <= MAX_PARAMS
        && params.bytes().all(|b| b.is_ascii_digit() || b == b';');
    valid.then(|| (params, &body[end + MARK_CLOSE.len_utf8()..]))
}

impl<W: Write> Write for SafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Only the new bytes are searched, so a long line written in many
        // small pieces (serde_json writes token by token) stays linear.
        let before = self.pending.len();
        self.pending.extend_from_slice(buf);
        if let Some(last) = buf.iter().rposition(|&b| b == b'\n') {
            self.emit(before + last + 1)?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.emit(self.pending.len())?;
        self.inner.flush()
    }
}

impl<W: Write> Drop for SafeWriter<W> {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; a closed pipe loses nothing
        // anyone could read.
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Styles;

    fn through_writer(text: &str) -> String {
        let mut out = Vec::new();
        {
            let mut w = SafeWriter::new(&mut out);
            // Odd chunk sizes: a write may end anywhere, even inside a character.
            for chunk in text.as_bytes().chunks(3) {
                w.write_all(chunk).unwrap();
            }
            w.flush().unwrap();
        }
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn controls_and_bidi_are_shown_never_dropped() {
        let hostile = "a\u{1b}[2J\u{7}b\rc\u{0}d\u{9b}31m\u{202e}e\u{2066}f\u{200f}\u{fffe}";
        assert_eq!(
            neutralise(hostile),
            "a\\u001b[2J\\u0007b\\u000dc\\u0000d\\u009b31m\\u202ee\\u2066f\\u200f\\ufffe"
        );
        assert_eq!(
            neutralise("line\n\tindented · ✓ ünïcode"),
            "line\n\tindented · ✓ ünïcode"
        );
        assert!(matches!(neutralise("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn the_plugins_own_colour_becomes_sgr_and_nothing_else_does() {
        let st = Styles { color: true };
        let line = format!("{} \u{1b}]52;c;ZXZpbA==\u{7}\n", st.good("ok"));
        let out = through_writer(&line);
        assert_eq!(out, "\u{1b}[32mok\u{1b}[0m \\u001b]52;c;ZXZpbA==\\u0007\n");
    }

    #[test]
    fn a_long_line_in_tiny_writes_is_written_once_and_whole() {
        let line = format!("{}\u{202e}\n", "x".repeat(200_000));
        let mut out = Vec::new();
        {
            let mut w = SafeWriter::new(&mut out);
            for b in line.as_bytes() {
                w.write_all(std::slice::from_ref(b)).unwrap();
            }
        }
        assert_eq!(
            out.len(),
            line.len() - '\u{202e}'.len_utf8() + "\\u202e".len()
        );
    }

    #[test]
    fn a_forged_marker_without_the_key_is_escaped() {
        let forged = format!("{MARK_OPEN}0000000000000000{}31{MARK_CLOSE}x\n", "");
        let out = through_writer(&forged);
        assert!(!out.contains('\u{1b}'), "{out:?}");
        assert!(out.starts_with("\\ufdd0"), "{out:?}");
    }

    #[test]
    fn json_stays_json_with_the_same_data() {
        let value = serde_json::json!({"m": "x\u{9b}\u{202e}\u{7f}\u{fffe}y"});
        let out = through_writer(&serde_json::to_string(&value).unwrap());
        assert!(!out.chars().any(is_unsafe), "{out:?}");
        let back: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn each_style_is_rendered_by_owo_colors() {
        use owo_colors::OwoColorize;
        let st = Styles { color: true };
        for (styled, owo) in [
            (st.good("ok"), format!("{}", "ok".green())),
            (st.warn("ok"), format!("{}", "ok".yellow())),
            (st.dim("ok"), format!("{}", "ok".dimmed())),
            (st.bold("ok"), format!("{}", "ok".bold())),
        ] {
            let shown = render(&styled).into_owned();
            let (open, _) = owo.split_once("ok").unwrap_or_default();
            assert!(
                shown.starts_with(open) && shown.contains("ok"),
                "{shown:?} vs {owo:?}"
            );
            assert!(shown.ends_with("\u{1b}[0m"), "{shown:?}");
        }
        assert!(
            render(&st.bad("x")).starts_with("\u{1b}[31;1m"),
            "{:?}",
            render(&st.bad("x"))
        );
    }
}
