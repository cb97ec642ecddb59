//! The one error printer at the edge: a single line with each distinct cause
//! once (kube-rs and hyper repeat causes), then a hint line. Never a debug dump.

use crate::exit::ExitStatus;
use std::error::Error as StdError;

/// How many characters of an untrusted text (an error body, a server's
/// message, a plugin's stderr) one error line quotes.
pub const QUOTE_CHARS: usize = 300;

/// Quotes an untrusted text on one line: whitespace runs (newlines too)
/// become one space, and past [`QUOTE_CHARS`] characters the rest is
/// counted, not printed: `... (… 20971520 bytes more)`. A 20 MB message
/// stays a short line. Control and bidi characters are left to the one
/// writer that shows them escaped (`crate::report::text`).
pub fn quote(text: &str) -> String {
    let text = text.trim();
    let mut out = String::new();
    let mut end = text.len();
    let mut space = false;
    for (n, (i, c)) in text.char_indices().enumerate() {
        if n == QUOTE_CHARS {
            end = i;
            break;
        }
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
            continue;
        }
        space = false;
        out.push(c);
    }
    if end < text.len() {
        out.push_str(&format!(" (… {} bytes more)", text.len() - end));
    }
    out
}

/// An API server's `Status` as one line: `HTTP 403 Forbidden: <message>`.
/// kube-rs's own Display of it appends the whole struct in debug form.
pub fn status_text(status: &kube::core::Status) -> String {
    let phrase = http::StatusCode::from_u16(status.code)
        .ok()
        .and_then(|c| c.canonical_reason())
        .unwrap_or("error");
    if status.message.trim().is_empty() {
        format!("HTTP {} {phrase}", status.code)
    } else {
        format!("HTTP {} {phrase}: {}", status.code, quote(&status.message))
    }
}

/// Joins an error's chain with ": ", skipping causes already contained in
/// the text so far; each cause is quoted (one line, bounded).
pub fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(kube::Error::Api(status)) = e.downcast_ref::<kube::Error>() {
            // The Status is the whole story; its sources only repeat it.
            parts.push(status_text(status));
            break;
        }
        let text = e.to_string();
        // Parsers append a code frame on further lines; the first line says it.
        let text = quote(text.lines().next().unwrap_or(""));
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        current = e.source();
    }
    let mut out = parts.join(": ");
    // Tokens can appear in some transport messages; never print them.
    if let Some(idx) = out.find("Bearer ") {
        out.truncate(idx);
        out.push_str("Bearer <redacted>");
    }
    out
}

/// An io::Error's reason without the OS error number noise.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => {
            let t = e.to_string();
            match t.find(" (os error") {
                Some(i) => t[..i].to_string(),
                None => t,
            }
        }
    }
}

/// An error that stops a command. It knows its exit status and how to
/// print itself, so the edge (`crate::run`) only asks it.
#[derive(Debug)]
pub enum Fatal {
    /// The command could not run: one `error:` line and an optional `hint:` line, exit 2.
    CouldNotRun {
        message: String,
        hint: Option<String>,
    },
    /// Whoever read stdout went away (`kubectl spice status | head -1`):
    /// nothing is wrong with the run, so it ends quietly with exit 0.
    BrokenPipe,
}

impl Fatal {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Fatal {
        let hint = hint.into();
        Fatal::CouldNotRun {
            message: message.into(),
            hint: if hint.is_empty() { None } else { Some(hint) },
        }
    }

    /// The error line's text (empty for a closed pipe).
    pub fn message(&self) -> &str {
        match self {
            Fatal::CouldNotRun { message, .. } => message,
            Fatal::BrokenPipe => "",
        }
    }

    /// The hint line's text, if there is one.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Fatal::CouldNotRun { hint, .. } => hint.as_deref(),
            Fatal::BrokenPipe => None,
        }
    }

    /// The exit status the contract gives this error.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Fatal::CouldNotRun { .. } => ExitStatus::CouldNotRun,
            Fatal::BrokenPipe => ExitStatus::Ok,
        }
    }

    /// Prints `error: ...` and `hint: ...` to stderr (nothing for a closed
    /// pipe). A closed stderr is ignored: `eprintln!` would panic there.
    pub fn print(&self) {
        use crate::report::text::neutralise;
        use std::io::Write;
        let Fatal::CouldNotRun { message, hint } = self else {
            return;
        };
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "error: {}", neutralise(&message.replace('\n', " ")));
        if let Some(h) = hint {
            let _ = writeln!(err, "hint: {}", neutralise(h));
        }
    }
}

impl From<crate::cluster::Error> for Fatal {
    fn from(e: crate::cluster::Error) -> Fatal {
        Fatal::new(e.to_string(), e.hint())
    }
}

impl From<crate::settings::SettingsError> for Fatal {
    fn from(e: crate::settings::SettingsError) -> Fatal {
        Fatal::new(e.to_string(), e.hint())
    }
}

impl From<std::io::Error> for Fatal {
    /// A write to stdout failed: a closed pipe by its kind, anything else an error.
    fn from(e: std::io::Error) -> Fatal {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Fatal::BrokenPipe
        } else {
            Fatal::new(format!("writing output: {}", io_reason(&e)), "")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Framed;
    impl std::fmt::Display for Framed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(
                f,
                "line 1 column 1: expected mapping start\n --> <input>:1:1\n  | 1 | /tmp/x\n  | ^"
            )
        }
    }
    impl StdError for Framed {}

    #[test]
    fn error_text_is_one_line_without_code_frames() {
        assert_eq!(
            chain_text(&Framed),
            "line 1 column 1: expected mapping start"
        );
    }

    #[test]
    fn long_bodies_are_quoted_short_with_the_rest_counted() {
        let body = format!(
            "<html>\n<body>{}</body></html>",
            "x".repeat(20 * 1024 * 1024)
        );
        let q = quote(&body);
        assert!(q.len() < QUOTE_CHARS + 40, "{}", q.len());
        assert!(q.starts_with("<html> <body>xxx"), "{q}");
        assert!(
            q.ends_with(&format!("(… {} bytes more)", body.len() - QUOTE_CHARS)),
            "{q}"
        );
        assert_eq!(quote("  short\r\n text "), "short text");
        // Controls stay for the writer to show escaped; nothing is dropped.
        let hostile = quote("a\u{1b}[2Jb\u{202e}c");
        assert_eq!(hostile, "a\u{1b}[2Jb\u{202e}c");
        assert_eq!(
            crate::report::text::neutralise(&hostile),
            "a\\u001b[2Jb\\u202ec"
        );
        // A cut never splits a character.
        let wide = "é".repeat(QUOTE_CHARS + 5);
        assert!(
            quote(&wide).ends_with("(… 10 bytes more)"),
            "{}",
            quote(&wide)
        );
    }

    #[test]
    fn an_api_status_is_one_line_without_a_debug_struct() {
        let status = kube::core::Status::failure(&"m".repeat(5000), "Forbidden").with_code(403);
        let text = chain_text(&kube::Error::Api(status.boxed()));
        assert!(text.starts_with("HTTP 403 Forbidden: mmm"), "{text}");
        assert!(
            !text.contains("Status {") && !text.contains("ListMeta"),
            "{text}"
        );
        assert!(text.len() < 400, "{}", text.len());
    }

    #[test]
    fn bearer_tokens_never_reach_the_error_line() {
        let e = std::io::Error::other("request failed: Authorization: Bearer abc.def.ghi");
        let text = chain_text(&e);
        assert!(!text.contains("abc.def"), "{text}");
        assert!(text.ends_with("Bearer <redacted>"), "{text}");
    }

    #[test]
    fn a_closed_pipe_is_known_by_its_kind_and_exits_0() {
        let closed = Fatal::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert!(matches!(closed, Fatal::BrokenPipe));
        assert_eq!(closed.exit_status(), ExitStatus::Ok);
        // The same words in another error's text do not make it a closed pipe.
        let other = Fatal::from(std::io::Error::other("Broken pipe (os error 32)"));
        assert!(matches!(other, Fatal::CouldNotRun { .. }));
        assert_eq!(other.exit_status(), ExitStatus::CouldNotRun);
    }
}
