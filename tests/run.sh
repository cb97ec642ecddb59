#!/usr/bin/env bash
# The whole test suite, on a fresh Debian machine: installs what the tests
# need (Prometheus, the nginx exporter, nginx; kubectl must already be at
# /usr/bin/kubectl), then runs every test. Under CI a missing dependency is a
# failure: the tests that need it fail loudly rather than skip.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
# One package holds both prometheus and promtool: asked for once.
{ command -v prometheus && command -v promtool; } >/dev/null 2>&1 || need+=(prometheus)
command -v prometheus-nginx-exporter >/dev/null 2>&1 || need+=(prometheus-nginx-exporter)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
command -v tmux >/dev/null 2>&1 || need+=(tmux)   # the watch view's terminal test
command -v chromium >/dev/null 2>&1 || need+=(chromium)   # the HTML report's browser test
[ -x /usr/bin/time ] || need+=(time)   # peak RSS in the report's cost test
if [ ${#need[@]} -gt 0 ]; then
  echo "installing test dependencies: ${need[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if [ ! -x /usr/bin/kubectl ] && ! command -v kubectl >/dev/null 2>&1; then
  echo "error: kubectl is not installed; the plugin-dispatch tests need the real kubectl" >&2
  exit 1
fi

cargo build --locked --all-targets
# Unit tests, then the integration-test binary (doc-tests: none; benches run
# with `cargo bench`, see README).
cargo test --locked --no-fail-fast --lib --bins --tests -- --test-threads 2
