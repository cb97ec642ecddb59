//! Label and field selectors, with the grammar and the errors of
//! `k8s.io/apimachinery/pkg/labels` and `.../fields`.

use super::resources::ResDef;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Req {
    Exists(String),
    NotExists(String),
    Eq(String, String),
    Ne(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Gt(String, i64),
    Lt(String, i64),
}

#[derive(Debug, Clone, Default)]
pub struct LabelSelector(Vec<Req>);

#[derive(Debug, Clone, Default)]
pub struct FieldSelector(Vec<(String, bool, String)>);

/// Both selectors of a request, matched against objects as a resource presents them.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Selectors {
    pub fn matches(&self, def: &ResDef, obj: &Value) -> bool {
        self.labels.matches(&obj["metadata"]["labels"]) && self.fields.matches(def, obj)
    }

    /// No requirement at all (the list is the whole resource).
    pub fn is_empty(&self) -> bool {
        self.labels.0.is_empty() && self.fields.0.is_empty()
    }
}

/// Splits at commas outside parentheses.
fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '/')
}

fn valid_value(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<LabelSelector, String> {
        let mut reqs = Vec::new();
        if s.trim().is_empty() {
            return Ok(LabelSelector(reqs));
        }
        for part in split_top(s) {
            reqs.push(parse_req(part.trim())?);
        }
        Ok(LabelSelector(reqs))
    }

    pub fn matches(&self, labels: &Value) -> bool {
        let get = |k: &str| labels.get(k).and_then(Value::as_str);
        self.0.iter().all(|r| match r {
            Req::Exists(k) => get(k).is_some(),
            Req::NotExists(k) => get(k).is_none(),
            Req::Eq(k, v) => get(k) == Some(v.as_str()),
            Req::Ne(k, v) => get(k) != Some(v.as_str()),
            Req::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            Req::NotIn(k, vs) => get(k).is_none_or(|x| vs.iter().all(|v| v != x)),
            Req::Gt(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x > *n),
            Req::Lt(k, n) => get(k)
                .and_then(|x| x.parse::<i64>().ok())
                .is_some_and(|x| x < *n),
        })
    }
}

fn parse_req(part: &str) -> Result<Req, String> {
    let bad = |why: &str| format!("unable to parse requirement: found '{part}', {why}");
    if let Some(key) = part.strip_prefix('!') {
        let key = key.trim();
        if key.is_empty() || !key.chars().all(is_key_char) {
            return Err(bad("expected: identifier"));
        }
        return Ok(Req::NotExists(key.into()));
    }
    let key_end = part.find(|c: char| !is_key_char(c)).unwrap_or(part.len());
    let key = &part[..key_end];
    if key.is_empty() {
        return Err(bad("expected: !, identifier, or 'end of string'"));
    }
    let rest = part[key_end..].trim_start();
    if rest.is_empty() {
        return Ok(Req::Exists(key.into()));
    }
    let value = |v: &str| -> Result<String, String> {
        let v = v.trim();
        if valid_value(v) {
            Ok(v.to_string())
        } else {
            Err(bad("expected: a valid label value"))
        }
    };
    let number = |v: &str| -> Result<i64, String> {
        v.trim()
            .parse()
            .map_err(|_| bad("expected: an integer value"))
    };
    for (op, build) in [("!=", 0), ("==", 1), ("=", 1), (">", 2), ("<", 3)] {
        if let Some(v) = rest.strip_prefix(op) {
            return match build {
                0 => Ok(Req::Ne(key.into(), value(v)?)),
                1 => Ok(Req::Eq(key.into(), value(v)?)),
                2 => Ok(Req::Gt(key.into(), number(v)?)),
                _ => Ok(Req::Lt(key.into(), number(v)?)),
            };
        }
    }
    for (op, negate) in [("notin", true), ("in", false)] {
        if let Some(v) = rest.strip_prefix(op) {
            let v = v.trim();
            let inner = v
                .strip_prefix('(')
                .and_then(|v| v.strip_suffix(')'))
                .ok_or_else(|| bad("expected: '(' ... ')'"))?;
            let values = inner.split(',').map(value).collect::<Result<Vec<_>, _>>()?;
            return Ok(if negate {
                Req::NotIn(key.into(), values)
            } else {
                Req::In(key.into(), values)
            });
        }
    }
    Err(bad("expected: in, notin, =, ==, !=, gt, lt"))
}

impl FieldSelector {
    /// Parses and checks every label against what `def` supports; the error is
    /// the message of the real 400 (`field label not supported: X`).
    pub fn parse(s: &str, def: &ResDef) -> Result<FieldSelector, String> {
        let mut terms = Vec::new();
        if s.trim().is_empty() {
            return Ok(FieldSelector(terms));
        }
        for part in s.split(',') {
            let part = part.trim();
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                ));
            };
            let field = field.trim();
            if def.field(&Value::Null, field).is_none() {
                return Err(format!("field label not supported: {field}"));
            }
            terms.push((field.to_string(), eq, value.trim().to_string()));
        }
        Ok(FieldSelector(terms))
    }

    pub fn matches(&self, def: &ResDef, obj: &Value) -> bool {
        self.0.iter().all(|(field, eq, value)| {
            let actual = def.field(obj, field).unwrap_or_default();
            (actual == *value) == *eq
        })
    }
}
