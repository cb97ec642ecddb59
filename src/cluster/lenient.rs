//! Objects decoded into kube's and k8s-openapi's full types (HPAs,
//! Deployments, ScaledObjects), read so that one time the client cannot hold
//! never fails the read. `9999-12-31T23:59:59Z` is valid RFC 3339 and the API
//! server accepts it, but it is past what `jiff` represents, so a typed
//! decode fails on it, and with it the whole list or watch it came in. An
//! object whose decode fails is decoded again with every such time made
//! `null` (unknown for that object); any other decode error stays the
//! read's. The small types of `wire` do the same per field.

use kube::core::ObjectMeta;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::borrow::Cow;

/// `K`, decoded leniently (see the module).
#[derive(Clone, Debug)]
pub struct Lenient<K>(pub K);

impl<'de, K: DeserializeOwned> Deserialize<'de> for Lenient<K> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut value = Value::deserialize(d)?;
        match K::deserialize(&value) {
            Ok(k) => Ok(Lenient(k)),
            Err(first) => {
                if !forget_bad_times(&mut value) {
                    return Err(serde::de::Error::custom(first));
                }
                // Decoded from `&Value` again, as above: one deserializer
                // type, so each K's decode is compiled once, not twice.
                K::deserialize(&value)
                    .map(Lenient)
                    .map_err(serde::de::Error::custom)
            }
        }
    }
}

/// Makes every string that is written as an RFC 3339 time but is none the
/// client can hold `null`; whether any was.
fn forget_bad_times(v: &mut Value) -> bool {
    match v {
        Value::String(s) if looks_like_time(s) && s.parse::<jiff::Timestamp>().is_err() => {
            *v = Value::Null;
            true
        }
        // Every item is visited (no short cut: each bad time goes).
        Value::Array(items) => {
            items
                .iter_mut()
                .map(forget_bad_times)
                .filter(|&b| b)
                .count()
                > 0
        }
        Value::Object(fields) => {
            fields
                .values_mut()
                .map(forget_bad_times)
                .filter(|&b| b)
                .count()
                > 0
        }
        _ => false,
    }
}

/// `YYYY-MM-DDT…`: the shape of a Kubernetes time.
fn looks_like_time(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 11
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && (b[10] == b'T' || b[10] == b't')
}

impl<K: kube::Resource> kube::Resource for Lenient<K> {
    type DynamicType = K::DynamicType;
    type Scope = K::Scope;

    fn kind(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::kind(dt)
    }
    fn group(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::group(dt)
    }
    fn version(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::version(dt)
    }
    fn plural(dt: &Self::DynamicType) -> Cow<'_, str> {
        K::plural(dt)
    }
    fn meta(&self) -> &ObjectMeta {
        self.0.meta()
    }
    fn meta_mut(&mut self) -> &mut ObjectMeta {
        self.0.meta_mut()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

    #[test]
    fn a_year_9999_time_is_unknown_and_the_rest_of_the_object_is_kept() {
        let hpas: kube::core::ObjectList<Lenient<HorizontalPodAutoscaler>> =
            serde_json::from_value(serde_json::json!({
                "kind": "HorizontalPodAutoscalerList", "apiVersion": "autoscaling/v2",
                "metadata": {},
                "items": [{
                    "metadata": {"name": "keda-hpa-x", "creationTimestamp": "2026-08-24T09:00:00Z"},
                    "spec": {"maxReplicas": 5,
                             "scaleTargetRef": {"kind": "Deployment", "name": "x"}},
                    "status": {"desiredReplicas": 3,
                               "conditions": [{"type": "AbleToScale", "status": "True",
                                               "lastTransitionTime": "9999-12-31T23:59:59Z"}]}
                }]
            }))
            .expect("one odd time fails no list");
        let hpa = &hpas.items[0].0;
        assert_eq!(hpa.metadata.name.as_deref(), Some("keda-hpa-x"));
        assert!(hpa.metadata.creation_timestamp.is_some());
        let condition = &hpa
            .status
            .as_ref()
            .expect("status")
            .conditions
            .as_ref()
            .expect("conditions")[0];
        assert!(condition.last_transition_time.is_none());
        assert_eq!(condition.status, "True");
        // Any other decode error is still the read's.
        let bad = serde_json::from_value::<Lenient<HorizontalPodAutoscaler>>(
            serde_json::json!({"spec": {"maxReplicas": "five"}}),
        );
        assert!(bad.is_err());
    }
}
