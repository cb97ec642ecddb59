//! Reading one kubeconfig file, as `kube::config::Kubeconfig::read_from`
//! does (UTF-8 or UTF-16 with a byte-order mark, several YAML documents
//! merged, relative file paths taken from the file's directory), but parsed
//! with the YAML crate the plugin already has. kube-rs parses with a second
//! YAML crate of its own (serde-saphyr and its parser and error renderer),
//! which costs about 0.75 MB of the release binary for this one file.

use kube::config::Kubeconfig;
use serde::Deserialize;
use std::path::Path;

/// The kubeconfig at `path`; the error is one line, without the file's
/// content (which may hold credentials).
pub fn read(path: &Path) -> Result<Kubeconfig, String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let text = decode(bytes)?;
    let mut merged: Option<Kubeconfig> = None;
    if !text.trim().is_empty() {
        for document in serde_norway::Deserializer::from_str(&text) {
            let mut next = Kubeconfig::deserialize(document)
                .map_err(|e| format!("not a valid kubeconfig: {e}"))?;
            if let Some(dir) = path.parent() {
                absolute_paths(&mut next, dir);
            }
            merged = Some(match merged {
                None => next,
                Some(acc) => acc.merge(next).map_err(|e| e.to_string())?,
            });
        }
    }
    Ok(merged.unwrap_or_default())
}

/// kubectl writes UTF-8; Windows editors may leave UTF-16 or a UTF-8 BOM.
fn decode(bytes: Vec<u8>) -> Result<String, String> {
    let utf16 = |rest: &[u8], from: fn([u8; 2]) -> u16| {
        let units: Vec<u16> = rest
            .chunks(2)
            .map(|c| from([c[0], *c.get(1).unwrap_or(&0)]))
            .collect();
        String::from_utf16(&units).map_err(|_| "not valid UTF-16".to_string())
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        [0xEF, 0xBB, 0xBF, rest @ ..] => {
            String::from_utf8(rest.to_vec()).map_err(|_| "not valid UTF-8".to_string())
        }
        _ => String::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_string()),
    }
}

/// Relative certificate, key and token files are relative to the
/// kubeconfig's directory; so is an exec command with a path separator in
/// it (client-go's `GetAuthInfoFileReferences`: a bare `aws` is looked up in
/// `PATH`).
fn absolute_paths(kc: &mut Kubeconfig, dir: &Path) {
    let fix = |p: &mut Option<String>| {
        if let Some(path) = p.as_deref()
            && Path::new(path).is_relative()
            && let Some(abs) = dir.join(path).to_str()
        {
            *p = Some(abs.to_owned());
        }
    };
    for cluster in kc.clusters.iter_mut().filter_map(|c| c.cluster.as_mut()) {
        fix(&mut cluster.certificate_authority);
    }
    for user in kc
        .auth_infos
        .iter_mut()
        .filter_map(|a| a.auth_info.as_mut())
    {
        fix(&mut user.client_certificate);
        fix(&mut user.client_key);
        fix(&mut user.token_file);
        if let Some(exec) = user.exec.as_mut()
            && exec
                .command
                .as_deref()
                .is_some_and(|c| c.contains(std::path::MAIN_SEPARATOR))
        {
            fix(&mut exec.command);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }

    const TWO_DOCS: &str = "\
apiVersion: v1
kind: Config
current-context: a
clusters:
- name: a
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: certs/ca.crt
contexts:
- name: a
  context: {cluster: a, user: a, namespace: games}
users:
- name: a
  user:
    client-certificate: /abs/client.crt
    client-key: keys/client.key
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ./bin/plugin
      interactiveMode: Never
---
contexts:
- name: b
  context: {cluster: a, user: b}
users:
- name: b
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: aws
      interactiveMode: Never
";

    #[test]
    fn documents_are_merged_and_relative_paths_are_taken_from_the_file_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "config", TWO_DOCS.as_bytes());
        let kc = read(&path).expect("read");
        assert_eq!(kc.current_context.as_deref(), Some("a"));
        let names: Vec<_> = kc.contexts.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let d = dir.path().display();
        let cluster = kc.clusters[0].cluster.as_ref().expect("cluster");
        assert_eq!(cluster.server.as_deref(), Some("https://127.0.0.1:6443"));
        assert_eq!(
            cluster.certificate_authority,
            Some(format!("{d}/certs/ca.crt"))
        );
        let a = kc.auth_infos[0].auth_info.as_ref().expect("user a");
        assert_eq!(a.client_certificate.as_deref(), Some("/abs/client.crt"));
        assert_eq!(a.client_key, Some(format!("{d}/keys/client.key")));
        let exec = a.exec.as_ref().expect("exec");
        assert_eq!(exec.command, Some(format!("{d}/./bin/plugin")));
        let b = kc.auth_infos[1].auth_info.as_ref().expect("user b");
        assert_eq!(
            b.exec.as_ref().and_then(|e| e.command.as_deref()),
            Some("aws")
        );
        // The same as kube-rs's own reader makes of it.
        let theirs = Kubeconfig::read_from(&path).expect("kube-rs reads it");
        assert_eq!(format!("{kc:?}"), format!("{theirs:?}"));
    }

    #[test]
    fn utf16_and_a_utf8_bom_are_read_and_an_empty_file_is_an_empty_config() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut le = vec![0xFF, 0xFE];
        le.extend(TWO_DOCS.encode_utf16().flat_map(u16::to_le_bytes));
        let mut be = vec![0xFE, 0xFF];
        be.extend(TWO_DOCS.encode_utf16().flat_map(u16::to_be_bytes));
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend(TWO_DOCS.as_bytes());
        for (name, bytes) in [("le", le), ("be", be), ("bom", bom)] {
            let kc = read(&write(dir.path(), name, &bytes)).expect(name);
            assert_eq!(kc.contexts.len(), 2, "{name}");
        }
        let empty = read(&write(dir.path(), "empty", b"\n")).expect("empty");
        assert!(empty.contexts.is_empty() && empty.current_context.is_none());
    }

    #[test]
    fn broken_yaml_is_one_line_that_does_not_quote_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(
            dir.path(),
            "config",
            b"users:\n- name: a\n  user: {token: s3cret\n",
        );
        let e = read(&path).expect_err("broken");
        assert!(e.starts_with("not a valid kubeconfig: "), "{e}");
        assert!(!e.contains('\n') && !e.contains("s3cret"), "{e}");
        let e = read(&write(dir.path(), "bin", &[0xC3, 0x28])).expect_err("not utf-8");
        assert_eq!(e, "not valid UTF-8");
    }
}
