//! Large lists read in pages, and nodes in their smallest form.
//!
//! A list is asked for in pages of [`PAGE`] (`limit` and `continue`, as
//! client-go's pager does), one after another, each decoded into the small
//! types of `wire` before the next is read: peak memory is one page of JSON
//! (held once, see `fetch`), not the whole list. A continue token the server has compacted away
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
/// containers, managedFields) a full page is ≈ 12 MB held while it is decoded
/// into small structs, against one round trip more per 500 pods.
pub const GAME_POD_PAGE: u32 = 2_500;
/// Nodes per page when they come whole (the fallback list and the watch): a
/// real node is 5–20 KB of JSON, so 500 of them would be a 5–10 MB page held
/// at once; 100 keep a page near 1 MB.
pub const NODE_PAGE: u32 = 100;
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
    K: kube::Resource + Clone + DeserializeOwned + Debug,
{
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
        Ok((list.items, list.metadata.continue_))
    })
    .await
}

/// Every node, as a Table of their Ready/cordoned status and metadata (see
/// `wire::NodeTable`), falling back to the plain list (decoded as small
/// nodes) when the server does not offer the Table: 406 Not Acceptable, or an
/// answer that is not a Table.
pub async fn nodes(client: &kube::Client) -> Result<Vec<Node>, kube::Error> {
    match node_table(client).await {
        Ok(Some(nodes)) => Ok(nodes),
        Ok(None) => plain_nodes(client).await,
        Err(kube::Error::Api(s)) if s.code == 406 => plain_nodes(client).await,
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
            let mut params = ListParams::default().limit(PAGE);
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

/// Sends `req` and decodes its JSON answer. kube's `Client::request` copies
/// a body twice (into one buffer, then into a string) before parsing, so a
/// page would be held three times; here each chunk is appended to one buffer
/// as it arrives and dropped, so the page is held once, and only the small
/// types are built from it. A failure is worded as kube words it (a JSON
/// Status, or the text as a Status), so `error::classify` reads both the same.
async fn fetch<T: DeserializeOwned>(
    client: &kube::Client,
    req: http::Request<Vec<u8>>,
) -> Result<T, kube::Error> {
    use http_body_util::BodyExt;
    let res = client.send(req.map(kube::client::Body::from)).await?;
    let code = res.status();
    let length = res
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
    // A length from the server is a hint, never trusted for more than 64 MiB.
    let mut bytes = Vec::with_capacity(length.unwrap_or(0).min(64 << 20));
    let mut body = res.into_body();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            bytes.extend_from_slice(&data);
        }
    }
    if code.is_client_error() || code.is_server_error() {
        let text = String::from_utf8_lossy(&bytes);
        let status = serde_json::from_str::<Status>(&text).unwrap_or_else(|_| {
            Status::failure(text.trim(), "Failed to parse error data").with_code(code.as_u16())
        });
        return Err(kube::Error::Api(Box::new(status)));
    }
    serde_json::from_slice(&bytes).map_err(kube::Error::SerdeError)
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
}
