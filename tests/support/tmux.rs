//! A real terminal for full-screen tests: a tmux server of our own (its own
//! socket), one session `w` running a shell command, read by capturing the
//! pane. Every wait is bounded. Dropping it kills the server.

use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (run by sh) in a detached 160×48 pane; `name` makes
    /// the socket unique within this process.
    pub fn start(name: &str, command: &str) -> Tmux {
        Tmux::start_sized(name, command, 160, 48)
    }

    /// Starts `command` in a detached `width`×`height` pane.
    pub fn start_sized(name: &str, command: &str, width: u16, height: u16) -> Tmux {
        let (width, height) = (width.to_string(), height.to_string());
        let tmux = Tmux {
            socket: format!("spice-{name}-{}", std::process::id()),
        };
        let out = tmux.cmd(&[
            "new-session",
            "-d",
            "-s",
            "w",
            "-x",
            &width,
            "-y",
            &height,
            command,
        ]);
        assert!(
            out.status.success(),
            "tmux: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux
    }

    pub fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("run tmux")
    }

    /// Resizes the window (the program under test gets SIGWINCH).
    pub fn resize(&self, width: u16, height: u16) {
        let out = self.cmd(&[
            "resize-window",
            "-t",
            "w",
            "-x",
            &width.to_string(),
            "-y",
            &height.to_string(),
        ]);
        assert!(
            out.status.success(),
            "resize-window: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Sends keys as tmux names them (`q`, `Escape`, `C-c`, `PageDown`, `?`).
    pub fn keys(&self, keys: &str) {
        let out = self.cmd(&["send-keys", "-t", "w", keys]);
        assert!(out.status.success(), "send-keys {keys}");
    }

    /// The process the pane's shell runs (the command under test).
    pub fn child_pid(&self) -> u32 {
        let shell = String::from_utf8_lossy(
            &self
                .cmd(&["display", "-p", "-t", "w", "#{pane_pid}"])
                .stdout,
        )
        .trim()
        .to_string();
        let children = std::fs::read_to_string(format!("/proc/{shell}/task/{shell}/children"))
            .expect("children of the pane's shell");
        children
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok())
            .expect("the pane's command")
    }

    pub fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "w"]).stdout).into_owned()
    }

    /// Waits (up to `within`) until the screen shows every one of `want`.
    pub fn wait_within(&self, within: Duration, want: &[&str]) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if want.iter().all(|w| screen.contains(w)) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen never showed {want:?} within {within:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Waits (bounded, 20 s) until the screen shows every one of `want`.
    pub fn wait_for(&self, want: &[&str]) -> String {
        self.wait_within(Duration::from_secs(20), want)
    }

    /// Waits (bounded, 20 s) until the screen shows none of `gone`.
    pub fn wait_gone(&self, gone: &[&str]) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let screen = self.screen();
            if !gone.iter().any(|g| screen.contains(g)) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("the screen still shows one of {gone:?}:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}
