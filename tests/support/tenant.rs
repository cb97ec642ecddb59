//! A tenant-enforcing front for the real Prometheus, the way Mimir's (or
//! Cortex's) gateway answers: a request without `X-Scope-OrgID` gets HTTP 401
//! with the plain text `no org id` (dskit's `user.ErrNoOrgID`); one with a
//! tenant is passed on to Prometheus with the route prefix (`/prometheus`)
//! taken off. It records the tenant of every request, so a test can say
//! which one the plugin sent.
//!
//! A std `TcpListener` on 127.0.0.1:0, one thread per connection, one
//! request per connection (`Connection: close`), every read bounded by a
//! timeout. Dropping it stops it.

use super::prom::http_get;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const READ_TIMEOUT: Duration = Duration::from_secs(5);

pub struct TenantFront {
    addr: SocketAddr,
    /// The `X-Scope-OrgID` of every request, in order (`None`: none sent).
    seen: Arc<Mutex<Vec<Option<String>>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TenantFront {
    /// Fronts the Prometheus on `127.0.0.1:prom_port`, serving it under `prefix`.
    pub fn start(prom_port: u16, prefix: &str) -> TenantFront {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let prefix = prefix.to_string();
        let thread = {
            let seen = seen.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = conn else { continue };
                    let (seen, prefix) = (seen.clone(), prefix.clone());
                    std::thread::spawn(move || {
                        let _ = serve(stream, prom_port, &prefix, &seen);
                    });
                }
            })
        };
        TenantFront {
            addr,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn seen(&self) -> Vec<Option<String>> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for TenantFront {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let woke = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(t) = self.thread.take()
            && woke
        {
            let _ = t.join();
        }
    }
}

fn serve(
    stream: TcpStream,
    prom_port: u16,
    prefix: &str,
    seen: &Mutex<Vec<Option<String>>>,
) -> std::io::Result<()> {
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut org_id = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line == "\r\n" || line == "\n" {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.trim().eq_ignore_ascii_case("x-scope-orgid")
        {
            org_id = Some(v.trim().to_string());
        }
    }
    seen.lock().unwrap().push(org_id.clone());
    let target = request_line.split_whitespace().nth(1).unwrap_or("/");
    let (code, content_type, body) = match (&org_id, target.strip_prefix(prefix)) {
        (None, _) => (401, "text/plain; charset=utf-8", "no org id\n".to_string()),
        (Some(_), Some(rest)) => match http_get(prom_port, rest) {
            Ok((code, body)) => (code, "application/json", body),
            Err(e) => (502, "text/plain; charset=utf-8", format!("{e}\n")),
        },
        (Some(_), None) => (
            404,
            "text/plain; charset=utf-8",
            "404 page not found\n".into(),
        ),
    };
    let reason = match code {
        200 => "OK",
        401 => "Unauthorized",
        404 => "Not Found",
        _ => "Error",
    };
    let mut out = stream;
    write!(
        out,
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    out.flush()
}
