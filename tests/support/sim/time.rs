//! Timestamps without a date crate: RFC 3339 in UTC, and the `$NOW-120s`
//! placeholders scenario files use for ages.

use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// `t` as Kubernetes prints a `metav1.Time`: `2025-06-20T10:04:05Z`.
pub fn rfc3339(t: SystemTime) -> String {
    let (secs, _) = unix(t);
    format_unix(secs, None)
}

/// `t` with nanoseconds, as the kubelet prefixes log lines (`timestamps=true`).
pub fn rfc3339_nanos(t: SystemTime) -> String {
    let (secs, nanos) = unix(t);
    format_unix(secs, Some(nanos))
}

/// The time `secs_ago` seconds before now, RFC 3339 UTC (negative: in the future).
pub fn rel_time(secs_ago: i64) -> String {
    rfc3339(shift(SystemTime::now(), -secs_ago))
}

/// Replaces, anywhere inside `v`, every string that is exactly `$NOW`,
/// `$NOW-<n><unit>` or `$NOW+<n><unit>` (unit `s`, `m`, `h` or `d`) with that
/// time relative to `now`, as RFC 3339 UTC. Panics on a malformed placeholder
/// (a broken scenario is a broken test).
pub fn resolve_times(v: &mut Value, now: SystemTime) {
    resolve_field(v, now, false)
}

/// Fields that are `metav1.MicroTime` on a real server (events' `eventTime`
/// and `series.lastObservedTime`) always carry six fractional digits; kubectl
/// fails to parse them without.
const MICRO_TIME_FIELDS: &[&str] = &["eventTime", "lastObservedTime"];

fn resolve_field(v: &mut Value, now: SystemTime, micro: bool) {
    match v {
        Value::String(s) if s.starts_with("$NOW") => {
            let offset = parse_offset(&s[4..]).unwrap_or_else(|| {
                panic!(
                    "bad time placeholder {s:?}: want $NOW, $NOW-120s, $NOW+2m, $NOW-1h, $NOW-3d"
                )
            });
            let text = rfc3339(shift(now, offset));
            *s = if micro {
                text.replace('Z', ".000000Z")
            } else {
                text
            };
        }
        Value::Array(items) => items.iter_mut().for_each(|i| resolve_field(i, now, false)),
        Value::Object(map) => map
            .iter_mut()
            .for_each(|(k, i)| resolve_field(i, now, MICRO_TIME_FIELDS.contains(&k.as_str()))),
        _ => {}
    }
}

/// `""` → 0, `-120s` → -120, `+2m` → 120.
fn parse_offset(rest: &str) -> Option<i64> {
    if rest.is_empty() {
        return Some(0);
    }
    let (sign, rest) = match rest.as_bytes()[0] {
        b'-' => (-1, &rest[1..]),
        b'+' => (1, &rest[1..]),
        _ => return None,
    };
    let unit = match rest.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return None,
    };
    let n: i64 = rest[..rest.len() - 1].parse().ok()?;
    Some(sign * n * unit)
}

fn shift(t: SystemTime, secs: i64) -> SystemTime {
    if secs >= 0 {
        t + Duration::from_secs(secs as u64)
    } else {
        t - Duration::from_secs(secs.unsigned_abs())
    }
}

fn unix(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (d.as_secs() as i64, d.subsec_nanos()),
        Err(e) => (-(e.duration().as_secs() as i64), 0),
    }
}

fn format_unix(secs: i64, nanos: Option<u32>) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let (hh, mm, ss) = (rem / 3600, rem % 3600 / 60, rem % 60);
    match nanos {
        None => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z"),
        Some(n) => format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{n:09}Z"),
    }
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}
