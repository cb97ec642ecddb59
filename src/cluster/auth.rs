//! The kubeconfig user's own credential on every request: a static bearer
//! token, a token file (re-read at most once a minute, as client-go's cached
//! file token source does), basic auth, or an OIDC auth-provider's
//! `id-token`. Client certificates are the TLS layer's (`tls`), exec plugins
//! the client's (`client::Credential`, run by the plugin itself, bounded).
//!
//! kube-rs has this layer too, but its one entry point also runs exec
//! plugins (unbounded), GCP `cmd-path` commands (with a JSONPath engine) and
//! parses their output with a second YAML crate: about 1.5 MB of the release
//! binary for code the plugin never runs. The precedence is kube-rs's: an
//! auth-provider, then username and password, then a token, then a token
//! file.

use http::{HeaderValue, Request};
use kube::config::AuthInfo;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long a token file's token is used before the file is read again
/// (client-go: `NewCachedFileTokenSource`, one minute).
const TOKEN_FILE_EVERY: Duration = Duration::from_secs(60);

/// The `Authorization` header a kubeconfig user sends.
#[derive(Clone)]
pub enum Auth {
    /// The same header on every request: a bearer token, basic auth, an
    /// OIDC `id-token`.
    Fixed(HeaderValue),
    /// A token file's token, read again once a minute.
    File(Arc<TokenFile>),
}

impl Auth {
    /// The credential of `user` that goes in a header, if any; the error is
    /// one line that names no secret.
    pub fn of(user: &AuthInfo) -> Result<Option<Auth>, String> {
        if let Some(provider) = &user.auth_provider {
            return provider_token(&provider.name, provider.config.get("id-token"))
                .and_then(|t| bearer(t).map(|h| Some(Auth::Fixed(h))));
        }
        if let (Some(name), Some(password)) = (&user.username, &user.password) {
            use secrecy::ExposeSecret;
            let pair = format!("{name}:{}", password.expose_secret());
            let value = format!("Basic {}", super::client::base64(pair.as_bytes()));
            return sensitive(&value)
                .map(|h| Some(Auth::Fixed(h)))
                .map_err(|()| {
                    "the kubeconfig user's username or password is not valid in an HTTP header"
                        .into()
                });
        }
        if let Some(token) = &user.token {
            use secrecy::ExposeSecret;
            return bearer(token.expose_secret().trim()).map(|h| Some(Auth::Fixed(h)));
        }
        if let Some(path) = &user.token_file {
            return TokenFile::open(Path::new(path), TOKEN_FILE_EVERY)
                .map(|f| Some(Auth::File(Arc::new(f))));
        }
        Ok(None)
    }

    fn header(&self) -> HeaderValue {
        match self {
            Auth::Fixed(h) => h.clone(),
            Auth::File(f) => f.header(),
        }
    }
}

/// An auth-provider's token, as client-go's providers leave it: `oidc`
/// sends its `id-token` (refreshing it is the login tool's job, e.g.
/// `kubectl oidc-login`); `gcp` and `azure` were removed from client-go
/// (kubectl 1.26) in favour of exec plugins, and are refused in its words.
fn provider_token<'a>(name: &str, id_token: Option<&'a String>) -> Result<&'a str, String> {
    match name {
        "oidc" => id_token
            .map(|t| t.trim())
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                "the oidc auth-provider has no id-token: log in again (e.g. with kubectl oidc-login)"
                    .into()
            }),
        "gcp" => Err(
            "the gcp auth-provider was removed from kubectl; use the gke-gcloud-auth-plugin exec plugin instead"
                .into(),
        ),
        "azure" => Err(
            "the azure auth-provider was removed from kubectl; use the kubelogin exec plugin instead"
                .into(),
        ),
        other => Err(format!(
            "no auth-provider named {} is supported (only oidc)",
            crate::error::quote(other)
        )),
    }
}

fn bearer(token: &str) -> Result<HeaderValue, String> {
    if token.is_empty() {
        return Err("the kubeconfig user's token is empty".into());
    }
    sensitive(&format!("Bearer {token}"))
        .map_err(|()| "the kubeconfig user's token is not valid in an HTTP header".into())
}

/// A header value never printed (hyper's `Debug` shows `Sensitive`).
fn sensitive(value: &str) -> Result<HeaderValue, ()> {
    let mut h = HeaderValue::from_str(value).map_err(|_| ())?;
    h.set_sensitive(true);
    Ok(h)
}

/// A token file and its token as last read.
pub struct TokenFile {
    path: PathBuf,
    every: Duration,
    cached: Mutex<(HeaderValue, Instant)>,
}

impl TokenFile {
    /// Reads the file once now: a file that cannot be read, or holds no
    /// token, fails the run here, in one line that quotes no content.
    fn open(path: &Path, every: Duration) -> Result<TokenFile, String> {
        let header = read_token(path)?;
        Ok(TokenFile {
            path: path.to_path_buf(),
            every,
            cached: Mutex::new((header, Instant::now())),
        })
    }

    /// The token, read again when the last read is `every` old. A file that
    /// cannot be read then (removed after start, as some setups do to limit
    /// exposure) keeps the last token, as client-go does.
    fn header(&self) -> HeaderValue {
        let mut cached = self.cached.lock().unwrap_or_else(|p| p.into_inner());
        if cached.1.elapsed() >= self.every {
            if let Ok(fresh) = read_token(&self.path) {
                cached.0 = fresh;
            }
            cached.1 = Instant::now();
        }
        cached.0.clone()
    }
}

/// The token in `path`, trimmed (client-go: `strings.TrimSpace`).
fn read_token(path: &Path) -> Result<HeaderValue, String> {
    let shown = crate::error::quote(&path.display().to_string());
    let bytes = std::fs::read(path).map_err(|e| {
        format!(
            "cannot read the token file {shown}: {}",
            crate::error::io_reason(&e)
        )
    })?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("the token file {shown} is not text"))?
        .trim();
    if text.is_empty() {
        return Err(format!("the token file {shown} is empty"));
    }
    sensitive(&format!("Bearer {text}"))
        .map_err(|()| format!("the token in {shown} is not valid in an HTTP header"))
}

/// Sets the user's `Authorization` header on every request.
#[derive(Clone)]
pub struct AuthLayer(pub Auth);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = WithAuth<S>;

    fn layer(&self, inner: S) -> WithAuth<S> {
        WithAuth {
            inner,
            auth: self.0.clone(),
        }
    }
}

#[derive(Clone)]
pub struct WithAuth<S> {
    inner: S,
    auth: Auth,
}

impl<S, B> tower::Service<Request<B>> for WithAuth<S>
where
    S: tower::Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> S::Future {
        req.headers_mut()
            .insert(http::header::AUTHORIZATION, self.auth.header());
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(yaml: serde_json::Value) -> AuthInfo {
        serde_json::from_value(yaml).expect("an AuthInfo")
    }

    fn header(user: &AuthInfo) -> Option<String> {
        Auth::of(user)
            .expect("a credential")
            .map(|a| a.header().to_str().expect("ascii").to_string())
    }

    #[test]
    fn each_kind_of_kubeconfig_credential_is_its_header() {
        assert_eq!(
            header(&user(serde_json::json!({"token": "tok-1\n"}))),
            Some("Bearer tok-1".into())
        );
        // "alice:s3cret" in base64.
        assert_eq!(
            header(&user(
                serde_json::json!({"username": "alice", "password": "s3cret"})
            )),
            Some("Basic YWxpY2U6czNjcmV0".into())
        );
        assert_eq!(
            header(&user(serde_json::json!({
                "auth-provider": {"name": "oidc", "config": {"id-token": "eyJ.x.y", "client-id": "k"}}
            }))),
            Some("Bearer eyJ.x.y".into())
        );
        assert_eq!(header(&user(serde_json::json!({}))), None);
        // Basic before a token, a token before a token file (kube-rs's order).
        assert_eq!(
            header(&user(serde_json::json!({
                "username": "alice", "password": "s3cret", "token": "tok-1",
                "tokenFile": "/nonexistent"
            }))),
            Some("Basic YWxpY2U6czNjcmV0".into())
        );
        assert_eq!(
            header(&user(
                serde_json::json!({"token": "tok-1", "tokenFile": "/nonexistent"})
            )),
            Some("Bearer tok-1".into())
        );
        let sensitive = Auth::of(&user(serde_json::json!({"token": "tok-1"})))
            .unwrap()
            .unwrap()
            .header();
        assert!(sensitive.is_sensitive());
        assert!(!format!("{sensitive:?}").contains("tok-1"));
    }

    #[test]
    fn removed_and_unknown_auth_providers_are_one_line_without_their_config() {
        for (name, words) in [
            ("gcp", "gke-gcloud-auth-plugin"),
            ("azure", "kubelogin"),
            ("keycloak", "no auth-provider named keycloak"),
            ("oidc", "no id-token"),
        ] {
            let e = match Auth::of(&user(serde_json::json!({
                "auth-provider": {"name": name, "config": {"access-token": "s3cret", "cmd-path": "/bin/false"}}
            }))) {
                Err(e) => e,
                Ok(_) => panic!("{name} gave a credential"),
            };
            assert!(e.contains(words), "{name}: {e}");
            assert!(!e.contains("s3cret") && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn a_token_file_is_trimmed_read_again_when_due_and_kept_when_it_goes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "first\n").unwrap();
        // Due at once: every request reads the file.
        let file = TokenFile::open(&path, Duration::ZERO).unwrap();
        assert_eq!(file.header(), "Bearer first");
        std::fs::write(&path, "  second  \n").unwrap();
        assert_eq!(file.header(), "Bearer second");
        // The file removed, or emptied: the last token is kept.
        std::fs::write(&path, "\n").unwrap();
        assert_eq!(file.header(), "Bearer second");
        std::fs::remove_file(&path).unwrap();
        assert_eq!(file.header(), "Bearer second");
        // Not due yet: the file is not read again.
        std::fs::write(&path, "third").unwrap();
        let slow = TokenFile::open(&path, Duration::from_secs(3600)).unwrap();
        std::fs::write(&path, "fourth").unwrap();
        assert_eq!(slow.header(), "Bearer third");
    }

    #[test]
    fn a_token_file_that_cannot_be_read_or_is_empty_fails_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = TokenFile::open(&missing, TOKEN_FILE_EVERY).err().unwrap();
        assert!(e.starts_with("cannot read the token file"), "{e}");
        let empty = dir.path().join("empty");
        std::fs::write(&empty, " \n").unwrap();
        let e = TokenFile::open(&empty, TOKEN_FILE_EVERY).err().unwrap();
        assert!(e.ends_with("is empty"), "{e}");
        let bad = dir.path().join("bad");
        std::fs::write(&bad, "s3cret\nsecond line").unwrap();
        let e = TokenFile::open(&bad, TOKEN_FILE_EVERY).err().unwrap();
        assert!(!e.contains("s3cret"), "{e}");
    }
}
