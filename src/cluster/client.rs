//! kubeconfig and context → a `kube::Client`, with kubectl's manners:
//! `--kubeconfig`, then every file in `KUBECONFIG` (missing ones skipped, as
//! client-go does, where kube-rs alone would fail the whole load), then
//! `~/.kube/config`, then the in-cluster service account.

use super::error::Error;
use super::transport::{self, Transport};
use kube::config::{ExecConfig, ExecInteractiveMode, KubeConfigOptions, Kubeconfig};
use serde::Deserialize;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::OnceLock;
use std::time::Duration;

/// The kube context to use, resolved but not yet connected.
pub struct KubeTarget {
    config: kube::Config,
    /// The exec plugin to run again when its token expires (long watches
    /// only); one-shot commands use the token [`KubeTarget::authenticate`] got.
    refresh_exec: Option<ExecConfig>,
    /// The kubeconfig's exec plugin as written, kept after
    /// [`KubeTarget::authenticate`] so [`KubeTarget::fresh_client`] can run it again.
    exec: Option<ExecConfig>,
    /// `None` in-cluster.
    pub context: Option<String>,
    /// The context's own namespace, if it sets one.
    pub context_namespace: Option<String>,
    pub server: String,
    /// The run's one connection to the API server, made by the first
    /// client and shared by every later one (see `transport`).
    transport: OnceLock<Transport>,
}

/// kubectl's `--kubeconfig --context --cluster --user`: which kubeconfig
/// and which of its entries to use (`None`: kubectl's defaults).
#[derive(Debug, Clone, Default)]
pub struct KubeconfigChoice {
    pub kubeconfig: Option<std::path::PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
}

impl KubeTarget {
    /// Resolves kubeconfig, context, cluster and user like kubectl.
    pub async fn load(
        args: &KubeconfigChoice,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<KubeTarget, Error> {
        let options = KubeConfigOptions {
            context: args.context.clone(),
            cluster: args.cluster.clone(),
            user: args.user.clone(),
        };
        let kubeconfig = match &args.kubeconfig {
            Some(path) => Some(read_file(path)?),
            None => match env("KUBECONFIG").filter(|v| !v.is_empty()) {
                Some(list) => merge_list(&list)?,
                None => match crate::settings::home_dir().map(|h| h.join(".kube").join("config")) {
                    Some(path) if path.exists() => Some(read_file(&path)?),
                    _ => None,
                },
            },
        };
        match kubeconfig {
            Some(kc) => Self::from_kubeconfig(kc, &options, env).await,
            None => {
                if env("KUBERNETES_SERVICE_HOST").is_some() {
                    let config = kube::Config::incluster().map_err(|e| Error::Kubeconfig {
                        path: "in-cluster service account".into(),
                        message: crate::error::chain_text(&e),
                    })?;
                    let server = config.cluster_url.to_string();
                    let ns = Some(config.default_namespace.clone());
                    Ok(KubeTarget {
                        config,
                        refresh_exec: None,
                        exec: None,
                        context: None,
                        context_namespace: ns,
                        server,
                        transport: OnceLock::new(),
                    })
                } else {
                    Err(Error::NoKubeconfig(
                        "no --kubeconfig, no KUBECONFIG, no ~/.kube/config and not in a cluster"
                            .into(),
                    ))
                }
            }
        }
    }

    async fn from_kubeconfig(
        kc: Kubeconfig,
        options: &KubeConfigOptions,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<KubeTarget, Error> {
        let context_name = match options
            .context
            .clone()
            .or_else(|| kc.current_context.clone())
        {
            Some(c) if !c.is_empty() => c,
            _ => {
                return Err(Error::Context(
                    "the kubeconfig has no current context and --context was not given".into(),
                ));
            }
        };
        let context = kc.contexts.iter().find(|c| c.name == context_name);
        let Some(context) = context else {
            return Err(Error::Context(format!(
                "context {context_name:?} not found in the kubeconfig"
            )));
        };
        let context_namespace = context.context.as_ref().and_then(|c| c.namespace.clone());
        if let Some(cluster) = &options.cluster
            && !kc.clusters.iter().any(|c| &c.name == cluster)
        {
            return Err(Error::Context(format!(
                "cluster {cluster:?} not found in the kubeconfig"
            )));
        }
        if let Some(user) = &options.user
            && !kc.auth_infos.iter().any(|u| &u.name == user)
        {
            return Err(Error::Context(format!(
                "user {user:?} not found in the kubeconfig"
            )));
        }
        let cluster_name = options
            .cluster
            .clone()
            .or_else(|| context.context.as_ref().map(|c| c.cluster.clone()));
        let kubeconfig_proxy = kc
            .clusters
            .iter()
            .find(|c| Some(&c.name) == cluster_name.as_ref())
            .and_then(|c| c.cluster.as_ref())
            .and_then(|c| c.proxy_url.clone())
            .filter(|p| !p.is_empty());
        let mut config = kube::Config::from_custom_kubeconfig(kc, options)
            .await
            .map_err(|e| Error::Kubeconfig {
                path: format!("context {context_name}"),
                message: crate::error::chain_text(&e),
            })?;
        // kube-rs takes HTTPS_PROXY for every API server, loopback and
        // NO_PROXY included (and this build then refuses to run); a proxy
        // from the environment applies as Go's clients apply it (never to
        // loopback, NO_PROXY honoured).
        if kubeconfig_proxy.is_none() {
            config.proxy_url = url::Url::parse(&config.cluster_url.to_string())
                .ok()
                .and_then(|u| super::proxy::proxy_for(&u, env))
                .and_then(|p| p.parse().ok());
        }
        // client-go only lets an exec plugin talk to the user when stdin is a
        // terminal; kube-rs would hand it our stdin (a pipe under scripts), so
        // pin non-interactive mode there, as kubectl does.
        if let Some(exec) = config.auth_info.exec.as_mut()
            && !std::io::stdin().is_terminal()
        {
            exec.interactive_mode = Some(ExecInteractiveMode::Never);
        }
        let server = crate::settings::redact_url(&config.cluster_url.to_string());
        // A static token wins over the plugin, as it did for the first client.
        let exec = (config.auth_info.token.is_none())
            .then(|| config.auth_info.exec.clone())
            .flatten();
        Ok(KubeTarget {
            config,
            refresh_exec: None,
            exec,
            context: Some(context_name),
            context_namespace,
            server,
            transport: OnceLock::new(),
        })
    }

    /// Connects (lazily: no request is made here) with a per-request timeout.
    pub fn client(&self, timeout: Duration) -> Result<kube::Client, Error> {
        let mut config = self.config.clone();
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        // kube-rs retries 429/503/504 with backoff by default. A proxied
        // Prometheus with no endpoints answers 503 at once, and that answer is
        // the finding; retrying would only hold the whole report back.
        config.default_retry = false;
        self.build(&config, Some(timeout))
    }

    /// A client for watch streams: a quiet watch may idle for minutes, so
    /// there is no read timeout (the server ends each watch after its
    /// `timeoutSeconds`, and the watcher resumes).
    pub fn watch_client(&self, connect_timeout: Duration) -> Result<kube::Client, Error> {
        let mut config = self.config.clone();
        if let Some(exec) = &self.refresh_exec {
            // kube-rs runs the plugin again when the token is about to expire.
            config.auth_info.token = None;
            config.auth_info.exec = Some(exec.clone());
        }
        config.connect_timeout = Some(connect_timeout);
        config.read_timeout = None;
        config.write_timeout = Some(connect_timeout);
        config.default_retry = false;
        self.build(&config, None)
    }

    /// A client with fresh credentials on a connection of its own, for the
    /// write that must not fail on what an hour-long run left behind: the
    /// exec plugin runs again (bounded by `timeout`; an EKS token lives 15
    /// minutes), and the run's shared connection (which may be the one a
    /// request was just lost on) is not used.
    pub async fn fresh_client(&self, timeout: Duration) -> Result<kube::Client, Error> {
        let mut config = self.config.clone();
        if let Some(exec) = &self.exec {
            match exec_token(exec, timeout).await? {
                Some(token) => {
                    config.auth_info.token = Some(token.into());
                    config.auth_info.exec = None;
                }
                // A client certificate: kube-rs runs the plugin itself.
                None => {
                    config.auth_info.token = None;
                    config.auth_info.exec = Some(exec.clone());
                }
            }
        }
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        config.default_retry = false;
        let failed = |message: String| Error::Kubeconfig {
            path: self.context.clone().unwrap_or_else(|| "in-cluster".into()),
            message,
        };
        if config.proxy_url.is_some() {
            return kube::Client::try_from(config)
                .map_err(|e| failed(crate::error::chain_text(&e)));
        }
        let own = Transport::new(&config).map_err(|e| failed(crate::error::chain_text(&*e)))?;
        transport::kube_client(&config, own.with_request_timeout(Some(timeout)))
            .map_err(|e| failed(crate::error::chain_text(&*e)))
    }

    /// A kube client on the run's shared connection; `request_timeout`
    /// bounds each request until its response headers arrive.
    fn build(
        &self,
        config: &kube::Config,
        request_timeout: Option<Duration>,
    ) -> Result<kube::Client, Error> {
        let failed = |message: String| Error::Kubeconfig {
            path: self.context.clone().unwrap_or_else(|| "in-cluster".into()),
            message,
        };
        // A proxy-url is left to kube-rs, which answers it as before: this
        // build has no proxy support, and says so.
        if config.proxy_url.is_some() {
            return kube::Client::try_from(config.clone())
                .map_err(|e| failed(crate::error::chain_text(&e)));
        }
        let shared = match self.transport.get() {
            Some(t) => t.clone(),
            None => {
                let t =
                    Transport::new(config).map_err(|e| failed(crate::error::chain_text(&*e)))?;
                self.transport.get_or_init(|| t).clone()
            }
        };
        transport::kube_client(config, shared.with_request_timeout(request_timeout))
            .map_err(|e| failed(crate::error::chain_text(&*e)))
    }
}

/// What an exec credential plugin prints (`client.authentication.k8s.io`
/// `ExecCredential`); only the fields the plugin uses.
#[derive(Deserialize)]
struct ExecCredential {
    status: Option<ExecCredentialStatus>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExecCredentialStatus {
    token: Option<String>,
    expiration_timestamp: Option<String>,
}

impl KubeTarget {
    /// Runs the kubeconfig's exec credential plugin, if any, once and bounded
    /// by `timeout`. kube-rs runs it itself with no time limit, on the thread
    /// that builds the client, and quotes its whole output (token included)
    /// when it exits non-zero. Here a plugin that hangs is killed at the
    /// limit, one that fails is reported by its exit status and stderr, and
    /// its stdout is never printed. The token it gives is used as is.
    pub async fn authenticate(&mut self, timeout: Duration) -> Result<(), Error> {
        let Some(exec) = self.config.auth_info.exec.clone() else {
            return Ok(());
        };
        if self.config.auth_info.token.is_some() {
            return Ok(());
        }
        // A client certificate instead of a token is left to kube-rs, which
        // runs the plugin again; this run has shown that it answers in time.
        if let Some((token, expires)) = exec_credential(&exec, timeout).await? {
            self.config.auth_info.token = Some(token.into());
            self.config.auth_info.exec = None;
            if expires {
                self.refresh_exec = Some(exec);
            }
        }
        Ok(())
    }
}

/// Runs the exec plugin once, bounded by `timeout`; returns its token, if
/// it gave one.
async fn exec_token(exec: &ExecConfig, timeout: Duration) -> Result<Option<String>, Error> {
    Ok(exec_credential(exec, timeout)
        .await?
        .map(|(token, _)| token))
}

/// Runs the exec plugin once, bounded by `timeout`; returns its token and
/// whether it expires, or `None` when it gave no token (a certificate).
async fn exec_credential(
    exec: &ExecConfig,
    timeout: Duration,
) -> Result<Option<(String, bool)>, Error> {
    let stdout = run_exec(exec, timeout).await?;
    let command = exec_name(exec);
    let unreadable = || Error::ExecPlugin {
        command: command.clone(),
        message: format!(
            "printed no ExecCredential with a status ({} bytes of output, not shown as they may hold a credential)",
            stdout.len()
        ),
    };
    let credential: ExecCredential = serde_json::from_slice(&stdout)
        .or_else(|_| serde_norway::from_slice(&stdout))
        .map_err(|_| unreadable())?;
    let status = credential.status.ok_or_else(unreadable)?;
    Ok(status
        .token
        .filter(|t| !t.is_empty())
        .map(|t| (t, status.expiration_timestamp.is_some())))
}

/// The plugin's command as the kubeconfig names it, without its arguments
/// (which may carry secrets).
fn exec_name(exec: &ExecConfig) -> String {
    crate::error::quote(exec.command.as_deref().unwrap_or("<none>"))
}

/// Runs the plugin as client-go does (its args and env, `KUBERNETES_EXEC_INFO`,
/// stdin only when interactive) and returns its stdout, within `timeout`.
async fn run_exec(exec: &ExecConfig, timeout: Duration) -> Result<Vec<u8>, Error> {
    let command = exec_name(exec);
    let fail = |message: String| Error::ExecPlugin {
        command: command.clone(),
        message,
    };
    let program = exec
        .command
        .as_deref()
        .ok_or_else(|| fail("no command".into()))?;
    let interactive = exec.interactive_mode != Some(ExecInteractiveMode::Never);
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(exec.args.iter().flatten());
    for pair in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (pair.get("name"), pair.get("value")) {
            cmd.env(name, value);
        }
    }
    for name in exec.drop_env.iter().flatten() {
        cmd.env_remove(name);
    }
    let info = serde_json::json!({
        "apiVersion": exec.api_version,
        "kind": "ExecCredential",
        "spec": {"interactive": interactive},
    });
    cmd.env("KUBERNETES_EXEC_INFO", info.to_string())
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(if interactive {
            Stdio::inherit()
        } else {
            Stdio::piped()
        })
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start it: {}", crate::error::io_reason(&e))))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.map_err(|e| fail(crate::error::io_reason(&e)))?,
        // Dropping the child's future kills it (kill_on_drop).
        Err(_) => {
            return Err(fail(format!(
                "did not finish within {} (--request-timeout)",
                crate::settings::show_duration(timeout)
            )));
        }
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let said = match crate::error::quote(&stderr) {
            q if q.is_empty() => String::new(),
            q => format!(": {q}"),
        };
        return Err(fail(format!("failed ({}){said}", out.status)));
    }
    Ok(out.stdout)
}

fn read_file(path: &Path) -> Result<Kubeconfig, Error> {
    if !path.exists() {
        return Err(Error::Kubeconfig {
            path: path.display().to_string(),
            message: "no such file".into(),
        });
    }
    Kubeconfig::read_from(path).map_err(|e| Error::Kubeconfig {
        path: path.display().to_string(),
        message: crate::error::chain_text(&e),
    })
}

/// Merges the files of a `KUBECONFIG` list in order (the first file to set a
/// value wins); a file that does not exist is skipped, as kubectl does.
fn merge_list(list: &str) -> Result<Option<Kubeconfig>, Error> {
    let separator = if cfg!(windows) { ';' } else { ':' };
    let mut merged: Option<Kubeconfig> = None;
    for part in list.split(separator).filter(|p| !p.is_empty()) {
        let path = PathBuf::from(part);
        if !path.exists() {
            continue;
        }
        let next = read_file(&path)?;
        merged = Some(match merged {
            None => next,
            Some(acc) => acc.merge(next).map_err(|e| Error::Kubeconfig {
                path: path.display().to_string(),
                message: crate::error::chain_text(&e),
            })?,
        });
    }
    if merged.is_none() {
        return Err(Error::NoKubeconfig(format!(
            "none of the files in KUBECONFIG exist ({list})"
        )));
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A target whose user runs `script` as its exec credential plugin.
    fn target_with_plugin(dir: &Path, script: &str) -> KubeTarget {
        let plugin = dir.join("plugin.sh");
        std::fs::write(&plugin, format!("#!/bin/sh\n{script}\n")).unwrap();
        std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut config = kube::Config::new("https://127.0.0.1:1".parse().unwrap());
        let exec = serde_json::json!({
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": plugin.display().to_string(),
            "args": ["--secret-arg"],
            "interactiveMode": "Never",
        });
        config.auth_info.exec = Some(serde_json::from_value(exec).unwrap());
        let exec = config.auth_info.exec.clone();
        KubeTarget {
            config,
            refresh_exec: None,
            exec,
            context: Some("test".into()),
            context_namespace: None,
            server: "https://127.0.0.1:1".into(),
            transport: OnceLock::new(),
        }
    }

    const CREDENTIAL: &str = r#"{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"tok-4711"}}"#;

    #[tokio::test]
    async fn a_plugin_token_replaces_the_exec_call() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = target_with_plugin(dir.path(), &format!("echo '{CREDENTIAL}'"));
        t.authenticate(Duration::from_secs(5)).await.unwrap();
        assert!(t.config.auth_info.exec.is_none());
        assert!(t.config.auth_info.token.is_some());
        assert!(t.refresh_exec.is_none(), "no expiry: nothing to refresh");

        let expiring = CREDENTIAL.replace(
            r#""token""#,
            r#""expirationTimestamp":"2030-01-01T00:00:00Z","token""#,
        );
        let mut t = target_with_plugin(dir.path(), &format!("echo '{expiring}'"));
        t.authenticate(Duration::from_secs(5)).await.unwrap();
        assert!(
            t.refresh_exec.is_some(),
            "a watch refreshes an expiring token"
        );
    }

    #[tokio::test]
    async fn a_hanging_plugin_is_cut_at_the_timeout_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = target_with_plugin(dir.path(), "sleep 30");
        let start = std::time::Instant::now();
        let e = t
            .authenticate(Duration::from_millis(300))
            .await
            .unwrap_err()
            .to_string();
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        assert!(
            e.contains("plugin.sh` did not finish within 300ms (--request-timeout)"),
            "{e}"
        );
        assert!(!e.contains("--secret-arg"), "{e}");
    }

    #[tokio::test]
    async fn a_failing_plugin_never_has_its_stdout_printed() {
        let dir = tempfile::tempdir().unwrap();
        let script = format!("echo '{CREDENTIAL}'; echo 'login required' >&2; exit 3");
        let mut t = target_with_plugin(dir.path(), &script);
        let e = t.authenticate(Duration::from_secs(5)).await.unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains("failed (exit status: 3): login required"),
            "{text}"
        );
        assert!(!text.contains("tok-4711"), "{text}");
        assert!(e.hint().contains("--request-timeout"), "{}", e.hint());

        let mut t = target_with_plugin(dir.path(), "echo 'not a credential: tok-4711'");
        let text = t
            .authenticate(Duration::from_secs(5))
            .await
            .unwrap_err()
            .to_string();
        assert!(text.contains("printed no ExecCredential"), "{text}");
        assert!(!text.contains("tok-4711"), "{text}");
    }

    #[tokio::test]
    async fn a_fresh_client_runs_the_plugin_again_and_says_when_it_fails() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let flag = dir.path().join("fail");
        let script = format!(
            "echo run >> '{}'; if [ -e '{}' ]; then echo 'session expired' >&2; exit 1; fi; echo '{CREDENTIAL}'",
            runs.display(),
            flag.display()
        );
        let mut t = target_with_plugin(dir.path(), &script);
        t.authenticate(Duration::from_secs(5)).await.unwrap();
        let count = || std::fs::read_to_string(&runs).unwrap().lines().count();
        assert_eq!(count(), 1);
        t.fresh_client(Duration::from_secs(5)).await.unwrap();
        assert_eq!(count(), 2, "the plugin ran again for the fresh client");
        std::fs::write(&flag, "").unwrap();
        let e = t
            .fresh_client(Duration::from_secs(5))
            .await
            .err()
            .expect("the plugin failed")
            .to_string();
        assert_eq!(count(), 3);
        assert!(e.contains("session expired"), "{e}");
        assert!(!e.contains("tok-4711"), "{e}");
    }
}
