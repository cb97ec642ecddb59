//! Raw HTTPS requests to the simulator (rustls, trusting only its CA), for
//! tests that check exact bodies.

use super::Sim;
use super::tls::{client_config, server_name};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// An answer: status code, `Content-Type` and the body as text.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

impl RawResponse {
    /// The body parsed as JSON (panics, showing the body, when it is not).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

impl Sim {
    /// `GET path` with the simulator's token; panics if no answer comes.
    pub fn get_raw(&self, path_and_query: &str) -> RawResponse {
        self.request_raw("GET", path_and_query, Some(self.token()), None)
            .unwrap_or_else(|e| panic!("GET {path_and_query}: {e}"))
    }

    /// One request on a fresh connection; `Err` when the connection fails or
    /// closes without an answer, or nothing completes within 30 s. Blocking,
    /// and safe to call from async code too (it runs on a thread of its own).
    pub fn request_raw(
        &self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> Result<RawResponse, String> {
        let config = client_config(&self.ca_der);
        let addr = self.addr;
        let mut req = Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", addr.to_string());
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default().to_string())))
            .map_err(|e| e.to_string())?;
        let run = move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async move {
                let exchange = async {
                    let tcp = tokio::net::TcpStream::connect(addr)
                        .await
                        .map_err(|e| format!("connect: {e}"))?;
                    let tls = tokio_rustls::TlsConnector::from(config)
                        .connect(server_name(), tcp)
                        .await
                        .map_err(|e| format!("TLS: {e}"))?;
                    let (mut sender, conn) =
                        hyper::client::conn::http1::handshake(TokioIo::new(tls))
                            .await
                            .map_err(|e| e.to_string())?;
                    tokio::spawn(conn);
                    let resp = sender
                        .send_request(req)
                        .await
                        .map_err(|e| format!("request: {e}"))?;
                    let status = resp.status().as_u16();
                    let content_type = resp
                        .headers()
                        .get("content-type")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_string();
                    let body = resp
                        .into_body()
                        .collect()
                        .await
                        .map_err(|e| format!("body: {e}"))?
                        .to_bytes();
                    Ok(RawResponse {
                        status,
                        content_type,
                        body: String::from_utf8_lossy(&body).into_owned(),
                    })
                };
                tokio::time::timeout(Duration::from_secs(30), exchange)
                    .await
                    .map_err(|_| "timed out".to_string())?
            })
        };
        std::thread::scope(|s| s.spawn(run).join().expect("request thread"))
    }
}
