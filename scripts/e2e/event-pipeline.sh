#!/usr/bin/env bash
# End-to-end proof of the event-pipeline pattern against a real redis-server on loopback,
# each stage run as its rendered Deployment configures it (its env, read from the
# rendered manifest), from the catalog example (splitter → filter → merger → copier →
# sharder):
# - 1,000 documents and one poison item go in; exactly the expected 750 ids (the blank
#   short documents dropped by the filter) reach the merger's output, each once, and the
#   copier's and the sharder's outputs hold the same 750;
# - the poison item lands in the splitter's dead-letter stream after its retry limit
#   (RETRY_LIMIT attempts, counted in the stage's metrics), and nothing else does;
# - the merger, killed (SIGKILL) while messages it had read were unsettled, and started
#   again under another pod name, loses nothing: the new replica claims them after the
#   visibility timeout, and writes none twice.
# Usage: event-pipeline.sh PROOF   (PROOF/event-pipeline is the rendered example)
# debian: redis-server
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
proof="$1"
project="$proof/event-pipeline"
component=doc-pipeline
driver="$here/event-pipeline_feed.py"
n=1000

e2e_build "$project/services"
bin="$E2E_BIN/$component"
[ -x "$bin" ] || e2e_fail "no binary $bin"

redis_port=$(e2e_port)
e2e_start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$e2e_work"
e2e_wait_tcp "$redis_port"
cli() { redis-cli -p "$redis_port" "$@"; }
key() { echo "$component:$1"; }

python3 "$driver" env "$project/k8s/base/$component.yaml" >"$e2e_work/stages.env"
[ "$(wc -l <"$e2e_work/stages.env")" -eq 5 ] || e2e_fail "expected 5 stage Deployments, found: $(cat "$e2e_work/stages.env")"
retry_limit=$(sed -n 's/^split .*RETRY_LIMIT=\([0-9]*\).*/\1/p' "$e2e_work/stages.env")
[ -n "$retry_limit" ] || e2e_fail "no RETRY_LIMIT in the splitter's env"

declare -A metrics_of
# start_stage STAGE POD [VAR=value...]: the stage as rendered, on loopback ports, with a
# short backoff; waits until it is ready (connected, consumer groups made). A port that
# was free when picked may be taken before the stage binds it (the pick races with every
# outgoing connection of the machine): then the stage exits at once, and it is started
# again on other ports.
start_stage() {
  local stage="$1" pod="$2" vars port metrics try i
  shift 2
  vars=$(sed -n "s/^$stage //p" "$e2e_work/stages.env")
  [ -n "$vars" ] || e2e_fail "no rendered stage $stage"
  for try in 1 2 3; do
    port=$(e2e_port)
    metrics=$(e2e_port)
    while [ "$metrics" = "$port" ]; do metrics=$(e2e_port); done
    # shellcheck disable=SC2086 # the rendered NAME=value pairs, one word each
    e2e_start "$pod" env $vars PORT="$port" METRICS_PORT="$metrics" POD_NAME="$pod" \
      REDIS_URL="redis://127.0.0.1:$redis_port" RETRY_BACKOFF_MS=50 LOG_FORMAT=text "$@" "$bin"
    metrics_of[$stage]=$metrics
    for ((i = 0; i < 200; i++)); do
      curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
      kill -0 "$E2E_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -0 "$E2E_PID" 2>/dev/null && e2e_fail "stage $pod not ready within 20s"
    grep -q 'cannot listen' "$e2e_work/$pod.log" || e2e_fail "stage $pod exited"
    echo "event-pipeline: $pod: a port was taken meanwhile (try $try); again on others"
  done
  e2e_fail "stage $pod could not listen, three times"
}

# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds.
wait_for() {
  local limit="$1" what="$2" i
  shift 2
  for ((i = 0; i < limit * 10; i++)); do
    "$@" && return 0
    sleep 0.1
  done
  e2e_fail "$what: not within ${limit}s"
}
len() { cli XLEN "$(key "$1")"; }
total_is() { # TOTAL STREAM...
  local want="$1" sum=0 s
  shift
  for s in "$@"; do sum=$((sum + $(len "$s"))); done
  [ "$sum" -eq "$want" ]
}
# The item ids of a stream's entries, sorted.
ids() { cli XRANGE "$(key "$1")" - + | awk 'prev == "id" { print } { prev = $0 }' | sort; }
pending() { cli XPENDING "$(key "$1")" "$2" | head -n 1; }

python3 "$driver" expected "$n" | sort >"$e2e_work/expected"
want=$(wc -l <"$e2e_work/expected")

start_stage split split-a
start_stage drop-blank drop-blank-a
start_stage drop-blank drop-blank-b
start_stage audit audit-a
start_stage shard shard-a

start=$SECONDS
python3 "$driver" feed "$n" "$(key incoming)" | cli --pipe >"$e2e_work/feed.log" 2>&1 ||
  e2e_fail "feeding failed: $(cat "$e2e_work/feed.log")"
[ "$(len incoming)" -eq $((n + 1)) ] || e2e_fail "incoming holds $(len incoming), not $((n + 1))"

# Up to the merger's inputs; the poison item through its retries to the dead letters.
wait_for 60 "$want documents in kept + long" total_is "$want" kept long
wait_for 30 "the poison item in split's dead letters" total_is 1 split:dead

# The merger starts on a full backlog, reads it in one batch and is frozen, then killed,
# while messages it read are still unsettled.
start_stage join join-a BATCH_SIZE=1000 VISIBILITY_TIMEOUT_SECONDS=2
join_pid=$E2E_PID
caught=""
for ((i = 0; i < 2000; i++)); do
  if [ "$(pending kept join)" -gt 0 ] || [ "$(pending long join)" -gt 0 ]; then
    kill -STOP "$join_pid"
    caught=yes
    break
  fi
  sleep 0.005
done
[ -n "$caught" ] || e2e_fail "the merger settled everything before it could be killed mid-run"
unsettled=$(($(pending kept join) + $(pending long join)))
written=$(len indexed)
{ kill -KILL "$join_pid" && wait "$join_pid"; } 2>/dev/null || true
[ "$unsettled" -gt 0 ] || e2e_fail "no message was unsettled when the merger was killed"
echo "event-pipeline: merger killed with $unsettled messages unsettled, $written written"

start_stage join join-b VISIBILITY_TIMEOUT_SECONDS=2
wait_for 60 "$want documents in indexed after the restart" total_is "$want" indexed
wait_for 60 "$want documents in archive" total_is "$want" archive
wait_for 60 "$want documents over the author shards" total_is "$want" author-0 author-1 author-2
elapsed=$((SECONDS - start))

# Exactly the expected ids, each once, at the end of every branch.
ids indexed >"$e2e_work/indexed"
diff -u "$e2e_work/expected" "$e2e_work/indexed" >"$e2e_work/diff" ||
  e2e_fail "indexed differs from the expected ids: $(head -n 20 "$e2e_work/diff")"
ids archive >"$e2e_work/archive"
cmp -s "$e2e_work/expected" "$e2e_work/archive" || e2e_fail "archive differs from the expected ids"
{ ids author-0; ids author-1; ids author-2; } | sort >"$e2e_work/shards"
cmp -s "$e2e_work/expected" "$e2e_work/shards" || e2e_fail "the author shards differ from the expected ids"
for s in 0 1 2; do
  [ "$(len "author-$s")" -gt 0 ] || e2e_fail "shard author-$s got nothing"
done
# One author, one shard: the sharder's key decides.
for s in 0 1 2; do
  cli XRANGE "$(key "author-$s")" - + | grep -o '"author": "author-[0-9]*"' | sort -u | sed "s/^/author-$s /"
done >"$e2e_work/authors"
[ "$(cut -d' ' -f2- "$e2e_work/authors" | sort | uniq -d | wc -l)" -eq 0 ] ||
  e2e_fail "an author is on two shards: $(cat "$e2e_work/authors")"

# The poison item, and nothing else, dead-lettered after RETRY_LIMIT attempts.
cli XRANGE "$(key split:dead)" - + >"$e2e_work/dead"
grep -qx poison-1 "$e2e_work/dead" || e2e_fail "the dead letter is not poison-1: $(cat "$e2e_work/dead")"
attempts=$(awk 'prev == "attempts" { print } { prev = $0 }' "$e2e_work/dead")
[ "$attempts" = "$retry_limit" ] || e2e_fail "poison-1 dead after $attempts attempts, not $retry_limit"
for s in drop-blank join audit shard; do
  [ "$(len "$s:dead")" -eq 0 ] || e2e_fail "stage $s dead-lettered something"
done
split_metrics=$(curl -fsS -m 2 "http://127.0.0.1:${metrics_of[split]}/metrics")
grep -q "^pipeline_messages_retried_total{stage=\"split\"} $((retry_limit - 1))\$" <<<"$split_metrics" ||
  e2e_fail "split's retried counter is not $((retry_limit - 1)): $(grep pipeline_ <<<"$split_metrics")"
grep -q '^pipeline_messages_dead_lettered_total{stage="split"} 1$' <<<"$split_metrics" ||
  e2e_fail "split's dead-letter counter is not 1"
grep -q "^pipeline_messages_processed_total{stage=\"split\"} $n\$" <<<"$split_metrics" ||
  e2e_fail "split's processed counter is not $n"

# Nothing left unsettled anywhere.
for pair in "incoming split" "short drop-blank" "kept join" "long join" "indexed audit" "by-author shard"; do
  read -r stream group <<<"$pair"
  [ "$(pending "$stream" "$group")" -eq 0 ] || e2e_fail "$group left messages of $stream unsettled"
done

echo "event-pipeline: $n documents + 1 poison item: $want delivered to indexed, archive and the 3 author shards (each once), 1 dead-lettered after $attempts attempts, in ${elapsed}s"
