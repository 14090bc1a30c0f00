#!/usr/bin/env bash
# End-to-end test of the work-queue pattern (templates/work-queue/example.yaml): its
# generated programs against a real redis-server on 127.0.0.1.
#  1. jobs mode's source answers the book's contract (ItemList, Item, 404, an empty
#     directory answers an empty list) from a directory and from a redis list, and the
#     worker run as a Job's pod handles the item at WORK_ITEM_FILE (exit 0, 1 for a
#     failing item, 2 for an unusable one).
#  2. queue mode: 500 items, three workers, one killed with SIGKILL while it holds items:
#     every item processed, none lost, redeliveries (and duplicates) only for the items the
#     killed worker held, the poison items dead-lettered after exactly MAX_ATTEMPTS.
#  3. SIGTERM: a worker stopped in the middle finishes its item, hands the rest back
#     without counting a delivery, and exits 0.
# Usage: work-queue.sh PROOF (the folder where test.sh rendered the examples)
# debian: redis-server curl python3
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/e2e/lib.sh
source "$here/lib.sh"

ws="$1/work-queue/services"
e2e_build "$ws"
source_bin="$E2E_BIN/thumbnailer-source"
worker_bin="$E2E_BIN/transcoder-worker"
job_worker_bin="$E2E_BIN/thumbnailer-worker"
rq() { python3 "$here/work-queue_redis.py" "$redis_port" "$@"; }
json_check() { python3 -c "import json,sys; d=json.load(sys.stdin); assert $1, d" || e2e_fail "$2"; }

redis_port="$(e2e_port)"
e2e_start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no
e2e_wait_tcp "$redis_port"

# --- 1. jobs mode: the source contract and the one-shot worker ----------------------------
items="$e2e_work/items"
mkdir -p "$items" "$e2e_work/empty"
printf '{"text": "hello work queue", "priority": 5}' >"$items/a.json"
printf '{"text": "second item"}' >"$items/b.json"
printf '\x00\x01\x02' >"$items/photo.jpg"
printf '{"text": "half written"}' >"$items/.c.json.part"

start_source() { # NAME PORT ENV...
  local name="$1" port="$2"
  shift 2
  e2e_start "$name" env PORT="$port" METRICS_PORT="$((port + 1))" SHUTDOWN_DRAIN_SECONDS=0 "$@" "$source_bin"
  e2e_wait_http "http://127.0.0.1:$port/readyz" 60
}
dir_port="$(e2e_port)"
start_source source-dir "$dir_port" SOURCE=directory SOURCE_DIRECTORY="$items"
base="http://127.0.0.1:$dir_port/api/v1/items"
curl -fsS "$base" | json_check \
  'd == {"kind": "ItemList", "apiVersion": "v1", "items": ["a.json", "b.json", "photo.jpg"], "priorities": {"a.json": 5}}' \
  "the directory source's ItemList"
curl -fsS "$base/a.json" | json_check \
  'd == {"kind": "Item", "apiVersion": "v1", "data": {"text": "hello work queue", "priority": 5}}' \
  "the directory source's Item"
curl -fsS "$base/photo.jpg" | json_check 'd["kind"] == "Item" and d["data"]["size"] == 3' "a media file's Item"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/nope")" = 404 ] || e2e_fail "an unknown item is not 404"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/.c.json.part")" = 404 ] || e2e_fail "a hidden file is served"
empty_port="$(e2e_port)"
start_source source-empty "$empty_port" SOURCE=directory SOURCE_DIRECTORY="$e2e_work/empty"
curl -fsS "http://127.0.0.1:$empty_port/api/v1/items" | json_check \
  'd == {"kind": "ItemList", "apiVersion": "v1", "items": []}' "an empty directory's ItemList"
gone_port="$(e2e_port)"
start_source source-gone "$gone_port" SOURCE=directory SOURCE_DIRECTORY="$e2e_work/no-such-dir"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$gone_port/api/v1/items")" = 503 ] ||
  e2e_fail "a missing directory does not answer 503 (an empty list would let the manager clean up)"

rq rpush e2e:list '{"name": "frame-1", "priority": 2, "data": {"text": "from redis"}}' 'frame-2' >/dev/null
list_port="$(e2e_port)"
start_source source-redis "$list_port" SOURCE=redis REDIS_URL="redis://127.0.0.1:$redis_port" SOURCE_LIST=e2e:list
curl -fsS "http://127.0.0.1:$list_port/api/v1/items" | json_check \
  'd == {"kind": "ItemList", "apiVersion": "v1", "items": ["frame-1", "frame-2"], "priorities": {"frame-1": 2}}' \
  "the redis source's ItemList"
curl -fsS "http://127.0.0.1:$list_port/api/v1/items/frame-1" | json_check \
  'd == {"kind": "Item", "apiVersion": "v1", "data": {"text": "from redis"}}' "the redis source's Item"

# The worker as a Job's pod runs it: the data at WORK_ITEM_FILE, as the manager mounts it.
curl -fsS "$base/a.json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["data"]))' >"$e2e_work/data.json"
out="$(WORK_QUEUE_MODE=jobs WORK_ITEM_FILE="$e2e_work/data.json" WORK_ITEM_NAME=a.json "$job_worker_bin" 2>/dev/null)" ||
  e2e_fail "the one-shot worker failed on a good item"
grep -q '"result":{"chars":16,"words":3}' <<<"$out" || e2e_fail "the one-shot worker printed: $out"
printf '{"text": "#poison"}' >"$e2e_work/poison.json"
status=0
WORK_QUEUE_MODE=jobs WORK_ITEM_FILE="$e2e_work/poison.json" "$job_worker_bin" >/dev/null 2>&1 || status=$?
[ "$status" = 1 ] || e2e_fail "a failing item exits $status, not 1"
printf '{not json' >"$e2e_work/broken.json"
status=0
WORK_QUEUE_MODE=jobs WORK_ITEM_FILE="$e2e_work/broken.json" "$job_worker_bin" >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || e2e_fail "an unusable item exits $status, not 2 (podFailurePolicy fails the Job on 2)"
echo "work-queue: jobs mode: the sources answer the contract; the one-shot worker exits 0/1/2"

# --- 2. queue mode: 500 items, three workers, one killed -----------------------------------
stream=e2e:items
group=e2e-workers
total=500
poison_every=50 # items 7, 57, ..., 457: 10 poison items
visibility=5
start_worker() { # NAME ENV...
  local name="$1" port
  shift
  port="$(e2e_port)"
  e2e_start "$name" env PORT="$port" METRICS_PORT="$((port + 1))" SHUTDOWN_DRAIN_SECONDS=0 \
    WORK_QUEUE_MODE=queue REDIS_URL="redis://127.0.0.1:$redis_port" QUEUE_STREAM="$stream" \
    QUEUE_GROUP="$group" MAX_ATTEMPTS=3 VISIBILITY_TIMEOUT_SECONDS="$visibility" RETRY_BACKOFF_MS=200 \
    PREFETCH=4 POD_NAME="$name" "$@" "$worker_bin"
  e2e_wait_http "http://127.0.0.1:$port/readyz" 60
  last_metrics="http://127.0.0.1:$((port + 1))/metrics"
}
rq enqueue "$stream" "$total" "$poison_every" 15
start_worker w1
w1_pid=$E2E_PID
start_worker w2
start_worker w3
metrics_w3="$last_metrics"
done_count() { rq settled "$stream"; }
for _ in $(seq 1 100); do
  [ "$(done_count)" -ge 50 ] && break
  sleep 0.05
done
kill -9 "$w1_pid"
wait "$w1_pid" 2>/dev/null || true
rq held "$stream" "$group" w1 | sort >"$e2e_work/held-by-w1"
held="$(wc -l <"$e2e_work/held-by-w1")"
[ "$held" -gt 0 ] || e2e_fail "w1 held no item when it was killed (nothing to prove)"
echo "work-queue: w1 killed at $(done_count) items done, holding $held"

deadline=$((SECONDS + 90))
while [ "$SECONDS" -lt "$deadline" ] && [ "$(done_count)" -lt "$total" ]; do sleep 0.2; done
[ "$(done_count)" -eq "$total" ] || e2e_fail "only $(done_count) of $total items settled within 90 s"
rq dump "$stream:results" >"$e2e_work/results"
rq dump "$stream:dead" >"$e2e_work/dead"
python3 - "$e2e_work" "$total" "$poison_every" <<'PY' || e2e_fail "the queue lost, repeated or mis-settled items"
import collections, json, sys
work, total, every = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
# Every claim of an expired entry, as the claiming workers logged it: an item held by a
# worker that lived can expire too on a starved machine, and is then rightly redelivered.
claimed_from_live = set()
for log in ("w2", "w3"):
    for line in open("%s/%s.log" % (work, log)):
        if '"claimed an entry whose visibility timeout expired"' in line:
            event = json.loads(line)
            if event["from"] != "w1":
                claimed_from_live.add(event["item"])
results = [json.loads(l) for l in open(work + "/results")]
dead = [json.loads(l) for l in open(work + "/dead")]
held = set(open(work + "/held-by-w1").read().split())
poison = {"item-%d" % i for i in range(total) if i % every == 7}
good = {"item-%d" % i for i in range(total)} - poison
names = collections.Counter(r["name"] for r in results)
assert set(names) == good, ("lost", sorted(good - set(names))[:10], "unexpected", sorted(set(names) - good)[:10])
expired = held | claimed_from_live
dups = {n for n, c in names.items() if c > 1}
assert dups <= expired, ("duplicates of items whose timeout never expired", sorted(dups - expired))
again = {r["name"] for r in results if int(r["attempt"]) > 1}
assert again <= expired, ("redelivered though their timeout never expired", sorted(again - expired))
held_good = held - poison
assert held_good <= again, ("w1's items not redelivered", sorted(held_good - again))
assert not any(r["consumer"] == "w1" and r["name"] in held for r in results), "w1 committed an item it held"
for r in results:
    res = json.loads(r["result"])
    assert res["words"] == 6, r
assert {d["name"] for d in dead} == poison and len(dead) == len(poison), ("dead letters", sorted(d["name"] for d in dead))
assert all(int(d["attempts"]) == 3 for d in dead), ("attempts", [d["attempts"] for d in dead])
assert all("poison" in d["error"] for d in dead), dead[0]
print("work-queue: %d results (%d distinct), %d duplicates, %d redelivered (w1 held %d; %d good items expired at a live worker), %d dead-lettered after 3 attempts"
      % (len(results), len(names), len(dups), len(again), len(held), len(claimed_from_live - poison), len(dead)))
PY
[ "$(rq count "$stream")" = 0 ] || e2e_fail "$(rq count "$stream") entries left in the stream"
[ "$(rq pending "$stream" "$group")" = 0 ] || e2e_fail "entries still pending"
curl -fsS "$metrics_w3" | grep -q '^work_queue_items_processed_total [1-9]' ||
  e2e_fail "w3's metrics count no processed item"

# --- 3. SIGTERM: finish the item in hand, hand the rest back ----------------------------------
stream=e2e:slow
group=e2e-slow
rq enqueue "$stream" 12 0 400 slow
start_worker s1
s1_pid=$E2E_PID
for _ in $(seq 1 50); do
  [ "$(rq pending "$stream" "$group")" -gt 0 ] && break
  sleep 0.1
done
# Into its first item (400 ms), so that one is in hand when the signal comes.
sleep 0.5
kill -TERM "$s1_pid"
status=0
for _ in $(seq 1 100); do kill -0 "$s1_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$s1_pid" 2>/dev/null && e2e_fail "s1 did not exit within 10 s of SIGTERM"
wait "$s1_pid" || status=$?
[ "$status" = 0 ] || e2e_fail "s1 exited $status on SIGTERM"
by_s1="$(rq count "$stream:results")"
[ "$by_s1" -ge 1 ] || e2e_fail "s1 did not finish the item in hand"
grep -q 'handed back on shutdown' "$e2e_work/s1.log" || e2e_fail "s1 handed nothing back"
start_worker s2
for _ in $(seq 1 100); do
  [ "$(rq count "$stream:results")" -ge 12 ] && break
  sleep 0.1
done
rq dump "$stream:results" >"$e2e_work/slow-results"
python3 - "$e2e_work/slow-results" <<'PY' || e2e_fail "the items s1 handed back were lost, repeated or counted as attempts"
import json, sys
results = [json.loads(l) for l in open(sys.argv[1])]
names = sorted(r["name"] for r in results)
assert names == sorted("slow-%d" % i for i in range(12)), names
assert all(r["attempt"] == "1" for r in results), [(r["name"], r["attempt"]) for r in results]
print("work-queue: SIGTERM: s1 finished %d item(s) and handed the rest back; s2 did them, each at attempt 1"
      % sum(r["consumer"] == "s1" for r in results))
PY
echo "work-queue: ok"
