//! `--from FILE`: a replay says so in every format, with when the snapshot
//! was taken and how long ago, so it never reads as a live run.

use crate::support::scenario::scenarios_dir;
use crate::support::spice::{BIN, run_bin};

#[test]
fn a_replay_says_so_with_when_and_how_long_ago_in_every_format_of_status_and_diagnose() {
    let home = tempfile::tempdir().expect("tempdir");
    let file = scenarios_dir().join("examples/healthy.snapshot.json");
    let file = file.to_str().expect("utf-8 path");
    let taken = serde_json::from_str::<serde_json::Value>(
        &std::fs::read_to_string(file).expect("the example"),
    )
    .expect("json")["capturedAt"]
        .as_str()
        .expect("capturedAt")
        .to_string();
    let day = &taken[..10];
    let cases: &[(&str, &[&str])] = &[
        ("status", &["table", "wide", "json", "yaml"]),
        (
            "diagnose",
            &["table", "wide", "json", "yaml", "junit", "markdown"],
        ),
    ];
    for (command, formats) in cases {
        for format in *formats {
            let run = run_bin(
                BIN,
                &[command, "--from", file, "-o", format],
                &[],
                home.path(),
            );
            assert!(
                run.code == 0 || run.code == 1,
                "{command} -o {format}: {}",
                run.stderr
            );
            match *format {
                "json" => {
                    let replay = &run.json()["replay"];
                    assert_eq!(replay["file"], file, "{command} -o json: {replay}");
                    assert_eq!(replay["capturedAt"], taken.as_str(), "{replay}");
                    assert!(
                        replay["ageSeconds"].as_i64().is_some_and(|s| s > 0),
                        "{replay}"
                    );
                }
                "yaml" => assert!(
                    run.stdout.contains("replay:\n  file: ") && run.stdout.contains("ageSeconds: "),
                    "{command} -o yaml:\n{}",
                    run.stdout
                ),
                _ => {
                    let first = run
                        .stdout
                        .lines()
                        .find(|l| l.contains("replay of snapshot"));
                    assert!(
                        first.is_some_and(
                            |l| l.contains(&format!("taken {day} ")) && l.contains(" ago (")
                        ),
                        "{command} -o {format}:\n{}",
                        run.stdout
                    );
                }
            }
        }
    }
}
