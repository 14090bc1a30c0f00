#!/usr/bin/env bash
# End-to-end test of the scatter-gather pattern: the generated root and three generated
# leaves on 127.0.0.1, as the catalog example renders them (services/<c>-root, <c>-leaf).
#   1. all leaves fast: the answer is complete and its hits equal, exactly, the answer of
#      one leaf holding the whole corpus (LEAVES=1), for the top-k and the union merge;
#   2. one leaf slow (the leaf's LEAF_DELAY_MS knob, 3 s): the answer arrives by the
#      deadline (measured), is marked partial, names the slow leaf as timed out, and holds
#      exactly the merge of the other two leaves' own answers;
#   3. with ALLOW_PARTIAL=false the same is a 503 naming the slow leaf, by the deadline;
#      after repeated time-outs the slow leaf's circuit breaker opens and the 503 comes at
#      once;
#   4. the request id sent to the root reaches every leaf's log, and the root's metrics
#      count the time-out per leaf.
# Usage: scatter-gather.sh PROOF   (PROOF/scatter-gather/ rendered from example.yaml)
# debian: curl python3
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

ws="$1/scatter-gather/services"
[ -d "$ws" ] || e2e_fail "$ws is missing: render templates/scatter-gather/example.yaml into $1/scatter-gather first"
e2e_build "$ws"
root_crate="$(basename "$(dirname "$(dirname "$(ls "$ws"/*/src/gather.rs)")")")"
leaf_crate="$(basename "$(dirname "$(dirname "$(ls "$ws"/*/src/corpus.rs)")")")"
root_bin="$E2E_BIN/$root_crate"
leaf_bin="$E2E_BIN/$leaf_crate"

deadline_ms=1000
leaf_timeout_ms=300
top_k=5

# start_leaf NAME INDEX COUNT [DELAY_MS]: a leaf on a free port; sets URL to its base.
# (Not in a subshell: lib.sh must see every process it has to stop.)
start_leaf() {
  local port metrics
  port=$(e2e_port)
  metrics=$(e2e_port)
  while [ "$metrics" = "$port" ]; do metrics=$(e2e_port); done
  LEAVES="$3" LEAF_INDEX="$2" LEAF_DELAY_MS="${4:-0}" PORT="$port" METRICS_PORT="$metrics" \
    SHUTDOWN_DRAIN_SECONDS=0 LOG_FORMAT=json e2e_start "$1" "$leaf_bin"
  e2e_wait_http "http://127.0.0.1:$port/readyz"
  URL="http://127.0.0.1:$port"
}

# start_root NAME MERGE LEAF_URLS [ALLOW_PARTIAL]: a root on a free port; sets URL and
# METRICS_URL.
start_root() {
  local port metrics
  port=$(e2e_port)
  metrics=$(e2e_port)
  while [ "$metrics" = "$port" ]; do metrics=$(e2e_port); done
  LEAF_URLS="$3" MERGE="$2" TOP_K="$top_k" LEAF_TIMEOUT_MS="$leaf_timeout_ms" \
    DEADLINE_MS="$deadline_ms" ALLOW_PARTIAL="${4:-true}" PORT="$port" METRICS_PORT="$metrics" \
    SHUTDOWN_DRAIN_SECONDS=0 LOG_FORMAT=json e2e_start "$1" "$root_bin"
  e2e_wait_http "http://127.0.0.1:$port/readyz"
  URL="http://127.0.0.1:$port"
  METRICS_URL="http://127.0.0.1:$metrics"
}

start_leaf leaf-0 0 3 && leaf0=$URL
start_leaf leaf-1 1 3 && leaf1=$URL
start_leaf leaf-2 2 3 && leaf2=$URL
start_leaf leaf-1-slow 1 3 3000 && slow1=$URL
start_leaf whole-corpus 0 1 && whole=$URL

start_root root-top-k top-k "$leaf0,$leaf1,$leaf2" && topk_root=$URL
start_root root-union union "$leaf0,$leaf1,$leaf2" && union_root=$URL
start_root root-slow top-k "$leaf0,$slow1,$leaf2" && slow_root=$URL && slow_metrics=$METRICS_URL
start_root root-strict top-k "$leaf0,$slow1,$leaf2" false && strict_root=$URL

check() {
  python3 "$here/scatter-gather_check.py" "$@" || e2e_fail "check $1 failed"
}
for query in "leaf latency" "the request" "shard ring"; do
  check complete "$topk_root" "$whole" "$query" "$top_k"
  check complete "$union_root" "$whole" "$query" 0
done
check partial "$slow_root" "leaf latency" "$top_k" "$deadline_ms" 1 "$leaf0" "$leaf2"
check refused "$strict_root" "leaf latency" "$deadline_ms" 1 "$leaf_timeout_ms"

# The request id of a call to the root is in every leaf's log.
curl -fsS -m 5 -H 'x-request-id: e2e-scatter-7' "$topk_root/v1/search?q=deadline" >/dev/null \
  || e2e_fail "search with a request id failed"
sleep 0.2
for log in leaf-0 leaf-1 leaf-2; do
  grep -q '"request_id":"e2e-scatter-7"' "$e2e_work/$log.log" \
    || e2e_fail "the request id did not reach $log"
done
metrics=$(curl -fsS -m 2 "$slow_metrics/metrics") || e2e_fail "the root's metrics do not answer"
grep -q 'scatter_leaf_calls_total{leaf="1",outcome="timed_out"} 1' <<<"$metrics" \
  || e2e_fail "the slow leaf's time-out is not counted: $(grep scatter_leaf_calls <<<"$metrics")"
grep -q 'scatter_answers_total{answer="partial"} 1' <<<"$metrics" \
  || e2e_fail "the partial answer is not counted"
grep -q 'scatter_leaf_call_duration_seconds_count{leaf="0"} 1' <<<"$metrics" \
  || e2e_fail "the leaves' latency is not measured"
echo "$e2e_name: ok"
