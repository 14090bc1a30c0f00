#!/usr/bin/env bash
# Runs a generated coordinated-batch program (not a server: a Job's program) as its Jobs
# would, on 127.0.0.1 with a redis-server of its own: bad arguments and configuration exit
# 2, then the reducer and every map shard with the program's defaults (its built-in input,
# its shard count), after which the reducer has published the result in redis and exited 0.
# scripts/e2e/coordinated-batch.sh is the thorough test; this one runs every rendered batch
# program (the catalog example and `dpatterns new --pattern coordinated-batch`).
# Usage: smoke-batch.sh BINARY      (bounded: every wait has a timeout; loopback only)
set -euo pipefail

bin="$1"
work="$(mktemp -d)"
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"' EXIT
fail() {
  echo "smoke-batch: $*"
  for log in "$work"/*.log; do echo "--- $(basename "$log")"; tail -n 20 "$log"; done
  exit 1
}

status=0
"$bin" >"$work/usage.log" 2>&1 || status=$?
[ "$status" = 2 ] || fail "no role: exit $status, not 2"
status=0
"$bin" map >"$work/no-index.log" 2>&1 || status=$?
[ "$status" = 2 ] && grep -q JOB_COMPLETION_INDEX "$work/no-index.log" \
  || fail "map without JOB_COMPLETION_INDEX: exit $status, not 2 naming the variable"

port=$(( 26000 + RANDOM % 6000 ))
redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no >"$work/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  redis-cli -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -p "$port" ping >/dev/null 2>&1 || fail "redis-server did not start"
export REDIS_URL="redis://127.0.0.1:$port" REDIS_WAIT_SECONDS=5 BARRIER_TIMEOUT_SECONDS=60

: >"$work/reduce.log"
"$bin" reduce >>"$work/reduce.log" 2>&1 &
reducer=$!
pids+=("$reducer")
# The program's own shard count (the spec's `shards`), from its first log line.
shards=""
for _ in $(seq 1 50); do
  shards=$(sed -n 's/.*"shards":\([0-9]*\).*/\1/p' "$work/reduce.log" | head -1)
  [ -n "$shards" ] && break
  sleep 0.1
done
[ -n "$shards" ] || fail "the reducer did not log its shard count"
for ((i = 0; i < shards; i++)); do
  JOB_COMPLETION_INDEX=$i timeout 30 "$bin" map >>"$work/map.log" 2>&1 || fail "map shard $i failed"
done
for _ in $(seq 1 100); do
  kill -0 "$reducer" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$reducer" 2>/dev/null && fail "the reducer still runs 10 s after the last shard"
wait "$reducer" || fail "the reducer exited $?"
key=$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' "$work/reduce.log" | head -1)
[ -n "$key" ] && [ -n "$(redis-cli -p "$port" GET "$key")" ] || fail "no result published"
echo "smoke-batch: $(basename "$bin") ok (usage and missing JOB_COMPLETION_INDEX exit 2; $shards shards and the reducer: result at $key, exit 0)"
