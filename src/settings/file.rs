//! The config file: read, checked for unknown keys, not yet applied.

use super::SettingsError;
use super::table::SETTINGS;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A config file's values by setting key: the top level, and each
/// kube-context section (same keys, no nesting of `contexts`).
#[derive(Debug, Default)]
pub(super) struct FileValues {
    pub(super) top: Vec<(&'static str, String)>,
    pub(super) contexts: BTreeMap<String, Vec<(&'static str, String)>>,
}

/// The sections of the config file that hold dotted keys (`ratio.greenMin`).
const SECTIONS: &[&str] = &["ratio", "targets"];

impl FileValues {
    /// Reads a config file's text against [`SETTINGS`]: a key no definition
    /// names is an error with its line. Errors read `line N: ...`.
    pub(super) fn parse(text: &str) -> Result<FileValues, String> {
        use serde_norway::Value;
        let map = match serde_norway::from_str::<Value>(text).map_err(|e| yaml_error(&e))? {
            Value::Mapping(m) => m,
            Value::Null => return Ok(FileValues::default()),
            _ => return Err("line 1: expected keys and values, e.g. `namespace: game`".into()),
        };
        let mut out = FileValues::default();
        let mut contexts = None;
        out.top = read_keys(text, &map, "", &mut |v| contexts = Some(v.clone()))?;
        let Some(contexts) = contexts else {
            return Ok(out);
        };
        let Value::Mapping(contexts) = contexts else {
            let line = line_of(text, "contexts", 1).unwrap_or(0);
            return Err(format!(
                "line {line}: contexts: expected a section per kube context"
            ));
        };
        for (name, section) in &contexts {
            let name = scalar_text(name).unwrap_or_default();
            let Value::Mapping(section) = section else {
                let line = line_of(text, &name, 1).unwrap_or(0);
                return Err(format!(
                    "line {line}: contexts.{name}: expected keys and values"
                ));
            };
            if section.contains_key("contexts") {
                return Err(format!(
                    "line {}: contexts.{name}: `contexts` cannot be nested",
                    line_of(text, "contexts", 2).unwrap_or(0)
                ));
            }
            let values = read_keys(text, section, "", &mut |_| ())?;
            out.contexts.insert(name, values);
        }
        Ok(out)
    }
}

/// The keys of one mapping (`prefix` is `ratio.` inside a section), each
/// checked against [`SETTINGS`]; `contexts` is handed to `on_contexts`.
fn read_keys(
    text: &str,
    map: &serde_norway::Mapping,
    prefix: &str,
    on_contexts: &mut dyn FnMut(&serde_norway::Value),
) -> Result<Vec<(&'static str, String)>, String> {
    use serde_norway::Value;
    let mut out = Vec::new();
    for (k, v) in map {
        let name = scalar_text(k).unwrap_or_default();
        let line = || line_of(text, &name, 1).unwrap_or(0);
        if prefix.is_empty() && name == "contexts" {
            on_contexts(v);
            continue;
        }
        if prefix.is_empty() && SECTIONS.contains(&name.as_str()) {
            match v {
                Value::Mapping(m) => {
                    out.extend(read_keys(text, m, &format!("{name}."), on_contexts)?)
                }
                Value::Null => {}
                _ => {
                    return Err(format!(
                        "line {}: {name}: expected a section of keys",
                        line()
                    ));
                }
            }
            continue;
        }
        let full = format!("{prefix}{name}");
        let Some(def) = SETTINGS.iter().find(|d| d.key == full) else {
            return Err(format!("line {}: unknown key `{name}`", line()));
        };
        let value = match v {
            Value::Null => continue,
            Value::Sequence(items) if def.key == "silence" => {
                let items: Option<Vec<String>> = items.iter().map(scalar_text).collect();
                items
                    .ok_or_else(|| format!("line {}: silence: expected check ids", line()))?
                    .join(",")
            }
            other => scalar_text(other)
                .ok_or_else(|| format!("line {}: {full}: expected a single value", line()))?,
        };
        out.push((def.key, value));
    }
    Ok(out)
}

/// A YAML scalar as the text the user wrote (numbers and booleans too).
fn scalar_text(v: &serde_norway::Value) -> Option<String> {
    use serde_norway::Value;
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) => f.to_string(),
            _ => n.to_string(),
        }),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// The config file, read and checked for unknown keys, not yet applied.
#[derive(Debug, Default)]
pub struct ConfigFile {
    path: Option<PathBuf>,
    pub(super) text: String,
    pub(super) values: FileValues,
}

impl ConfigFile {
    /// The default path: `$XDG_CONFIG_HOME/kubectl-spice/config.yaml`, else
    /// `~/.config/kubectl-spice/config.yaml`.
    pub fn default_path() -> Option<PathBuf> {
        let base = match std::env::var_os("XDG_CONFIG_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => home_dir()?.join(".config"),
        };
        Some(base.join("kubectl-spice").join("config.yaml"))
    }

    /// Loads `explicit` (must exist) or the default path (may be absent).
    pub fn load(explicit: Option<&Path>) -> Result<ConfigFile, SettingsError> {
        let (path, must_exist) = match explicit {
            Some(p) => (p.to_path_buf(), true),
            None => match Self::default_path() {
                Some(p) => (p, false),
                None => return Ok(ConfigFile::default()),
            },
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if !must_exist && e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(ConfigFile::default());
            }
            Err(e) => {
                return Err(SettingsError::File {
                    file: path.display().to_string(),
                    message: format!("cannot read: {}", crate::error::io_reason(&e)),
                });
            }
        };
        let values = FileValues::parse(&text).map_err(|message| SettingsError::File {
            file: path.display().to_string(),
            message,
        })?;
        Ok(ConfigFile {
            path: Some(path),
            text,
            values,
        })
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }
}

fn yaml_error(e: &serde_norway::Error) -> String {
    let msg = e.to_string();
    // serde_norway appends " at line L column C"; put the line first, as compilers do.
    let (body, line) = match (msg.rfind(" at line "), e.location()) {
        (Some(idx), Some(loc)) => (msg[..idx].to_string(), Some(loc.line())),
        (_, Some(loc)) => (msg.clone(), Some(loc.line())),
        _ => (msg.clone(), None),
    };
    let body = body.replace("unknown field", "unknown key");
    match line {
        Some(l) => format!("line {l}: {body}"),
        None => body,
    }
}

/// The 1-based line of the `nth` occurrence of `key:` in a YAML text.
pub(super) fn line_of(text: &str, key: &str, nth: usize) -> Option<usize> {
    let mut seen = 0;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with(&format!("{key}:")) {
            seen += 1;
            if seen == nth {
                return Some(i + 1);
            }
        }
    }
    None
}

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}
