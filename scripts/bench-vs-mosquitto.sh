#!/usr/bin/env bash
# Side by side: Debian's mosquitto and `mqscope broker` under the same `mqscope bench` matrix.
#
# For every repetition and every case, each broker is started fresh on its own loopback port, the
# case is run against it (`mqscope bench ... --broker-pid PID --json`), and the broker is stopped;
# the order of the two brokers alternates between repetitions. At the end: medians per broker and
# the ours/mosquitto ratios, as a Markdown table. Only the ratios of one run mean anything (the
# machine is shared and noisy); never compare absolute figures across runs.
#
# Usage: scripts/bench-vs-mosquitto.sh  (needs mqscope from `cargo build --release`, mosquitto, jq)
# Env:   REPS=3  SCALE=1 (multiplies every count)  BUDGET_SECS=600  ONLY="fanin-q0 latency"
#        MQSCOPE=${CARGO_TARGET_DIR:-target}/release/mqscope  MOSQUITTO=/usr/sbin/mosquitto
#        OUT=<dir for raw results>
set -euo pipefail
cd "$(dirname "$0")/.."

MQSCOPE=${MQSCOPE:-${CARGO_TARGET_DIR:-target}/release/mqscope}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
REPS=${REPS:-3}
SCALE=${SCALE:-1}
BUDGET_SECS=${BUDGET_SECS:-600}
ONLY=${ONLY:-}
PORT=${PORT:-18830}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-vs-mosquitto.XXXXXX")}
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"

for tool in "$MQSCOPE" "$MOSQUITTO" jq; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (cargo build --release; apt-get install mosquitto jq)" >&2; exit 2; }
done

# shellcheck source=scripts/lib.sh
. scripts/lib.sh # wait_port, stop_broker, JQ_MEDIAN
BROKER_PID=""
BENCH_PID=""
WATCHDOG_PID=""
cleanup() {
  if [ -n "$BENCH_PID" ]; then kill -TERM "$BENCH_PID" 2>/dev/null || true; wait "$BENCH_PID" 2>/dev/null || true; fi
  stop_broker
  if [ -n "$WATCHDOG_PID" ]; then kill "$WATCHDOG_PID" 2>/dev/null || true; wait "$WATCHDOG_PID" 2>/dev/null || true; fi
}
trap cleanup EXIT
trap 'echo "interrupted" >&2; exit 130' INT TERM
# The whole script is bounded: past the budget, the watchdog ends it (and the trap cleans up).
# The watchdog kills its own sleep when told to stop, so nothing outlives the script.
watchdog() {
  sleep "$BUDGET_SECS" &
  local sleeper=$!
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  wait "$sleeper"
  echo "budget of ${BUDGET_SECS}s exceeded, stopping" >&2
  kill -TERM $$
}
watchdog &
WATCHDOG_PID=$!


start_broker() { # $1 = ours | mosquitto
  PORT=$((PORT + 1)) # a fresh port each time: no TIME_WAIT surprises
  if [ "$1" = mosquitto ]; then
    cat >"$OUT/mosquitto.conf" <<EOF
# Persistence off, effectively unlimited queues, Nagle off, loopback only, no \$SYS.
# max_inflight_messages 128 matches mqscope broker's default outgoing window for 3.1.1 clients.
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
set_tcp_nodelay true
max_inflight_messages 128
max_queued_messages 10000000
max_queued_bytes 0
sys_interval 0
log_dest stderr
log_type error
log_type warning
EOF
    "$MOSQUITTO" -c "$OUT/mosquitto.conf" 2>>"$OUT/mosquitto.log" &
  else
    # Queues as large as mosquitto's here (10M messages, no byte limit to speak of).
    RUST_LOG=warn "$MQSCOPE" broker -p "$PORT" --sys-interval 0 --max-queued-messages 10000000 --max-queued-mib 16384 2>>"$OUT/ours.log" &
  fi
  BROKER_PID=$!
  wait_port "$PORT"
}

# name | mqscope bench arguments. 64-byte payloads over 10k topics; counts scaled by SCALE.
n() { awk -v a="$1" -v s="$SCALE" 'BEGIN { printf "%d", a * s }'; }
CASES=(
  "fanin-q0|fan-in --qos 0 --pubs 10 --subs 1 --count $(n 600000) --topics 10000"
  "fanin-q1|fan-in --qos 1 --pubs 10 --subs 1 --count $(n 200000) --topics 10000"
  "fanin-q2|fan-in --qos 2 --pubs 10 --subs 1 --count $(n 150000) --topics 10000"
  "fanout-q0|fan-out --qos 0 --pubs 1 --subs 10 --count $(n 100000) --topics 10000"
  "fanout-q1|fan-out --qos 1 --pubs 1 --subs 10 --count $(n 50000) --topics 10000"
  "pairs-q2|pairs --qos 2 --pubs 10 --count $(n 100000) --topics 10000"
  "latency-20k|fan-in --qos 0 --pubs 10 --subs 1 --rate 20000 --count $(n 100000) --topics 10000"
  "retained-1M|retained --qos 0 --topics $(n 1000000)"
  "retained-1M-sensors|retained --qos 0 --topics $(n 1000000) --pattern sensors/{i}/temp"
  "retained-1M-plant|retained --qos 0 --topics $(n 1000000) --pattern site/{i%100}/line/{i%1000}/dev/{i}/temp"
  # Clears the subtree g0 (the first 100k of 1M topics) after the replay.
  "retained-delete-100k|retained --qos 0 --topics $(n 1000000) --pattern g{i/$(n 100000)}/dev/{i}/temp --delete $(n 100000)"
)

echo "raw results: $RESULTS" >&2
: >"$RESULTS"
for rep in $(seq "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then order="ours mosquitto"; else order="mosquitto ours"; fi
  for case in "${CASES[@]}"; do
    name=${case%%|*}
    args=${case#*|}
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    for broker in $order; do
      start_broker "$broker"
      echo "[rep $rep] $name on $broker" >&2
      # In the background and waited for, so that the watchdog's TERM is handled at once.
      # shellcheck disable=SC2086 # $args is a word list on purpose
      timeout 150 "$MQSCOPE" bench $args --size 64 --seconds 30 --idle-ms 8000 --quiet --json \
        --port "$PORT" --broker-pid "$BROKER_PID" >"$OUT/last.json" 2>>"$OUT/bench.log" &
      BENCH_PID=$!
      if wait "$BENCH_PID"; then
        BENCH_PID=""
        jq -c --arg case "$name" --arg broker "$broker" --argjson rep "$rep" '{case: $case, broker: $broker, rep: $rep, report: .}' \
          "$OUT/last.json" >>"$RESULTS"
      else
        BENCH_PID=""
        echo "  failed (see $OUT/bench.log)" >&2
      fi
      stop_broker
    done
  done
done

# Medians per (case, broker, metric) and ours/mosquitto, as Markdown.
jq -s -r "$JQ_MEDIAN"'
  def fmt: if . == null then "–" elif . >= 1000 then (. | round | tostring) elif . >= 10 then ((. * 10 | round) / 10 | tostring) else ((. * 1000 | round) / 1000 | tostring) end;
  def metrics: [
    ["delivered msgs/s", .delivered_rate],
    ["broker CPU µs/msg", .broker.cpu_us_per_msg],
    ["broker cores", .broker.cpu_cores],
    ["bench cores", .bench.cpu_cores],
    ["lost", .lost],
    ["duplicated", .duplicated],
    ["latency p50 µs", .latency.p50_us],
    ["latency p99 µs", .latency.p99_us],
    ["latency max µs", .latency.max_us],
    ["broker RSS MiB after store", .retained.broker_rss_after_store_mib],
    ["retained store msgs/s", .retained.store_rate],
    ["broker CPU µs/msg stored", .retained.broker_store_cpu_us_per_msg],
    ["retained delete s", .retained.delete.secs],
    ["broker RSS MiB after delete", .retained.delete.broker_rss_mib]
  ] | map(select(.[1] != null));
  (map(.case) | unique) as $cases
  | "| case | metric | mosquitto | ours | ours/mosquitto |", "|---|---|---:|---:|---:|",
    ($cases[] as $c
     | [.[] | select(.case == $c)] as $runs
     | ($runs[0].report | metrics | map(.[0])) as $names
     | $names[] as $m
     | ([$runs[] | select(.broker == "mosquitto") | .report | metrics[] | select(.[0] == $m) | .[1]] | median) as $mosq
     | ([$runs[] | select(.broker == "ours") | .report | metrics[] | select(.[0] == $m) | .[1]] | median) as $ours
     | "| \($c) | \($m) | \($mosq | fmt) | \($ours | fmt) | \(if $mosq != null and $ours != null and $mosq != 0 then ($ours / $mosq | fmt) else "–" end) |")
' "$RESULTS"
errors=$(jq -r 'select(.report.errors | length > 0) | "\(.case) \(.broker) rep \(.rep): \(.report.errors | join("; "))"' "$RESULTS")
if [ -n "$errors" ]; then printf '\nerrors:\n%s\n' "$errors"; fi
echo "($(jq -s length "$RESULTS") runs, $REPS repetitions, $(date -u +%FT%TZ), $(nproc) cores, ${SECONDS}s)" 
