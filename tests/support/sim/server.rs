//! The HTTP side: authentication, faults, routing, discovery, list / get /
//! watch, `pods/log`, the `scale` subresource (get and patch) and the service
//! proxy.

use super::Shared;
use super::resources::{RESOURCES, ResDef, def_for_path};
use super::select::{FieldSelector, LabelSelector, Selectors};
use super::status::Status;
use super::store::{Change, Event};
use super::time::rfc3339_nanos;
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::mpsc;

pub type Body = UnsyncBoxBody<Bytes, Infallible>;
type Reply = Result<Response<Body>, io::Error>;

/// How often an open watch that asked for bookmarks gets one.
const BOOKMARK_EVERY: Duration = Duration::from_secs(10);

fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed_unsync()
}

/// What a real kube-apiserver answers for a path no handler serves: an API
/// group or version that is not installed, an unknown resource, a wrong
/// scope. The request falls through to the NotFound handler
/// (k8s.io/apiserver v0.33 pkg/util/notfoundhandler/not_found_handler.go),
/// which calls Go's `http.NotFound`: plain text, no JSON Status. ("the server
/// could not find the requested resource" is client-go's wording for such an
/// answer, never on the wire.)
fn page_not_found() -> Response<Body> {
    let mut r = respond(404, "text/plain; charset=utf-8", "404 page not found\n");
    r.headers_mut().insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn respond(code: u16, content_type: &str, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(full(body));
    *resp.status_mut() = StatusCode::from_u16(code).expect("valid status code");
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("content type"),
    );
    resp
}

/// `gzipped` as a streamed 200 answer with `Content-Encoding: gzip`.
fn gzip_stream(content_type: &str, gzipped: Bytes) -> Response<Body> {
    let chunks: Vec<Result<hyper::body::Frame<Bytes>, Infallible>> = (0..gzipped.len())
        .step_by(64 << 10)
        .map(|at| {
            let end = (at + (64 << 10)).min(gzipped.len());
            Ok(hyper::body::Frame::data(gzipped.slice(at..end)))
        })
        .collect();
    let mut resp = Response::new(StreamBody::new(futures::stream::iter(chunks)).boxed_unsync());
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_str(content_type).expect("content type"),
    );
    resp.headers_mut().insert(
        hyper::header::CONTENT_ENCODING,
        HeaderValue::from_static("gzip"),
    );
    resp
}

fn json_response(body: &impl Serialize) -> Response<Body> {
    respond(
        200,
        "application/json",
        serde_json::to_vec(body).expect("serializes"),
    )
}

pub fn status_response(status: &Status) -> Response<Body> {
    let mut resp = respond(status.code, "application/json", status.to_json());
    if status.code == 429 {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    resp
}

/// Entry point for every request: records it, waits out the modelled
/// network, and gzips a large answer when the client accepts gzip.
pub async fn handle(
    shared: Arc<Shared>,
    conn: Arc<super::wire::ConnControl>,
    req: Request<Incoming>,
) -> Reply {
    let line = format!(
        "{} {}",
        req.method(),
        req.uri().path_and_query().map_or("/", |p| p.as_str())
    );
    let index = shared.wire.started(line);
    let accept_encoding = req
        .headers()
        .get(hyper::header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // One round trip: the request travels to the server and the answer back.
    let rtt = shared.wire.rtt();
    if !rtt.is_zero() {
        tokio::time::sleep(rtt).await;
    }
    let reply = answer(shared.clone(), &conn, req).await;
    let Ok(resp) = reply else {
        return reply;
    };
    let (resp, encoding) = encode(resp, accept_encoding.as_deref()).await;
    shared.wire.answered(index, encoding);
    Ok(in_pieces(resp, shared.wire.small_frames()).await)
}

/// A whole answer re-sent in pieces of `size` bytes, one DATA frame each
/// (`size` 0: as it is).
async fn in_pieces(resp: Response<Body>, size: usize) -> Response<Body> {
    use hyper::body::Body as _;
    if size == 0 || resp.body().size_hint().exact().is_none() {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    parts.headers.remove(hyper::header::CONTENT_LENGTH);
    let pieces: Vec<Result<hyper::body::Frame<Bytes>, Infallible>> = (0..bytes.len())
        .step_by(size)
        .map(|at| {
            Ok(hyper::body::Frame::data(
                bytes.slice(at..(at + size).min(bytes.len())),
            ))
        })
        .collect();
    let stream = StreamBody::new(futures::stream::iter(pieces));
    Response::from_parts(parts, stream.boxed_unsync())
}

/// The response gzipped when kube-apiserver would gzip it: a whole body
/// (never a stream such as a watch or a followed log) over the threshold.
async fn encode(
    resp: Response<Body>,
    accept_encoding: Option<&str>,
) -> (Response<Body>, Option<String>) {
    use hyper::body::Body as _;
    let whole = resp.body().size_hint().exact().is_some();
    if !whole || accept_encoding.is_none() {
        return (resp, None);
    }
    let (mut parts, body) = resp.into_parts();
    let bytes = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    match super::wire::gzip_if_accepted(accept_encoding, &bytes) {
        Some(gz) => {
            parts.headers.insert(
                hyper::header::CONTENT_ENCODING,
                HeaderValue::from_static("gzip"),
            );
            parts.headers.append(
                hyper::header::VARY,
                HeaderValue::from_static("Accept-Encoding"),
            );
            parts.headers.remove(hyper::header::CONTENT_LENGTH);
            (Response::from_parts(parts, full(gz)), Some("gzip".into()))
        }
        None => (Response::from_parts(parts, full(bytes)), None),
    }
}

/// The answer to one request, faults first.
async fn answer(
    shared: Arc<Shared>,
    conn: &super::wire::ConnControl,
    req: Request<Incoming>,
) -> Reply {
    let path_and_query = req
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    let (latency, fault, user_token) = {
        let mut control = shared.control.lock().unwrap();
        control
            .requests
            .push(format!("{} {path_and_query}", req.method()));
        let method = req.method().as_str();
        let found = control
            .faults
            .iter()
            .enumerate()
            .filter(|(_, (prefix, f))| {
                path_and_query.starts_with(prefix.as_str())
                    && f.method.is_none_or(|m| m == method)
                    && f.query.is_none_or(|q| {
                        path_and_query
                            .split_once('?')
                            .is_some_and(|(_, query)| query.contains(q))
                    })
            })
            .max_by_key(|(_, (prefix, _))| prefix.len())
            .map(|(i, _)| i);
        let fault = found.map(|i| {
            let fault = control.faults[i].1.clone();
            match fault.times {
                Some(n) if n <= 1 => {
                    control.faults.remove(i);
                }
                Some(n) => control.faults[i].1.times = Some(n - 1),
                None => {}
            }
            fault
        });
        let presented = req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        let user_token = presented.is_some_and(|t| control.user_tokens.iter().any(|u| u == t));
        (control.latency, fault, user_token)
    };
    let delay = latency + fault.as_ref().and_then(|f| f.latency).unwrap_or_default();
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if let Some(fault) = &fault {
        if fault.drop_connection {
            // The whole connection goes, as when a server restarts or a load
            // balancer cuts it: every request on it is left unanswered.
            conn.drop.notify_one();
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "injected connection drop",
            ));
        }
        if fault.goaway {
            conn.goaway.notify_one();
        }
        if fault.close {
            // hyper drops the connection without answering when the service fails.
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "injected connection close",
            ));
        }
        // An injected 404 is a path the server does not serve, answered as
        // the real one does.
        if fault.status == Some(404) {
            return Ok(page_not_found());
        }
        if let Some(code) = fault.status {
            return Ok(status_response(&Status::injected(code)));
        }
        if let Some((code, content_type, body)) = &fault.raw {
            return Ok(respond(*code, content_type, body.clone()));
        }
        if let Some((content_type, gzipped)) = &fault.gzip {
            return Ok(gzip_stream(content_type, gzipped.clone()));
        }
    }
    if matches!(req.uri().path(), "/healthz" | "/livez" | "/readyz") {
        return Ok(respond(200, "text/plain; charset=utf-8", "ok"));
    }
    let expected = format!("Bearer {}", shared.token);
    let authorized = user_token
        || req
            .headers()
            .get(hyper::header::AUTHORIZATION)
            .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !authorized {
        return Ok(status_response(&Status::unauthorized()));
    }
    if fault.as_ref().is_some_and(|f| f.apply_then_hang) {
        // The change is made; the answer never leaves. The client gives up
        // (and its connection or stream goes, dropping this future), or
        // the simulator shuts down.
        let answer = route(shared.clone(), req).await;
        let mut shutdown = shared.shutdown.clone();
        let _ = shutdown.wait_for(|s| *s).await;
        return answer;
    }
    let endpoints =
        shared.version.warns_on_endpoints() && super::version::is_endpoints_path(req.uri().path());
    let mut answer = route(shared, req).await;
    if endpoints && let Ok(resp) = &mut answer {
        resp.headers_mut().insert(
            "warning",
            HeaderValue::from_static(super::version::ENDPOINTS_WARNING),
        );
    }
    answer
}

/// A parsed resource path: `/api/v1/namespaces/NS/pods/NAME/log` and kin.
struct ResourcePath {
    group: String,
    version: String,
    namespace: Option<String>,
    plural: String,
    name: Option<String>,
    sub: Option<String>,
    /// After the subresource, with its leading `/` (the service proxy path).
    rest: String,
    /// Legacy `/api/v1/watch/...` form.
    watch_prefix: bool,
}

fn query_map(req: &Request<Incoming>) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn truthy(v: Option<&String>) -> bool {
    v.is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"))
}

async fn route(shared: Arc<Shared>, req: Request<Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let segs: Vec<&str> = path.split('/').skip(1).collect();
    let segs: Vec<&str> = if segs.last() == Some(&"") {
        segs[..segs.len() - 1].to_vec()
    } else {
        segs
    };
    let installed = &shared.installed;
    match segs.as_slice() {
        ["version"] => return Ok(json_response(&shared.version.json())),
        ["api"] => return Ok(json_response(&api_versions(shared.port))),
        ["apis"] => return Ok(json_response(&group_list(installed))),
        ["api", "v1"] => return Ok(json_response(&resource_list("", "v1", installed))),
        ["apis", group] => {
            return Ok(match group_json(group, installed) {
                Some(g) => json_response(&g),
                None => page_not_found(),
            });
        }
        ["apis", group, version] => {
            let served = RESOURCES
                .iter()
                .any(|d| d.group == *group && d.version == *version && d.served(installed));
            return Ok(if served {
                json_response(&resource_list(group, version, installed))
            } else {
                page_not_found()
            });
        }
        ["openapi", ..] | ["swagger.json"] => {
            return Ok(page_not_found());
        }
        _ => {}
    }
    let Some(rp) = parse_resource_path(&path, &segs) else {
        return Ok(page_not_found());
    };
    let Some(def) =
        def_for_path(&rp.group, &rp.version, &rp.plural).filter(|d| d.served(installed))
    else {
        return Ok(page_not_found());
    };
    // Scope: a namespaced resource has no cluster-scoped objects and vice versa.
    if (def.namespaced && rp.namespace.is_none() && rp.name.is_some())
        || (!def.namespaced && rp.namespace.is_some())
    {
        return Ok(page_not_found());
    }
    if let Some(sub) = &rp.sub
        && (!def.subresources.iter().any(|(s, _, _)| s == sub)
            || (!rp.rest.is_empty() && sub != "proxy"))
    {
        return Ok(page_not_found());
    }
    let query = query_map(&req);
    let watch = rp.watch_prefix || truthy(query.get("watch"));
    let is_proxy = rp.sub.as_deref() == Some("proxy");
    let verb = match (req.method(), &rp.name) {
        (&Method::GET | &Method::HEAD, _) if watch => "watch",
        (&Method::GET | &Method::HEAD, None) => "list",
        (&Method::GET | &Method::HEAD, Some(_)) => "get",
        (&Method::POST, _) if is_proxy => "create",
        (&Method::PUT, _) if is_proxy => "update",
        (&Method::PATCH, _) if is_proxy => "patch",
        (&Method::DELETE, _) if is_proxy => "delete",
        (&Method::PATCH, Some(_)) if rp.sub.as_deref() == Some("scale") => "patch",
        _ => return Ok(status_response(&Status::method_not_allowed())),
    };
    if let Some(denied) = forbidden(&shared, verb, def, &rp) {
        return Ok(status_response(&denied));
    }
    let ns = rp.namespace.clone();
    match (rp.name.as_deref(), rp.sub.as_deref()) {
        (None, _) => {
            let selectors = match selectors(&query, def) {
                Ok(s) => s,
                Err(why) => return Ok(status_response(&Status::bad_request(why))),
            };
            if watch {
                Ok(start_watch(shared, def, ns, selectors, &query))
            } else {
                let accept = req
                    .headers()
                    .get(hyper::header::ACCEPT)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default();
                Ok(list(&shared, def, ns, &selectors, &query, accept))
            }
        }
        (Some(name), None) if watch => {
            let mut query = query.clone();
            let by_name = format!("metadata.name={name}");
            let fs = match query.get("fieldSelector") {
                Some(f) if !f.is_empty() => format!("{f},{by_name}"),
                _ => by_name,
            };
            query.insert("fieldSelector".into(), fs);
            let selectors = match selectors(&query, def) {
                Ok(s) => s,
                Err(why) => return Ok(status_response(&Status::bad_request(why))),
            };
            Ok(start_watch(shared, def, ns, selectors, &query))
        }
        (Some(name), None) => Ok(get(&shared, def, ns.as_deref(), name)),
        (Some(name), Some("log")) => Ok(logs(
            &shared,
            ns.as_deref().unwrap_or_default(),
            name,
            &query,
        )),
        (Some(name), Some("proxy")) => {
            proxy(
                shared,
                req,
                ns.unwrap_or_default(),
                name.to_string(),
                rp.rest,
            )
            .await
        }
        (Some(name), Some("scale")) if req.method() == Method::PATCH => {
            Ok(patch_scale(&shared, def, ns.as_deref(), name, req).await)
        }
        (Some(name), Some("scale")) => Ok(scale(&shared, def, ns.as_deref(), name)),
        (Some(name), Some(_)) => Ok(get(&shared, def, ns.as_deref(), name)),
    }
}

fn parse_resource_path(path: &str, segs: &[&str]) -> Option<ResourcePath> {
    let (group, version, consumed, rest) = match segs {
        ["api", "v1", rest @ ..] if !rest.is_empty() => ("", "v1", 2, rest),
        ["apis", g, v, rest @ ..] if !rest.is_empty() => (*g, *v, 3, rest),
        _ => return None,
    };
    let mut consumed = consumed;
    let (watch_prefix, rest) = match rest {
        ["watch", more @ ..] if !more.is_empty() => {
            consumed += 1;
            (true, more)
        }
        _ => (false, rest),
    };
    let namespaced_form = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(group.is_empty() && rest.len() == 3 && matches!(rest[2], "status" | "finalize"));
    let (namespace, rest) = if namespaced_form {
        consumed += 2;
        (Some(rest[1].to_string()), &rest[2..])
    } else {
        (None, rest)
    };
    let plural = rest[0].to_string();
    let name = rest.get(1).map(|s| s.to_string());
    let sub = rest.get(2).map(|s| s.to_string());
    consumed += rest.len().min(3);
    // Everything after the subresource, verbatim (keeps a trailing slash).
    let mut offset = 0;
    for seg in segs.iter().take(consumed) {
        offset += 1 + seg.len();
    }
    let tail = if sub.is_some() {
        &path[offset.min(path.len())..]
    } else {
        ""
    };
    Some(ResourcePath {
        group: group.to_string(),
        version: version.to_string(),
        namespace,
        plural,
        name,
        sub,
        rest: tail.to_string(),
        watch_prefix,
    })
}

/// The 403 for a request `meta.forbidden` denies. An entry with a namespace
/// also denies the cluster-wide form of the request (listing every namespace
/// needs the permission in each of them).
fn forbidden(shared: &Shared, verb: &str, def: &ResDef, rp: &ResourcePath) -> Option<Status> {
    let full_resource = match &rp.sub {
        Some(sub) => format!("{}/{sub}", def.plural),
        None => def.plural.to_string(),
    };
    let denied = shared.forbidden.iter().any(|f| {
        (f.verb == verb || f.verb == "*")
            && (f.resource == full_resource || f.resource == "*")
            && f.group == def.group
            && match (&f.namespace, &rp.namespace) {
                (None, _) | (Some(_), None) => true,
                (Some(a), Some(b)) => a == b,
            }
    });
    denied.then(|| {
        Status::forbidden(
            &shared.user,
            verb,
            def.group,
            def.plural,
            rp.sub.as_deref(),
            rp.namespace.as_deref(),
            rp.name.as_deref().unwrap_or_default(),
        )
    })
}

/// Both selectors of a request; the error is the message of the 400.
fn selectors(query: &BTreeMap<String, String>, def: &ResDef) -> Result<Selectors, String> {
    let labels = LabelSelector::parse(query.get("labelSelector").map_or("", String::as_str))?;
    let fields = FieldSelector::parse(query.get("fieldSelector").map_or("", String::as_str), def)?;
    Ok(Selectors { labels, fields })
}

fn with_type(def: &ResDef, mut obj: Value) -> Value {
    obj["kind"] = def.kind.into();
    obj["apiVersion"] = def.api_version().into();
    obj
}

/// A list: its pages and representations are `listing`'s.
fn list(
    shared: &Shared,
    def: &ResDef,
    ns: Option<String>,
    selectors: &Selectors,
    query: &BTreeMap<String, String>,
    accept: &str,
) -> Response<Body> {
    match super::listing::list(shared, def, ns.as_deref(), selectors, query, accept) {
        Ok(bytes) => {
            super::listing::served(shared, bytes.len());
            respond(200, "application/json", bytes)
        }
        Err(status) => status_response(&status),
    }
}

fn get(shared: &Shared, def: &ResDef, ns: Option<&str>, name: &str) -> Response<Body> {
    let store = shared.store.lock().unwrap();
    match store.get(def.storage(), ns.unwrap_or_default(), name) {
        Some(obj) => json_response(&with_type(def, def.present(obj))),
        None => status_response(&Status::not_found(def.group, def.plural, name)),
    }
}

/// `deployments/NAME/scale` as an autoscaling/v1 Scale.
fn scale(shared: &Shared, def: &ResDef, ns: Option<&str>, name: &str) -> Response<Body> {
    let store = shared.store.lock().unwrap();
    match store.get(def.storage(), ns.unwrap_or_default(), name) {
        Some(obj) => json_response(&scale_of(obj)),
        None => status_response(&Status::not_found(def.group, def.plural, name)),
    }
}

/// The autoscaling/v1 Scale the registry derives from a Deployment
/// (kubernetes v1.31 pkg/registry/apps/deployment/storage/storage.go:
/// scaleFromDeployment): the object's own metadata, spec.replicas, and
/// status.replicas with the label selector as text.
fn scale_of(obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

/// `PATCH .../deployments/NAME/scale`. `kubectl scale` sends a JSON merge
/// patch `{"spec":{"replicas":N}}` (kubectl v1.31 pkg/scale/scale.go:
/// ScaleSimple), client-go's and kube-rs's typed clients the same body as a
/// merge or strategic-merge patch; on a Scale both mean the same thing, so
/// both are applied as RFC 7386 merges. A JSON patch (RFC 6902) is answered
/// 415, as for any other body type: nothing here sends one.
async fn patch_scale(
    shared: &Shared,
    def: &ResDef,
    ns: Option<&str>,
    name: &str,
    req: Request<Incoming>,
) -> Response<Body> {
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_string())
        .unwrap_or_default();
    if !matches!(
        content_type.as_str(),
        "application/merge-patch+json" | "application/strategic-merge-patch+json"
    ) {
        return status_response(&Status::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/merge-patch+json, application/strategic-merge-patch+json (got {content_type:?})"
            ),
            None,
        ));
    }
    let patch: Value = match req.into_body().collect().await {
        Ok(b) => match serde_json::from_slice(&b.to_bytes()) {
            Ok(v) => v,
            Err(e) => {
                return status_response(&Status::bad_request(format!("error decoding patch: {e}")));
            }
        },
        Err(e) => return status_response(&Status::bad_request(format!("reading the body: {e}"))),
    };
    let ns = ns.unwrap_or_default();
    let mut store = shared.store.lock().unwrap();
    let Some(mut obj) = store.get(def.storage(), ns, name).cloned() else {
        return status_response(&Status::not_found(def.group, def.plural, name));
    };
    let mut scale = scale_of(&obj);
    merge_patch(&mut scale, &patch);
    if scale["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"] {
        return status_response(&Status::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
                super::status::group_resource(def.group, def.plural)
            ),
            None,
        ));
    }
    let replicas = match scale["spec"]["replicas"].as_i64() {
        Some(n) if (0..=i64::from(i32::MAX)).contains(&n) => n,
        _ => {
            return status_response(&Status::new(
                422,
                "Invalid",
                format!(
                    "Scale.autoscaling {name:?} is invalid: spec.replicas: Invalid value: {}: must be greater than or equal to 0",
                    scale["spec"]["replicas"]
                ),
                None,
            ));
        }
    };
    obj["spec"]["replicas"] = replicas.into();
    let rv = store.put(obj, SystemTime::now()).rv;
    let stored = store.get(def.storage(), ns, name).map(scale_of);
    drop(store);
    shared.changes.send_replace(rv);
    json_response(&stored.unwrap_or(Value::Null))
}

/// RFC 7386: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    let Some(fields) = patch.as_object() else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    for (k, v) in fields {
        if v.is_null() {
            if let Some(m) = target.as_object_mut() {
                m.remove(k);
            }
        } else {
            merge_patch(&mut target[k.as_str()], v);
        }
    }
}

// ---------------------------------------------------------------- watch

fn event_line(kind: &str, object: &Value) -> Bytes {
    event_line_json(kind, &serde_json::to_string(object).expect("serializes"))
}

fn event_line_json(kind: &str, object: &str) -> Bytes {
    Bytes::from(format!("{{\"type\":\"{kind}\",\"object\":{object}}}\n"))
}

fn bookmark(def: &ResDef, rv: u64, initial_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    event_line(
        "BOOKMARK",
        &json!({"kind": def.kind, "apiVersion": def.api_version(), "metadata": metadata}),
    )
}

struct WatchFilter {
    def: &'static ResDef,
    ns: Option<String>,
    selectors: Selectors,
}

impl WatchFilter {
    fn matches(&self, stored: &Value) -> Option<Value> {
        if let Some(ns) = &self.ns
            && stored["metadata"]["namespace"].as_str() != Some(ns.as_str())
        {
            return None;
        }
        let presented = self.def.present(stored);
        self.selectors
            .matches(self.def, &presented)
            .then(|| with_type(self.def, presented))
    }

    /// The line a watcher sees for a change, with the watch cache's rules for
    /// objects that move in or out of the selection.
    fn line(&self, ev: &Event) -> Option<Bytes> {
        if ev.storage != self.def.storage() {
            return None;
        }
        let new = self.matches(&ev.object);
        let old_matched = ev.old.as_ref().and_then(|o| self.matches(o)).is_some();
        let kind = match (ev.change, old_matched, &new) {
            (Change::Added, _, Some(_)) => "ADDED",
            (Change::Modified, true, Some(_)) => "MODIFIED",
            (Change::Modified, false, Some(_)) => "ADDED",
            (Change::Modified, true, None) | (Change::Deleted, true, _) => "DELETED",
            _ => return None,
        };
        let object = new.unwrap_or_else(|| with_type(self.def, self.def.present(&ev.object)));
        Some(event_line(kind, &object))
    }
}

fn start_watch(
    shared: Arc<Shared>,
    def: &'static ResDef,
    ns: Option<String>,
    selectors: Selectors,
    query: &BTreeMap<String, String>,
) -> Response<Body> {
    let rv_param = query.get("resourceVersion").cloned().unwrap_or_default();
    let asked: Option<u64> = match rv_param.as_str() {
        "" | "0" => None,
        s => match s.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                return status_response(&Status::bad_request(format!(
                    "invalid resource version: {s:?}"
                )));
            }
        },
    };
    let send_initial = truthy(query.get("sendInitialEvents"));
    let bookmarks = truthy(query.get("allowWatchBookmarks"));
    let timeout = query
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let filter = WatchFilter { def, ns, selectors };

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    let mut initial = Vec::new();
    let mut expired = None;
    let (last, mut changes) = {
        let store = shared.store.lock().unwrap();
        let changes = shared.changes.subscribe();
        match asked {
            Some(n) if !send_initial => {
                if n < store.floor {
                    expired = Some(Status::expired(n, store.floor));
                }
                // Replayed from history by the first pass of the loop below.
                (n, changes)
            }
            _ => {
                for obj in store.list(def.storage(), filter.ns.as_deref()) {
                    if let Some(o) = filter.matches(obj) {
                        initial.push(event_line("ADDED", &o));
                    }
                }
                if send_initial && bookmarks {
                    initial.push(bookmark(def, store.rv, true));
                }
                (store.rv, changes)
            }
        }
    };
    let mut shutdown = shared.shutdown.clone();
    let mut cut = shared.cut.subscribe();
    tokio::spawn(async move {
        if let Some(status) = expired {
            let _ = tx.send(event_line_json("ERROR", &status.to_json())).await;
            return;
        }
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let mut last = last;
        let deadline =
            tokio::time::Instant::now() + timeout.unwrap_or(Duration::from_secs(365 * 86_400));
        let mut ticks =
            tokio::time::interval_at(tokio::time::Instant::now() + BOOKMARK_EVERY, BOOKMARK_EVERY);
        let mut first = true;
        loop {
            let lines = if first {
                first = false;
                Some(())
            } else {
                tokio::select! {
                    r = changes.changed() => r.ok(),
                    _ = tokio::time::sleep_until(deadline) => None,
                    _ = tx.closed() => None,
                    _ = shutdown.changed() => None,
                    _ = cut.changed() => None,
                    _ = ticks.tick(), if bookmarks => {
                        if tx.send(bookmark(filter.def, last, false)).await.is_err() {
                            return;
                        }
                        continue;
                    }
                }
            };
            if lines.is_none() {
                return;
            }
            let (lines, expired) = {
                let store = shared.store.lock().unwrap();
                if last < store.floor {
                    (Vec::new(), Some(Status::expired(last, store.floor)))
                } else {
                    let lines: Vec<Bytes> = store
                        .history
                        .iter()
                        .filter(|e| e.rv > last)
                        .filter_map(|e| filter.line(e))
                        .collect();
                    last = last.max(store.rv);
                    (lines, None)
                }
            };
            if let Some(status) = expired {
                let _ = tx.send(event_line_json("ERROR", &status.to_json())).await;
                return;
            }
            for line in lines {
                if tx.send(line).await.is_err() {
                    return;
                }
            }
        }
    });
    let stream = tokio_stream::wrappers::ReceiverStream::new(rx)
        .map(|b| Ok::<_, Infallible>(Frame::data(b)));
    let mut resp = Response::new(StreamBody::new(stream).boxed_unsync());
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

// ---------------------------------------------------------------- pods/log

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .map(|cs| {
            cs.iter()
                .filter_map(|c| c["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Go's `%s` of a `[]string`: `[a b]`.
fn go_list(v: &[String]) -> String {
    format!("[{}]", v.join(" "))
}

fn logs(shared: &Shared, ns: &str, name: &str, query: &BTreeMap<String, String>) -> Response<Body> {
    let pod = {
        let store = shared.store.lock().unwrap();
        match store.get(("", "pods"), ns, name) {
            Some(p) => p.clone(),
            None => return status_response(&Status::not_found("", "pods", name)),
        }
    };
    let containers = names(&pod["spec"]["containers"]);
    let init = names(&pod["spec"]["initContainers"]);
    let ephemeral = names(&pod["spec"]["ephemeralContainers"]);
    let container = match query.get("container").filter(|c| !c.is_empty()) {
        Some(c) => {
            if !containers.contains(c) && !init.contains(c) && !ephemeral.contains(c) {
                return status_response(&Status::bad_request(format!(
                    "container {c} is not valid for pod {name}"
                )));
            }
            c.clone()
        }
        None => match containers.len() {
            1 => containers[0].clone(),
            0 => {
                return status_response(&Status::bad_request(format!(
                    "a container name must be specified for pod {name}"
                )));
            }
            _ => {
                let mut msg = format!(
                    "a container name must be specified for pod {name}, choose one of: {}",
                    go_list(&containers)
                );
                if !init.is_empty() {
                    msg.push_str(&format!(
                        " or one of the init containers: {}",
                        go_list(&init)
                    ));
                }
                if !ephemeral.is_empty() {
                    msg.push_str(&format!(
                        " or one of the ephemeral containers: {}",
                        go_list(&ephemeral)
                    ));
                }
                return status_response(&Status::bad_request(msg));
            }
        },
    };
    let previous = truthy(query.get("previous"));
    let key = if previous {
        format!("{ns}/{name}/{container}/previous")
    } else {
        format!("{ns}/{name}/{container}")
    };
    let text = shared.control.lock().unwrap().logs.get(&key).cloned();
    let text = match text {
        Some(t) => t,
        None if previous => {
            return status_response(&Status::bad_request(format!(
                "previous terminated container {container:?} in pod {name:?} not found"
            )));
        }
        None => String::new(),
    };
    let mut lines: Vec<&str> = text.lines().collect();
    if let Some(n) = query.get("tailLines").and_then(|n| n.parse::<usize>().ok()) {
        lines = lines.split_off(lines.len().saturating_sub(n));
    }
    let stamp = truthy(query.get("timestamps")).then(|| rfc3339_nanos(SystemTime::now()));
    let mut out = String::new();
    for line in lines {
        if let Some(stamp) = &stamp {
            out.push_str(stamp);
            out.push(' ');
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some(limit) = query
        .get("limitBytes")
        .and_then(|n| n.parse::<usize>().ok())
    {
        let mut cut = limit.min(out.len());
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    respond(200, "text/plain", out)
}

// ---------------------------------------------------------------- service proxy

async fn proxy(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    ns: String,
    target: String,
    rest: String,
) -> Reply {
    // [scheme:]name[:port]
    let parts: Vec<&str> = target.split(':').collect();
    let (name, port) = match parts.as_slice() {
        [name] => (*name, ""),
        [name, port] => (*name, *port),
        [_scheme, name, port] => (*name, *port),
        _ => {
            return Ok(status_response(&Status::bad_request(format!(
                "invalid service request {target:?}"
            ))));
        }
    };
    let service = shared
        .store
        .lock()
        .unwrap()
        .get(("", "services"), &ns, name)
        .cloned();
    let Some(service) = service else {
        return Ok(status_response(&Status::not_found("", "services", name)));
    };
    // The requested port may be a port's name or number: accept either spelling.
    let mut spellings = vec![port.to_string()];
    for p in service["spec"]["ports"].as_array().into_iter().flatten() {
        let number = p["port"]
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let pname = p["name"].as_str().unwrap_or_default().to_string();
        if port.is_empty() || port == number || port == pname {
            spellings.push(number);
            spellings.push(pname);
        }
    }
    let upstream = {
        let control = shared.control.lock().unwrap();
        let by_port = spellings
            .iter()
            .filter(|s| !s.is_empty() || port.is_empty())
            .find_map(|p| {
                control
                    .upstreams
                    .get(&(ns.clone(), name.to_string(), p.clone()))
                    .cloned()
            });
        by_port.or_else(|| {
            port.is_empty()
                .then(|| {
                    control
                        .upstreams
                        .iter()
                        .find(|((n, s, _), _)| *n == ns && s == name)
                        .map(|(_, u)| u.clone())
                })
                .flatten()
        })
    };
    let Some(upstream) = upstream else {
        return Ok(status_response(&Status::service_unavailable(format!(
            "no endpoints available for service {name:?}"
        ))));
    };
    let mut uri = format!(
        "{}{}",
        upstream.trim_end_matches('/'),
        if rest.is_empty() { "/" } else { &rest }
    );
    if let Some(q) = req.uri().query() {
        uri.push('?');
        uri.push_str(q);
    }
    let (parts, body) = req.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let mut out = Request::builder().method(parts.method).uri(&uri);
    for (k, v) in parts.headers.iter() {
        if !matches!(
            k.as_str(),
            "host"
                | "authorization"
                | "connection"
                | "transfer-encoding"
                | "keep-alive"
                | "upgrade"
        ) {
            out = out.header(k, v);
        }
    }
    let out = match out.body(Full::new(body)) {
        Ok(r) => r,
        Err(e) => {
            return Ok(status_response(&Status::bad_request(format!(
                "bad upstream request {uri:?}: {e}"
            ))));
        }
    };
    let resp = match shared.proxy_client.request(out).await {
        Ok(r) => r,
        Err(e) => {
            return Ok(status_response(&Status::service_unavailable(reach_error(
                &upstream, &e,
            ))));
        }
    };
    let (parts, body) = resp.into_parts();
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return Ok(status_response(&Status::service_unavailable(format!(
                "error trying to reach service: {e}"
            ))));
        }
    };
    let mut relayed = Response::new(full(body));
    *relayed.status_mut() = parts.status;
    for (k, v) in parts.headers.iter() {
        if !matches!(
            k.as_str(),
            "connection" | "transfer-encoding" | "keep-alive" | "content-length"
        ) {
            relayed.headers_mut().append(k, v.clone());
        }
    }
    Ok(relayed)
}

/// The apiserver's wording for a failed dial: `error trying to reach service:
/// dial tcp 127.0.0.1:9090: connect: connection refused`.
fn reach_error(upstream: &str, err: &(dyn std::error::Error + 'static)) -> String {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>()
            && io.kind() == io::ErrorKind::ConnectionRefused
        {
            let host_port = upstream
                .split("://")
                .nth(1)
                .unwrap_or(upstream)
                .split('/')
                .next()
                .unwrap_or_default();
            return format!(
                "error trying to reach service: dial tcp {host_port}: connect: connection refused"
            );
        }
        source = e.source();
    }
    format!("error trying to reach service: {err}")
}

// ---------------------------------------------------------------- discovery

fn api_versions(port: u16) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": format!("127.0.0.1:{port}")}]
    })
}

/// Served (group, version) pairs in table order, core excluded.
fn served_groups(installed: &[String]) -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    for d in RESOURCES
        .iter()
        .filter(|d| !d.group.is_empty() && d.served(installed))
    {
        if !out.contains(&(d.group, d.version)) {
            out.push((d.group, d.version));
        }
    }
    out
}

/// One group's discovery entry: every served version, the first preferred.
fn group_entry(group: &str, installed: &[String]) -> Option<Value> {
    let versions: Vec<Value> = served_groups(installed)
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first()?.clone();
    Some(json!({"name": group, "versions": versions, "preferredVersion": preferred}))
}

fn group_list(installed: &[String]) -> Value {
    let mut names: Vec<&str> = Vec::new();
    for (g, _) in served_groups(installed) {
        if !names.contains(&g) {
            names.push(g);
        }
    }
    let groups: Vec<Value> = names
        .into_iter()
        .filter_map(|g| group_entry(g, installed))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn group_json(group: &str, installed: &[String]) -> Option<Value> {
    let mut entry = group_entry(group, installed)?;
    entry["kind"] = "APIGroup".into();
    entry["apiVersion"] = "v1".into();
    Some(entry)
}

fn resource_list(group: &str, version: &str, installed: &[String]) -> Value {
    let mut resources = Vec::new();
    for d in RESOURCES
        .iter()
        .filter(|d| d.group == group && d.version == version && d.served(installed))
    {
        let mut r = json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"],
        });
        if !d.short_names.is_empty() {
            r["shortNames"] = json!(d.short_names);
        }
        if !d.categories.is_empty() {
            r["categories"] = json!(d.categories);
        }
        resources.push(r);
        for (sub, kind, verbs) in d.subresources {
            let mut s = json!({
                "name": format!("{}/{sub}", d.plural),
                "singularName": "",
                "namespaced": d.namespaced,
                "kind": kind,
                "verbs": verbs,
            });
            if *kind == "Scale" {
                s["group"] = "autoscaling".into();
                s["version"] = "v1".into();
            }
            resources.push(s);
        }
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let mut list = json!({"kind": "APIResourceList", "groupVersion": gv, "resources": resources});
    if !group.is_empty() {
        list["apiVersion"] = "v1".into();
    }
    list
}
