//! The wire under the kube client: one TLS connection per run, HTTP/2 when
//! the API server offers it (as kubectl's client-go does), pooled HTTP/1.1
//! when it does not.
//!
//! kube-rs builds an HTTP/1.1-only client, and hyper-util's pool opens one
//! connection per concurrent request until it has seen that a connection
//! speaks HTTP/2, so a collect step that issues sixteen reads at once would
//! open sixteen connections (sixteen TCP and TLS handshakes, sixteen
//! admissions by the API server). Here the first request establishes the
//! connection and every concurrent request waits for that same attempt; the
//! negotiated ALPN then decides: `h2` multiplexes every request (API reads,
//! service-proxy reads of Prometheus and Loki, watch streams) over it,
//! `http/1.1` hands it to a pooled HTTP/1.1 client as its first connection.
//! A connection that closes (GOAWAY, reset) is replaced on the next request.
//!
//! A server that offered no HTTP/2 is remembered (see `remember`): the next
//! run skips the wait for the first handshake's ALPN answer and opens its
//! parallel connections at once, each still offering `h2`, so a server that
//! has learnt HTTP/2 since is used as such (and forgotten as HTTP/1.1-only).

use futures::FutureExt;
use futures::future::{BoxFuture, Shared};
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http2;
use hyper_util::client::legacy;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use kube::client::Body;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// How often an idle HTTP/2 connection is pinged, so that a watch over a
/// connection the network silently dropped ends instead of hanging.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(30);
/// How long a ping may go unanswered before the connection counts as dead.
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(20);
/// HTTP/2 receive windows, fixed (no BDP growth: hyper's `adaptive_window`
/// starts both at the spec's 65,535 bytes, so an answer over 64 KiB waited a
/// round trip for WINDOW_UPDATE, and a list arriving in many small DATA
/// frames exhausted h2's frame-overhead budget, which is half the connection
/// window: `GOAWAY ENHANCE_YOUR_CALM too_many_data_frames`). With these the
/// reads of a run flow in one round trip; what the process holds stays
/// bounded by the answer budget (`bounded.rs`), not by the windows. Go's
/// client advertises 1 GiB / 4 MiB.
const H2_CONNECTION_WINDOW: u32 = 16 << 20;
const H2_STREAM_WINDOW: u32 = 8 << 20;

/// A byte stream both plain TCP and TLS over TCP satisfy.
trait Duplex: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Duplex for T {}

/// An established connection to the API server and what it negotiated.
pub struct Stream {
    io: TokioIo<Box<dyn Duplex>>,
    h2: bool,
}

/// Which protocols a new connection offers in its TLS ALPN extension.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Offer {
    /// `h2` first, then `http/1.1`: the first connection of a run.
    Both,
    /// Only `http/1.1`: more connections once the server has said it does
    /// not speak HTTP/2.
    Http1,
}

/// How to open a connection to the API server.
struct Dialer {
    host: String,
    port: u16,
    /// The server as remembered: scheme, host and port (no path, no
    /// credentials).
    key: String,
    /// `None` for a plain `http://` server (HTTP/1.1 only then).
    tls: Option<Tls>,
    connect_timeout: Option<Duration>,
}

struct Tls {
    both: tokio_rustls::TlsConnector,
    http1: tokio_rustls::TlsConnector,
    server_name: ServerName<'static>,
}

impl Dialer {
    async fn dial(&self, offer: Offer) -> io::Result<Stream> {
        let attempt = self.dial_unbounded(offer);
        match self.connect_timeout {
            Some(limit) => tokio::time::timeout(limit, attempt)
                .await
                .unwrap_or_else(|_| {
                    Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "connecting to {}:{} took longer than {}",
                            self.host,
                            self.port,
                            crate::settings::show_duration(limit)
                        ),
                    ))
                }),
            None => attempt.await,
        }
    }

    async fn dial_unbounded(&self, offer: Offer) -> io::Result<Stream> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("tcp connect error to {}:{}: {e}", self.host, self.port),
                )
            })?;
        // Requests are small and latency-bound; Nagle would hold them back.
        let _ = tcp.set_nodelay(true);
        let Some(tls) = &self.tls else {
            return Ok(Stream {
                io: TokioIo::new(Box::new(tcp)),
                h2: false,
            });
        };
        let connector = match offer {
            Offer::Both => &tls.both,
            Offer::Http1 => &tls.http1,
        };
        let stream = connector
            .connect(tls.server_name.clone(), tcp)
            .await
            .map_err(|e| io::Error::new(e.kind(), format!("TLS handshake failed: {e}")))?;
        let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
        Ok(Stream {
            io: TokioIo::new(Box::new(stream)),
            h2,
        })
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        // Pooled connections speak HTTP/1.1, unless the server was remembered
        // as HTTP/1.1-only and has offered `h2` since: then the pool speaks
        // HTTP/2 on it.
        if self.h2 {
            Connected::new().negotiated_h2()
        } else {
            Connected::new()
        }
    }
}

/// The pooled HTTP/1.1 client's connector: the run's first connection once,
/// then new HTTP/1.1-only connections to the same server (every request
/// goes there: the base-URI layer above sets it).
#[derive(Clone)]
struct Http1Connector {
    dialer: Arc<Dialer>,
    first: Arc<Mutex<Option<Stream>>>,
    /// What new connections offer: `Http1` once this run saw the server's
    /// answer; `Both` when only a past run did (the memory may be stale).
    offer: Offer,
}

impl tower::Service<Uri> for Http1Connector {
    type Response = Stream;
    type Error = io::Error;
    type Future = BoxFuture<'static, io::Result<Stream>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Uri) -> Self::Future {
        let first = self.first.lock().unwrap_or_else(|p| p.into_inner()).take();
        let dialer = self.dialer.clone();
        let offer = self.offer;
        async move {
            match first {
                Some(stream) => Ok(stream),
                None => {
                    let stream = dialer.dial(offer).await?;
                    if stream.h2 {
                        // Stale: the server speaks HTTP/2 now.
                        super::remember::set_http1_only(&dialer.key, false);
                    }
                    Ok(stream)
                }
            }
        }
        .boxed()
    }
}

/// The protocol the server chose, ready for requests.
#[derive(Clone)]
enum Conn {
    H2(http2::SendRequest<Body>),
    // Boxed: the pooled client is large, and the enum is cloned per request.
    Http1(Box<legacy::Client<Http1Connector, Body>>),
}

/// A connection attempt every concurrent request shares. Its error is kept
/// as text (with the kind, so a timeout stays a timeout) because a shared
/// result must be cloneable.
type Pending = Shared<BoxFuture<'static, Result<Conn, (io::ErrorKind, String)>>>;

#[derive(Default)]
struct State {
    /// Bumped by every new attempt, so a request that saw an old connection
    /// fail never throws away a newer one.
    generation: u64,
    pending: Option<Pending>,
}

/// The tower service kube's layers sit on; cheap to clone (all clones share
/// the connection).
#[derive(Clone)]
pub struct Transport {
    dialer: Arc<Dialer>,
    state: Arc<Mutex<State>>,
    /// Bounds each request until its response headers arrive (the body is
    /// bounded by the caller's own deadline); `None` for watch streams.
    request_timeout: Option<Duration>,
}

impl Transport {
    /// A transport to `config`'s server with its TLS settings (CA, client
    /// certificate, insecure-skip-tls-verify, tls-server-name).
    pub fn new(config: &kube::Config) -> Result<Transport, BoxError> {
        let uri = &config.cluster_url;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            other => {
                return Err(format!(
                    "the server URL's scheme must be https or http, not {:?}",
                    other.unwrap_or("")
                )
                .into());
            }
        };
        let host = uri
            .host()
            .ok_or("the server URL has no host")?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tls = if https {
            let base = super::tls::client_config(config)?;
            let server_name = match &config.tls_server_name {
                Some(name) => ServerName::try_from(name.clone())?,
                None => ServerName::try_from(host.clone())?,
            };
            let with = |alpn: &[&[u8]]| {
                let mut c: rustls::ClientConfig = base.clone();
                c.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
                tokio_rustls::TlsConnector::from(Arc::new(c))
            };
            Some(Tls {
                both: with(&[b"h2", b"http/1.1"]),
                http1: with(&[b"http/1.1"]),
                server_name,
            })
        } else {
            None
        };
        Ok(Transport {
            dialer: Arc::new(Dialer {
                key: format!(
                    "{}://{}:{port}",
                    if https { "https" } else { "http" },
                    host.to_ascii_lowercase()
                ),
                host,
                port,
                tls,
                connect_timeout: config.connect_timeout,
            }),
            state: Arc::new(Mutex::new(State::default())),
            request_timeout: None,
        })
    }

    /// The same connection, with each request bounded by `timeout` until
    /// its response headers arrive.
    pub fn with_request_timeout(&self, timeout: Option<Duration>) -> Transport {
        Transport {
            request_timeout: timeout,
            ..self.clone()
        }
    }

    /// The run's connection: the one established or being established, or a
    /// new attempt when there is none.
    async fn connection(&self) -> Result<(u64, Conn), BoxError> {
        let (generation, pending) = {
            let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if state.pending.is_none() {
                state.generation += 1;
                state.pending = Some(establish(self.dialer.clone()).boxed().shared());
            }
            let pending = state.pending.clone().expect("set above");
            (state.generation, pending)
        };
        match pending.await {
            Ok(conn) => Ok((generation, conn)),
            Err((kind, message)) => {
                // A failed attempt is not kept: the next request tries again.
                self.forget(generation);
                Err(Box::new(io::Error::new(kind, message)))
            }
        }
    }

    fn forget(&self, generation: u64) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if state.generation == generation {
            state.pending = None;
        }
    }

    async fn send(self, mut req: Request<Body>) -> Result<Response<Incoming>, BoxError> {
        // A second attempt only when the HTTP/2 connection turned out closed
        // (a GOAWAY, a reset) before this request went out on it: hyper then
        // hands the unsent request back, and it goes on a new connection.
        for attempt in 0..2 {
            let (generation, conn) = self.connection().await?;
            let mut send = match conn {
                Conn::H2(send) => send,
                Conn::Http1(client) => return Ok(client.request(req).await?),
            };
            if send.ready().await.is_err() {
                self.forget(generation);
                if attempt == 0 {
                    continue;
                }
                return Err("the HTTP/2 connection to the API server closed".into());
            }
            match send.try_send_request(req).await {
                Ok(resp) => return Ok(resp),
                Err(mut e) => match e.take_message() {
                    Some(unsent) if attempt == 0 => {
                        self.forget(generation);
                        req = unsent;
                    }
                    _ => return Err(Box::new(e.into_error())),
                },
            }
        }
        Err("the HTTP/2 connection to the API server closed twice".into())
    }
}

/// Opens the run's first connection and readies the protocol it negotiated.
async fn establish(dialer: Arc<Dialer>) -> Result<Conn, (io::ErrorKind, String)> {
    let fail = |e: &(dyn std::error::Error + 'static), kind| (kind, crate::error::chain_text(e));
    if super::remember::http1_only(&dialer.key) {
        // No wait for a first handshake: every concurrent request opens its
        // own connection at once, as an HTTP/1.1 client must anyway.
        return Ok(pooled(dialer, None, Offer::Both));
    }
    let stream = dialer.dial(Offer::Both).await.map_err(|e| {
        let kind = e.kind();
        fail(&e, kind)
    })?;
    if stream.h2 {
        let (send, conn) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .keep_alive_interval(KEEPALIVE_EVERY)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .initial_connection_window_size(H2_CONNECTION_WINDOW)
            .initial_stream_window_size(H2_STREAM_WINDOW)
            .handshake(stream)
            .await
            .map_err(|e| fail(&e, io::ErrorKind::ConnectionAborted))?;
        // The connection task ends when the connection does; requests then
        // see it closed and the next one dials again.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        return Ok(Conn::H2(send));
    }
    super::remember::set_http1_only(&dialer.key, true);
    Ok(pooled(dialer, Some(stream), Offer::Http1))
}

/// The pooled client, starting from `first` if the run has a connection.
fn pooled(dialer: Arc<Dialer>, first: Option<Stream>, offer: Offer) -> Conn {
    let connector = Http1Connector {
        dialer,
        first: Arc::new(Mutex::new(first)),
        offer,
    };
    let client = legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .timer(TokioTimer::new())
        // Used only when a server remembered as HTTP/1.1-only offers h2 now.
        .http2_initial_connection_window_size(H2_CONNECTION_WINDOW)
        .http2_initial_stream_window_size(H2_STREAM_WINDOW)
        .http2_keep_alive_interval(KEEPALIVE_EVERY)
        .http2_keep_alive_timeout(KEEPALIVE_TIMEOUT)
        .build(connector);
    Conn::Http1(Box::new(client))
}

impl tower::Service<Request<Body>> for Transport {
    type Response = Response<Incoming>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Response<Incoming>, BoxError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let this = self.clone();
        let limit = self.request_timeout;
        async move {
            let sending = this.send(req);
            match limit {
                Some(limit) => match tokio::time::timeout(limit, sending).await {
                    Ok(r) => r,
                    Err(_) => Err(Box::new(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "no response within {}",
                            crate::settings::show_duration(limit)
                        ),
                    )) as BoxError),
                },
                None => sending.await,
            }
        }
        .boxed()
    }
}

/// A kube client over `transport` (a [`Transport`], or one wrapped in the
/// run's exec-plugin credential), with `config`'s layers as kube-rs stacks
/// them: base URI, the limit on decompressed bytes (see `bounded`: every
/// answer, every watch line), gzip (unless the kubeconfig disables
/// compression), the kubeconfig user's credential (`auth`: a static token,
/// a token file, basic auth) and extra headers (impersonation).
pub fn kube_client<S>(config: &kube::Config, transport: S) -> Result<kube::Client, BoxError>
where
    S: tower::Service<Request<Body>, Response = Response<Incoming>, Error = BoxError>
        + Clone
        + Send
        + Sync
        + 'static,
    S::Future: Send + 'static,
{
    use kube::client::ConfigExt;
    use tower::ServiceBuilder;
    let decompression = tower_http::decompression::DecompressionLayer::new()
        .no_br()
        .no_deflate()
        .no_zstd()
        .gzip(!config.disable_compression);
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .layer(super::bounded::LimitLayer {
            limit: super::bounded::ANSWER_LIMIT,
            budget: &super::bounded::IN_FLIGHT,
        })
        .layer(decompression)
        .option_layer(super::auth::Auth::of(&config.auth_info)?.map(super::auth::AuthLayer))
        .layer(config.extra_headers_layer()?)
        .service(transport);
    Ok(kube::client::ClientBuilder::new(service, config.default_namespace.clone()).build())
}
