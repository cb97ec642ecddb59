//! Which ScaledObject a KEDA operator log line is about, read from the line's
//! structured part. Pure: the collect step uses it to keep the lines worth a
//! snapshot, the checks to tell our object's errors from another's.
//!
//! KEDA logs through zap. With the Helm chart's default `console` encoder a
//! line is `<time>\t<LEVEL>\t<logger>\t<message>\t{<json fields>}`; with
//! `--zap-encoder=json` the whole line is one JSON object with `level`,
//! `logger` and `msg` beside the same fields. The object is named by keys
//! that differ between KEDA's packages (kedacore/keda v2.19.0 and v2.20.2):
//!
//! - `pkg/scaling/scale_handler.go`: `"scaledObject.Namespace"`, `"scaledObject.Name"`;
//! - `pkg/scaling/executor/scale_scaledobjects.go`: `"scaledobject.Name"`, `"scaledObject.Namespace"`;
//! - `pkg/scalers/scaler.go` `InitializeLogger` (the `prometheus_scaler` logger):
//!   `"type": "ScaledObject"`, `"namespace"`, `"name"`;
//! - controller-runtime's reconcile lines: `"ScaledObject": {"name", "namespace"}`
//!   besides `"namespace"` and `"name"` (and later a second `"name"` for the target).
//!
//! A namespace with several ScaledObjects interleaves their lines (kedacore/keda#6359
//! shows `internal-app-2`, `-3` and `-4` failing in one log), so a line counts for
//! ours only when these keys name it.

use serde_json::{Map, Value};

/// What a line is about, relative to the ScaledObject the plugin checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum About {
    /// Our ScaledObject (by name, and by namespace where the line has one).
    Ours,
    /// Another ScaledObject (or a ScaledJob), as `namespace/name`.
    Other(String),
    /// No object is named (start-up lines, stack-trace lines, other loggers).
    Nobody,
}

/// The fields of a line: the trailing JSON object of a console line, or the
/// whole line when it is JSON.
fn fields(line: &str) -> Option<Map<String, Value>> {
    let start = line.find('{')?;
    let mut stream = serde_json::Deserializer::from_str(&line[start..]).into_iter::<Value>();
    match stream.next()? {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

fn text<'a>(map: &'a Map<String, Value>, keys: &[&str]) -> Option<&'a str> {
    keys.iter()
        .find_map(|k| map.get(*k).and_then(Value::as_str))
}

/// `(namespace, name)` of the object a line's fields name, best key first.
fn object(map: &Map<String, Value>, scaling_logger: bool) -> Option<(Option<String>, String)> {
    let ns_keys = ["scaledObject.Namespace", "scaledobject.Namespace"];
    if let Some(name) = text(map, &["scaledObject.Name", "scaledobject.Name"]) {
        return Some((text(map, &ns_keys).map(str::to_string), name.to_string()));
    }
    for key in ["ScaledObject", "scaledObject", "scaledobject"] {
        if let Some(Value::Object(o)) = map.get(key)
            && let Some(name) = o.get("name").and_then(Value::as_str)
        {
            let ns = o.get("namespace").and_then(Value::as_str);
            return Some((ns.map(str::to_string), name.to_string()));
        }
    }
    // `"name"` alone names a ScaledObject only where the line says the
    // object is one: a scaler's `"type"`, a controller's `"controllerKind"`,
    // or a scaling logger that only ever logs scalable objects.
    let kind = text(map, &["type", "controllerKind"]);
    let name = text(map, &["name"])?;
    let ns = || text(map, &["namespace"]).map(str::to_string);
    match kind {
        Some("ScaledObject") => Some((ns(), name.to_string())),
        Some(other) => Some((None, format!("{other} {name}"))),
        None if scaling_logger => Some((ns(), name.to_string())),
        None => None,
    }
}

/// KEDA's loggers whose bare `"name"`/`"namespace"` values are the
/// ScaledObject (kedacore/keda v2.20.2 `pkg/scaling/scale_handler.go`
/// `handleResult` logs `error during scaling` with only those two keys).
const SCALING_LOGGERS: &[&str] = &["scale_handler", "scaleexecutor", "prometheus_scaler"];

/// The zap logger name: JSON's `"logger"`, or the third console column.
fn logger_of<'a>(line: &'a str, map: &'a Map<String, Value>) -> Option<&'a str> {
    text(map, &["logger"]).or_else(|| line.split('\t').nth(2).map(str::trim))
}

/// Which ScaledObject `line` is about.
pub fn about(line: &str, namespace: &str, scaled_object: &str) -> About {
    let Some(map) = fields(line) else {
        return About::Nobody;
    };
    let scaling = logger_of(line, &map).is_some_and(|l| SCALING_LOGGERS.contains(&l));
    let Some((ns, name)) = object(&map, scaling) else {
        return About::Nobody;
    };
    if name == scaled_object && ns.as_deref().is_none_or(|n| n == namespace) {
        return About::Ours;
    }
    About::Other(match ns {
        Some(ns) => format!("{ns}/{name}"),
        None => name,
    })
}

/// The message and the `"error"` field of a line: JSON's `"msg"`, or the
/// console's fourth column (`<time>\t<LEVEL>\t<logger>\t<message>\t{...}`).
/// Either is `None` when the line does not have it, e.g. a stack-trace line.
pub fn message_and_error(line: &str) -> (Option<String>, Option<String>) {
    let map = fields(line);
    let json = line.trim_start().starts_with('{');
    let msg = match &map {
        Some(m) if json => text(m, &["msg"]).map(str::to_string),
        _ => line
            .split('\t')
            .nth(3)
            .map(str::trim)
            .filter(|m| !m.is_empty() && !m.starts_with('{'))
            .map(str::to_string),
    };
    let error = map
        .as_ref()
        .and_then(|m| text(m, &["error"]).map(str::to_string));
    (msg, error)
}

/// Whether zap logged the line at error level (console `ERROR` column or
/// JSON `"level": "error"`).
pub fn is_error(line: &str) -> bool {
    if line.split('\t').nth(1).is_some_and(|l| l.trim() == "ERROR") {
        return true;
    }
    if line.trim_start().starts_with('{') {
        return fields(line)
            .as_ref()
            .and_then(|m| text(m, &["level"]))
            .is_some_and(|l| l.eq_ignore_ascii_case("error"));
    }
    // Consoles that turned the tabs into spaces still keep the level as a word.
    line.split_whitespace().nth(1) == Some("ERROR")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Shapes from kedacore/keda#6359 (KEDA 2.15 console encoder) and the
    // loggers named in the module docs; the fields are the same in 2.19/2.20.
    const HANDLER_OTHER: &str = "2024-11-25T11:24:53Z\tERROR\tscale_handler\terror getting metric spec for the scaler\t{\"scaledObject.Namespace\": \"default\", \"scaledObject.Name\": \"internal-app-3\", \"scaler\": \"prometheusScaler\", \"error\": \"scaler with id 0 not found. Len = 0\"}";
    const EXECUTOR_OTHER: &str = "2024-11-25T11:24:53Z\tERROR\tscaleexecutor\tError setting active condition when triggers are not active\t{\"scaledobject.Name\": \"internal-app-3\", \"scaledObject.Namespace\": \"default\", \"scaleTarget.Name\": \"internal-app-3\", \"error\": \"client rate limiter Wait returned an error: context canceled\"}";
    const SCALER_OURS: &str = "2026-08-24T09:33:06Z\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledObject\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"error\": \"no such host\"}";
    const RECONCILE_OURS: &str = "2026-08-24T09:33:03Z\tINFO\tDetected resource targeted for scaling\t{\"controller\": \"scaledobject\", \"controllerKind\": \"ScaledObject\", \"ScaledObject\": {\"name\":\"spice-runner-keda\",\"namespace\":\"default\"}, \"namespace\": \"default\", \"name\": \"spice-runner-keda\", \"resource\": \"apps/v1.Deployment\", \"name\": \"spice-runner\"}";

    #[test]
    fn message_and_error_come_from_either_encoder() {
        assert_eq!(
            message_and_error(SCALER_OURS),
            (
                Some("error executing prometheus query".into()),
                Some("no such host".into())
            )
        );
        let json = r#"{"level":"error","ts":"2026-08-24T09:33:06Z","logger":"prometheus_scaler","msg":"error executing prometheus query","type":"ScaledObject","name":"spice-runner-keda","error":"boom"}"#;
        assert_eq!(
            message_and_error(json),
            (
                Some("error executing prometheus query".into()),
                Some("boom".into())
            )
        );
        assert_eq!(message_and_error("\tat main.go:12"), (None, None));
    }

    #[test]
    fn each_logger_s_keys_name_the_object() {
        let other = About::Other("default/internal-app-3".into());
        assert_eq!(about(HANDLER_OTHER, "default", "spice-runner-keda"), other);
        assert_eq!(about(EXECUTOR_OTHER, "default", "spice-runner-keda"), other);
        assert_eq!(
            about(SCALER_OURS, "default", "spice-runner-keda"),
            About::Ours
        );
        // The target's later "name" key does not hide the ScaledObject.
        assert_eq!(
            about(RECONCILE_OURS, "default", "spice-runner-keda"),
            About::Ours
        );
        assert_eq!(
            about(HANDLER_OTHER, "default", "internal-app-3"),
            About::Ours
        );
    }

    #[test]
    fn the_same_name_in_another_namespace_is_another_object() {
        assert_eq!(
            about(SCALER_OURS, "games", "spice-runner-keda"),
            About::Other("default/spice-runner-keda".into())
        );
    }

    #[test]
    fn json_encoded_lines_and_scaled_jobs() {
        let json = r#"{"level":"error","ts":"2026-08-24T09:33:06Z","logger":"scale_handler","msg":"error getting scale decision","scaledObject.Namespace":"default","scaledObject.Name":"spice-runner-keda","scaler":"prometheusScaler","error":"x"}"#;
        assert_eq!(about(json, "default", "spice-runner-keda"), About::Ours);
        assert!(is_error(json));
        let job = "2026-08-24T09:33:06Z\tERROR\tprometheus_scaler\terror executing prometheus query\t{\"type\": \"ScaledJob\", \"namespace\": \"default\", \"name\": \"spice-runner-keda\"}";
        assert_eq!(
            about(job, "default", "spice-runner-keda"),
            About::Other("ScaledJob spice-runner-keda".into())
        );
    }

    #[test]
    fn a_scaling_logger_s_bare_name_and_namespace_name_the_object() {
        let line = "2026-08-24T09:33:06Z\tERROR\tscale_handler\terror during scaling\t{\"namespace\": \"default\", \"name\": \"internal-app-3\", \"error\": \"x\"}";
        assert_eq!(
            about(line, "default", "spice-runner-keda"),
            About::Other("default/internal-app-3".into())
        );
        assert_eq!(about(line, "default", "internal-app-3"), About::Ours);
    }

    #[test]
    fn lines_without_an_object_name_nobody() {
        for line in [
            "2026-08-24T09:30:00Z\tINFO\tsetup\tKEDA Version: 2.19.0",
            "\t/workspace/pkg/scaling/scale_handler.go:782",
            "2026-08-24T09:30:00Z\tERROR\tscale_handler\tbroken {not json",
            "2026-08-24T09:30:00Z\tERROR\tcert-rotation\tsomething failed\t{\"name\": \"spice-runner-keda\"}",
        ] {
            assert_eq!(
                about(line, "default", "spice-runner-keda"),
                About::Nobody,
                "{line}"
            );
        }
    }

    #[test]
    fn error_level_from_either_encoder() {
        assert!(is_error(HANDLER_OTHER));
        assert!(!is_error(RECONCILE_OURS));
        assert!(is_error(
            "2024-11-25T11:24:53Z  ERROR  scale_handler  x  {}"
        ));
        assert!(!is_error(r#"{"level":"info","msg":"ERROR in a message"}"#));
    }
}
