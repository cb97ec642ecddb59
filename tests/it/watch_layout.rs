//! `kubectl spice watch` laid out by width, in a real terminal (tmux): one
//! session resized from 80×24 to 200×60; at each size a whole pod name (or
//! its unique end), a whole phase and a whole event reason are on the screen.

use crate::support::spice::{BIN, Cluster};
use crate::support::tmux::Tmux;
use std::time::{Duration, Instant};

/// The rows of the screen once they are drawn for `width`×`height`: the key
/// line on the last row, the pending pod's row and both event reasons.
fn screen_at(tmux: &Tmux, width: usize, height: usize) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let screen = tmux.screen();
        let lines: Vec<String> = screen.lines().map(|l| l.replace('│', " ")).collect();
        let words = |l: &String| l.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        let footer = lines.len() == height
            && lines[height - 1].starts_with("q")
            && lines[height - 1].contains(" help");
        let pod = lines.iter().any(|l| {
            let w = words(l);
            (w.iter().any(|w| w == "spice-runner-7d9c8b5f4-6vtrl")
                || w.iter().any(|w| w == "…-7d9c8b5f4-6vtrl"))
                && w.iter().any(|w| w == "Pending")
        });
        let reasons = ["NoCompatibleInstanceTypes", "FailedScheduling"]
            .iter()
            .all(|r| lines.iter().any(|l| words(l).iter().any(|w| w == r)));
        if footer && pod && reasons {
            for l in &lines {
                assert!(
                    l.chars().count() <= width,
                    "{width}×{height}: a row wider than the terminal: {l}"
                );
            }
            return lines;
        }
        if Instant::now() > deadline {
            panic!(
                "{width}×{height}: footer {footer}, pending pod row with a whole name and phase \
                 {pod}, both event reasons whole {reasons}:\n{screen}"
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn at_80x24_100x30_160x50_and_200x60_a_whole_pod_name_phase_and_reason_are_visible() {
    let c = Cluster::without_prometheus("pending-no-node");
    let home = c.dir.path().display().to_string();
    let tmux = Tmux::start_sized(
        "layout",
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
             {BIN} watch --interval 500ms --timeout 60s --kubeconfig {}; echo EXIT=$?; sleep 30",
            c.kubeconfig.display()
        ),
        80,
        24,
    );
    let narrow = screen_at(&tmux, 80, 24);
    let all = narrow.join("\n");
    assert!(
        !all.contains("Sessions per pod"),
        "80 columns: stacked, no gauge:\n{all}"
    );
    assert!(!all.contains("Runnin "), "{all}");
    for (w, h) in [(100, 30), (160, 50), (200, 60)] {
        tmux.resize(w as u16, h as u16);
        let lines = screen_at(&tmux, w, h);
        if w >= 160 {
            let all = lines.join("\n");
            assert!(
                all.contains("Sessions per pod"),
                "{w}×{h}: side by side:\n{all}"
            );
            assert!(all.contains("NODE"), "{w}×{h}:\n{all}");
        }
    }
    tmux.keys("q");
    tmux.wait_for(&["EXIT=0"]);
}

/// `d` with nothing failing (`idle`: empty Karpenter nodes linger, and the
/// scale-to-zero time is over target): the panel holds the warning about
/// what the screen shows (nodes) before the configuration one, with its
/// evidence and fix, and names the other.
#[test]
fn d_without_a_failure_shows_the_warning_about_the_screen_and_why_it_matters() {
    let c = Cluster::start("idle");
    let home = c.dir.path().display().to_string();
    let tmux = Tmux::start(
        "d-warning",
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
             {BIN} watch --interval 500ms --timeout 60s --kubeconfig {}; echo EXIT=$?; sleep 30",
            c.kubeconfig.display()
        ),
    );
    tmux.wait_for(&["kubectl spice watch", "ScaledObject spice-runner-keda"]);
    tmux.keys("d");
    // The panel may be captured half drawn: wait (bounded) for all of it.
    let screen = tmux.wait_for(&[
        "Diagnose: snapshot of",
        "no check fails · WARNING ! nodes.scale-down",
        "fix: ",
    ]);
    assert!(screen.contains("fix: "), "why it matters: {screen}");
    assert!(
        screen.contains("keda.cooldown"),
        "the other warning named: {screen}"
    );
    assert!(!screen.contains("ROOT CAUSE"), "{screen}");
    tmux.keys("q");
    tmux.wait_for(&["EXIT=0"]);
}

/// The workload followed from scaleTargetRef is the header's second line, in
/// `diagnose`'s words, within the terminal: at 80 columns without the pods'
/// selector (the whole line would not fit), from 160 with it.
#[test]
fn the_followed_statefulset_is_the_second_header_line_within_80_and_160_columns() {
    let c = Cluster::without_prometheus("target-statefulset-pending");
    let home = c.dir.path().display().to_string();
    let tmux = Tmux::start_sized(
        "layout-target",
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config \
             {BIN} watch --interval 500ms --timeout 60s --kubeconfig {}; echo EXIT=$?; sleep 30",
            c.kubeconfig.display()
        ),
        80,
        24,
    );
    let what = "StatefulSet spice-runner from the ScaledObject's scaleTargetRef";
    for (w, h, second) in [
        (80, 24, what.to_string()),
        (160, 50, format!("{what} (pods app=spice-runner)")),
    ] {
        if w != 80 {
            tmux.resize(w, h);
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = tmux.screen();
            let lines: Vec<&str> = screen.lines().collect();
            let drawn = lines.len() == h as usize
                && lines[0].starts_with("kubectl spice watch")
                && lines[h as usize - 1].starts_with('q')
                && lines.iter().any(|l| l.contains("spice-runner-3"));
            if drawn && lines[1].trim_end() == second {
                for l in &lines {
                    assert!(l.chars().count() <= w as usize, "{w}×{h}: {l}\n{screen}");
                }
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{w}×{h}: the second line is not {second:?}:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
