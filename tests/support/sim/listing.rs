//! Lists as kube-apiserver answers them: pages (`limit` / `continue`, with
//! `remainingItemCount` and 410 Expired for a token that is too old), and the
//! representations the client may ask for in `Accept` (a `meta.k8s.io/v1`
//! Table of nodes, or 406 Not Acceptable for any other `as=`).
//!
//! Unlike etcd, the simulator serves every page from the store as it is now,
//! not as it was at the first page's resourceVersion: a list that changes
//! between pages shows the change (a test that needs a consistent list keeps
//! the cluster still while it lists).

use super::Shared;
use super::resources::ResDef;
use super::select::Selectors;
use super::status::Status;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::SystemTime;

/// How lists are served; tests change it through [`super::Sim`].
#[derive(Debug)]
pub struct Paging {
    /// Nodes are served as a Table when asked (a real server always does).
    pub tables: bool,
    /// A Table request is answered with the plain list, as a server or proxy
    /// that ignores `as=Table` does.
    pub lists_for_tables: bool,
    /// Every list comes whole in one page, `limit` ignored, as a server
    /// answering from its watch cache for `resourceVersion=0` does.
    pub ignore_limit: bool,
    /// This many next continue tokens answer 410 Expired, as if etcd had
    /// compacted past them.
    pub expire_continues: usize,
    /// JSON bytes of the list answers served (before any compression).
    list_bytes: usize,
    /// Continue tokens handed out: token → (list resourceVersion, last key).
    tokens: BTreeMap<String, (u64, (String, String))>,
}

impl Default for Paging {
    fn default() -> Paging {
        Paging {
            tables: true,
            lists_for_tables: false,
            ignore_limit: false,
            expire_continues: 0,
            list_bytes: 0,
            tokens: BTreeMap::new(),
        }
    }
}

impl super::Sim {
    /// Serves (or, with `false`, answers 406 to) node Tables.
    pub fn serve_tables(&self, on: bool) {
        self.shared.paging.lock().unwrap().tables = on;
    }

    /// Answers a Table request with the plain list (`kind: NodeList`).
    pub fn lists_for_tables(&self, on: bool) {
        self.shared.paging.lock().unwrap().lists_for_tables = on;
    }

    /// Ignores `limit`: every list is one page.
    pub fn ignore_limit(&self, on: bool) {
        self.shared.paging.lock().unwrap().ignore_limit = on;
    }

    /// JSON bytes of the list answers served since the last call.
    pub fn take_list_bytes(&self) -> usize {
        std::mem::take(&mut self.shared.paging.lock().unwrap().list_bytes)
    }

    /// The next `n` requests that carry a continue token get 410 Expired.
    pub fn expire_continue_tokens(&self, n: usize) {
        self.shared.paging.lock().unwrap().expire_continues = n;
    }
}

/// What kube-apiserver answers to an `Accept` it cannot serve
/// (k8s.io/apiserver pkg/endpoints/handlers/negotiation/errors.go
/// `NewNotAcceptableError`, with the JSON serializer's media types).
fn not_acceptable() -> Status {
    Status::new(
        406,
        "NotAcceptable",
        "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf",
        None,
    )
}

/// The 410 for a continue token older than the compacted history
/// (k8s.io/apiserver pkg/storage/etcd3/store.go, `errors.NewResourceExpired`).
fn continue_expired() -> Status {
    Status::new(
        410,
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.",
        None,
    )
}

#[derive(Debug, PartialEq)]
enum Form {
    List,
    Table,
}

/// The first media type of `Accept` this resource can be served as.
fn negotiate(accept: &str, def: &ResDef, paging: &Paging) -> Result<Form, Box<Status>> {
    let tables = paging.tables;
    if accept.trim().is_empty() {
        return Ok(Form::List);
    }
    for entry in accept.split(',') {
        let mut parts = entry.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default();
        if !matches!(media, "application/json" | "application/*" | "*/*") {
            continue;
        }
        let params: BTreeMap<&str, &str> = parts.filter_map(|p| p.split_once('=')).collect();
        match params.get("as") {
            None => return Ok(Form::List),
            Some(&"Table") if paging.lists_for_tables => return Ok(Form::List),
            Some(&"Table")
                if tables
                    && def.kind == "Node"
                    && params.get("g") == Some(&"meta.k8s.io")
                    && matches!(params.get("v"), Some(&"v1" | &"v1beta1")) =>
            {
                return Ok(Form::Table);
            }
            Some(_) => {}
        }
    }
    Err(Box::new(not_acceptable()))
}

/// Where an object sits in the store's order: (namespace, name).
fn key(obj: &Value) -> (String, String) {
    let meta = &obj["metadata"];
    let text = |f: &str| meta[f].as_str().unwrap_or_default().to_string();
    (text("namespace"), text("name"))
}

/// Counts the bytes of a list answer.
pub fn served(shared: &Shared, bytes: usize) {
    shared.paging.lock().unwrap().list_bytes += bytes;
}

/// A list request's answer, serialized: the body, or the Status of its
/// failure. The page is serialized from the stored objects themselves (an
/// item is copied only when it must be converted, as events.k8s.io Events
/// are), so a page of a 5,000-node list costs what its 500 nodes cost.
pub fn list(
    shared: &Shared,
    def: &ResDef,
    ns: Option<&str>,
    selectors: &Selectors,
    query: &BTreeMap<String, String>,
    accept: &str,
) -> Result<Vec<u8>, Box<Status>> {
    let mut paging = shared.paging.lock().unwrap();
    let form = negotiate(accept, def, &paging)?;
    let store = shared.store.lock().unwrap();
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .filter(|l| *l > 0 && !paging.ignore_limit);
    let (list_rv, after) = match query.get("continue").filter(|c| !c.is_empty()) {
        None => (store.rv, None),
        Some(token) => {
            let Some((rv, after)) = paging.tokens.get(token).cloned() else {
                return Err(Box::new(Status::bad_request(format!(
                    "continue key is not valid: {token}"
                ))));
            };
            if paging.expire_continues > 0 || rv < store.floor {
                paging.expire_continues = paging.expire_continues.saturating_sub(1);
                return Err(Box::new(continue_expired()));
            }
            (rv, Some(after))
        }
    };
    let mut items: Vec<Item<'_>> = Vec::new();
    let mut remaining = 0i64;
    // Only a view (events.k8s.io) needs each object converted to be matched;
    // every other object is matched and sent as stored.
    let views = def.view_of.is_some();
    let mut listed = store.list_after(def.storage(), ns, after.as_ref());
    while let Some(stored) = listed.next() {
        let item = match views {
            true => Item::Owned(def.present(stored)),
            false => Item::Stored(stored),
        };
        if !selectors.matches(def, item.value()) {
            continue;
        }
        if limit.is_none_or(|l| items.len() < l) {
            items.push(item);
        } else if selectors.is_empty() {
            // Nothing left to match: the rest of the range is the count.
            remaining = 1 + listed.count() as i64;
            break;
        } else {
            remaining += 1;
        }
    }
    let mut metadata = json!({"resourceVersion": store.rv.to_string()});
    if remaining > 0 {
        let last = items.last().map(|i| key(i.value())).unwrap_or_default();
        let start = format!("{}/{}\u{0}", last.0, last.1);
        let token = super::base64(
            json!({"v": "meta.k8s.io/v1", "rv": list_rv, "start": start})
                .to_string()
                .as_bytes(),
        );
        paging.tokens.insert(token.clone(), (list_rv, last));
        metadata["continue"] = token.into();
        // etcd counts what is left only for a list without selectors; with
        // one it would count objects that do not match, so it says nothing.
        if selectors.is_empty() {
            metadata["remainingItemCount"] = remaining.into();
        }
    }
    let body = match form {
        Form::List => serde_json::to_vec(&ListBody {
            kind: format!("{}List", def.kind),
            api_version: def.api_version(),
            metadata,
            items: items.iter().map(|i| Untyped(i.value())).collect(),
        }),
        Form::Table => serde_json::to_vec(&node_table(
            metadata,
            items.iter().map(Item::value),
            query.get("includeObject"),
        )),
    };
    Ok(body.expect("a list serializes"))
}

/// A listed object: as stored, or converted for a view.
enum Item<'a> {
    Stored(&'a Value),
    Owned(Value),
}

impl Item<'_> {
    fn value(&self) -> &Value {
        match self {
            Item::Stored(v) => v,
            Item::Owned(v) => v,
        }
    }
}

/// A `...List` body whose items borrow the stored objects.
#[derive(Serialize)]
struct ListBody<'a> {
    kind: String,
    #[serde(rename = "apiVersion")]
    api_version: String,
    metadata: Value,
    items: Vec<Untyped<'a>>,
}

/// An object without its `kind` and `apiVersion`, as a list's items are
/// sent (the list names them once).
struct Untyped<'a>(&'a Value);

impl Serialize for Untyped<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(map) = self.0.as_object() else {
            return self.0.serialize(s);
        };
        let fields = map
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "kind" | "apiVersion"));
        let mut out = s.serialize_map(None)?;
        for (k, v) in fields {
            out.serialize_entry(k, v)?;
        }
        out.end()
    }
}

#[derive(Serialize)]
struct Table<'a> {
    kind: &'static str,
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    metadata: Value,
    #[serde(rename = "columnDefinitions")]
    column_definitions: Vec<Value>,
    rows: Vec<Row<'a>>,
}

#[derive(Serialize)]
struct Row<'a> {
    cells: Value,
    object: RowObject<'a>,
}

/// What a row carries of its object, as `includeObject` asks.
enum RowObject<'a> {
    None,
    Metadata(&'a Value),
    Object(&'a Value),
}

impl Serialize for RowObject<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            RowObject::None => s.serialize_none(),
            RowObject::Object(node) => node.serialize(s),
            RowObject::Metadata(metadata) => {
                let mut out = s.serialize_map(Some(3))?;
                out.serialize_entry("kind", "PartialObjectMetadata")?;
                out.serialize_entry("apiVersion", "meta.k8s.io/v1")?;
                out.serialize_entry("metadata", metadata)?;
                out.end()
            }
        }
    }
}

/// The node Table kube-apiserver builds with its node printer (kubernetes
/// pkg/printers/internalversion/printers.go `printNode`, v1.33; the server
/// always prints the wide columns) and, per row, the object as
/// `includeObject` asks: the node's PartialObjectMetadata by default
/// (k8s.io/apiserver pkg/endpoints/handlers/response.go `asTable`), nothing
/// for `None`, the whole node for `Object`.
fn node_table<'a>(
    metadata: Value,
    nodes: impl Iterator<Item = &'a Value>,
    include: Option<&String>,
) -> Table<'a> {
    let columns = [
        ("Name", "name", 0),
        ("Status", "", 0),
        ("Roles", "", 0),
        ("Age", "", 0),
        ("Version", "", 0),
        ("Internal-IP", "", 1),
        ("External-IP", "", 1),
        ("OS-Image", "", 1),
        ("Kernel-Version", "", 1),
        ("Container-Runtime", "", 1),
    ];
    let now = SystemTime::now();
    let rows = nodes
        .map(|node| Row {
            cells: node_cells(node, now),
            object: match include.map(String::as_str) {
                Some("None") => RowObject::None,
                Some("Object") => RowObject::Object(node),
                _ => RowObject::Metadata(&node["metadata"]),
            },
        })
        .collect();
    Table {
        kind: "Table",
        api_version: "meta.k8s.io/v1",
        metadata,
        column_definitions: columns
            .iter()
            .map(|(name, format, priority)| {
                json!({
                    "name": name, "type": "string", "format": format, "description": "", "priority": priority,
                })
            })
            .collect(),
        rows,
    }
}

fn node_cells(node: &Value, now: SystemTime) -> Value {
    let ready = node["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            if c["status"] == "True" {
                "Ready"
            } else {
                "NotReady"
            }
        });
    let mut status = vec![ready.unwrap_or("Unknown")];
    if node["spec"]["unschedulable"] == true {
        status.push("SchedulingDisabled");
    }
    let roles: Vec<&str> = node["metadata"]["labels"]
        .as_object()
        .map(|l| {
            l.keys()
                .filter_map(|k| k.strip_prefix("node-role.kubernetes.io/"))
                .filter(|r| !r.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let address = |kind: &str| {
        node["status"]["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == kind))
            .and_then(|x| x["address"].as_str())
            .unwrap_or("<none>")
            .to_string()
    };
    let info = |field: &str| {
        node["status"]["nodeInfo"][field]
            .as_str()
            .filter(|s| !s.is_empty())
            .unwrap_or("<unknown>")
            .to_string()
    };
    json!([
        node["metadata"]["name"],
        status.join(","),
        if roles.is_empty() {
            "<none>".to_string()
        } else {
            roles.join(",")
        },
        age(node["metadata"]["creationTimestamp"].as_str(), now),
        node["status"]["nodeInfo"]["kubeletVersion"]
            .as_str()
            .unwrap_or(""),
        address("InternalIP"),
        address("ExternalIP"),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ])
}

/// A creation time as the Age column shows it (short form, one unit).
fn age(created: Option<&str>, now: SystemTime) -> String {
    let Some(t) = created.and_then(|c| c.parse::<jiff::Timestamp>().ok()) else {
        return "<unknown>".into();
    };
    let now = jiff::Timestamp::try_from(now).unwrap_or(t);
    let secs = (now.as_second() - t.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}
