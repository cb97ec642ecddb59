//! The direction of imports, checked so it cannot slip again: commands sit
//! on top, checks, report and watch under them, the pure domain layer at the
//! bottom, and the cluster code beside the domain (DESIGN.md, "Data flow and
//! layout"). The test reads the source: every `crate::<module>` path in a
//! file's non-test code is an import of that module.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

struct Rule {
    /// The top-level module (`src/<layer>/` or `src/<layer>.rs`).
    layer: &'static str,
    /// Modules it must not import.
    forbidden: &'static [&'static str],
}

/// The rule table: every layer and what it must never import.
const RULES: &[Rule] = &[
    Rule {
        layer: "domain",
        forbidden: &["checks", "report", "cluster", "commands", "cli", "watch"],
    },
    Rule {
        layer: "checks",
        forbidden: &["report", "cluster", "cli", "commands", "watch"],
    },
    Rule {
        layer: "watch",
        forbidden: &["cli", "commands", "cluster"],
    },
    Rule {
        layer: "report",
        forbidden: &["commands", "cluster", "watch", "cli"],
    },
    Rule {
        layer: "cluster",
        forbidden: &["checks", "report", "commands", "watch", "cli"],
    },
    Rule {
        layer: "loadtest",
        forbidden: &["commands", "cli"],
    },
    // Settings sit under everything that reads them: the command line fills
    // a plain `settings::Overrides`, so the settings never import it.
    Rule {
        layer: "settings",
        forbidden: &[
            "cli", "commands", "report", "checks", "watch", "cluster", "loadtest", "domain",
            "history",
        ],
    },
    Rule {
        layer: "history",
        forbidden: &["commands", "cli", "cluster", "checks"],
    },
];

/// The modules a source text imports through `crate::` paths, comments and
/// the `#[cfg(test)]` module left out (tests may build fixtures from above).
fn imports(source: &str) -> BTreeSet<String> {
    let code = match source.find("#[cfg(test)]\nmod ") {
        Some(at) => &source[..at],
        None => source,
    };
    let mut found = BTreeSet::new();
    for line in code.lines() {
        let line = line.split("//").next().unwrap_or("");
        let mut rest = line;
        while let Some(at) = rest.find("crate::") {
            rest = &rest[at + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                // `use crate::{a, b::c}`: each item names a module.
                let group = group.split('}').next().unwrap_or("");
                for item in group.split(',') {
                    found.insert(first_segment(item.trim()));
                }
            } else {
                found.insert(first_segment(rest));
            }
        }
    }
    found.retain(|m| !m.is_empty());
    found
}

fn first_segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `src/checks/keda/ready.rs` → `checks`.
fn layer_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a path");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// Every `file imports module` that breaks one of the rule's forbidden imports.
fn violations(rule: &Rule, files: &[(String, PathBuf, BTreeSet<String>)]) -> Vec<String> {
    let mut out = Vec::new();
    for (layer, path, imported) in files {
        if layer != rule.layer {
            continue;
        }
        for module in rule.forbidden.iter().filter(|m| imported.contains(**m)) {
            out.push(format!("{} imports crate::{module}", path.display()));
        }
    }
    out
}

#[test]
fn imports_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    paths.sort();
    let files: Vec<(String, PathBuf, BTreeSet<String>)> = paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p).expect("a source file");
            let rel = p.strip_prefix(&src).expect("under src").to_path_buf();
            (layer_of(&src, p), rel, imports(&text))
        })
        .collect();
    // Every layer a rule names exists, so a renamed module cannot make its
    // rules pass by matching no file.
    for rule in RULES {
        assert!(
            files.iter().any(|(layer, _, _)| layer == rule.layer),
            "no source file in layer {}",
            rule.layer
        );
    }
    let mut broken = Vec::new();
    for rule in RULES {
        broken.extend(violations(rule, &files));
    }
    assert!(
        broken.is_empty(),
        "imports must point down (commands → checks/report/watch → domain):\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_scanner_sees_plain_grouped_and_inline_paths_but_not_tests_or_comments() {
    let text = "use crate::domain::snapshot::Snapshot;\n\
                use crate::{report, cluster::promql};\n\
                fn f() { crate::watch::model::is_running(p); } // crate::cli here is a comment\n\
                #[cfg(test)]\nmod tests {\n    use crate::checks::testkit;\n}\n";
    let found = imports(text);
    let want: BTreeSet<String> = ["domain", "report", "cluster", "watch"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(found, want);
    let rule = Rule {
        layer: "domain",
        forbidden: &["report", "cli"],
    };
    let files = vec![("domain".to_string(), PathBuf::from("domain/x.rs"), found)];
    assert_eq!(
        violations(&rule, &files),
        ["domain/x.rs imports crate::report"]
    );
}
