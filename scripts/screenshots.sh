#!/usr/bin/env bash
# Regenerate screenshots/: main.png from the real window under Xvfb (software GL), fed by
# `mqscope demo`; then one shot per area of the window (light theme, JSON diff, charts, top talkers,
# connections, settings, the packet trace, fault injection) drawn by egui's renderer through
# `cargo run --example screenshots`.
# Needs: xvfb, imagemagick (import), and the window's run-time libraries (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
# MQSCOPE=path/to/mqscope uses that binary instead of building target/release/mqscope.
if [ -z "${MQSCOPE:-}" ]; then cargo build --release --quiet; fi
BIN=${MQSCOPE:-target/release/mqscope}
PORT=${PORT:-18830}
DISP=${DISP:-:97}
mkdir -p screenshots

Xvfb "$DISP" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 & XPID=$!
APID=""
DPID=""
cleanup() { for p in $DPID $APID $XPID; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT
sleep 1

export DISPLAY="$DISP" LIBGL_ALWAYS_SOFTWARE=1 XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
"$BIN" --port "$PORT" --select "factory/line2/robot1/telemetry" & APID=$!
sleep 3
# Demo traffic (a few hundred topics, retained values, JSON and numbers), still flowing at the shot.
"$BIN" demo --port "$PORT" --seconds 12 & DPID=$!
sleep 6
xdotool mousemove 1279 0 2>/dev/null || true
sleep 0.5
import -window root screenshots/main.png
echo "wrote screenshots/main.png"
kill "$DPID" "$APID" 2>/dev/null || true
cargo run --quiet --example screenshots
