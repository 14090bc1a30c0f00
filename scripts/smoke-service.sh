#!/usr/bin/env bash
# Runs a generated program as a process on 127.0.0.1 and checks its contract from outside:
# ready only after warm-up, the example route, unmatched paths answering a JSON 404, the
# `x-request-id` echoed and the caller's `traceparent` trace id in the log, metrics on
# their own port (request counter and latency histogram, process metrics, no probe
# counted), and a clean exit 0 on SIGTERM after draining.
# Usage: smoke-service.sh BINARY [ROUTE EXPECTED MISSING]
#   ROUTE must answer 200 with EXPECTED in its body and MISSING must answer 404; they
#   default to the replicated service's example (/v1/words/replica). ROUTE `-` skips the
#   route checks, for a program whose route needs another process (a back end, redis);
#   the request id is then checked on /healthz.
#   With SLOW_POST=PATH in the environment (the replicated service's /v1/lookups), the
#   SIGTERM arrives while a POST to PATH is in flight, its JSON body sent slowly by the
#   client: that request must still be answered 200 in full before the process exits 0.
# (Bounded: every wait has a timeout; loopback only.)
set -euo pipefail

bin="$1"
route="${2:-/v1/words/replica}"
expected="${3:-\"word\":\"replica\"}"
missing="${4:-/v1/words/no-such-word}"
slow_post="${SLOW_POST:-}"
port=$(( 20000 + RANDOM % 6000 ))
metrics_port=$(( port + 1 ))
base="http://127.0.0.1:$port"
metrics_base="http://127.0.0.1:$metrics_port"
work="$(mktemp -d)"
log="$work/service.log"
trap 'kill -9 "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

# The grace period outlasts the slow request below (about 5 s of upload).
PORT=$port METRICS_PORT=$metrics_port SHUTDOWN_DRAIN_SECONDS=1 SHUTDOWN_GRACE_SECONDS=15 \
  POD_NAME=smoke-0 "$bin" >"$log" 2>&1 &
pid=$!

fail() { echo "smoke: $*"; echo "--- service log"; cat "$log"; exit 1; }

ready=""
for _ in $(seq 1 100); do
  if curl -fsS -m 1 "$base/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "not ready within 10 s"
curl -fsS -m 2 "$base/healthz" >/dev/null || fail "/healthz failed"
# The image's HEALTHCHECK: the binary asks its own server, over IPv4 loopback.
PORT=$port METRICS_PORT=$metrics_port timeout 10 "$bin" healthcheck || fail "\`healthcheck\` failed"

trace=4bf92f3577b34da6a3ce929d0e0e4736
ids=(-H 'x-request-id: smoke-test-1' -H "traceparent: 00-$trace-00f067aa0ba902b7-01")
if [ "$route" = - ]; then
  curl -fsS -m 2 "${ids[@]}" -D "$work/headers" "$base/healthz" >/dev/null \
    || fail "GET /healthz failed"
else
  body=$(curl -fsS -m 2 "${ids[@]}" -D "$work/headers" "$base$route") \
    || fail "GET $route failed"
  grep -qF "$expected" <<<"$body" || fail "unexpected body: $body"
  code=$(curl -s -o "$work/missing" -w '%{http_code}' -m 2 "$base$missing")
  [ "$code" = 404 ] || fail "$missing gave $code, not 404"
  grep -q "\"trace_id\":\"$trace\"" "$log" || fail "the caller's trace id is not in the log"
fi
grep -qi '^x-request-id: smoke-test-1' "$work/headers" || fail "request id not echoed"

# A path no route matches answers a JSON error, whatever the program.
code=$(curl -s -o "$work/unmatched" -w '%{http_code}' -m 2 "$base/no/such/route")
[ "$code" = 404 ] || fail "/no/such/route gave $code, not 404"
grep -q '"error":"not_found"' "$work/unmatched" || fail "unmatched body: $(cat "$work/unmatched")"

# Metrics live on their own port only.
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$base/metrics")
[ "$code" = 404 ] || fail "/metrics on the service's port gave $code, not 404"
metrics=$(curl -fsS -m 2 "$metrics_base/metrics") || fail "/metrics on METRICS_PORT failed"
if [ "$route" != - ]; then
  grep -q '^http_requests_total{.*status="2xx"' <<<"$metrics" || fail "/metrics lacks the request counter"
fi
grep -q '^# TYPE http_request_duration_seconds histogram' <<<"$metrics" || fail "/metrics lacks the latency histogram"
grep -q '^process_cpu_seconds_total ' <<<"$metrics" || fail "/metrics lacks the process metrics"
grep -q '^process_resident_memory_bytes ' <<<"$metrics" || fail "/metrics lacks the process memory"
if grep -q 'route="/\(healthz\|readyz\|metrics\)"' <<<"$metrics"; then
  fail "probes or scrapes were counted as traffic"
fi

if [ -n "$slow_post" ]; then
  # 1000 words, about 10 KB, uploaded at 2 KB/s: the request is in flight for ~5 s.
  {
    printf '{"words":['
    for i in $(seq 1 999); do printf '"replica",'; done
    printf '"replica"]}'
  } >"$work/slow.json"
  curl -sS -m 30 --limit-rate 2K -H 'content-type: application/json' \
    --data-binary @"$work/slow.json" -o "$work/slow.out" -w '%{http_code}' \
    "$base$slow_post" >"$work/slow.code" 2>"$work/slow.err" &
  slow=$!
  sleep 1.5
  kill -0 "$slow" 2>/dev/null || fail "the slow request ended before SIGTERM: $(cat "$work/slow.err")"
fi

kill -TERM "$pid"
for _ in $(seq 1 200); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 20 s after SIGTERM"
wait "$pid" && status=0 || status=$?
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
grep -q 'smoke-0' "$log" || fail "the log does not name the replica (POD_NAME)"

checked="drain"
if [ -n "$slow_post" ]; then
  wait "$slow" || fail "the slow request failed: $(cat "$work/slow.err")"
  [ "$(cat "$work/slow.code")" = 200 ] || fail "the slow request got $(cat "$work/slow.code")"
  entries=$(grep -o '"word":"replica"' "$work/slow.out" | wc -l)
  [ "$entries" = 1000 ] || fail "the slow request's answer has $entries entries, not 1000"
  # It was in flight when the signal came: the log says SIGTERM before it finished.
  signal_line=$(grep -n 'received SIGTERM' "$log" | head -1 | cut -d: -f1)
  done_line=$(grep -n "\"path\":\"$slow_post\"" "$log" | grep 'request finished' | head -1 | cut -d: -f1)
  [ -n "$signal_line" ] && [ -n "$done_line" ] && [ "$signal_line" -lt "$done_line" ] \
    || fail "the slow request was not in flight at SIGTERM"
  checked="a slow request in flight answered in full"
fi
if [ "$route" = - ]; then answered="no route"; else answered="route, 404"; fi
echo "smoke: $(basename "$bin") ok (ready, $answered, JSON 404, request id, trace id, metrics port with process metrics and no probes, SIGTERM: $checked, exit 0)"
