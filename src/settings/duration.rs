//! Durations as people write them, and the range each setting accepts.

use std::time::Duration;

/// The longest duration any setting accepts before its own range applies:
/// 10000 days (beyond that a value is a typo), far below where `Duration`
/// and `Instant` arithmetic would overflow.
pub(super) const DURATION_CEILING_SECS: f64 = 10_000.0 * 86_400.0;

/// Parses `500ms`, `5s`, `2m`, `1h`, `1m30s` or a bare number of seconds.
/// Never panics: negative, NaN, infinite and absurdly long values are errors.
pub fn parse_duration(v: &str) -> Result<Duration, String> {
    let bad = || {
        format!(
            "{:?} is not a duration (e.g. 30s, 1m, 1m30s, 500ms)",
            short(v)
        )
    };
    let total = match v.parse::<f64>() {
        Ok(secs) if secs.is_finite() && secs >= 0.0 => secs,
        Ok(_) => return Err(bad()),
        Err(_) => duration_units(v).ok_or_else(bad)?,
    };
    if total > DURATION_CEILING_SECS {
        return Err(format!(
            "{:?} is far too long for a duration (at most {})",
            short(v),
            show_duration(Duration::from_secs(DURATION_CEILING_SECS as u64))
        ));
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

/// The seconds of a `1h2m3s500ms`-style text, `None` when it is not one.
fn duration_units(v: &str) -> Option<f64> {
    let mut total = 0.0f64;
    let mut rest = v;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
        if digits == 0 {
            return None;
        }
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 0.001,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return None,
        };
        total += n * factor;
        rest = &rest[unit_len..];
    }
    total.is_finite().then_some(total)
}

/// The sane range of one duration: a value outside it is refused with both ends named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DurationRange {
    pub min: Duration,
    pub max: Duration,
}

impl DurationRange {
    pub const fn new(min: Duration, max: Duration) -> DurationRange {
        DurationRange { min, max }
    }

    /// Parses `v` and checks it lies within the range.
    pub fn parse(&self, v: &str) -> Result<Duration, String> {
        let d = parse_duration(v)?;
        if d < self.min || d > self.max {
            return Err(format!(
                "{:?} is out of range: give {} to {}",
                short(v),
                show_duration(self.min),
                show_duration(self.max)
            ));
        }
        Ok(d)
    }
}

/// `requestTimeout`: 0 means the built-in 10s; otherwise 100ms to 1h.
pub const REQUEST_TIMEOUT_RANGE: DurationRange =
    DurationRange::new(Duration::from_millis(100), Duration::from_secs(3600));
/// `targets.scaleUp` and `targets.scaleDown`: 1s to 1h.
pub const TARGET_RANGE: DurationRange =
    DurationRange::new(Duration::from_secs(1), Duration::from_secs(3600));

/// A duration as a person writes it: `500ms`, `30s`, `10m`, `1h`, `7d`.
pub fn show_duration(d: Duration) -> String {
    let ms = d.as_millis();
    // Hours at the most: the parser takes Go's units (h, m, s, ms), so a
    // range in a hint must be something the user can type back.
    if ms == 0 {
        return "0s".into();
    }
    let units: [(u128, &str); 3] = [(3_600_000, "h"), (60_000, "m"), (1000, "s")];
    for (size, unit) in units {
        if ms >= size && ms.is_multiple_of(size) {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

/// A value quoted in an error, cut to a length that stays one readable line.
fn short(v: &str) -> String {
    const MAX: usize = 40;
    match v.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &v[..i]),
        None => v.to_string(),
    }
}
