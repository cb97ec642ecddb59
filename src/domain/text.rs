//! Text rules the checks and the views share (pure: no I/O). Terminal
//! neutralising itself is the writer's job (`report::text`).

use std::borrow::Cow;

/// `text` on one line: each `\r\n` or `\n` becomes a visible `⏎`, so a
/// message from the cluster cannot start a report line of its own (a fake
/// summary or a fake `✓ pass`). Report text that is meant to be one line
/// goes through this; the plugin's own newlines are written around it.
pub fn one_line(text: &str) -> Cow<'_, str> {
    if !text.contains('\n') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.replace("\r\n", "\n").replace('\n', "⏎"))
}
