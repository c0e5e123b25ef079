#!/usr/bin/env bash
# Regenerate screenshots/ from the real window under Xvfb (software GL), fed by `mqscope demo`.
# Needs: xvfb, imagemagick (import), and the window's run-time libraries (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
BIN=target/release/mqscope
PORT=${PORT:-18830}
DISP=${DISP:-:97}
mkdir -p screenshots

Xvfb "$DISP" -screen 0 1440x900x24 -nolisten tcp >/dev/null 2>&1 & XPID=$!
APID=""
cleanup() { [ -n "$APID" ] && kill "$APID" 2>/dev/null; kill "$XPID" 2>/dev/null || true; }
trap cleanup EXIT
sleep 1

export DISPLAY="$DISP" LIBGL_ALWAYS_SOFTWARE=1 XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
"$BIN" --port "$PORT" --select "factory/line2/robot1/telemetry" & APID=$!
sleep 3
# A few rounds of demo traffic: a few hundred topics, retained values, JSON and numbers.
"$BIN" demo --port "$PORT" --seconds 5
sleep 1
import -window root screenshots/main.png
echo "wrote screenshots/main.png"
