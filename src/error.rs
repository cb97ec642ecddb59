//! The one error printer at the edge: a single line with each distinct cause
//! once (kube-rs and hyper repeat causes), then a hint line. Never a debug dump.

use std::error::Error as StdError;

/// Joins an error's chain with ": ", skipping causes already contained in
/// the text so far.
pub fn chain_text(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        // Parsers append a code frame on further lines; the first line says it.
        let text = text.lines().next().unwrap_or("").trim();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(text)) {
            parts.push(text.to_string());
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

/// An error that stops a command, with its hint.
#[derive(Debug)]
pub struct Fatal {
    pub message: String,
    pub hint: Option<String>,
}

impl Fatal {
    pub fn new(message: impl Into<String>, hint: impl Into<String>) -> Fatal {
        let hint = hint.into();
        Fatal {
            message: message.into(),
            hint: if hint.is_empty() { None } else { Some(hint) },
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
    fn from(e: std::io::Error) -> Fatal {
        Fatal::new(format!("writing output: {}", io_reason(&e)), "")
    }
}

/// Prints `error: ...` and `hint: ...` to stderr.
pub fn print(f: &Fatal) {
    use crate::report::text::neutralise;
    let one_line = f.message.replace('\n', " ");
    eprintln!("error: {}", neutralise(&one_line));
    if let Some(h) = &f.hint {
        eprintln!("hint: {}", neutralise(h));
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
    fn bearer_tokens_never_reach_the_error_line() {
        let e = std::io::Error::other("request failed: Authorization: Bearer abc.def.ghi");
        let text = chain_text(&e);
        assert!(!text.contains("abc.def"), "{text}");
        assert!(text.ends_with("Bearer <redacted>"), "{text}");
    }
}
