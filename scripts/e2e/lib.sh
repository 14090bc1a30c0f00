# Shared by the end-to-end tests in scripts/e2e/ (sourced, not run): free loopback ports,
# bounded waits, processes stopped when the test exits whatever happens, and one way to
# fail with the logs of everything the test started.
# Every wait has a timeout; everything listens on 127.0.0.1 only.

e2e_name="$(basename "${BASH_SOURCE[1]:-e2e}" .sh)"
e2e_work="$(mktemp -d)"
e2e_pids=()

e2e_cleanup() {
  local pid
  for pid in "${e2e_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$e2e_work"
}
trap e2e_cleanup EXIT

# A port nothing listens on now, from a range apart from the smoke tests' (20000-31999)
# and below Linux's ephemeral ports (32768 and up, net.ipv4.ip_local_port_range), so an
# outgoing connection cannot take it between this check and the server's bind.
e2e_port() {
  local port
  while :; do
    port=$((10000 + RANDOM % 10000))
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
  done
}

# e2e_start NAME COMMAND... : runs COMMAND in the background, output in $e2e_work/NAME.log;
# sets E2E_PID to its pid. Stopped (kill -9) when the test exits.
e2e_start() {
  local name="$1"
  shift
  "$@" >"$e2e_work/$name.log" 2>&1 &
  E2E_PID=$!
  e2e_pids+=("$E2E_PID")
}

e2e_fail() {
  echo "$e2e_name: FAILED: $*"
  local log
  for log in "$e2e_work"/*.log; do
    [ -f "$log" ] || continue
    echo "--- $(basename "$log")"
    tail -n 40 "$log"
  done
  exit 1
}

# e2e_wait_tcp PORT [SECONDS]: until something accepts on 127.0.0.1:PORT.
e2e_wait_tcp() {
  local port="$1" limit="${2:-20}" i
  for ((i = 0; i < limit * 10; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
    sleep 0.1
  done
  e2e_fail "nothing listens on 127.0.0.1:$port after ${limit}s"
}

# e2e_wait_http URL [SECONDS]: until URL answers 2xx.
e2e_wait_http() {
  local url="$1" limit="${2:-20}" i
  for ((i = 0; i < limit * 10; i++)); do
    curl -fsS -m 1 -o /dev/null "$url" 2>/dev/null && return 0
    sleep 0.1
  done
  e2e_fail "$url did not answer 2xx within ${limit}s"
}

# e2e_build WORKSPACE: builds a generated workspace (already fetched by the test stage
# before) and leaves its programs in $E2E_BIN (the shared CARGO_TARGET_DIR's debug folder).
e2e_build() {
  bash "$(dirname "${BASH_SOURCE[0]}")/../fresh-crates.sh" "$1" || e2e_fail "fresh-crates.sh $1"
  (cd "$1" && cargo build --locked --offline --quiet) || e2e_fail "cargo build in $1"
}
E2E_BIN="${CARGO_TARGET_DIR:?CARGO_TARGET_DIR must name the generated workspaces\' target}/debug"
