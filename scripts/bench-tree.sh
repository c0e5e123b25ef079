#!/usr/bin/env bash
# Does the window's tree tell the truth under load, and what does it cost? (issue: the tree tells the
# truth under any load). Side by side with mosquitto_sub on the same load, in one run, under Xvfb:
#
#  1. burst: mosquitto holds TOPICS (1M) retained 64-byte topics; time for `mosquitto_sub -t '#'` to
#     receive them all, then for the window (connected to the same mosquitto) to hold them all in its
#     tree. Ratio window / mosquitto_sub. Then the window's RSS, and bytes per topic beyond its kept
#     history, with the empty window's RSS as the base.
#  2. embedded: BURST (1M) QoS 0 messages over BURST_TOPICS (100k) topics into the window's own
#     broker as fast as `mqscope bench` publishes: time from the end of the burst until the tree
#     counts every message (exact latest values are checked by `cargo test tree_truth`).
#  3. live: LIVE_RATE (50k) msgs/s over 100 and over 100k topics from mosquitto for LIVE_SECS: CPU per
#     message of the window and of `mosquitto_sub -t '#' > /dev/null` on the same load; and the
#     window's idle drawing cost (CPU/s with nothing arriving).
#  4. cold start: time from launch to the first frame, from the window's own stats.
#
# The window reports its figures with `mqscope --stats-file` (one JSON line every 250 ms).
# Only ratios of one run mean anything (the machine is shared and noisy).
#
# Usage: scripts/bench-tree.sh   (needs target/release/mqscope, mosquitto, mosquitto_sub, Xvfb, jq)
# Env:   TOPICS=1000000 BURST=1000000 BURST_TOPICS=100000 LIVE_RATE=50000 LIVE_SECS=20 PORT=19700
#        ONLY="1 2 3 4" (the sections to run)
set -euo pipefail
cd "$(dirname "$0")/.."

MQSCOPE=${MQSCOPE:-target/release/mqscope}
TOPICS=${TOPICS:-1000000}
BURST=${BURST:-1000000}
BURST_TOPICS=${BURST_TOPICS:-100000}
LIVE_RATE=${LIVE_RATE:-50000}
LIVE_SECS=${LIVE_SECS:-20}
PORT=${PORT:-19700}
ONLY=${ONLY:-1 2 3 4}
for tool in "$MQSCOPE" mosquitto mosquitto_sub Xvfb jq; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done
# shellcheck source=scripts/lib.sh
. scripts/lib.sh # wait_port

DISP=:$((90 + RANDOM % 100))
WORK=$(mktemp -d "${TMPDIR:-/tmp}/bench-tree.XXXXXX")
Xvfb "$DISP" -screen 0 1280x800x24 -nolisten tcp >/dev/null 2>&1 &
XPID=$!
MPID="" WPID=""
cleanup() {
  for p in $WPID $MPID $XPID; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
export DISPLAY="$DISP" LIBGL_ALWAYS_SOFTWARE=1 XDG_RUNTIME_DIR="$WORK"
sleep 1

HZ=$(getconf CLK_TCK)
now_ms() { date +%s%3N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime of a process
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

mosquitto_start() { # a fresh mosquitto on a new port
  PORT=$((PORT + 1)); MPORT=$PORT
  printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\n' "$MPORT" >"$WORK/mosquitto.conf"
  mosquitto -c "$WORK/mosquitto.conf" >/dev/null 2>&1 &
  MPID=$!
  wait_port "$MPORT"
}
mosquitto_stop() { kill "$MPID" 2>/dev/null || true; wait "$MPID" 2>/dev/null || true; MPID=""; }

# $1 = "" (embedded broker only) or a mosquitto port to connect to on launch, subscribing to '#';
# $2 = "nostats": no stats file (its 4 frames a second would count as drawing cost).
window_start() {
  PORT=$((PORT + 1)); WPORT=$PORT
  local conf="$WORK/config-$WPORT"
  mkdir -p "$conf"
  if [ -n "$1" ]; then
    printf '[[profile]]\nname = "mosquitto"\nhost = "127.0.0.1"\nport = %s\nconnect_on_launch = true\nclient_id = "bench-tree-%s"\n[[profile.subscriptions]]\nfilter = "#"\nqos = "AtMostOnce"\n' \
      "$1" "$WPORT" >"$conf/profiles.toml"
  fi
  : >"$WORK/stats-$WPORT"
  LAUNCHED=$(now_ms)
  local stats=(--stats-file "$WORK/stats-$WPORT")
  [ "${2:-}" = nostats ] && stats=()
  MQSCOPE_CONFIG_DIR="$conf" "$MQSCOPE" --port "$WPORT" "${stats[@]}" >"$WORK/window-$WPORT.log" 2>&1 &
  WPID=$!
  wait_port "$WPORT"
  STATS="$WORK/stats-$WPORT"
}
window_stop() { kill "$WPID" 2>/dev/null || true; wait "$WPID" 2>/dev/null || true; WPID=""; }

# The first stats line (as JSON) for which the jq condition $1 holds; waits up to $2 seconds.
wait_stats() {
  local deadline=$(($(date +%s) + $2)) line
  while [ "$(date +%s)" -lt "$deadline" ]; do
    line=$(jq -c "select($1)" "$STATS" 2>/dev/null | head -n 1)
    [ -n "$line" ] && { echo "$line"; return 0; }
    sleep 0.1
  done
  echo "timed out waiting for $1; last: $(tail -n 1 "$STATS")" >&2
  return 1
}
conn() { echo ".conns[] | select(.name == \"$1\")"; }

run() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

if run 1; then
echo "== 1. burst: $TOPICS retained topics held by mosquitto"
mosquitto_start
"$MQSCOPE" bench retained --topics "$TOPICS" --size 64 --port "$MPORT" --quiet >/dev/null
t0=$(now_ms)
mosquitto_sub -h 127.0.0.1 -p "$MPORT" -t '#' -C "$TOPICS" >/dev/null
sub_ms=$(($(now_ms) - t0))
echo "mosquitto_sub: all $TOPICS in $sub_ms ms"
window_start ""
empty_kib=$(rss_kib "$WPID")
window_stop
window_start "$MPORT"
first=$(wait_stats "($(conn mosquitto)).messages > 0" 120)
done_line=$(wait_stats "($(conn mosquitto)).topics >= $TOPICS" 600)
first_ms=$(echo "$first" | jq '.ms')
done_ms=$(echo "$done_line" | jq '.ms')
win_ms=$((done_ms - first_ms))
sleep 2
rss=$(rss_kib "$WPID")
hist=$(tail -n 1 "$STATS" | jq "($(conn mosquitto)).history_bytes")
per_topic=$(awk -v r="$rss" -v e="$empty_kib" -v h="$hist" -v t="$TOPICS" 'BEGIN {printf "%.0f", ((r - e) * 1024 - h) / t}')
echo "window: all $TOPICS topics in its tree $win_ms ms after the first arrived (±250 ms); window/mosquitto_sub $(ratio "$win_ms" "$sub_ms")"
echo "window RSS $((rss / 1024)) MiB (empty window $((empty_kib / 1024)) MiB; kept messages $((hist / 1048576)) MiB): $per_topic bytes per topic beyond kept messages"
echo "thinned: $(echo "$done_line" | jq "($(conn mosquitto)).thinned")"
window_stop
mosquitto_stop
fi

if run 2; then
echo "== 2. embedded: $BURST messages over $BURST_TOPICS topics at full speed"
window_start ""
sleep 1
burst_start=$(($(now_ms) - LAUNCHED))
"$MQSCOPE" bench fan-in --qos 0 --count "$BURST" --topics "$BURST_TOPICS" --port "$WPORT" --seconds 120 --json >"$WORK/burst.json" 2>/dev/null
# The burst ended when the broker had routed its last message: the bench's subscriber received it
# then (`elapsed_secs` runs from the first publish to the last delivery; the publishers themselves
# are done earlier, their last messages still in socket buffers).
burst_end=$(jq -r --argjson s "$burst_start" '$s + (.elapsed_secs * 1000 | floor)' "$WORK/burst.json")
line=$(wait_stats "($(conn Local)).messages >= $BURST" 600)
echo "published at $(jq -r '.publish_rate | floor' "$WORK/burst.json") msgs/s;" \
  "the tree counts all $BURST messages $(($(echo "$line" | jq '.ms') - burst_end)) ms after the broker routed the last one (±250 ms);" \
  "topics $(echo "$line" | jq "($(conn Local)).topics"), thinned $(echo "$line" | jq "($(conn Local)).thinned")"
window_stop
fi

if run 3; then
echo "== 3. live: $LIVE_RATE msgs/s from mosquitto, CPU per message"
live() { # $1 = topics, $2 = consumer pid; prints CPU µs per message of $2 over the run
  local before after
  before=$(cpu_ticks "$2")
  "$MQSCOPE" bench fan-in --qos 0 --rate "$LIVE_RATE" --count $((LIVE_RATE * LIVE_SECS)) --topics "$1" --port "$MPORT" \
    --seconds $((LIVE_SECS * 2)) --quiet >/dev/null 2>&1
  after=$(cpu_ticks "$2")
  awk -v t=$((after - before)) -v hz="$HZ" -v n=$((LIVE_RATE * LIVE_SECS)) 'BEGIN {printf "%.2f", t / hz * 1e6 / n}'
}
mosquitto_start
window_start "$MPORT" nostats
sleep 4 # connected by then (no stats file here: it would add frames)
b=$(cpu_ticks "$WPID"); sleep 10; a=$(cpu_ticks "$WPID")
idle=$(awk -v t=$((a - b)) -v hz="$HZ" 'BEGIN {printf "%.1f", t / hz / 10 * 1000}')
echo "window idle (connected, nothing arriving): $idle ms of CPU per second"
for topics in 100 100000; do
  w=$(live "$topics" "$WPID")
  mosquitto_sub -h 127.0.0.1 -p "$MPORT" -t '#' >/dev/null &
  SPID=$!
  sleep 1
  s=$(live "$topics" "$SPID")
  kill "$SPID"; wait "$SPID" 2>/dev/null || true
  echo "$topics topics: window $w µs/msg, mosquitto_sub $s µs/msg, window/mosquitto_sub $(ratio "$w" "$s")" \
    "(window minus its idle drawing: $(awk -v w="$w" -v i="$idle" -v r="$LIVE_RATE" 'BEGIN {printf "%.2f", w - i * 1000 / r}') µs/msg)"
done
window_stop
mosquitto_stop
fi

if run 4; then
echo "== 4. cold start"
window_start ""
line=$(wait_stats ".first_frame_ms != null" 60)
echo "launch to first frame: $(echo "$line" | jq '.first_frame_ms') ms (measured from main; Xvfb, software GL)"
window_stop
fi
