//! Colour through `owo-colors`, behind the neutralising writer: with
//! `--color always` the only escape sequences on stdout are the plugin's own
//! styles, as owo-colors writes them.

use crate::support::spice::{BIN, run_bin};

#[test]
fn colour_is_owo_colors_styles_and_the_only_escapes_on_stdout() {
    let home = tempfile::tempdir().expect("tempdir");
    let run = run_bin(
        BIN,
        &["diagnose", "--example", "broken-chain", "--color", "always"],
        &[],
        home.path(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    // owo-colors' bold red ("31;1"), its green and its reset.
    assert!(
        run.stdout.contains("\u{1b}[31;1mROOT CAUSE\u{1b}[0m"),
        "{:?}",
        run.stdout
    );
    assert!(run.stdout.contains("\u{1b}[32m"), "{:?}", run.stdout);
    let mut rest = run.stdout.as_str();
    let mut seen = 0;
    while let Some(i) = rest.find('\u{1b}') {
        let after = &rest[i + 1..];
        let end = after
            .find('m')
            .unwrap_or_else(|| panic!("unterminated: {after:.20?}"));
        let params = after[..end]
            .strip_prefix('[')
            .unwrap_or_else(|| panic!("{after:.20?}"));
        assert!(
            params.bytes().all(|b| b.is_ascii_digit() || b == b';'),
            "only SGR: {after:.20?}"
        );
        seen += 1;
        rest = &after[end..];
    }
    assert!(seen > 10, "{seen}");
}
