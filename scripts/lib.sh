# Helpers shared by the scripts in this folder (sourced, not run).

# wait_port PORT: wait up to 10 s until something accepts connections on 127.0.0.1:PORT.
wait_port() {
  for _ in $(seq 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  echo "nothing listens on port $1" >&2
  return 1
}

# stop_broker [SIGNAL]: end the broker whose PID is in $BROKER_PID (TERM, or the signal given),
# wait up to 30 s for it to exit, then KILL it; clears BROKER_PID. A no-op when it is empty.
stop_broker() {
  if [ -n "${BROKER_PID:-}" ]; then
    kill -"${1:-TERM}" "$BROKER_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$BROKER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
    BROKER_PID=""
  fi
}

# median: the median of the numbers on stdin, one a line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The same for jq programs: prepend "$JQ_MEDIAN" to define `median` on an array (null when empty).
# shellcheck disable=SC2034 # used by the scripts that source this file
JQ_MEDIAN='def median: sort | if length == 0 then null elif length % 2 == 1 then .[(length - 1) / 2] else (.[length / 2 - 1] + .[length / 2]) / 2 end;'
