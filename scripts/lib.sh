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
