//! kubeconfig and context → a `kube::Client`, with kubectl's manners:
//! `--kubeconfig`, then every file in `KUBECONFIG` (missing ones skipped, as
//! client-go does, where kube-rs alone would fail the whole load), then
//! `~/.kube/config`, then the in-cluster service account.

use super::error::Error;
use crate::cli::GlobalArgs;
use kube::config::{ExecInteractiveMode, KubeConfigOptions, Kubeconfig};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The kube context to use, resolved but not yet connected.
pub struct KubeTarget {
    config: kube::Config,
    /// `None` in-cluster.
    pub context: Option<String>,
    /// The context's own namespace, if it sets one.
    pub context_namespace: Option<String>,
    pub server: String,
}

impl KubeTarget {
    /// Resolves kubeconfig, context, cluster and user like kubectl.
    pub async fn load(
        args: &GlobalArgs,
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
            Some(kc) => Self::from_kubeconfig(kc, &options).await,
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
                        context: None,
                        context_namespace: ns,
                        server,
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
        let mut config = kube::Config::from_custom_kubeconfig(kc, options)
            .await
            .map_err(|e| Error::Kubeconfig {
                path: format!("context {context_name}"),
                message: crate::error::chain_text(&e),
            })?;
        // client-go only lets an exec plugin talk to the user when stdin is a
        // terminal; kube-rs would hand it our stdin (a pipe under scripts), so
        // pin non-interactive mode there, as kubectl does.
        if let Some(exec) = config.auth_info.exec.as_mut()
            && !std::io::stdin().is_terminal()
        {
            exec.interactive_mode = Some(ExecInteractiveMode::Never);
        }
        let server = crate::settings::redact_url(&config.cluster_url.to_string());
        Ok(KubeTarget {
            config,
            context: Some(context_name),
            context_namespace,
            server,
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
        kube::Client::try_from(config).map_err(|e| Error::Kubeconfig {
            path: self.context.clone().unwrap_or_else(|| "in-cluster".into()),
            message: crate::error::chain_text(&e),
        })
    }
    /// A client for watch streams: a quiet watch may idle for minutes, so
    /// there is no read timeout (the server ends each watch after its
    /// `timeoutSeconds`, and the watcher resumes).
    pub fn watch_client(&self, connect_timeout: Duration) -> Result<kube::Client, Error> {
        let mut config = self.config.clone();
        config.connect_timeout = Some(connect_timeout);
        config.read_timeout = None;
        config.write_timeout = Some(connect_timeout);
        config.default_retry = false;
        kube::Client::try_from(config).map_err(|e| Error::Kubeconfig {
            path: self.context.clone().unwrap_or_else(|| "in-cluster".into()),
            message: crate::error::chain_text(&e),
        })
    }
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
