//! The object store: every object under one global, monotonically increasing
//! resourceVersion, plus the change history that watches replay.

use super::resources::{ResDef, def_for_kind, v1_event_to_core};
use super::time::{resolve_times, rfc3339};
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::time::SystemTime;

/// (group, plural) of a stored resource.
pub type StorageKey = (&'static str, &'static str);

/// The first resourceVersion handed out (real clusters never start at 1).
const FIRST_RV: u64 = 1000;
/// Changes kept for watches; older resourceVersions get 410 Expired.
const HISTORY: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Modified,
    Deleted,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub change: Change,
    pub storage: StorageKey,
    /// The object before the change (`Modified`, `Deleted`).
    pub old: Option<Value>,
    /// The object after the change (for `Deleted`: the last state, at the deletion's rv).
    pub object: Value,
}

pub struct Store {
    objects: BTreeMap<(StorageKey, String, String), Value>,
    pub rv: u64,
    /// Watches may start from any resourceVersion >= `floor`.
    pub floor: u64,
    pub history: VecDeque<Event>,
    rng: Rng,
}

/// splitmix64, seeded from the OS: uids and tokens only need to differ.
pub struct Rng(u64);

impl Rng {
    pub fn from_os() -> Rng {
        let mut seed = [0u8; 8];
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            use std::io::Read;
            let _ = f.read_exact(&mut seed);
        }
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        Rng(u64::from_le_bytes(seed) ^ nanos)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn uuid(&mut self) -> String {
        let (a, b) = (self.next(), self.next());
        format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            0x8000 | ((b >> 48) & 0x3fff),
            b & 0xffff_ffff_ffff
        )
    }
}

/// Finds the stored resource for an object, converting events.k8s.io/v1
/// Events to the core form the store keeps. Panics on a kind the simulator
/// does not serve, naming it.
fn classify(mut obj: Value) -> (&'static ResDef, Value) {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = obj["kind"].as_str().unwrap_or_default().to_string();
    let def = def_for_kind(&api_version, &kind).unwrap_or_else(|| {
        panic!(
            "cluster simulator: kind {kind:?} (apiVersion {api_version:?}) is not served; \
             add it to RESOURCES in tests/support/sim/resources.rs"
        )
    });
    if def.view_of.is_some() {
        obj = v1_event_to_core(&obj);
        return (super::resources::storage_def(def.storage()), obj);
    }
    (def, obj)
}

impl Store {
    pub fn new() -> Store {
        Store {
            objects: BTreeMap::new(),
            rv: FIRST_RV,
            floor: FIRST_RV,
            history: VecDeque::new(),
            rng: Rng::from_os(),
        }
    }

    /// Fills what a real server always sets: namespace, uid, creationTimestamp.
    fn normalize(&mut self, def: &ResDef, obj: &mut Value, now: SystemTime) {
        resolve_times(obj, now);
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(
            !name.is_empty(),
            "cluster simulator: a {} without metadata.name",
            def.kind
        );
        let meta = obj["metadata"]
            .as_object_mut()
            .expect("metadata is an object");
        if def.namespaced {
            meta.entry("namespace").or_insert_with(|| "default".into());
        } else {
            meta.remove("namespace");
        }
        if !meta.contains_key("uid") {
            meta.insert("uid".into(), self.rng.uuid().into());
        }
        if !meta.contains_key("creationTimestamp") {
            meta.insert("creationTimestamp".into(), rfc3339(now).into());
        }
    }

    fn key(def: &ResDef, obj: &Value) -> (StorageKey, String, String) {
        let meta = &obj["metadata"];
        let ns = meta["namespace"].as_str().unwrap_or_default().to_string();
        let name = meta["name"].as_str().unwrap_or_default().to_string();
        ((def.group, def.plural), ns, name)
    }

    fn bump(&mut self, obj: &mut Value) -> u64 {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = self.rv.to_string().into();
        self.rv
    }

    /// Loads scenario objects: no history, watches start after them.
    pub fn load(&mut self, objects: Vec<Value>, now: SystemTime) {
        for obj in objects {
            let (def, mut obj) = classify(obj);
            self.normalize(def, &mut obj, now);
            self.bump(&mut obj);
            self.objects.insert(Self::key(def, &obj), obj);
        }
        self.floor = self.rv;
    }

    /// Create or replace; returns the event watches see.
    pub fn put(&mut self, obj: Value, now: SystemTime) -> Event {
        let (def, mut obj) = classify(obj);
        self.normalize(def, &mut obj, now);
        let key = Self::key(def, &obj);
        let old = self.objects.get(&key).cloned();
        if let Some(old) = &old {
            // A replace keeps the identity of the object it replaces.
            for field in ["uid", "creationTimestamp"] {
                obj["metadata"][field] = old["metadata"][field].clone();
            }
        }
        let rv = self.bump(&mut obj);
        self.objects.insert(key.clone(), obj.clone());
        let change = if old.is_some() {
            Change::Modified
        } else {
            Change::Added
        };
        self.record(Event {
            rv,
            change,
            storage: key.0,
            old,
            object: obj,
        })
    }

    pub fn remove(
        &mut self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Event> {
        let (def, _) = classify(serde_json::json!({"apiVersion": api_version, "kind": kind}));
        let ns = if def.namespaced {
            namespace.unwrap_or("default")
        } else {
            ""
        };
        let old =
            self.objects
                .remove(&((def.group, def.plural), ns.to_string(), name.to_string()))?;
        let mut object = old.clone();
        let rv = self.bump(&mut object);
        Some(self.record(Event {
            rv,
            change: Change::Deleted,
            storage: (def.group, def.plural),
            old: Some(old),
            object,
        }))
    }

    fn record(&mut self, event: Event) -> Event {
        self.history.push_back(event.clone());
        while self.history.len() > HISTORY {
            let dropped = self.history.pop_front().expect("non-empty");
            self.floor = dropped.rv;
        }
        event
    }

    /// Forgets the history: watches from any earlier resourceVersion get 410.
    pub fn compact(&mut self) {
        self.history.clear();
        self.floor = self.rv;
    }

    pub fn get(&self, storage: StorageKey, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(storage, ns.to_string(), name.to_string()))
    }

    /// Objects of one resource after the (namespace, name) key `after`
    /// (all of them for `None`), in key order: where a continue token
    /// resumes, found in the index as etcd finds it, without walking the
    /// pages before it.
    pub fn list_after<'a>(
        &'a self,
        storage: StorageKey,
        ns: Option<&'a str>,
        after: Option<&(String, String)>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        use std::ops::Bound;
        let from = match after {
            None => Bound::Included((storage, String::new(), String::new())),
            Some((n, name)) => Bound::Excluded((storage, n.clone(), name.clone())),
        };
        self.objects
            .range((from, Bound::Unbounded))
            .take_while(move |((s, _, _), _)| *s == storage)
            .filter(move |((_, n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v)
    }

    /// Objects of one resource, in one namespace or all, in key order (as etcd lists them).
    pub fn list<'a>(
        &'a self,
        storage: StorageKey,
        ns: Option<&'a str>,
    ) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects
            .range((storage, String::new(), String::new())..)
            .take_while(move |((s, _, _), _)| *s == storage)
            .filter(move |((_, n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v)
    }
}
