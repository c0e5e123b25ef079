#!/usr/bin/env bash
# Before/after: what the broker's packet trace and fault injection cost when they are closed (no
# client traced, no fault set), measured as `mqscope broker` under the same `mqscope bench` cases
# built from two commits. Each repetition starts each broker fresh on a loopback port, alternating
# which goes first; the result is the medians per binary and after/before.
#
# Usage: BEFORE=path/to/old/mqscope AFTER=target/release/mqscope scripts/bench-inside.sh
#        REPS=3 (repetitions)  SCALE=1 (message counts)  ONLY="fanin-q0 ..." (cases)  PORT=18840  OUT=<dir>
set -euo pipefail
cd "$(dirname "$0")/.."
BEFORE=${BEFORE:?set BEFORE to the binary without the change}
AFTER=${AFTER:-target/release/mqscope}
REPS=${REPS:-3}
SCALE=${SCALE:-1}
ONLY=${ONLY:-}
PORT=${PORT:-18840}
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench-inside.XXXXXX")}
mkdir -p "$OUT"
RESULTS="$OUT/results.jsonl"
: >"$RESULTS"
for tool in "$BEFORE" "$AFTER" jq; do
  command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 2; }
done

BROKER_PID=""
# shellcheck source=scripts/lib.sh
. scripts/lib.sh # wait_port, stop_broker, JQ_MEDIAN
trap stop_broker EXIT

n() { awk -v a="$1" -v s="$SCALE" 'BEGIN { printf "%d", a * s }'; }
CASES=(
  "fanin-q0|fan-in --qos 0 --pubs 10 --subs 1 --count $(n 600000) --topics 10000"
  "fanin-q1|fan-in --qos 1 --pubs 10 --subs 1 --count $(n 200000) --topics 10000"
  "fanout-q0|fan-out --qos 0 --pubs 1 --subs 10 --count $(n 100000) --topics 10000"
)
for rep in $(seq "$REPS"); do
  if [ $((rep % 2)) = 1 ]; then order="before after"; else order="after before"; fi
  for case in "${CASES[@]}"; do
    name=${case%%|*}
    args=${case#*|}
    if [ -n "$ONLY" ] && [[ " $ONLY " != *" $name "* ]]; then continue; fi
    for which in $order; do
      bin=$BEFORE
      if [ "$which" = after ]; then bin=$AFTER; fi
      RUST_LOG=warn "$bin" broker -p "$PORT" --sys-interval 0 --max-queued-messages 10000000 --max-queued-mib 16384 2>>"$OUT/broker.log" &
      BROKER_PID=$!
      wait_port "$PORT" || exit 1
      echo "[rep $rep] $name, $which" >&2
      # shellcheck disable=SC2086 # $args is a word list on purpose
      if timeout 150 "$AFTER" bench $args --size 64 --seconds 30 --idle-ms 8000 --quiet --json \
        --port "$PORT" --broker-pid "$BROKER_PID" >"$OUT/last.json" 2>>"$OUT/bench.log"; then
        jq -c --arg case "$name" --arg which "$which" '{case: $case, which: $which, report: .}' "$OUT/last.json" >>"$RESULTS"
      else
        echo "  failed (see $OUT/bench.log)" >&2
      fi
      stop_broker
    done
  done
done

jq -s -r "$JQ_MEDIAN"'
  def r3: (. * 1000 | round) / 1000;
  (map(.case) | unique) as $cases
  | "| case | delivered msgs/s before | after | after/before | broker CPU µs/msg before | after | after/before |",
    "|---|---:|---:|---:|---:|---:|---:|",
    ($cases[] as $c
     | [.[] | select(.case == $c)] as $runs
     | ([$runs[] | select(.which == "before") | .report.delivered_rate] | median) as $rb
     | ([$runs[] | select(.which == "after") | .report.delivered_rate] | median) as $ra
     | ([$runs[] | select(.which == "before") | .report.broker.cpu_us_per_msg] | median) as $cb
     | ([$runs[] | select(.which == "after") | .report.broker.cpu_us_per_msg] | median) as $ca
     | "| \($c) | \($rb | round) | \($ra | round) | \($ra / $rb | r3) | \($cb | r3) | \($ca | r3) | \($ca / $cb | r3) |")
' "$RESULTS"
echo "($(jq -s length "$RESULTS") runs, $REPS repetitions, $(date -u +%FT%TZ), raw: $RESULTS)"
