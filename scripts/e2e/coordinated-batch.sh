#!/usr/bin/env bash
# End-to-end proof of the coordinated-batch pattern: the generated batch program of the
# catalog example (census) against a real redis-server on 127.0.0.1. Four map shards
# (the program with JOB_COMPLETION_INDEX=0..3, as the Indexed Job runs it) and the
# reducer, started first as when both Jobs are created together:
#   - with one shard held back, the reducer has folded the other three (the reduce
#     overlaps the map phase) but is still waiting and has published nothing;
#   - once the last shard is released it publishes, and the result is exactly the census
#     of the input as computed independently (coordinated-batch_census.py): cities and
#     people per region and the population-weighted age histogram;
#   - a retried shard keeps its first partial; a shard with another shard count fails
#     with exit 3; a barrier that does not open in time fails the reducer with exit 3,
#     naming the missing shard, and publishes nothing.
# Usage: scripts/e2e/coordinated-batch.sh PROOF   (PROOF/coordinated-batch rendered from
# templates/coordinated-batch/example.yaml); CARGO_TARGET_DIR names the shared target.
# debian: redis-server
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
proof="$1"
census="$here/coordinated-batch_census.py"

e2e_build "$proof/coordinated-batch/services"
bin="$E2E_BIN/census"
[ -x "$bin" ] || e2e_fail "no census program in $E2E_BIN"

port="$(e2e_port)"
e2e_start redis redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no
e2e_wait_tcp "$port"
cli() { redis-cli -h 127.0.0.1 -p "$port" "$@"; }

input="$e2e_work/cities.csv"
python3 "$census" input 1000 "$input"
batch="e2e-$$"
result_key="coordinated-batch:{$batch}:result"
export REDIS_URL="redis://127.0.0.1:$port" INPUT_FILE="$input" LOG_FORMAT=json \
  REDIS_WAIT_SECONDS=10 BARRIER_TIMEOUT_SECONDS=60

# map_shard INDEX [VAR=VALUE...]: one pod of the map Job; prints its exit status.
map_shard() {
  local index="$1" status=0
  shift
  env BATCH_ID="$batch" SHARDS=4 JOB_COMPLETION_INDEX="$index" "$@" "$bin" map \
    >>"$e2e_work/map-$index.log" 2>&1 || status=$?
  echo "$status"
}

# until_log FILE PATTERN SECONDS: waits (bounded) for PATTERN in FILE.
until_log() {
  local i
  for ((i = 0; i < $3 * 10; i++)); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  e2e_fail "no $2 in $(basename "$1") within $3 s"
}

# 1. The reducer first, then three of the four shards.
BATCH_ID="$batch" SHARDS=4 e2e_start reduce "$bin" reduce
reducer=$E2E_PID
for index in 2 0 1; do
  [ "$(map_shard "$index")" = 0 ] || e2e_fail "map shard $index failed"
done
until_log "$e2e_work/reduce.log" '"folded":3' 10
sleep 1
kill -0 "$reducer" 2>/dev/null || e2e_fail "the reducer stopped with shard 3 held back"
[ "$(cli EXISTS "$result_key")" = 0 ] || e2e_fail "a result was published before the barrier opened"
grep -q 'barrier is open' "$e2e_work/reduce.log" && e2e_fail "the reducer says the barrier opened with shard 3 held back"
held="reducer waiting with 3 of 4 partials folded, nothing published"

# 2. Release the last shard: the barrier opens and the result is published.
[ "$(map_shard 3)" = 0 ] || e2e_fail "map shard 3 failed"
for ((i = 0; i < 100; i++)); do
  kill -0 "$reducer" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$reducer" 2>/dev/null && e2e_fail "the reducer still runs 10 s after the last shard"
status=0
wait "$reducer" || status=$?
[ "$status" = 0 ] || e2e_fail "the reducer exited $status"
published="$(cli GET "$result_key")"
[ -n "$published" ] || e2e_fail "no result at $result_key"
summary="$(python3 "$census" check "$input" "$published")" || e2e_fail "wrong result: $summary"
grep -q '"folded":4' "$e2e_work/reduce.log" || e2e_fail "the reducer did not fold shard 3"
grep -q 'result published' "$e2e_work/reduce.log" || e2e_fail "the reducer did not log its result"

# 3. A retried shard (a pod the Job replaced) keeps the partial recorded first, even if
#    its input changed meanwhile; a shard expecting another shard count fails at once.
before="$(cli HGET "coordinated-batch:{$batch}:partials" 1)"
head -n 500 "$input" >"$e2e_work/changed.csv"
[ "$(map_shard 1 INPUT_FILE="$e2e_work/changed.csv")" = 0 ] || e2e_fail "the retried shard failed"
grep -q 'done before' "$e2e_work/map-1.log" || e2e_fail "the retry did not notice its shard was done"
[ "$(cli HGET "coordinated-batch:{$batch}:partials" 1)" = "$before" ] || e2e_fail "the retry replaced the partial"
[ "$(map_shard 0 SHARDS=5)" = 3 ] || e2e_fail "a shard with another shard count did not exit 3"

# 4. A barrier that does not open in time: exit 3, the missing shard named, nothing published.
timeout_batch="$batch-late"
status=0
env BATCH_ID="$timeout_batch" SHARDS=2 JOB_COMPLETION_INDEX=0 "$bin" map >"$e2e_work/late-map.log" 2>&1 || status=$?
[ "$status" = 0 ] || e2e_fail "map shard 0 of the late batch failed"
status=0
env BATCH_ID="$timeout_batch" SHARDS=2 BARRIER_TIMEOUT_SECONDS=2 timeout 20 "$bin" reduce \
  >"$e2e_work/late-reduce.log" 2>&1 || status=$?
[ "$status" = 3 ] || e2e_fail "the timed-out reducer exited $status, not 3"
grep -q 'shards \[1\]' "$e2e_work/late-reduce.log" || e2e_fail "the timeout does not name shard 1"
[ "$(cli EXISTS "coordinated-batch:{$timeout_batch}:result")" = 0 ] || e2e_fail "a timed-out batch published a result"

echo "coordinated-batch: ok ($held; then published: $summary; retried shard kept its partial; shard count mismatch exit 3; barrier timeout exit 3 naming shard 1)"
