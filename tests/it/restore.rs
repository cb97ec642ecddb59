//! Issue 20, item 2: every exit of the full-screen `watch` leaves the
//! terminal as it found it: the normal screen, cooked mode, a cursor. The
//! real binary in a real terminal (tmux) is made to panic, or is sent
//! SIGTERM, SIGINT, SIGHUP or SIGQUIT, while its screen is up; then the pane
//! must be off the alternate screen and the terminal's line discipline back
//! in canonical mode (what the shell prints after the binary ends, with
//! `stty`).

use crate::support::spice::{BIN, Cluster};
use crate::support::tmux::Tmux;
use std::process::Command;
use std::time::{Duration, Instant};

/// The watch on the full screen in tmux with `env` set; after it ends the
/// shell prints its exit code and the terminal's canonical-mode flag
/// (`MODE=icanon` cooked, `MODE=-icanon` raw).
fn watch(c: &Cluster, name: &str, env: &str) -> Tmux {
    let home = c.dir.path().display().to_string();
    Tmux::start(
        name,
        &format!(
            "env -i PATH=/usr/bin:/bin TERM=screen HOME={home} XDG_CONFIG_HOME={home}/.config {env} \
             {BIN} watch --interval 500ms --timeout 60s --kubeconfig {}; \
             echo EXIT=$? MODE=$(stty -a | tr ' ' '\\n' | grep -x -e icanon -e -icanon); sleep 60",
            c.kubeconfig.display()
        ),
    )
}

fn alternate_on(tmux: &Tmux) -> bool {
    let out = tmux.cmd(&["display", "-p", "-t", "w", "#{alternate_on}"]);
    String::from_utf8_lossy(&out.stdout).trim() == "1"
}

/// Waits (bounded) until the view is drawn on the alternate screen.
fn wait_for_screen(tmux: &Tmux) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !(alternate_on(tmux) && tmux.screen().contains("spice-runner")) {
        assert!(
            Instant::now() < deadline,
            "the full screen never came up:\n{}",
            tmux.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pane is back on the normal screen, in cooked mode, and says how the
/// binary exited.
fn assert_restored(tmux: &Tmux, what: &str) -> String {
    let screen = tmux.wait_for(&["EXIT="]);
    assert!(!alternate_on(tmux), "{what}: still on the alternate screen");
    assert!(
        screen.contains("MODE=icanon"),
        "{what}: the terminal was left in raw mode:\n{screen}"
    );
    screen
}

#[test]
fn a_panic_with_the_full_screen_up_restores_the_terminal_before_printing() {
    let c = Cluster::start("healthy");
    let tmux = watch(&c, "panic", "SPICE_DEBUG_PANIC_IN_VIEW=1");
    let screen = assert_restored(&tmux, "panic");
    // The panic's message was printed on the normal screen, readable.
    assert!(
        screen.contains("SPICE_DEBUG_PANIC_IN_VIEW is set"),
        "{screen}"
    );
}

#[test]
fn every_stop_signal_with_the_full_screen_up_restores_the_terminal() {
    let c = Cluster::start("healthy");
    for signal in ["TERM", "INT", "HUP", "QUIT"] {
        let tmux = watch(&c, &format!("sig{signal}"), "");
        wait_for_screen(&tmux);
        let pid = tmux.child_pid().to_string();
        let sent = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .expect("kill");
        assert!(sent.success(), "kill -{signal}");
        let screen = assert_restored(&tmux, &format!("SIG{signal}"));
        assert!(screen.contains("EXIT=0"), "SIG{signal}: {screen}");
    }
}
