//! The settings unit tests: precedence, the table, the config file, durations.

use super::duration::DURATION_CEILING_SECS;
use super::file::FileValues;
use super::*;

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    }
}

fn file(text: &str) -> Result<ConfigFile, SettingsError> {
    // A folder of its own, removed when the file is read.
    let dir = tempfile::Builder::new()
        .prefix("spice-settings-")
        .tempdir()
        .unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, text).unwrap();
    ConfigFile::load(Some(&path))
}

/// Resolves with defaults for everything but the environment.
fn resolve_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingsError> {
    Settings::resolve(
        &Overrides::default(),
        env,
        &ConfigFile::default(),
        None,
        None,
    )
}

fn value<'a>(s: &'a Settings, key: &str) -> &'a Effective {
    s.effective.iter().find(|e| e.key == key).unwrap()
}

#[test]
fn defaults_are_the_runbooks_values() {
    let s = Settings::defaults();
    assert_eq!(s.namespace, "default");
    assert_eq!(s.selector, "app=spice-runner");
    assert_eq!(s.scaled_object, "spice-runner-keda");
    assert_eq!(
        s.prometheus,
        Endpoint::Service(ServiceRef {
            namespace: "observability".into(),
            name: "prometheus".into(),
            port: "9090".into()
        })
    );
    assert_eq!(
        s.bands,
        Bands {
            green_min: 0.8,
            green_max: 1.2,
            yellow_min: 0.5,
            yellow_max: 1.5
        }
    );
    assert_eq!(s.targets.scale_up_seconds, 30.0);
    assert_eq!(s.targets.scale_down_seconds, 60.0);
}

#[test]
fn flags_beat_env_beat_context_section_beat_file_beat_kube_context() {
    let cfg = file("deployment: from-file\nselector: app=file\nscaledObject: file-so\ncontexts:\n  prod:\n    deployment: from-ctx\n    selector: app=ctx\n").unwrap();
    let args = Overrides {
        deployment: Some("from-flag".into()),
        ..Default::default()
    };
    let env = env_of(&[
        ("SPICE_DEPLOYMENT", "from-env"),
        ("SPICE_SELECTOR", "app=env"),
    ]);
    let s = Settings::resolve(&args, &env, &cfg, Some("prod"), Some("games")).unwrap();
    assert_eq!(s.deployment, "from-flag");
    assert_eq!(
        value(&s, "deployment").source,
        Source::Flag("--deployment".into())
    );
    assert_eq!(s.selector, "app=env");
    assert_eq!(
        value(&s, "selector").source,
        Source::Env("SPICE_SELECTOR".into())
    );
    assert_eq!(s.scaled_object, "file-so");
    assert!(matches!(value(&s, "scaledObject").source, Source::File(_)));
    assert_eq!(s.namespace, "games");
    assert_eq!(
        value(&s, "namespace").source,
        Source::KubeContext("prod".into())
    );

    let s = Settings::resolve(
        &Overrides::default(),
        &env_of(&[]),
        &cfg,
        Some("prod"),
        None,
    )
    .unwrap();
    assert_eq!(s.deployment, "from-ctx");
    assert!(
        matches!(&value(&s, "deployment").source, Source::File(f) if f.contains("contexts.prod"))
    );
    let s =
        Settings::resolve(&Overrides::default(), &env_of(&[]), &cfg, Some("dev"), None).unwrap();
    assert_eq!(s.deployment, "from-file");
    assert_eq!(s.namespace, "default");
}

#[test]
fn every_definition_is_a_config_file_key_and_an_env_variable() {
    let mut text = String::new();
    let mut section = "";
    for d in SETTINGS {
        let (sec, leaf) = d.key.split_once('.').unwrap_or(("", d.key));
        if sec != section {
            text.push_str(&format!("{sec}:\n"));
            section = sec;
        }
        let indent = if sec.is_empty() { "" } else { "  " };
        text.push_str(&format!("{indent}{leaf}: x\n"));
    }
    let parsed = FileValues::parse(&text).expect("every key is known");
    let keys: Vec<&str> = parsed.top.iter().map(|(k, _)| *k).collect();
    let all: Vec<&str> = SETTINGS.iter().map(|d| d.key).collect();
    assert_eq!(keys, all);
    for d in SETTINGS {
        let var = d.env();
        let env = |k: &str| (k == var).then(|| "bogus value".to_string());
        let resolved = Settings::resolve(
            &Overrides::default(),
            &env,
            &ConfigFile::default(),
            None,
            None,
        );
        let source = resolved.map(|s| {
            s.effective
                .into_iter()
                .find(|e| e.key == d.key)
                .map(|e| e.source)
        });
        match source {
            Ok(Some(source)) => assert_eq!(source, Source::Env(var.clone())),
            Ok(None) => panic!("{} is not in config view", d.key),
            // A value the setting refuses names the variable it came from.
            Err(e) => assert!(e.to_string().contains(&var), "{e}"),
        }
    }
}

#[test]
fn the_readme_lists_every_setting_with_its_env_and_flag() {
    let readme = include_str!("../../README.md");
    for d in SETTINGS {
        let flag = d
            .flag
            .map(|f| format!("`{f}`"))
            .unwrap_or_else(|| "–".into());
        let flag = if d.key == "namespace" {
            "`-n/--namespace`".into()
        } else if d.key == "selector" {
            "`-l/--selector`".into()
        } else {
            flag
        };
        let row = format!("| {flag} | `{}` | `{}` |", d.key, d.env());
        assert!(readme.contains(&row), "README has no row {row}");
    }
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let err = file("selector: app=x\n\nscaledObjekt: oops\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("config.yaml"), "{err}");
    assert!(err.contains("line 3"), "{err}");
    assert!(err.contains("unknown key `scaledObjekt`"), "{err}");
}

#[test]
fn bad_value_in_file_names_file_line_and_key() {
    let cfg = file("selector: app=x\nratio:\n  greenMin: lots\n").unwrap();
    let err = Settings::resolve(&Overrides::default(), &env_of(&[]), &cfg, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("config.yaml: line 3: ratio.greenMin"), "{err}");
    assert!(err.contains("\"lots\""), "{err}");
}

#[test]
fn a_band_error_names_the_band_that_was_set() {
    let env = env_of(&[("SPICE_RATIO_GREEN_MAX", "2")]);
    let err = resolve_env(&env).unwrap_err().to_string();
    assert!(
        err.starts_with("env SPICE_RATIO_GREEN_MAX: ratio.greenMax: bands must"),
        "{err}"
    );
}

#[test]
fn bad_env_value_names_the_variable() {
    let env = env_of(&[("SPICE_TARGETS_SCALE_UP", "soon")]);
    let err = resolve_env(&env).unwrap_err().to_string();
    assert!(
        err.starts_with("env SPICE_TARGETS_SCALE_UP: targets.scaleUp:"),
        "{err}"
    );
}

#[test]
fn url_with_credentials_is_refused_without_echoing_them() {
    let args = Overrides {
        prometheus_url: Some("https://bob:hunter2@prom.example:9090".into()),
        ..Default::default()
    };
    let err = Settings::resolve(&args, &env_of(&[]), &ConfigFile::default(), None, None)
        .unwrap_err()
        .to_string();
    assert!(!err.contains("hunter2") && !err.contains("bob"), "{err}");
    assert!(err.contains("SPICE_PROMETHEUS_TOKEN"), "{err}");
}

#[test]
fn a_token_is_refused_over_plain_http_except_to_loopback() {
    let with = |url: &'static str, var: &'static str| {
        let args = Overrides {
            prometheus_url: Some(url.into()),
            loki_url: Some(url.into()),
            ..Default::default()
        };
        let env = move |k: &str| (k == var).then(|| "s3cr3t-token".to_string());
        Settings::resolve(&args, &env, &ConfigFile::default(), None, None)
    };
    for var in ["SPICE_PROMETHEUS_TOKEN", "SPICE_LOKI_TOKEN"] {
        let err = with("http://prom.example:9090", var).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(var) && text.contains("plain HTTP"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
        assert!(err.hint().contains("https://"), "{}", err.hint());
        for fine in [
            "https://prom.example:9090",
            "http://127.0.0.1:9090",
            "http://127.8.0.1:9090",
            "http://[::1]:9090",
            "http://LOCALHOST:9090",
        ] {
            assert!(with(fine, var).is_ok(), "{fine} with {var}");
        }
    }
    // Without a token there is nothing to leak.
    let args = Overrides {
        prometheus_url: Some("http://prom.example:9090".into()),
        ..Default::default()
    };
    assert!(Settings::resolve(&args, &env_of(&[]), &ConfigFile::default(), None, None).is_ok());
    assert!(!token_may_travel_to("http://localhost.evil.example"));
    assert!(!token_may_travel_to("http://10.0.0.1"));
}

#[test]
fn durations_out_of_range_are_one_line_errors_never_panics() {
    for v in [
        "1e20",
        "99999999999999999999h",
        "1e30",
        "4000000000000000h",
        "-5",
        "-1s",
        "NaN",
        "inf",
        "1e308",
        "1.5.5s",
    ] {
        let err = parse_duration(v)
            .and_then(|d| REQUEST_TIMEOUT_RANGE.parse(v).map(|_| d))
            .unwrap_err();
        assert!(!err.contains('\n') && err.len() < 200, "{v}: {err}");
    }
    for (key, v) in [
        ("SPICE_REQUEST_TIMEOUT", "1e20"),
        ("SPICE_REQUEST_TIMEOUT", "2h"),
        ("SPICE_TARGETS_SCALE_UP", "4000000000000000h"),
        ("SPICE_TARGETS_SCALE_DOWN", "0.1s"),
    ] {
        let env = move |k: &str| (k == key).then(|| v.to_string());
        let err = resolve_env(&env).unwrap_err().to_string();
        assert!(err.starts_with(&format!("env {key}")), "{err}");
        assert!(
            err.contains("out of range") || err.contains("too long"),
            "{err}"
        );
    }
    let cfg = file("requestTimeout: 1e30\ntargets:\n  scaleUp: 1e30\n").unwrap();
    let err = Settings::resolve(&Overrides::default(), &env_of(&[]), &cfg, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 3: targets.scaleUp"), "{err}");
    let cfg = file("requestTimeout: .nan\n").unwrap();
    let err = Settings::resolve(&Overrides::default(), &env_of(&[]), &cfg, None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("line 1: requestTimeout"), "{err}");
    // 0 keeps kubectl's spelling but the plugin's bounded default.
    let env = env_of(&[("SPICE_REQUEST_TIMEOUT", "0")]);
    let s = resolve_env(&env).unwrap();
    assert_eq!(s.request_timeout, Duration::from_secs(10));
    for env in [
        env_of(&[("SPICE_REQUEST_TIMEOUT", "0s")]),
        env_of(&[("SPICE_REQUEST_TIMEOUT", "0.0")]),
        env_of(&[("SPICE_REQUEST_TIMEOUT", "0ms")]),
    ] {
        assert_eq!(
            resolve_env(&env).unwrap().request_timeout,
            Duration::from_secs(10)
        );
    }
    // A value too small to be a timeout is not zero: it is out of range.
    let env = env_of(&[("SPICE_REQUEST_TIMEOUT", "0.0000000001s")]);
    let err = resolve_env(&env).unwrap_err().to_string();
    assert!(err.contains("out of range"), "{err}");
    assert_eq!(show_duration(Duration::from_secs(7 * 86_400)), "168h");
    assert_eq!(show_duration(Duration::ZERO), "0s");
    assert_eq!(show_duration(Duration::from_millis(100)), "100ms");
}

#[test]
fn durations_parse_like_kubectl() {
    assert_eq!(parse_duration("30s").unwrap(), Duration::from_secs(30));
    assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
    assert_eq!(parse_duration("5").unwrap(), Duration::from_secs(5));
    assert!(parse_duration("5 parsecs").is_err());
    assert!(parse_duration("").is_err());
}

#[test]
fn env_names_are_upper_snake() {
    assert_eq!(env_name("ratio.greenMin"), "SPICE_RATIO_GREEN_MIN");
    assert_eq!(env_name("scaledObject"), "SPICE_SCALED_OBJECT");
}

#[test]
fn service_refs_parse_and_reject_junk() {
    let s = ServiceRef::parse("observability/prometheus:9090").unwrap();
    assert_eq!(
        (s.namespace.as_str(), s.name.as_str(), s.port.as_str()),
        ("observability", "prometheus", "9090")
    );
    assert!(ServiceRef::parse("prometheus:9090").is_err());
    assert!(ServiceRef::parse("obs/Prom").is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::time::Instant;

    /// Parsing is linear; a generous bound still catches a quadratic or
    /// hanging parser on a loaded test machine.
    const BOUND: Duration = Duration::from_millis(500);

    fn duration_text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[0-9.eE+-]{0,30}[a-z]{0,3}",
            "([0-9]{1,25}(\\.[0-9]{0,5})?(ms|s|m|h)){1,6}",
        ]
    }

    /// Failures are reported with their minimal input, not saved to a
    /// file beside the sources.
    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    proptest! {
        #![proptest_config(config(256))]

        #[test]
        fn durations_never_panic_and_stay_in_range(v in duration_text()) {
            let start = Instant::now();
            if let Ok(d) = parse_duration(&v) {
                prop_assert!(d.as_secs_f64() <= DURATION_CEILING_SECS);
            }
            for range in [REQUEST_TIMEOUT_RANGE, TARGET_RANGE] {
                if let Ok(d) = range.parse(&v) {
                    prop_assert!(range.min <= d && d <= range.max);
                } else {
                    let e = range.parse(&v).unwrap_err();
                    prop_assert!(!e.contains('\n') && e.chars().count() < 200, "{}", e);
                }
            }
            prop_assert!(start.elapsed() < BOUND);
        }

        #[test]
        fn selectors_never_panic(v in any::<String>()) {
            let start = Instant::now();
            let _ = validate_selector(&v);
            prop_assert!(start.elapsed() < BOUND);
        }

        #[test]
        fn any_env_value_resolves_or_is_a_one_line_error(
            key in prop::sample::select(SETTINGS.iter().map(|k| k.key).collect::<Vec<_>>()),
            value in prop_oneof![any::<String>(), "[0-9.eE+-]{1,40}[a-z]{0,2}"],
        ) {
            let var = env_name(key);
            let env = |k: &str| (k == var).then(|| value.clone());
            let start = Instant::now();
            if let Err(e) = resolve_env(&env) {
                prop_assert!(e.to_string().starts_with(&format!("env {var}")), "{}", e);
            }
            prop_assert!(start.elapsed() < BOUND);
        }
    }

    proptest! {
        #![proptest_config(config(64))]

        #[test]
        fn any_config_file_loads_or_is_an_error(text in prop_oneof![
            any::<String>(),
            "(requestTimeout|targets|ratio|contexts|selector): [-+.0-9eE\\[\\]{}a-z:\n ]{0,40}",
        ]) {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("config.yaml");
            std::fs::write(&path, &text).unwrap();
            let start = Instant::now();
            if let Ok(cfg) = ConfigFile::load(Some(&path)) {
                let _ = Settings::resolve(&Overrides::default(), &|_: &str| None, &cfg, Some("prod"), None);
            }
            prop_assert!(start.elapsed() < BOUND);
        }
    }
}
