#!/usr/bin/env bash
# The broker with the window open and attached, against the same broker headless.
#
# Under Xvfb (software GL), for each repetition: `mqscope broker` alone, then the window's embedded
# broker (`mqscope --port`), each fresh on its own loopback port and driven by the same
# `mqscope bench fan-in --qos 0 --count COUNT`. Prints delivered msgs/s per run, the medians and the
# window/headless ratio. Then one long run into the window (`LONG` messages at `LONG_RATE` msgs/s,
# a rate the explorer folds in whole, so that its history fills its budget) and its memory after:
# RSS, the part of it that is private (anonymous) memory, and the empty window's RSS for reference;
# with ImageMagick's `import`, a screenshot of the window then (status bar: history used / budget).
# Only ratios of one run mean anything (the machine is shared and noisy).
#
# Usage: scripts/bench-window.sh     (needs target/release/mqscope, Xvfb, jq)
# Env:   REPS=3 COUNT=3000000 LONG=10000000 LONG_RATE=250000 PORT=19900 MQSCOPE=target/release/mqscope
set -euo pipefail
cd "$(dirname "$0")/.."

MQSCOPE=${MQSCOPE:-target/release/mqscope}
REPS=${REPS:-3}
COUNT=${COUNT:-3000000}
LONG=${LONG:-10000000}
LONG_RATE=${LONG_RATE:-250000}
PORT=${PORT:-19900}
for tool in "$MQSCOPE" Xvfb jq; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

DISP=:$((90 + RANDOM % 100))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-window.XXXXXX")
Xvfb "$DISP" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
PID=""
cleanup() {
  if [ -n "$PID" ]; then kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; fi
  kill "$XPID" 2>/dev/null || true
  wait "$XPID" 2>/dev/null || true
}
trap cleanup EXIT
export DISPLAY="$DISP" LIBGL_ALWAYS_SOFTWARE=1 XDG_RUNTIME_DIR="$WORK" MQSCOPE_CONFIG_DIR="$WORK/config"
sleep 1

# shellcheck source=scripts/lib.sh
. scripts/lib.sh # wait_port, median

start() { # $1 = headless | window
  PORT=$((PORT + 1))
  if [ "$1" = headless ]; then
    "$MQSCOPE" broker -p "$PORT" >/dev/null 2>&1 &
  else
    "$MQSCOPE" --port "$PORT" >"$WORK/window.log" 2>&1 &
  fi
  PID=$!
  wait_port "$PORT"
  [ "$1" = window ] && sleep 2 # let the first frames render
  return 0
}

stop() {
  kill "$PID" 2>/dev/null || true
  wait "$PID" 2>/dev/null || true
  PID=""
}

rate() { # $1 = count; prints delivered msgs/s of one fan-in run against $PORT
  "$MQSCOPE" bench fan-in --qos 0 --count "$1" --port "$PORT" --broker-pid "$PID" --json 2>/dev/null | jq -r '.delivered_rate | floor'
}


: >"$WORK/headless" >"$WORK/window"
for rep in $(seq "$REPS"); do
  order="headless window"
  [ $((rep % 2)) -eq 0 ] && order="window headless"
  for kind in $order; do
    start "$kind"
    r=$(rate "$COUNT")
    stop
    echo "$r" >>"$WORK/$kind"
    echo "rep $rep  $kind  $r msgs/s"
  done
done
h=$(median <"$WORK/headless")
w=$(median <"$WORK/window")
echo "median: headless $h msgs/s, window $w msgs/s, window/headless $(awk -v w="$w" -v h="$h" 'BEGIN {printf "%.2f", w / h}')"

start window
empty=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
"$MQSCOPE" bench fan-in --qos 0 --count "$LONG" --rate "$LONG_RATE" --port "$PORT" --broker-pid "$PID" --seconds 300 --json >"$WORK/long.json" 2>/dev/null
sleep 3
rss=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
anon=$(awk '/RssAnon/ {print $2}' "/proc/$PID/status")
echo "long run: $(jq -r '.delivered' "$WORK/long.json") messages at $(jq -r '.delivered_rate | floor' "$WORK/long.json") msgs/s;" \
  "window RSS $((rss / 1024)) MiB (private $((anon / 1024)) MiB; empty window $((empty / 1024)) MiB)"
if command -v import >/dev/null; then
  import -window root "$WORK/after-long-run.png" && echo "window after the long run: $WORK/after-long-run.png"
fi
stop
