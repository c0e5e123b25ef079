#!/usr/bin/env bash
# `mqscope replay --max` of a capture of N messages (default 1M, 64-byte JSON payloads, 1,000
# topics), into `mqscope broker` and into Debian's mosquitto, one after the other in the same run.
# Prints msgs/s for each and the ratio. Like every figure here, only the ratio of one run means
# anything on a shared machine.
#
# Usage: scripts/bench-replay.sh          (needs target/release/mqscope and mosquitto)
# Env:   N=1000000  QOS=0  MQSCOPE=target/release/mqscope  MOSQUITTO=/usr/sbin/mosquitto  PORT=18840
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib.sh

MQSCOPE=${MQSCOPE:-target/release/mqscope}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
N=${N:-1000000}
QOS=${QOS:-0}
PORT=${PORT:-18840}
DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench-replay.XXXXXX")
CAPTURE="$DIR/capture.ndjson"
BROKER_PID=""
cleanup() {
  if [ -n "$BROKER_PID" ]; then kill "$BROKER_PID" 2>/dev/null || true; wait "$BROKER_PID" 2>/dev/null || true; fi
  rm -rf "$DIR"
}
trap cleanup EXIT

# The capture: what `mqscope record` writes, one millisecond apart (--max ignores the gaps).
awk -v n="$N" -v q="$QOS" 'BEGIN {
  for (i = 0; i < n; i++) {
    ms = i % 1000; s = int(i / 1000) % 60; m = int(i / 60000) % 60;
    printf "{\"ts\":\"2026-12-03T10:%02d:%02d.%03dZ\",\"topic\":\"replay/dev%d/temp\",\"qos\":%d,\"retain\":false,\"payload\":\"{\\\"seq\\\":%09d,\\\"temp\\\":21.5,\\\"unit\\\":\\\"C\\\",\\\"ok\\\":true}\"}\n", m, s, ms, i % 1000, q, i
  }
}' > "$CAPTURE"
echo "capture: $N messages, $(du -h "$CAPTURE" | cut -f1)" >&2

# replay_into NAME: replays the capture into whatever listens on $PORT; prints msgs/s.
replay_into() {
  local start end
  start=$(date +%s.%N)
  "$MQSCOPE" replay -h 127.0.0.1 -p "$PORT" --max --quiet -q "$QOS" "$CAPTURE"
  end=$(date +%s.%N)
  awk -v n="$N" -v a="$start" -v b="$end" 'BEGIN { printf "%.0f\n", n / (b - a) }'
}

"$MQSCOPE" broker -p "$PORT" --sys-interval 0 2>/dev/null &
BROKER_PID=$!
wait_port "$PORT"
ours=$(replay_into mqscope)
kill "$BROKER_PID"; wait "$BROKER_PID" 2>/dev/null || true; BROKER_PID=""

"$MOSQUITTO" -p "$PORT" 2>/dev/null &
BROKER_PID=$!
wait_port "$PORT"
theirs=$(replay_into mosquitto)

echo "| replay --max of $N messages (QoS $QOS) | msgs/s |"
echo "|---|---|"
echo "| into mqscope broker | $ours |"
echo "| into mosquitto 2.0 | $theirs |"
awk -v a="$ours" -v b="$theirs" 'BEGIN { printf "| ratio mqscope / mosquitto | %.2f |\n", a / b }'
