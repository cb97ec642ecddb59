//! The simulator's connections: HTTP/2 and HTTP/1.1 over TLS as
//! kube-apiserver serves them (Go's net/http offers `h2` and `http/1.1` in
//! ALPN), a switch to serve HTTP/1.1 only, a model of a network round trip
//! (TCP and TLS handshakes take one each, every request one more), response
//! gzip as the API server does it, and counters for tests and benchmarks:
//! connections with their negotiated protocol, bytes sent, and each
//! request's start, end and content encoding.

use super::{Shared, Sim, server};
use bytes::Bytes;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{Notify, watch};

/// kube-apiserver gzips a response only when the client accepts gzip and
/// the body is larger than this (k8s.io/apiserver v0.33
/// pkg/endpoints/handlers/responsewriters/writers.go,
/// `defaultGzipThresholdBytes = 128 * 1024`).
pub const GZIP_THRESHOLD: usize = 128 * 1024;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// `METHOD /path?query`.
    pub line: String,
    pub started: Instant,
    /// When the response headers were ready (`None`: no answer, e.g. a
    /// dropped connection).
    pub answered: Option<Instant>,
    /// The response's `Content-Encoding`, if any.
    pub encoding: Option<String>,
}

/// Connection-level state and counters.
#[derive(Default)]
pub struct Wire {
    rtt: Mutex<Duration>,
    http1_only: AtomicBool,
    /// When not 0, whole answers are sent in pieces of this many bytes, each
    /// its own HTTP/2 DATA frame.
    small_frames: AtomicUsize,
    /// The protocol each accepted connection negotiated (`h2`, `http/1.1`,
    /// or `none` when the TLS handshake failed).
    connections: Mutex<Vec<String>>,
    bytes_out: Arc<AtomicU64>,
    exchanges: Mutex<Vec<Exchange>>,
}

impl Wire {
    pub fn rtt(&self) -> Duration {
        *self.rtt.lock().unwrap()
    }

    pub fn small_frames(&self) -> usize {
        self.small_frames.load(Ordering::SeqCst)
    }

    /// Records a request's start; returns its index for [`Wire::answered`].
    pub fn started(&self, line: String) -> usize {
        let mut ex = self.exchanges.lock().unwrap();
        ex.push(Exchange {
            line,
            started: Instant::now(),
            answered: None,
            encoding: None,
        });
        ex.len() - 1
    }

    pub fn answered(&self, index: usize, encoding: Option<String>) {
        if let Some(e) = self.exchanges.lock().unwrap().get_mut(index) {
            e.answered = Some(Instant::now());
            e.encoding = encoding;
        }
    }
}

/// What one connection's requests can do to the connection itself.
#[derive(Default)]
pub struct ConnControl {
    /// Notified by a `drop_connection` fault: the connection is closed at
    /// once, every request on it unanswered.
    pub drop: Notify,
    /// Notified by a `goaway` fault: the connection shuts down gracefully.
    pub goaway: Notify,
}

#[allow(dead_code)] // Each test binary uses some of these.
impl Sim {
    /// Models a network round trip of `d` from now on: accepting a
    /// connection (TCP handshake) and the TLS handshake (TLS 1.3) take one
    /// each, and every request one more, on top of [`Sim::set_latency`].
    pub fn set_rtt(&self, d: Duration) {
        *self.shared.wire.rtt.lock().unwrap() = d;
    }

    /// New connections offer only `http/1.1` in ALPN (no HTTP/2).
    pub fn set_http1_only(&self, on: bool) {
        self.shared.wire.http1_only.store(on, Ordering::SeqCst);
    }

    /// Sends every whole answer (lists, gets; after gzip) in pieces of
    /// `bytes` (0: off), as an HTTP/2 front such as nginx with
    /// `proxy_buffering off` relays what it gets from upstream: many small
    /// DATA frames.
    pub fn set_small_frames(&self, bytes: usize) {
        self.shared.wire.small_frames.store(bytes, Ordering::SeqCst);
    }

    /// The protocol of every connection accepted so far, in order.
    pub fn connections(&self) -> Vec<String> {
        self.shared.wire.connections.lock().unwrap().clone()
    }

    /// Bytes written to all connections so far (TLS records included).
    pub fn bytes_out(&self) -> u64 {
        self.shared.wire.bytes_out.load(Ordering::SeqCst)
    }

    /// Every request so far with its timing and response encoding.
    pub fn exchanges(&self) -> Vec<Exchange> {
        self.shared.wire.exchanges.lock().unwrap().clone()
    }

    /// Forgets connections, bytes and exchanges (and the request log).
    pub fn reset_wire(&self) {
        let wire = &self.shared.wire;
        wire.connections.lock().unwrap().clear();
        wire.exchanges.lock().unwrap().clear();
        wire.bytes_out.store(0, Ordering::SeqCst);
        self.reset_requests();
    }
}

/// The number of sequential request rounds in `exchanges`: a request is in
/// the round after the latest round among requests answered before it
/// started.
pub fn waves(exchanges: &[Exchange]) -> usize {
    let mut round: Vec<usize> = Vec::with_capacity(exchanges.len());
    for (i, e) in exchanges.iter().enumerate() {
        let before = exchanges[..i]
            .iter()
            .zip(&round)
            .filter(|(earlier, _)| earlier.answered.is_some_and(|a| a <= e.started))
            .map(|(_, r)| *r)
            .max()
            .unwrap_or(0);
        round.push(before + 1);
    }
    round.into_iter().max().unwrap_or(0)
}

/// A TCP stream that counts the bytes it sends.
struct Counting<S> {
    inner: S,
    sent: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counting<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counting<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.sent.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The TLS configurations a connection may be accepted with.
pub struct Acceptors {
    pub both: tokio_rustls::TlsAcceptor,
    pub http1: tokio_rustls::TlsAcceptor,
}

/// Accepts connections until shutdown and serves each on a task of its own.
pub async fn serve(
    listener: std::net::TcpListener,
    acceptors: Acceptors,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    let acceptors = Arc::new(acceptors);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let _ = tcp.set_nodelay(true);
                tokio::spawn(connection(tcp, acceptors.clone(), shared.clone(), shutdown.clone()));
            }
            _ = shutdown.changed() => break,
        }
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    acceptors: Arc<Acceptors>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let wire = &shared.wire;
    let rtt = wire.rtt();
    // The TCP handshake: the client waits one round trip before it can send.
    if !rtt.is_zero() {
        tokio::time::sleep(rtt).await;
    }
    let acceptor = if wire.http1_only.load(Ordering::SeqCst) {
        &acceptors.http1
    } else {
        &acceptors.both
    };
    let tcp = Counting {
        inner: tcp,
        sent: wire.bytes_out.clone(),
    };
    let tls = match acceptor.accept(tcp).await {
        Ok(tls) => tls,
        Err(_) => {
            wire.connections.lock().unwrap().push("none".into());
            return;
        }
    };
    let protocol = match tls.get_ref().1.alpn_protocol() {
        Some(p) => String::from_utf8_lossy(p).into_owned(),
        None => "http/1.1".into(),
    };
    wire.connections.lock().unwrap().push(protocol.clone());
    // The TLS 1.3 handshake: one more round trip before the first request.
    if !rtt.is_zero() {
        tokio::time::sleep(rtt).await;
    }
    let control = Arc::new(ConnControl::default());
    let for_service = control.clone();
    let service = hyper::service::service_fn(move |req| {
        server::handle(shared.clone(), for_service.clone(), req)
    });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(hyper_util::rt::TokioTimer::new());
    let builder = if protocol == "h2" {
        builder.http2_only()
    } else {
        builder.http1_only()
    };
    let conn = builder.serve_connection(TokioIo::new(tls), service);
    tokio::pin!(conn);
    loop {
        tokio::select! {
            _ = conn.as_mut() => break,
            _ = control.drop.notified() => break,
            _ = stop.changed() => break,
            // The connection goes on serving what is in flight.
            _ = control.goaway.notified() => conn.as_mut().graceful_shutdown(),
        }
    }
}

/// Gzips `body` as kube-apiserver does when the client accepts gzip and the
/// body is over the threshold (compression level 1, like the server's
/// `defaultGzipContentEncodingLevel`); `None` when it would not.
pub fn gzip_if_accepted(accept_encoding: Option<&str>, body: &Bytes) -> Option<Bytes> {
    use std::io::Write;
    let accepts = accept_encoding.is_some_and(|v| {
        v.split(',').any(|e| {
            e.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("gzip")
        })
    });
    if !accepts || body.len() <= GZIP_THRESHOLD {
        return None;
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(1));
    enc.write_all(body).ok()?;
    enc.finish().ok().map(Bytes::from)
}
