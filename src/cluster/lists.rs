//! Large lists read in pages, and nodes in their smallest form.
//!
//! A list is asked for in pages of [`PAGE`] (`limit` and `continue`, as
//! client-go's pager does; game pods and node Table rows in larger pages),
//! one after another, each decoded into the small types of `wire` as it
//! streams in (see `fetch`): peak memory is the objects kept and a few
//! chunks of JSON, never a whole page. A continue token the server has compacted away
//! answers 410 Expired; the list then starts again once from the first page
//! (kube-apiserver's own advice in that Status), and a second 410 is the
//! read's failure (a gap), never a partial list.

use super::wire::{self, Node, NodeTable};
use kube::api::{Api, ListParams};
use kube::core::Status;
use serde::de::DeserializeOwned;
use std::fmt::Debug;
use std::future::Future;

/// Objects per page: client-go's pager default, and what kube's watcher asks.
pub const PAGE: u32 = 500;
/// Game pods per page. A game runs one pod per session, and `status` should
/// stay one round trip for the games people run (up to 2,500 sessions), so
/// this page is larger than [`PAGE`]: at a real pod's 4–5 KB of JSON (two
/// containers, managedFields) a full page is ≈ 12 MB, decoded into small
/// structs as it streams in and never held whole, against one round trip
/// more per 500 pods.
pub const GAME_POD_PAGE: u32 = 2_500;
/// Nodes per page when they come whole (the fallback list and the watch): a
/// real node is 5–20 KB of JSON, and kube's watcher holds each page whole,
/// so 500 of them would be a 5–10 MB page held at once; 100 keep a page near
/// 1 MB.
pub const NODE_PAGE: u32 = 100;
/// Node Table rows per page. A row (cells and the node's metadata) is
/// ≈ 4 KB and is decoded as it streams in (see `fetch`), so a page's size
/// costs the client nothing but the rows kept; one page covers clusters up
/// to 2,500 nodes in one round trip, and 5,000 nodes take two rather than
/// ten at client-go's 500.
pub const NODE_TABLE_PAGE: u32 = 2_500;
/// Pages read at most (a million objects): a server that keeps answering with
/// a continue token can never hold a read forever.
const MAX_PAGES: usize = 2000;

/// The events no check or view reads, left out on the server: the kubelet's
/// image and container-creation events (kubernetes pkg/kubelet/events/event.go
/// `PullingImage`, `PulledImage`, `CreatedContainer`: three per container
/// start) and the ReplicaSet controller's pod creations and deletions. The
/// API server selects events on `reason` and `involvedObject.kind`
/// (kubernetes pkg/registry/core/event/strategy.go `ToSelectableFields`); a
/// field selector only ANDs `=`/`!=` terms, so what is read is said by what
/// is left out. `Started` and `Killing` stay: the watch view lists them.
pub const EVENT_FIELDS: &str =
    "reason!=Pulling,reason!=Pulled,reason!=Created,involvedObject.kind!=ReplicaSet";

/// The media type of a node Table, as `kubectl get` asks for it.
const TABLE_ACCEPT: &str = "application/json;as=Table;v=v1;g=meta.k8s.io";

/// One page: its items and the continue token, if more follow.
type Page<T> = (Vec<T>, Option<String>);

/// Reads every page `next_page` gives, restarting once on an expired token.
async fn pages<T, F, Fut>(what: &str, next_page: F) -> Result<Vec<T>, kube::Error>
where
    F: Fn(Option<String>) -> Fut,
    Fut: Future<Output = Result<Page<T>, kube::Error>>,
{
    let mut restarted = false;
    'list: loop {
        let mut items = Vec::new();
        let mut token = None;
        for _ in 0..MAX_PAGES {
            let continued = token.is_some();
            let (page, next) = match next_page(token.take()).await {
                Ok(page) => page,
                Err(kube::Error::Api(s)) if s.code == 410 && continued && !restarted => {
                    restarted = true;
                    continue 'list;
                }
                Err(e) => return Err(e),
            };
            items.extend(page);
            match next.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(items),
            }
        }
        return Err(kube::Error::Api(Box::new(
            Status::failure(
                &format!("the {what} list went on past {MAX_PAGES} pages of {PAGE}; read stopped"),
                "TooManyPages",
            )
            .with_code(500),
        )));
    }
}

/// Every object `params` selects, `page` at a time.
pub async fn paged<K>(api: &Api<K>, params: &ListParams, page: u32) -> Result<Vec<K>, kube::Error>
where
    K: kube::Resource + Clone + DeserializeOwned + Debug + Send + 'static,
    K::DynamicType: Default,
{
    let dt = K::DynamicType::default();
    let expected = (
        K::api_version(&dt).into_owned(),
        format!("{}List", K::kind(&dt)),
    );
    let expected = &expected;
    let what = api
        .resource_url()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string();
    pages(&what, |token| async move {
        let mut p = params.clone().limit(page);
        if let Some(t) = &token {
            p = p.continue_token(t);
        }
        let mut req = kube::core::Request::new(api.resource_url())
            .list(&p)
            .map_err(kube::Error::BuildRequest)?;
        req.extensions_mut().insert("list");
        let list: kube::core::ObjectList<K> = fetch(&api.clone().into_client(), req).await?;
        check_kind(&list.types, &expected.0, &expected.1)?;
        Ok((list.items, list.metadata.continue_))
    })
    .await
}

/// An answer of another kind than the one asked for (a PodList for the
/// events) is a decode error that names what came, never objects read as
/// the wrong kind. A list without kind and apiVersion (kube reads it as
/// `v1 List`) passes.
fn check_kind(
    types: &kube::core::TypeMeta,
    api_version: &str,
    kind: &str,
) -> Result<(), kube::Error> {
    let untyped = types.kind == "List" && types.api_version == "v1";
    if untyped || (types.kind == kind && types.api_version == api_version) {
        return Ok(());
    }
    Err(kube::Error::SerdeError(serde::de::Error::custom(format!(
        "asked for a {kind} ({api_version}), the server answered a {} ({})",
        crate::error::quote(&types.kind),
        crate::error::quote(&types.api_version),
    ))))
}

/// Every node, as a Table of their Ready/cordoned status and metadata (see
/// `wire::NodeTable`), falling back to the plain list (decoded as small
/// nodes) when the server does not offer the Table: 406 Not Acceptable, or an
/// answer that is neither a Table nor a NodeList (a NodeList that came for
/// the Table is used as it is, not asked for again).
pub async fn nodes(client: &kube::Client) -> Result<Vec<Node>, kube::Error> {
    match node_table(client).await {
        Ok(Some(nodes)) => Ok(nodes),
        Ok(None) => plain_nodes(client).await,
        Err(kube::Error::Api(s)) if s.code == 406 => plain_nodes(client).await,
        // A NodeList that came for the Table in a page of 2,500 whole nodes
        // may pass the answer limit where the plain list's pages of 100 do
        // not.
        Err(e) if super::bounded::too_large(&e).is_some_and(|t| !t.together && !t.line) => {
            plain_nodes(client).await
        }
        Err(e) => Err(e),
    }
}

async fn plain_nodes(client: &kube::Client) -> Result<Vec<Node>, kube::Error> {
    let api = Api::<Node>::all(client.clone());
    paged(&api, &ListParams::default(), NODE_PAGE).await
}

/// The nodes' Table pages; `None` when the server answered with something
/// else than a Table.
async fn node_table(client: &kube::Client) -> Result<Option<Vec<Node>>, kube::Error> {
    let request = kube::core::Request::new("/api/v1/nodes");
    let result = pages("nodes", |token| {
        let request = &request;
        async move {
            let mut params = ListParams::default().limit(NODE_TABLE_PAGE);
            if let Some(t) = &token {
                params = params.continue_token(t);
            }
            let mut req = request.list(&params).map_err(kube::Error::BuildRequest)?;
            let uri = req.uri().to_string();
            let sep = if uri.contains('?') { '&' } else { '?' };
            *req.uri_mut() = format!("{uri}{sep}includeObject=Metadata")
                .parse()
                .map_err(|e: http::uri::InvalidUri| {
                    kube::Error::BuildRequest(kube::core::request::Error::Validation(e.to_string()))
                })?;
            req.headers_mut().insert(
                http::header::ACCEPT,
                http::HeaderValue::from_static(TABLE_ACCEPT),
            );
            req.extensions_mut().insert("list");
            let table: NodeTable = fetch(client, req).await?;
            let next = table.metadata.continue_.clone();
            match table.nodes() {
                Ok(nodes) => Ok((nodes, next)),
                Err(wire::NotATable(why)) => Err(kube::Error::Api(Box::new(
                    Status::failure(&why, "NotATable").with_code(NOT_A_TABLE),
                ))),
            }
        }
    })
    .await;
    match result {
        Ok(nodes) => Ok(Some(nodes)),
        Err(kube::Error::Api(s)) if s.code == NOT_A_TABLE => Ok(None),
        Err(e) => Err(e),
    }
}

/// Sends `req` and decodes its JSON answer as it streams in. A page is
/// never held whole: each chunk (already un-gzipped by kube's client) goes to
/// a decoder thread that builds only the small types, so a 20 MB page of
/// 5,000 node rows costs the rows kept, not the page (kube's
/// `Client::request` would hold it three times: one buffer, a string, the
/// parse). A failure is worded as kube words it (a JSON Status, or the text
/// as a Status), so `error::classify` reads both the same.
async fn fetch<T: DeserializeOwned + Send + 'static>(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
) -> Result<T, kube::Error> {
    use http_body_util::BodyExt;
    let res = client.send(req.map(kube::client::Body::from)).await?;
    let code = res.status();
    let mut body = res.into_body();
    if code.is_client_error() || code.is_server_error() {
        // An error answer is a small Status (or text): read it whole, at
        // most 1 MiB of it.
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                let room = (1usize << 20).saturating_sub(bytes.len());
                bytes.extend_from_slice(&data[..data.len().min(room)]);
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let status = serde_json::from_str::<Status>(&text).unwrap_or_else(|_| {
            Status::failure(text.trim(), "Failed to parse error data").with_code(code.as_u16())
        });
        return Err(kube::Error::Api(Box::new(status)));
    }
    // A small answer (its length known and under 1 MiB: every list but the
    // game pods and node pages) is decoded in place.
    let length = res_length(&body);
    if length.is_some_and(|n| n <= SMALL_BODY) {
        let mut bytes = Vec::with_capacity(length.unwrap_or(0));
        while let Some(frame) = body.frame().await {
            if let Ok(data) = frame?.into_data() {
                bytes.extend_from_slice(&data);
            }
        }
        return serde_json::from_slice(&bytes).map_err(kube::Error::SerdeError);
    }
    // A large one streams to a decoder thread through a few chunks in flight.
    // This task keeps reading the body meanwhile: under HTTP/2 every stream
    // shares the connection's flow-control window, so a read that stopped
    // taking its data (blocking this task and the reads joined with it)
    // could starve the others; and the read's deadline keeps working, since
    // dropping this future drops the sender and the decoder ends.
    let (tx, rx) = tokio::sync::mpsc::channel::<hyper::body::Bytes>(8);
    let decoder = tokio::task::spawn_blocking(move || {
        let chunks = Chunks {
            rx,
            current: hyper::body::Bytes::new(),
        };
        serde_json::from_reader::<_, T>(std::io::BufReader::with_capacity(64 << 10, chunks))
    });
    let mut failed = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Ok(frame) => {
                if let Ok(data) = frame.into_data()
                    && tx.send(data).await.is_err()
                {
                    // The decoder stopped (the JSON is malformed): its error
                    // is the answer.
                    break;
                }
            }
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    drop(tx);
    let decoded = decoder.await;
    if let Some(e) = failed {
        // A body cut midway is its transport error, never a partial list.
        return Err(e);
    }
    match decoded {
        Ok(result) => result.map_err(kube::Error::SerdeError),
        Err(join) => Err(kube::Error::Service(Box::new(join))),
    }
}

/// Answers up to this size are decoded in place rather than streamed.
const SMALL_BODY: usize = 1 << 20;

/// The body's length when the server said it and nothing changed it (a
/// gzipped answer, un-gzipped by kube's client, has none).
fn res_length(body: &kube::client::Body) -> Option<usize> {
    use hyper::body::Body as _;
    body.size_hint()
        .exact()
        .and_then(|n| usize::try_from(n).ok())
}

/// The body's chunks as a blocking reader, for the decoder thread: ends when
/// the sender is dropped (the body is over, or its read failed or stopped).
struct Chunks {
    rx: tokio::sync::mpsc::Receiver<hyper::body::Bytes>,
    current: hyper::body::Bytes,
}

impl std::io::Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(chunk) => self.current = chunk,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        hyper::body::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// A code no server sends, marking an answer that was not a Table.
const NOT_A_TABLE: u16 = 1;

#[cfg(test)]
mod tests {
    use super::*;

    fn expired() -> kube::Error {
        kube::Error::Api(Box::new(
            Status::failure("The provided continue parameter is too old", "Expired").with_code(410),
        ))
    }

    #[tokio::test]
    async fn pages_are_read_in_order_until_no_continue_token() {
        let asked = std::sync::Mutex::new(Vec::new());
        let items = pages("pods", |token| {
            asked.lock().unwrap().push(token.clone());
            async move {
                Ok(match token.as_deref() {
                    None => (vec![1, 2], Some("a".to_string())),
                    Some("a") => (vec![3], Some(String::new())),
                    Some(_) => unreachable!("an empty token ends the list"),
                })
            }
        })
        .await
        .expect("a list");
        assert_eq!(items, [1, 2, 3]);
        assert_eq!(*asked.lock().unwrap(), [None, Some("a".to_string())]);
    }

    #[tokio::test]
    async fn an_expired_token_restarts_the_list_once_then_fails() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let items = pages("pods", |token| {
            let n = calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            async move {
                match (token.as_deref(), n) {
                    (None, _) => Ok((vec![n], Some("t".to_string()))),
                    (Some(_), 1) => Err(expired()),
                    (Some(_), _) => Ok((vec![9], None)),
                }
            }
        })
        .await
        .expect("restarted once");
        // The first page of the expired pass is dropped, never doubled.
        assert_eq!(items, [2, 9]);

        let always = pages::<u8, _, _>("pods", |token| async move {
            match token {
                None => Ok((vec![1], Some("t".to_string()))),
                Some(_) => Err(expired()),
            }
        })
        .await;
        assert!(matches!(always, Err(kube::Error::Api(s)) if s.code == 410));
    }

    #[tokio::test]
    async fn a_server_that_never_ends_the_list_is_stopped() {
        let res = pages::<u8, _, _>("nodes", |_| async {
            Ok((vec![], Some("again".to_string())))
        })
        .await;
        let Err(kube::Error::Api(s)) = res else {
            panic!("an endless list is an error")
        };
        assert!(s.message.contains("past 2000 pages"), "{}", s.message);
    }

    /// A client whose server answers `code` with `chunks` as the body, in
    /// that many frames; an `Err` chunk cuts the body there.
    fn answering(code: u16, chunks: Vec<Result<&'static str, &'static str>>) -> kube::Client {
        use hyper::body::{Bytes, Frame};
        let service = tower::service_fn(move |_req: http::Request<kube::client::Body>| {
            let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
                .iter()
                .map(|c| match c {
                    Ok(text) => Ok(Frame::data(Bytes::from_static(text.as_bytes()))),
                    Err(why) => Err(std::io::Error::other(*why)),
                })
                .collect();
            let body = http_body_util::StreamBody::new(futures::stream::iter(frames));
            let res = http::Response::builder()
                .status(code)
                .body(body)
                .expect("a response");
            async move { Ok::<_, std::convert::Infallible>(res) }
        });
        kube::Client::new(service, "default")
    }

    fn get() -> http::Request<Vec<u8>> {
        http::Request::get("/api/v1/nodes")
            .body(Vec::new())
            .expect("a request")
    }

    #[derive(serde::Deserialize, Debug)]
    struct Names {
        items: Vec<Named>,
    }

    #[derive(serde::Deserialize, Debug)]
    struct Named {
        name: String,
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_page_is_decoded_as_it_streams_in_across_any_chunking() {
        // One object split mid-token across frames, as TLS records cut it.
        let chunks = vec![
            Ok(r#"{"items": [{"na"#),
            Ok(r#"me": "ip-10-0-1-7", "ignored": {"big": [1,"#),
            Ok(r#" 2, 3]}}, {"name": "ip-"#),
            Ok(r#"10-0-1-8"}]}"#),
            Ok("\n"),
        ];
        let got: Names = fetch(&answering(200, chunks), get())
            .await
            .expect("decoded");
        let names: Vec<&str> = got.items.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["ip-10-0-1-7", "ip-10-0-1-8"]);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_body_cut_midway_is_an_error_never_a_partial_list() {
        let chunks = vec![
            Ok(r#"{"items": [{"name": "a"}, "#),
            Err("connection reset by peer"),
        ];
        let got = fetch::<Names>(&answering(200, chunks), get()).await;
        assert!(got.is_err(), "{got:?}");
        // A body that simply stops is malformed JSON, also an error.
        let got = fetch::<Names>(&answering(200, vec![Ok(r#"{"items": [{"name""#)]), get()).await;
        assert!(matches!(got, Err(kube::Error::SerdeError(_))), "{got:?}");
        // As is text that is not JSON at all, whatever its length.
        let got =
            fetch::<Names>(&answering(200, vec![Ok("<html>proxy error</html>")]), get()).await;
        assert!(matches!(got, Err(kube::Error::SerdeError(_))), "{got:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_error_answer_is_its_status() {
        let status = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"nodes is forbidden: User \"sre\" cannot list resource \"nodes\"","reason":"Forbidden","code":403}"#;
        let got = fetch::<Names>(&answering(403, vec![Ok(status)]), get()).await;
        let Err(kube::Error::Api(s)) = got else {
            panic!("a Status: {got:?}")
        };
        assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
        let got = fetch::<Names>(&answering(502, vec![Ok("Bad Gateway")]), get()).await;
        let Err(kube::Error::Api(s)) = got else {
            panic!("a Status: {got:?}")
        };
        assert_eq!((s.code, s.message.as_str()), (502, "Bad Gateway"));
    }
}
