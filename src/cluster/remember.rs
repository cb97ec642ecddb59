//! What one run learns about a server that saves the next run a round trip,
//! kept in the kube cache directory as kubectl keeps its discovery cache
//! (`$KUBECACHEDIR`, else `~/.kube/cache`), under `kubectl-spice/`:
//!
//! - `http1/<server>`: the server offered no HTTP/2, so the next run opens
//!   its parallel HTTP/1.1 connections at once instead of waiting for the
//!   first TLS handshake's ALPN answer (see `transport`);
//! - `operator/<server, context, namespace>`: the KEDA operator pod(s) whose
//!   log `diagnose` read, so the next run reads their log beside the pod list
//!   instead of after it (see `collect`).
//!
//! Every entry is a hint, never a fact: a stale one costs time, not
//! correctness (the transport still honours the ALPN answer, and a log read
//! of a pod the list does not name is discarded). Files are small, written
//! atomically (a temporary file renamed over the old one) and private
//! (0600), and read with a bound; any failure to read or write one is
//! silent, as the run does not depend on it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The most bytes an entry may hold; a larger file is no entry.
const MAX_ENTRY: u64 = 4096;
/// The most operator pods remembered per context.
const MAX_PODS: usize = 8;

/// `$KUBECACHEDIR`, else `~/.kube/cache`, with this plugin's subdirectory.
fn root() -> Option<PathBuf> {
    let base = match std::env::var_os("KUBECACHEDIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => std::env::var_os("HOME")
            .or_else(|| std::env::var_os("USERPROFILE"))
            .filter(|h| !h.is_empty())
            .map(|h| PathBuf::from(h).join(".kube").join("cache"))?,
    };
    Some(base.join("kubectl-spice"))
}

/// A file name for `key`: its readable characters (as kubectl names its
/// discovery cache after host and port), shortened, then a hash of the
/// whole key, so two keys never share a file.
fn file_name(key: &str) -> String {
    let readable: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(80)
        .collect();
    // FNV-1a, 64 bits: stable across builds and platforms.
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    });
    format!("{readable}-{hash:016x}")
}

fn entry(kind: &str, key: &str) -> Option<PathBuf> {
    Some(root()?.join(kind).join(file_name(key)))
}

/// The entry's text, if it exists and is at most [`MAX_ENTRY`] bytes.
fn read(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    let mut text = String::new();
    file.take(MAX_ENTRY + 1).read_to_string(&mut text).ok()?;
    (text.len() as u64 <= MAX_ENTRY).then_some(text)
}

/// Writes `text` to `path` atomically, readable by its owner only.
fn write(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().ok_or(std::io::ErrorKind::InvalidInput)?;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("entry"),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let result = options
        .open(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Whether the server at `server` (its URL) offered no HTTP/2 last time.
pub fn http1_only(server: &str) -> bool {
    entry("http1", server)
        .and_then(|p| read(&p))
        .is_some_and(|t| t.trim() == "http/1.1")
}

/// Records whether the server at `server` offers no HTTP/2 (`false`
/// forgets it).
pub fn set_http1_only(server: &str, only: bool) {
    let Some(path) = entry("http1", server) else {
        return;
    };
    if only {
        if !http1_only(server) {
            let _ = write(&path, "http/1.1\n");
        }
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// A KEDA operator pod whose log was read, and the container read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogPod {
    pub name: String,
    pub container: Option<String>,
}

/// The key of the operator pods of one context's KEDA namespace.
pub fn operator_key(server: &str, context: Option<&str>, namespace: &str) -> String {
    format!("{server} {} {namespace}", context.unwrap_or("-"))
}

/// A Kubernetes object name as the API allows one (DNS-1123, at most 253
/// characters): only such a name is read from an entry.
fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// The operator pods remembered under `key` (none when unknown).
pub fn operator_pods(key: &str) -> Vec<LogPod> {
    let Some(text) = entry("operator", key).and_then(|p| read(&p)) else {
        return Vec::new();
    };
    parse_pods(&text)
}

/// One pod a line: its name, then the container after a space if any.
fn parse_pods(text: &str) -> Vec<LogPod> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            let name = parts.next().filter(|n| is_name(n))?;
            let container = match parts.next() {
                Some(c) if is_name(c) => Some(c.to_string()),
                Some(_) => return None,
                None => None,
            };
            parts.next().is_none().then(|| LogPod {
                name: name.to_string(),
                container,
            })
        })
        .take(MAX_PODS)
        .collect()
}

fn format_pods(pods: &[LogPod]) -> String {
    pods.iter()
        .filter(|p| is_name(&p.name) && p.container.as_deref().is_none_or(is_name))
        .take(MAX_PODS)
        .map(|p| match &p.container {
            Some(c) => format!("{} {c}\n", p.name),
            None => format!("{}\n", p.name),
        })
        .collect()
}

/// Remembers `pods` under `key` (rewrites the entry only when it changed;
/// an empty list forgets it).
pub fn set_operator_pods(key: &str, pods: &[LogPod]) {
    let Some(path) = entry("operator", key) else {
        return;
    };
    let text = format_pods(pods);
    if text.is_empty() {
        let _ = std::fs::remove_file(path);
    } else if read(&path).as_deref() != Some(text.as_str()) {
        let _ = write(&path, &text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_the_readable_part_and_differ_per_key() {
        let a = file_name("https://10.0.0.1:6443/");
        let b = file_name("https://10.0.0.1:6443");
        assert!(a.starts_with("https___10.0.0.1_6443_-"), "{a}");
        assert_ne!(a, b);
        assert_eq!(a, file_name("https://10.0.0.1:6443/"));
        let long = file_name(&"x".repeat(10_000));
        assert!(long.len() < 100, "{long}");
        assert!(!file_name("../../etc/passwd").contains('/'));
    }

    #[test]
    fn entries_are_written_atomically_privately_and_read_with_a_bound() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a").join("b").join("entry");
        write(&path, "one\n").expect("write");
        assert_eq!(read(&path).as_deref(), Some("one\n"));
        write(&path, "two\n").expect("rewrite");
        assert_eq!(read(&path).as_deref(), Some("two\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        let left: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("list")
            .collect();
        assert_eq!(left.len(), 1);
        std::fs::write(&path, "x".repeat(MAX_ENTRY as usize + 1)).expect("big");
        assert_eq!(read(&path), None);
    }

    #[test]
    fn only_valid_pod_names_are_read_back() {
        let pods = parse_pods(
            "keda-operator-7d9f-abc keda-operator\nplain\n\x1b[2Jevil\nx y z\nBad Name\n",
        );
        assert_eq!(
            pods,
            [
                LogPod {
                    name: "keda-operator-7d9f-abc".into(),
                    container: Some("keda-operator".into())
                },
                LogPod {
                    name: "plain".into(),
                    container: None
                }
            ]
        );
        let many: Vec<LogPod> = (0..20)
            .map(|i| LogPod {
                name: format!("p{i}"),
                container: None,
            })
            .collect();
        assert_eq!(parse_pods(&format_pods(&many)).len(), MAX_PODS);
    }
}
