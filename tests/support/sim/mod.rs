//! The cluster simulator: a stand-in kube-apiserver for the integration tests
//! and the benchmarks.
//!
//! It speaks the real REST/JSON protocol over HTTPS (HTTP/2 or HTTP/1.1, see
//! `wire.rs`) with a bearer token, so
//! the real `kubectl` and kube-rs both work against it: legacy discovery
//! (`/api`, `/apis`, resource lists; KEDA and Karpenter only when the scenario
//! installs them), list / get with label and field selectors, watch (with
//! resourceVersion replay, bookmarks and 410 Expired), `pods/log`, the service
//! proxy, and `Status` error bodies worded exactly as a real API server words
//! them. Faults and latency are injectable per path prefix.
//!
//! Scenario objects are served as written, except that the simulator fills
//! what a real server always sets (`metadata.namespace` = `default` for
//! namespaced objects, `uid`, `creationTimestamp`, and its own global
//! `resourceVersion`), and replaces time placeholders: any string that is
//! exactly `$NOW`, `$NOW-<n><unit>` or `$NOW+<n><unit>` (unit `s`, `m`, `h`,
//! `d`) becomes that RFC 3339 time relative to the simulator's start (for
//! objects given to [`Sim::apply`]: relative to the call). See [`resolve_times`].

pub mod bulk;
mod client;
mod controller;
mod listing;
mod reader;
mod resources;
mod select;
mod server;
mod status;
mod store;
mod time;
mod tls;
pub mod version;
mod wire;

#[allow(unused_imports)] // Used by some test binaries and benchmarks, not all.
pub use client::RawResponse;
#[allow(unused_imports)]
pub use controller::{Controller, Timings, hpa_wanted};
#[allow(unused_imports)]
pub use reader::StoreReader;
#[allow(unused_imports)]
pub use time::{rel_time, resolve_times, rfc3339};
#[allow(unused_imports)]
pub use wire::{Exchange, waves};

use super::scenario::{Forbidden, Scenario};
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::{Rng, Store};
use tokio::sync::watch;

/// A fault injected for every request whose path (and query) starts with a prefix.
#[derive(Debug, Clone, Default)]
pub struct Fault {
    /// Answer with a real `Status` body of this HTTP code instead of serving.
    pub status: Option<u16>,
    /// Delay the answer by this much (on top of [`Sim::set_latency`]).
    pub latency: Option<Duration>,
    /// Leave this request unanswered: over HTTP/1.1 the connection drops,
    /// over HTTP/2 the request's stream is reset (the others go on).
    pub close: bool,
    /// Drop the whole connection (every request on it, over HTTP/2 too).
    pub drop_connection: bool,
    /// Answer, but shut the connection down gracefully: an HTTP/2 GOAWAY
    /// (what kube-apiserver's `--goaway-chance` sends), so the requests in
    /// flight finish and later ones need a new connection.
    pub goaway: bool,
    /// Answer with this code, content type and body verbatim: what a broken
    /// proxy in front of an API server sends (HTML, truncated JSON).
    pub raw: Option<(u16, &'static str, String)>,
    /// Serve the request (a write is stored and watches see it), then
    /// withhold the answer until the client gives up: an API server whose
    /// response was lost after etcd committed the change.
    pub apply_then_hang: bool,
    /// Answer 200 with this content type and these already-gzipped bytes
    /// (`Content-Encoding: gzip`, no length, sent in 64 KiB chunks): a
    /// hostile server's compression bomb, whatever the client asked for.
    pub gzip: Option<(&'static str, Bytes)>,
    /// Only for requests whose query contains this (`watch=true`).
    pub query: Option<&'static str>,
    /// Only for requests of this method (`PATCH`); `None`: every method.
    pub method: Option<&'static str>,
    /// Only for the next this many matching requests, then the fault is gone.
    pub times: Option<u32>,
}

impl Fault {
    pub fn status(code: u16) -> Fault {
        Fault {
            status: Some(code),
            ..Fault::default()
        }
    }

    pub fn latency(d: Duration) -> Fault {
        Fault {
            latency: Some(d),
            ..Fault::default()
        }
    }

    pub fn close() -> Fault {
        Fault {
            close: true,
            ..Fault::default()
        }
    }

    pub fn raw(code: u16, content_type: &'static str, body: impl Into<String>) -> Fault {
        Fault {
            raw: Some((code, content_type, body.into())),
            ..Fault::default()
        }
    }

    #[allow(dead_code)] // Used by some test binaries, not all.
    pub fn apply_then_hang() -> Fault {
        Fault {
            apply_then_hang: true,
            ..Fault::default()
        }
    }

    /// Answers with `gzipped` (see [`Fault::gzip`]).
    #[allow(dead_code)]
    pub fn gzip(content_type: &'static str, gzipped: Bytes) -> Fault {
        Fault {
            gzip: Some((content_type, gzipped)),
            ..Fault::default()
        }
    }

    /// The same fault, only for requests whose query contains `part`.
    #[allow(dead_code)]
    pub fn when_query(self, part: &'static str) -> Fault {
        Fault {
            query: Some(part),
            ..self
        }
    }

    /// The same fault, only for requests of `method`.
    #[allow(dead_code)]
    pub fn for_method(self, method: &'static str) -> Fault {
        Fault {
            method: Some(method),
            ..self
        }
    }

    /// The same fault, only for the next `n` matching requests.
    #[allow(dead_code)]
    pub fn times(self, n: u32) -> Fault {
        Fault {
            times: Some(n),
            ..self
        }
    }
}

/// What tests change while the simulator runs.
#[derive(Default)]
struct Control {
    latency: Duration,
    faults: Vec<(String, Fault)>,
    requests: Vec<String>,
    /// (namespace, service, port) → `http://host:port` base URL.
    upstreams: BTreeMap<(String, String, String), String>,
    /// `namespace/pod/container` (and `.../previous`) → log text.
    logs: BTreeMap<String, String>,
    /// Bearer tokens accepted besides the simulator's own (which the test
    /// harness keeps using): an exec credential plugin's, rotated by tests.
    user_tokens: Vec<String>,
}

/// State shared by the request handlers and the [`Sim`] handle.
struct Shared {
    token: String,
    user: String,
    installed: Vec<String>,
    /// The Kubernetes minor served (`/version`, dropped fields, warnings).
    version: version::ServedVersion,
    forbidden: Vec<Forbidden>,
    port: u16,
    store: Mutex<Store>,
    /// The latest resourceVersion; watches wake up on every change.
    changes: watch::Sender<u64>,
    /// Bumped by [`Sim::end_watches`]: every open watch ends.
    cut: watch::Sender<u64>,
    control: Mutex<Control>,
    shutdown: watch::Receiver<bool>,
    proxy_client: Client<HttpConnector, Full<Bytes>>,
    wire: wire::Wire,
    /// How lists are paged and represented (`listing`).
    paging: Mutex<listing::Paging>,
}

impl Shared {
    /// Creates or replaces an object and wakes the watches.
    fn apply(&self, obj: Value) {
        let rv = {
            let mut store = self.store.lock().unwrap();
            store.put(obj, SystemTime::now()).rv
        };
        self.changes.send_replace(rv);
    }

    /// Deletes an object if it exists and wakes the watches.
    fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
        let event = self
            .store
            .lock()
            .unwrap()
            .remove(api_version, kind, namespace, name);
        if let Some(event) = event {
            self.changes.send_replace(event.rv);
        }
    }
}

/// A running simulated cluster. Dropping it shuts it down.
pub struct Sim {
    shared: Arc<Shared>,
    addr: SocketAddr,
    ca_pem: String,
    ca_der: Vec<u8>,
    started: SystemTime,
    shutdown: watch::Sender<bool>,
    thread: Option<JoinHandle<()>>,
}

impl Sim {
    /// Serves `scenario` on `https://127.0.0.1:<free port>` from a runtime of
    /// its own on a background thread; returns once the port is bound.
    pub fn start(scenario: Scenario) -> Sim {
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let pki = tls::Pki::generate();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let addr = listener.local_addr().expect("local addr");
        let now = SystemTime::now();
        let started = UNIX_EPOCH
            + Duration::from_secs(now.duration_since(UNIX_EPOCH).expect("clock").as_secs());

        let served = version::ServedVersion::parse(&scenario.meta.kubernetes);
        let mut objects = scenario.objects.clone();
        served.admit(&mut objects);
        let mut store = Store::new();
        store.load(objects, started);
        let mut rng = Rng::from_os();
        let token = format!("{:016x}{:016x}", rng.next(), rng.next());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let (changes, _) = watch::channel(store.rv);
        let control = Control {
            logs: scenario.meta.logs.clone(),
            ..Control::default()
        };
        let shared = Arc::new(Shared {
            token,
            user: scenario.meta.user.clone(),
            installed: scenario.meta.installed.clone(),
            version: served,
            forbidden: scenario.meta.forbidden.clone(),
            port: addr.port(),
            store: Mutex::new(store),
            changes,
            cut: watch::channel(0).0,
            control: Mutex::new(control),
            shutdown: shutdown_rx.clone(),
            proxy_client: Client::builder(TokioExecutor::new()).build_http(),
            wire: wire::Wire::default(),
            paging: Mutex::default(),
        });

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("cluster-sim")
            .enable_all()
            .build()
            .expect("simulator runtime");
        let acceptors = wire::Acceptors {
            both: tokio_rustls::TlsAcceptor::from(pki.server.clone()),
            http1: tokio_rustls::TlsAcceptor::from(pki.server_http1.clone()),
        };
        let serving = shared.clone();
        let thread = std::thread::Builder::new()
            .name("cluster-sim".into())
            .spawn(move || {
                runtime.block_on(wire::serve(listener, acceptors, serving, shutdown_rx));
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .expect("simulator thread");
        Sim {
            shared,
            addr,
            ca_pem: pki.ca_pem,
            ca_der: pki.ca_der,
            started,
            shutdown: shutdown_tx,
            thread: Some(thread),
        }
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token the simulator accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// The CA that signed the serving certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The time `$NOW` placeholders in the scenario were resolved against
    /// (whole seconds).
    pub fn started_at(&self) -> SystemTime {
        self.started
    }

    /// Writes `dir/kubeconfig` (cluster `sim`, user `alice` with the token,
    /// context `sim` in namespace `default`, current) and returns its path.
    pub fn write_kubeconfig(&self, dir: &Path) -> PathBuf {
        let path = dir.join("kubeconfig");
        std::fs::write(&path, self.kubeconfig_yaml(self.token())).expect("write kubeconfig");
        path
    }

    /// The kubeconfig text, with `token` as the user's bearer token.
    pub fn kubeconfig_yaml(&self, token: &str) -> String {
        format!(
            "apiVersion: v1\n\
             kind: Config\n\
             clusters:\n\
             - name: sim\n  \
               cluster:\n    \
                 server: {url}\n    \
                 certificate-authority-data: {ca}\n\
             users:\n\
             - name: alice\n  \
               user:\n    \
                 token: {token}\n\
             contexts:\n\
             - name: sim\n  \
               context:\n    \
                 cluster: sim\n    \
                 user: alice\n    \
                 namespace: default\n\
             current-context: sim\n\
             preferences: {{}}\n",
            url = self.url(),
            ca = base64(self.ca_pem.as_bytes()),
        )
    }

    /// Added to every request from now on.
    pub fn set_latency(&self, d: Duration) {
        self.shared.control.lock().unwrap().latency = d;
    }

    /// Applies `fault` to every request whose path-and-query starts with
    /// `path_prefix` (the longest matching prefix wins; the same prefix again
    /// replaces the fault).
    pub fn inject(&self, path_prefix: &str, fault: Fault) {
        let mut control = self.shared.control.lock().unwrap();
        control.faults.retain(|(p, _)| p != path_prefix);
        control.faults.push((path_prefix.to_string(), fault));
    }

    /// The bearer tokens accepted besides [`Sim::token`] from now on; a
    /// token left out is revoked (its next request gets a real 401 Status).
    #[allow(dead_code)] // Used by some test binaries, not all.
    pub fn set_user_tokens(&self, tokens: &[&str]) {
        self.shared.control.lock().unwrap().user_tokens =
            tokens.iter().map(|t| t.to_string()).collect();
    }

    pub fn clear_faults(&self) {
        self.shared.control.lock().unwrap().faults.clear();
    }

    /// Every request so far, as `METHOD /path?query` (raw, as sent), in order.
    pub fn requests(&self) -> Vec<String> {
        self.shared.control.lock().unwrap().requests.clone()
    }

    pub fn reset_requests(&self) {
        self.shared.control.lock().unwrap().requests.clear();
    }

    /// Where the service proxy sends `/api/v1/namespaces/NS/services/SERVICE:PORT/proxy/...`:
    /// `upstream` is a base URL such as `http://127.0.0.1:9090`. `port` may be
    /// the port's number or name (the Service's `spec.ports` maps one to the other).
    pub fn set_proxy_upstream(&self, namespace: &str, service: &str, port: &str, upstream: &str) {
        self.shared.control.lock().unwrap().upstreams.insert(
            (namespace.into(), service.into(), port.into()),
            upstream.into(),
        );
    }

    /// Sets the log text `pods/log` serves for `namespace/pod/container`
    /// (`namespace/pod/container/previous` for `previous=true`).
    pub fn set_log(&self, key: &str, text: &str) {
        self.shared
            .control
            .lock()
            .unwrap()
            .logs
            .insert(key.into(), text.into());
    }

    /// Creates or replaces an object (bumping the resourceVersion); open
    /// watches see ADDED or MODIFIED.
    pub fn apply(&self, obj: Value) {
        self.shared.apply(obj);
    }

    /// Deletes an object if it exists; open watches see DELETED.
    /// `namespace` is ignored for cluster-scoped kinds (`None` = `default`).
    pub fn delete(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) {
        self.shared.delete(api_version, kind, namespace, name);
    }

    /// Ends every open watch, as an API server restart or a dropped
    /// connection does; clients must reconnect (and meet any injected fault).
    #[allow(dead_code)] // Used by some test binaries, not all.
    pub fn end_watches(&self) {
        self.shared.cut.send_modify(|n| *n += 1);
    }

    /// Forgets the change history, as an etcd compaction does: a watch from
    /// any earlier resourceVersion then gets `410 Expired`.
    pub fn compact(&self) {
        self.shared.store.lock().unwrap().compact();
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.shared.store.lock().unwrap().rv
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Standard base64 with padding (what kubeconfig's `*-data` fields hold).
pub fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}
