//! The kubeconfig user's credentials as the API server receives them, with
//! the real binary: a bearer token, a token file (relative to the
//! kubeconfig, trimmed), basic auth, an OIDC auth-provider's id-token, and a
//! client certificate from files or from data. The server is a recorder in
//! front of nothing: it notes each request's `Authorization` header and the
//! client certificate of its TLS connection, and answers 401, so every run
//! ends "rejected the credentials" (exit 2) without printing them.

use crate::support::spice::{Run, run_bin};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// What one request brought.
#[derive(Clone, Debug, PartialEq)]
struct Seen {
    authorization: Option<String>,
    /// The DER of the client certificate its connection presented.
    client_cert: Option<Vec<u8>>,
}

/// An HTTPS server on loopback that records and refuses every request.
struct Recorder {
    url: String,
    ca_pem: String,
    /// A client certificate the server accepts (signed by its client CA), PEM.
    client_cert_pem: String,
    client_key_pem: String,
    client_cert_der: Vec<u8>,
    seen: Arc<Mutex<Vec<Seen>>>,
    _runtime: tokio::runtime::Runtime,
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

impl Recorder {
    fn start() -> Recorder {
        let server_ca = ca("recorder-ca");
        let server_key = KeyPair::generate().unwrap();
        let server_cert = CertificateParams::new(vec!["127.0.0.1".into()])
            .unwrap()
            .signed_by(&server_key, &server_ca)
            .unwrap();
        let client_ca = ca("recorder-client-ca");
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::new()).unwrap();
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "alice");
        let client_cert = client_params.signed_by(&client_key, &client_ca).unwrap();

        let mut client_roots = rustls::RootCertStore::empty();
        client_roots.add(client_ca.der().clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(client_roots),
            provider(),
        )
        .allow_unauthenticated()
        .build()
        .unwrap();
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![server_cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
            )
            .unwrap();
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("https://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        runtime.spawn(async move {
            // Bounded: no test makes more than a few hundred connections.
            for _ in 0..500 {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let record = record.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let client_cert = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c: &CertificateDer| c.to_vec());
                    let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let authorization = req
                            .headers()
                            .get("authorization")
                            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                        record.lock().unwrap().push(Seen {
                            authorization,
                            client_cert: client_cert.clone(),
                        });
                        let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}"#;
                        async move {
                            Ok::<_, Infallible>(
                                hyper::Response::builder()
                                    .status(401)
                                    .header("content-type", "application/json")
                                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(tls), service)
                        .await;
                });
            }
        });
        Recorder {
            url,
            ca_pem: server_ca.pem(),
            client_cert_pem: client_cert.pem(),
            client_key_pem: client_key.serialize_pem(),
            client_cert_der: client_cert.der().to_vec(),
            seen,
            _runtime: runtime,
        }
    }

    fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().unwrap())
    }

    /// A kubeconfig in `dir` whose user is `user` (YAML lines under `user:`).
    fn kubeconfig(&self, dir: &Path, name: &str, user: &str) -> PathBuf {
        let text = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: r\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca}\n\
             users:\n- name: u\n  user:\n{user}\
             contexts:\n- name: r\n  context:\n    cluster: r\n    user: u\n    namespace: default\n\
             current-context: r\n",
            url = self.url,
            ca = b64(self.ca_pem.as_bytes()),
        );
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

fn b64(bytes: &[u8]) -> String {
    crate::support::sim::base64(bytes)
}

fn status(kubeconfig: &Path, home: &Path) -> Run {
    run_bin(
        crate::support::spice::BIN,
        &[
            "status",
            "--request-timeout",
            "3s",
            "--kubeconfig",
            kubeconfig.to_str().unwrap(),
        ],
        &[],
        home,
    )
}

#[test]
fn each_kubeconfig_credential_reaches_the_api_server_as_kubectl_sends_it() {
    let r = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    // Files named relative to the kubeconfig's directory.
    std::fs::create_dir(dir.path().join("creds")).unwrap();
    std::fs::write(dir.path().join("creds/token"), "file-t0ken-5ecret\n").unwrap();
    std::fs::write(dir.path().join("creds/alice.crt"), &r.client_cert_pem).unwrap();
    std::fs::write(dir.path().join("creds/alice.key"), &r.client_key_pem).unwrap();
    let cases: Vec<(&str, String, &str, Option<String>, bool)> = vec![
        (
            "token",
            "    token: st4tic-5ecret\n".into(),
            "st4tic-5ecret",
            Some("Bearer st4tic-5ecret".into()),
            false,
        ),
        (
            "token-file",
            "    tokenFile: creds/token\n".into(),
            "file-t0ken-5ecret",
            Some("Bearer file-t0ken-5ecret".into()),
            false,
        ),
        (
            "basic",
            "    username: alice\n    password: pa55-5ecret\n".into(),
            "pa55-5ecret",
            // base64("alice:pa55-5ecret")
            Some(format!("Basic {}", b64(b"alice:pa55-5ecret"))),
            false,
        ),
        (
            "oidc",
            "    auth-provider:\n      name: oidc\n      config:\n        client-id: k\n        id-token: eyJ.id-5ecret.sig\n"
                .into(),
            "id-5ecret",
            Some("Bearer eyJ.id-5ecret.sig".into()),
            false,
        ),
        (
            "cert-files",
            "    client-certificate: creds/alice.crt\n    client-key: creds/alice.key\n".into(),
            "PRIVATE KEY",
            None,
            true,
        ),
        (
            "cert-data",
            format!(
                "    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(r.client_cert_pem.as_bytes()),
                b64(r.client_key_pem.as_bytes())
            ),
            "PRIVATE KEY",
            None,
            true,
        ),
    ];
    for (name, user, secret, header, cert) in cases {
        let kc = r.kubeconfig(dir.path(), name, &user);
        let run = status(&kc, dir.path());
        assert_eq!(run.code, 2, "{name}: {}\n{}", run.stdout, run.stderr);
        assert!(
            run.stderr.contains("401"),
            "{name}: the server's answer is said: {}",
            run.stderr
        );
        assert!(
            !run.stderr.contains(secret) && !run.stdout.contains(secret),
            "{name}: {}",
            run.stderr
        );
        let seen = r.take();
        assert!(!seen.is_empty(), "{name}: no request reached the server");
        let want = Seen {
            authorization: header,
            client_cert: cert.then(|| r.client_cert_der.clone()),
        };
        for s in &seen {
            assert_eq!(s, &want, "{name}");
        }
    }
}

#[test]
fn a_removed_gcp_auth_provider_is_refused_without_running_its_command_or_a_request() {
    let r = Recorder::start();
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let script = dir.path().join("gcloud.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\ntouch '{}'\necho '{{\"token\":\"x\"}}'\n",
            marker.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let user = format!(
        "    auth-provider:\n      name: gcp\n      config:\n        access-token: gcp-5ecret\n        cmd-path: {}\n        token-key: '{{.token}}'\n",
        script.display()
    );
    let run = status(&r.kubeconfig(dir.path(), "gcp", &user), dir.path());
    assert_eq!(run.code, 2, "{}\n{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("gke-gcloud-auth-plugin"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("gcp-5ecret"), "{}", run.stderr);
    assert!(run.stderr.trim().lines().count() <= 2, "{}", run.stderr);
    assert!(!marker.exists(), "the cmd-path command ran");
    assert!(r.take().is_empty(), "a request was made");
}
