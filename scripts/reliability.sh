#!/usr/bin/env bash
# Reliability figures of `mqscope broker` (issue 13), each case on a fresh broker on a loopback port:
#
#  persist   fan-in QoS 1 (10 publishers, 1 subscriber keeping its session, MQTT 5), 1M retained
#            topics stored at QoS 0 and 200k at QoS 1, persistence off vs on (`--data-dir`):
#            messages/s and the on/off ratio.
#  restart   1M retained topics (64-byte payloads) and 10k kept sessions in the journal: time from
#            start to listening with everything restored, after a clean stop (SIGTERM) and after kill -9.
#  conns     10k concurrent connections with keep-alive (pings), the broker's memory per connection.
#  storm     1k connect/disconnect per second for 10 s with 1,000 idle connections held and pinged,
#            ours and mosquitto side by side: rate kept, failures, handshake and ping times, broker
#            CPU per connection, RSS left over.
#
# Only ratios within one run mean much (the machine is shared and noisy).
# Usage: scripts/reliability.sh            (needs a release build of mqscope, and jq)
# Env:   MQSCOPE=target/release/mqscope  REPS=3  ONLY="persist restart conns storm"  SCALE=1 (multiplies every count)
#        MOSQUITTO=/usr/sbin/mosquitto (storm only)
#        PORT=19830  OUT=<dir>
set -euo pipefail
cd "$(dirname "$0")/.."

MQSCOPE=${MQSCOPE:-target/release/mqscope}
REPS=${REPS:-3}
ONLY=${ONLY:-persist restart conns storm}
MOSQUITTO=${MOSQUITTO:-/usr/sbin/mosquitto}
SCALE=${SCALE:-1}
n() { awk -v a="$1" -v s="$SCALE" 'BEGIN { printf "%d", a * s }'; }
PORT=${PORT:-19830}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/reliability.XXXXXX")}
mkdir -p "$OUT"
for tool in "$MQSCOPE" jq; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (cargo build --release; apt-get install jq)" >&2; exit 2; }
done
# shellcheck source=scripts/lib.sh
. scripts/lib.sh # wait_port, stop_broker, median

BROKER_PID=""
trap 'stop_broker KILL' EXIT

start_broker() { # $@ = extra broker arguments; logs to $OUT/broker.log
  PORT=$((PORT + 1))
  RUST_LOG=info "$MQSCOPE" broker -p "$PORT" --sys-interval 0 --max-queued-messages 10000000 --max-queued-mib 16384 "$@" \
    2>>"$OUT/broker.log" &
  BROKER_PID=$!
}

bench() { # $@ = bench arguments; prints the JSON report
  timeout 300 "$MQSCOPE" bench "$@" --size 64 --quiet --json --port "$PORT" --broker-pid "$BROKER_PID" 2>>"$OUT/bench.log"
}

if [[ " $ONLY " == *" persist "* ]]; then
  : >"$OUT/persist.tsv"
  for rep in $(seq "$REPS"); do
    for mode in off on; do
      dir="$OUT/data-persist-$rep"
      rm -rf "$dir"
      if [ "$mode" = on ]; then start_broker --data-dir "$dir"; else start_broker; fi
      wait_port "$PORT"
      fanin=$(bench fan-in --mqtt 5 --qos 1 --pubs 10 --subs 1 --persistent --count "$(n 200000)" --topics 10000 --seconds 60 | jq .delivered_rate)
      retained0=$(bench retained --mqtt 5 --qos 0 --topics "$(n 1000000)" --seconds 120 | jq .retained.store_rate)
      retained1=$(bench retained --mqtt 5 --qos 1 --topics "$(n 200000)" --seconds 60 | jq .retained.store_rate)
      printf '%s\t%s\t%s\t%s\n' "$mode" "$fanin" "$retained0" "$retained1" | tee -a "$OUT/persist.tsv" >&2
      stop_broker TERM
    done
  done
  names=("" "" "fan-in QoS 1, 10 publishers, subscriber keeping its session" "1M retained topics stored, QoS 0" "200k retained topics stored, QoS 1")
  for col in 2 3 4; do
    off=$(awk -v c=$col '$1 == "off" { print $c }' "$OUT/persist.tsv" | median)
    on=$(awk -v c=$col '$1 == "on" { print $c }' "$OUT/persist.tsv" | median)
    name=${names[$col]}
    awk -v n="$name" -v off="$off" -v on="$on" 'BEGIN { printf "| %s | %.0f msg/s | %.0f msg/s | %.2f |\n", n, off, on, on / off }'
  done
fi

if [[ " $ONLY " == *" restart "* ]]; then
  dir="$OUT/data-restart"
  rm -rf "$dir"
  start_broker --data-dir "$dir"
  wait_port "$PORT"
  bench retained --mqtt 5 --qos 0 --topics "$(n 1000000)" --seconds 120 >/dev/null
  bench connections --mqtt 5 --persistent --conns "$(n 10000)" --seconds 5 >/dev/null
  rss=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$BROKER_PID/status")
  echo "| before the restarts | RSS $rss MiB |"
  stop_broker TERM
  # The port opens once the state is restored (mqscope broker restores first, then listens).
  for how in TERM KILL; do
    : >"$OUT/broker.log"
    size=$(du -m "$dir/journal.mqj" | cut -f1)
    t0=$(date +%s.%N)
    start_broker --data-dir "$dir"
    wait_port "$PORT"
    t1=$(date +%s.%N)
    restored=$(sed 's/\x1b\[[0-9;]*m//g' "$OUT/broker.log" | grep -o 'state restored.*' | tail -1 || true)
    rss=$(awk '/VmRSS/ { print int($2 / 1024) }' "/proc/$BROKER_PID/status")
    awk -v s="$(echo "$t1 - $t0" | bc)" -v mb="$size" -v rss="$rss" -v r="$restored" -v prev="$([ "$how" = TERM ] && echo 'a clean stop' || echo 'kill -9')" \
      'BEGIN { printf "| start after %s | %.2f s to listening | journal %d MiB | RSS %d MiB | %s |\n", prev, s, mb, rss, r }'
    stop_broker "$how"
  done
fi

if [[ " $ONLY " == *" conns "* ]]; then
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  start_broker --max-connections 20000
  wait_port "$PORT"
  bench connections --conns "$(n 10000)" --keep-alive 5 --seconds 20 | jq -r \
    '"| 10k connections, keep-alive 5 s | \(.connections.connected) held, \(.connections.failed) failed, \(.connections.dropped) dropped | \(.connections.broker_kib_per_conn | . * 10 | round / 10) KiB/connection | idle CPU \(.connections.broker_idle_cpu_ms_per_s) ms/s | \(.connections.pings) pings |"'
  stop_broker TERM
fi
if [[ " $ONLY " == *" storm "* ]]; then
  ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  : >"$OUT/storm.tsv"
  for rep in $(seq "$REPS"); do
    for who in ours mosquitto; do
      if [ "$who" = mosquitto ]; then
        PORT=$((PORT + 1))
        printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nsys_interval 0\nmax_connections -1\nlog_dest stderr\nlog_type error\n' \
          "$PORT" >"$OUT/mosquitto.conf"
        "$MOSQUITTO" -c "$OUT/mosquitto.conf" 2>>"$OUT/mosquitto.log" &
        BROKER_PID=$!
      else
        start_broker --max-connections 20000
      fi
      wait_port "$PORT"
      # 10 s at 1k/s: 10k sockets in TIME_WAIT at most, well inside the ephemeral port range.
      bench churn --rate 1000 --seconds 10 --conns 1000 | jq -r --arg who "$who" \
        '[$who, .churn.achieved_rate, .churn.connected, .churn.attempted, .churn.failed + ([.churn.refused[][1]] | add // 0), .latency.p50_us, .latency.p99_us, (.churn.held_ping.p99_us // 0), .churn.held_dropped, (.churn.broker_cpu_us_per_conn // 0), ((.churn.broker_rss_growth_kib // 0) / 1024)] | @tsv' \
        | tee -a "$OUT/storm.tsv" >&2
      stop_broker TERM
    done
  done
  echo "| broker | connections/s kept (asked 1,000) | connected / started | failed or refused | handshake p50 / p99 | held connections' ping p99, dropped | broker CPU per connection | broker RSS after the storm |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|"
  for who in ours mosquitto; do
    col() { awk -v w="$who" -v c="$1" '$1 == w { print $c }' "$OUT/storm.tsv" | median; }
    awk -v w="$who" -v rate="$(col 2)" -v ok="$(col 3)" -v all="$(col 4)" -v bad="$(col 5)" -v p50="$(col 6)" -v p99="$(col 7)" \
      -v ping="$(col 8)" -v drop="$(col 9)" -v cpu="$(col 10)" -v rss="$(col 11)" \
      'BEGIN { printf "| %s | %.0f | %d / %d | %d | %.0f / %.0f µs | %.0f µs, %d | %.0f µs | %+.1f MiB |\n", w, rate, ok, all, bad, p50, p99, ping, drop, cpu, rss }'
  done
  ours=$(awk '$1 == "ours" { print $10 }' "$OUT/storm.tsv" | median)
  mosq=$(awk '$1 == "mosquitto" { print $10 }' "$OUT/storm.tsv" | median)
  awk -v o="$ours" -v m="$mosq" 'BEGIN { if (m > 0) printf "broker CPU per connection, ours/mosquitto: %.2f\n", o / m }'
fi
echo "raw results in $OUT" >&2
