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
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The kube context to use, resolved but not yet connected.
pub struct KubeTarget {
    config: kube::Config,
    /// The exec plugin's token, run again before it expires, for every
    /// client of the run (set by [`KubeTarget::authenticate`]).
    credential: Option<Arc<Credential>>,
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
                        credential: None,
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
            credential: None,
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
    /// request was just lost on) is not used. The fresh token is the run's
    /// from then on.
    pub async fn fresh_client(&self, timeout: Duration) -> Result<kube::Client, Error> {
        let mut config = self.config.clone();
        match (&self.credential, &self.exec) {
            (Some(credential), _) => credential.renew(timeout).await?,
            // A client certificate: the plugin runs again, bounded, and its
            // certificate goes on this client's own connection.
            (None, Some(exec)) => match exec_credential(exec, timeout).await? {
                Given::Certificate { cert, key } => set_certificate(&mut config, &cert, &key),
                Given::Token { .. } => {
                    return Err(Error::ExecPlugin {
                        command: exec_name(exec),
                        message: "gave a token where it gave a client certificate before".into(),
                    });
                }
            },
            (None, None) => {}
        }
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.write_timeout = Some(timeout);
        config.default_retry = false;
        let failed = |message: String| Error::Kubeconfig {
            path: self.context.clone().unwrap_or_else(|| "in-cluster".into()),
            message,
        };
        if let Some(proxy) = &config.proxy_url {
            return Err(failed(no_proxy_support(proxy)));
        }
        let own = Transport::new(&config).map_err(|e| failed(crate::error::chain_text(&*e)))?;
        self.over(&config, own.with_request_timeout(Some(timeout)))
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
        // This build has no proxy support, and says so.
        if let Some(proxy) = &config.proxy_url {
            return Err(failed(no_proxy_support(proxy)));
        }
        let shared = match self.transport.get() {
            Some(t) => t.clone(),
            None => {
                let t =
                    Transport::new(config).map_err(|e| failed(crate::error::chain_text(&*e)))?;
                self.transport.get_or_init(|| t).clone()
            }
        };
        self.over(config, shared.with_request_timeout(request_timeout))
            .map_err(|e| failed(crate::error::chain_text(&*e)))
    }

    /// The kube client over `transport`, its requests carrying the run's
    /// credential when an exec plugin gives one.
    fn over(
        &self,
        config: &kube::Config,
        transport: Transport,
    ) -> Result<kube::Client, transport::BoxError> {
        match &self.credential {
            Some(credential) => transport::kube_client(
                config,
                Authorized {
                    inner: transport,
                    credential: credential.clone(),
                },
            ),
            None => transport::kube_client(config, transport),
        }
    }
}

/// The one line for an API server behind a proxy (the cluster's `proxy-url`,
/// or `HTTPS_PROXY` for a server it applies to), its credentials redacted.
fn no_proxy_support(proxy: &http::Uri) -> String {
    format!(
        "proxy {} (proxy-url or HTTPS_PROXY): this build connects to the API server directly and has no proxy support",
        crate::error::quote(&crate::settings::redact_url(&proxy.to_string()))
    )
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
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
}

/// What one run of the plugin gave.
enum Given {
    Token {
        token: String,
        expires: Option<jiff::Timestamp>,
    },
    Certificate {
        cert: String,
        key: String,
    },
}

impl KubeTarget {
    /// Runs the kubeconfig's exec credential plugin, if any, once and bounded
    /// by `timeout`. kube-rs runs it itself with no time limit (when a
    /// client is built, again for every client and for the TLS setup), and
    /// quotes its command line, environment and whole output when it exits
    /// non-zero. Here every run is bounded in time and output, one that
    /// fails is reported by its exit status and stderr, and neither its
    /// arguments, its environment nor its stdout is ever printed. A token
    /// becomes the run's one [`Credential`], run again before it expires; a
    /// client certificate is used for the run.
    pub async fn authenticate(&mut self, timeout: Duration) -> Result<(), Error> {
        let Some(exec) = self.config.auth_info.exec.clone() else {
            return Ok(());
        };
        // A static token wins over the plugin, as it does for kube-rs.
        if self.config.auth_info.token.is_some() {
            self.config.auth_info.exec = None;
            return Ok(());
        }
        match exec_credential(&exec, timeout).await? {
            Given::Token { token, expires } => {
                self.credential = Some(Arc::new(Credential::new(exec, timeout, token, expires)));
            }
            Given::Certificate { cert, key } => set_certificate(&mut self.config, &cert, &key),
        }
        // kube-rs never runs the plugin: no exec is left in the config.
        self.config.auth_info.exec = None;
        Ok(())
    }
}

/// Puts a plugin's client certificate and key into `config`, as kubeconfig
/// data (base64).
fn set_certificate(config: &mut kube::Config, cert: &str, key: &str) {
    config.auth_info.client_certificate_data = Some(base64(cert.as_bytes()));
    config.auth_info.client_key_data = Some(base64(key.as_bytes()).into());
    config.auth_info.client_certificate = None;
    config.auth_info.client_key = None;
    config.auth_info.exec = None;
    config.auth_info.token = None;
}

pub(crate) fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ABC[((n >> shift) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The run's one credential from an exec plugin: the token it gave, run
/// again (bounded, one run at a time) shortly before its
/// `expirationTimestamp`, for every client: watch streams, one-shot reads,
/// Prometheus and Loki through the service proxy, and the put-back.
pub struct Credential {
    exec: ExecConfig,
    timeout: Duration,
    state: tokio::sync::Mutex<Cached>,
    /// When the API server last refused the token (401), making it due:
    /// at most once every [`REJECTED_EVERY`], so a token the plugin keeps
    /// giving back is not asked for on every request.
    rejected: std::sync::Mutex<Option<std::time::Instant>>,
    /// The latest token, for a reader that cannot wait.
    latest: std::sync::Mutex<String>,
}

struct Cached {
    token: String,
    expires: Option<jiff::Timestamp>,
    /// When to run the plugin again: a little before it expires.
    refresh_at: Option<jiff::Timestamp>,
    /// After a failed refresh, not again before this (the old token is
    /// still good until it expires).
    retry_after: Option<std::time::Instant>,
}

impl Cached {
    fn new(token: String, expires: Option<jiff::Timestamp>) -> Cached {
        let now = jiff::Timestamp::now();
        // kube-rs refreshes 10 s early; a short-lived token (a test's, or a
        // clock-skewed one) a quarter of its life early.
        let refresh_at = expires.map(|e| {
            let life = e.duration_since(now).max(jiff::SignedDuration::ZERO);
            let margin = (life / 4).min(jiff::SignedDuration::from_secs(10));
            e.checked_sub(margin).unwrap_or(e)
        });
        Cached {
            token,
            expires,
            refresh_at,
            retry_after: None,
        }
    }
}

impl Credential {
    fn new(
        exec: ExecConfig,
        timeout: Duration,
        token: String,
        expires: Option<jiff::Timestamp>,
    ) -> Credential {
        Credential {
            exec,
            timeout,
            rejected: std::sync::Mutex::new(None),
            latest: std::sync::Mutex::new(token.clone()),
            state: tokio::sync::Mutex::new(Cached::new(token, expires)),
        }
    }

    #[cfg(test)]
    fn current(&self) -> Option<String> {
        Some(self.latest.lock().ok()?.clone())
    }

    /// The token to send now, running the plugin again first when it is
    /// about to expire. Concurrent requests wait for the one run.
    async fn token(&self) -> Result<String, Error> {
        let mut cached = self.state.lock().await;
        let now = jiff::Timestamp::now();
        let due = cached.refresh_at.is_some_and(|at| now >= at);
        let expired = cached.expires.is_some_and(|e| now >= e);
        let waiting = cached
            .retry_after
            .is_some_and(|t| std::time::Instant::now() < t);
        if !due || (waiting && !expired) {
            return Ok(cached.token.clone());
        }
        match self.run(self.timeout).await {
            Ok(fresh) => {
                *cached = fresh;
                self.remember(&cached.token);
                Ok(cached.token.clone())
            }
            // The old token is still good for a while: use it, and ask the
            // plugin again a little later rather than on every request.
            Err(_) if !expired => {
                cached.retry_after = Some(std::time::Instant::now() + Duration::from_secs(2));
                Ok(cached.token.clone())
            }
            Err(e) => Err(e),
        }
    }

    /// The API server refused `token` (401): as client-go does, the plugin
    /// runs again before the next request (a token revoked or rotated
    /// before its expiry, or one that gave none).
    async fn refused(&self, token: &str) {
        {
            let Ok(mut rejected) = self.rejected.lock() else {
                return;
            };
            if rejected.is_some_and(|at| at.elapsed() < REJECTED_EVERY) {
                return;
            }
            *rejected = Some(std::time::Instant::now());
        }
        let mut cached = self.state.lock().await;
        if cached.token == token {
            cached.refresh_at = Some(jiff::Timestamp::now());
            cached.retry_after = None;
        }
    }

    /// Runs the plugin again now, bounded by `timeout`.
    async fn renew(&self, timeout: Duration) -> Result<(), Error> {
        let mut cached = self.state.lock().await;
        *cached = self.run(timeout).await?;
        self.remember(&cached.token);
        Ok(())
    }

    fn remember(&self, token: &str) {
        if let Ok(mut latest) = self.latest.lock() {
            *latest = token.to_string();
        }
    }

    async fn run(&self, timeout: Duration) -> Result<Cached, Error> {
        match exec_credential(&self.exec, timeout).await? {
            Given::Token { token, expires } => Ok(Cached::new(token, expires)),
            Given::Certificate { .. } => Err(Error::ExecPlugin {
                command: exec_name(&self.exec),
                message: "gave a client certificate where it gave a token before".into(),
            }),
        }
    }
}

/// How often a 401 may make the credential's plugin run again.
const REJECTED_EVERY: Duration = Duration::from_secs(10);

/// The service under kube's layers that sets `Authorization: Bearer` from
/// the run's [`Credential`] on every request.
#[derive(Clone)]
struct Authorized {
    inner: Transport,
    credential: Arc<Credential>,
}

impl tower::Service<http::Request<kube::client::Body>> for Authorized {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = transport::BoxError;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<kube::client::Body>) -> Self::Future {
        use futures::FutureExt;
        let mut inner = self.inner.clone();
        let credential = self.credential.clone();
        async move {
            let token = credential.token().await?;
            let mut value = http::HeaderValue::from_str(&format!("Bearer {token}"))
                .map_err(|_| "the exec plugin's token is not a valid header value")?;
            value.set_sensitive(true);
            req.headers_mut().insert(http::header::AUTHORIZATION, value);
            let response = tower::Service::call(&mut inner, req).await?;
            if response.status() == http::StatusCode::UNAUTHORIZED {
                credential.refused(&token).await;
            }
            Ok(response)
        }
        .boxed()
    }
}

/// Runs the exec plugin once, bounded by `timeout`: its token (and when it
/// expires) or its client certificate.
async fn exec_credential(exec: &ExecConfig, timeout: Duration) -> Result<Given, Error> {
    let stdout = run_exec(exec, timeout).await?;
    let command = exec_name(exec);
    let unreadable = |what: &str| Error::ExecPlugin {
        command: command.clone(),
        message: format!(
            "printed no ExecCredential with {what} ({} bytes of output, not shown as they may hold a credential)",
            stdout.len()
        ),
    };
    let credential: ExecCredential = serde_json::from_slice(&stdout)
        .or_else(|_| serde_norway::from_slice(&stdout))
        .map_err(|_| unreadable("a status"))?;
    let status = credential.status.ok_or_else(|| unreadable("a status"))?;
    if let (Some(cert), Some(key)) = (
        status.client_certificate_data.filter(|c| !c.is_empty()),
        status.client_key_data.filter(|k| !k.is_empty()),
    ) {
        return Ok(Given::Certificate { cert, key });
    }
    let token = status
        .token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| unreadable("a token or a client certificate"))?;
    // A time that cannot be read counts as one minute from now: the token
    // is used, and the plugin asked again soon.
    let expires = status.expiration_timestamp.map(|t| {
        let soon = || {
            let now = jiff::Timestamp::now();
            now.checked_add(jiff::SignedDuration::from_secs(60))
                .unwrap_or(now)
        };
        t.parse::<jiff::Timestamp>().unwrap_or_else(|_| soon())
    });
    Ok(Given::Token { token, expires })
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
    let mut child = cmd
        .spawn()
        .map_err(|e| fail(format!("cannot start it: {}", crate::error::io_reason(&e))))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let run = async {
        let (out, err) =
            tokio::try_join!(read_capped(stdout, "stdout"), read_capped(stderr, "stderr"))?;
        Ok::<_, Piped>((out, err, child.wait().await.map_err(Piped::Io)?))
    };
    // On every early return the child is dropped, which kills it
    // (kill_on_drop): at the time limit, and at the first byte past the cap.
    let (out, err, status) = match tokio::time::timeout(timeout, run).await {
        Ok(Ok(done)) => done,
        Ok(Err(Piped::Io(e))) => return Err(fail(crate::error::io_reason(&e))),
        Ok(Err(Piped::Over(pipe))) => {
            return Err(fail(format!(
                "printed more than {} MiB on {pipe}, the most a credential plugin may",
                MAX_PLUGIN_OUTPUT >> 20
            )));
        }
        Err(_) => {
            return Err(fail(format!(
                "did not finish within {} (--request-timeout)",
                crate::settings::show_duration(timeout)
            )));
        }
    };
    if !status.success() {
        let said = match crate::error::quote(&String::from_utf8_lossy(&err)) {
            q if q.is_empty() => String::new(),
            q => format!(": {q}"),
        };
        return Err(fail(format!("failed ({status}){said}")));
    }
    Ok(out)
}

/// The most a credential plugin may print on stdout, and on stderr (an
/// ExecCredential is a few KiB; one with a certificate chain a few more).
const MAX_PLUGIN_OUTPUT: usize = 1 << 20;

/// Why a plugin's pipe could not be read to its end.
enum Piped {
    Io(std::io::Error),
    /// More than [`MAX_PLUGIN_OUTPUT`] bytes on this pipe.
    Over(&'static str),
}

/// Reads a plugin's pipe to its end, in chunks, and gives up at the first
/// byte past [`MAX_PLUGIN_OUTPUT`]: a plugin that prints gigabytes costs at
/// most that much memory, and is stopped at once.
async fn read_capped<R: tokio::io::AsyncRead + Unpin>(
    pipe: Option<R>,
    name: &'static str,
) -> Result<Vec<u8>, Piped> {
    use tokio::io::AsyncReadExt;
    let Some(mut pipe) = pipe else {
        return Ok(Vec::new());
    };
    let mut kept = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = pipe.read(&mut chunk).await.map_err(Piped::Io)?;
        if n == 0 {
            return Ok(kept);
        }
        if kept.len() + n > MAX_PLUGIN_OUTPUT {
            return Err(Piped::Over(name));
        }
        kept.extend_from_slice(&chunk[..n]);
    }
}

fn read_file(path: &Path) -> Result<Kubeconfig, Error> {
    if !path.exists() {
        return Err(Error::Kubeconfig {
            path: path.display().to_string(),
            message: "no such file".into(),
        });
    }
    super::kubeconfig::read(path).map_err(|message| Error::Kubeconfig {
        path: path.display().to_string(),
        message,
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
            credential: None,
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
        let credential = t
            .credential
            .as_ref()
            .expect("the token is the run's credential");
        assert_eq!(credential.current().as_deref(), Some("tok-4711"));
        assert!(
            credential.state.lock().await.refresh_at.is_none(),
            "no expiry: nothing to refresh"
        );

        let expiring = CREDENTIAL.replace(
            r#""token""#,
            r#""expirationTimestamp":"2030-01-01T00:00:00Z","token""#,
        );
        let mut t = target_with_plugin(dir.path(), &format!("echo '{expiring}'"));
        t.authenticate(Duration::from_secs(5)).await.unwrap();
        let credential = t.credential.as_ref().expect("credential");
        let refresh_at = credential.state.lock().await.refresh_at;
        assert_eq!(
            refresh_at.map(|t| t.to_string()).as_deref(),
            Some("2029-12-31T23:59:50Z"),
            "an expiring token is run again 10 s before it expires"
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

    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        for (raw, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("-----BEGIN?>", "LS0tLS1CRUdJTj8+"),
        ] {
            assert_eq!(base64(raw.as_bytes()), coded, "{raw}");
        }
    }

    #[tokio::test]
    async fn a_plugin_printing_megabytes_is_cut_at_one_mib_and_never_quoted() {
        let dir = tempfile::tempdir().unwrap();
        // 8 MiB of 'A' on stdout: read and dropped past 1 MiB, then refused.
        let mut t = target_with_plugin(dir.path(), "head -c 8388608 /dev/zero | tr '\\\\0' A");
        let e = t
            .authenticate(Duration::from_secs(20))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("printed more than 1 MiB on stdout"), "{e}");
        assert!(!e.contains("AAAA"), "{e}");
    }

    #[tokio::test]
    async fn the_credential_runs_the_plugin_again_before_expiry_and_keeps_a_good_token() {
        let dir = tempfile::tempdir().unwrap();
        let runs = dir.path().join("runs");
        let flag = dir.path().join("fail");
        // Each run gives token tok-<run number>, good for 4 s.
        let script = format!(
            "echo run >> '{runs}'; if [ -e '{flag}' ]; then echo nope >&2; exit 1; fi\n\
             n=$(wc -l < '{runs}'); exp=$(date -u -d '+4 seconds' +%Y-%m-%dT%H:%M:%S.%3NZ)\n\
             echo '{{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"tok-'$n'\",\"expirationTimestamp\":\"'$exp'\"}}}}'",
            runs = runs.display(),
            flag = flag.display(),
        );
        let mut t = target_with_plugin(dir.path(), &script);
        t.authenticate(Duration::from_secs(5)).await.unwrap();
        let credential = t.credential.clone().expect("credential");
        assert_eq!(credential.token().await.unwrap(), "tok-1", "cached");
        // Past the refresh point (a quarter of its life early): run again.
        tokio::time::sleep(Duration::from_millis(3300)).await;
        let fresh = credential.token().await.unwrap();
        assert_eq!(fresh, "tok-2");
        // A failing refresh while the token is still good keeps it.
        std::fs::write(&flag, "").unwrap();
        tokio::time::sleep(Duration::from_millis(3300)).await;
        assert_eq!(credential.token().await.unwrap(), "tok-2");
        // Once it has expired, the failure is the answer, named, no args.
        tokio::time::sleep(Duration::from_millis(3000)).await;
        let e = credential.token().await.unwrap_err().to_string();
        assert!(e.contains("failed (exit status: 1): nope"), "{e}");
        assert!(!e.contains("--secret-arg"), "{e}");
    }
}
