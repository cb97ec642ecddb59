//! A TCP proxy on loopback that models a network round trip by delaying
//! bytes, not requests: every chunk read from one side is written to the
//! other RTT/2 after it arrived (a delay line: later chunks do not wait for
//! earlier ones to be written), so TLS, HTTP/2 flow control and everything
//! else on the wire cost what they cost over a real network. The TCP
//! handshake, which the kernel answers at once on loopback, is modelled by
//! holding the client's first bytes until one round trip after the accept.

use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// A running proxy; it stops when dropped.
pub struct DelayProxy {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DelayProxy {
    /// Forwards connections on a new loopback port to `upstream` with a
    /// round trip of `rtt`.
    pub fn start(upstream: SocketAddr, rtt: Duration) -> DelayProxy {
        let (ready, addr) = mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("proxy runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
                ready
                    .send(listener.local_addr().expect("proxy address"))
                    .expect("send proxy address");
                let accepting = async {
                    loop {
                        let Ok((client, _)) = listener.accept().await else {
                            continue;
                        };
                        tokio::spawn(relay(client, upstream, rtt));
                    }
                };
                tokio::select! {
                    _ = accepting => {}
                    _ = stopped => {}
                }
            });
        });
        DelayProxy {
            addr: addr.recv().expect("proxy started"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for DelayProxy {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn relay(client: TcpStream, upstream: SocketAddr, rtt: Duration) {
    let accepted = Instant::now();
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let half = rtt / 2;
    // The client's first bytes leave when its SYN-ACK would have come back.
    let up = pump(client_read, server_write, half, accepted + rtt);
    let down = pump(server_read, client_write, half, accepted);
    let _ = tokio::join!(up, down);
}

/// Copies `from` to `to`, each chunk written `delay` after it was read (or
/// after `not_before`, when that is later).
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
    not_before: Instant,
) {
    let (line, mut out) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match from.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    let due = Instant::now().max(not_before) + delay;
                    if line.send((due, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    };
    let writer = async move {
        while let Some((due, bytes)) = out.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&bytes).await.is_err() {
                return;
            }
        }
        let _ = to.shutdown().await;
    };
    tokio::join!(reader, writer);
}
