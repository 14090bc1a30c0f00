#!/usr/bin/env bash
# Runs a generated replicated service as a process on 127.0.0.1 and checks its contract
# from outside: ready only after warm-up, the example route, /metrics counting the
# request, the correlation id echoed, and a clean exit on SIGTERM after draining.
# Usage: smoke-service.sh BINARY [ROUTE EXPECTED MISSING]
#   ROUTE must answer 200 with EXPECTED in its body and MISSING must answer 404; they
#   default to the replicated service's example (/v1/words/replica). ROUTE `-` skips the
#   route checks, for a program whose route needs another process (a back end, redis);
#   the correlation id is then checked on /healthz.
# (Bounded: every wait has a timeout; loopback only.)
set -euo pipefail

bin="$1"
route="${2:-/v1/words/replica}"
expected="${3:-\"word\":\"replica\"}"
missing="${4:-/v1/words/no-such-word}"
port=$(( 20000 + RANDOM % 20000 ))
base="http://127.0.0.1:$port"
log="$(mktemp)"
trap 'kill -9 "$pid" 2>/dev/null || true; rm -f "$log"' EXIT

PORT=$port SHUTDOWN_DRAIN_SECONDS=1 SHUTDOWN_GRACE_SECONDS=2 POD_NAME=smoke-0 \
  "$bin" >"$log" 2>&1 &
pid=$!

fail() { echo "smoke: $*"; echo "--- service log"; cat "$log"; exit 1; }

ready=""
for _ in $(seq 1 100); do
  if curl -fsS -m 1 "$base/readyz" >/dev/null 2>&1; then ready=yes; break; fi
  sleep 0.1
done
[ -n "$ready" ] || fail "not ready within 10 s"
curl -fsS -m 2 "$base/healthz" >/dev/null || fail "/healthz failed"

if [ "$route" = - ]; then
  curl -fsS -m 2 -H 'x-correlation-id: smoke-test-1' -D "$log.headers" "$base/healthz" >/dev/null \
    || fail "GET /healthz failed"
else
  body=$(curl -fsS -m 2 -H 'x-correlation-id: smoke-test-1' -D "$log.headers" "$base$route") \
    || fail "GET $route failed"
  grep -qF "$expected" <<<"$body" || fail "unexpected body: $body"
  code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$base$missing")
  [ "$code" = 404 ] || fail "$missing gave $code, not 404"
fi
grep -qi '^x-correlation-id: smoke-test-1' "$log.headers" || fail "correlation id not echoed"
rm -f "$log.headers"

metrics=$(curl -fsS -m 2 "$base/metrics") || fail "/metrics failed"
grep -q '^http_requests_total{.*status="2xx"' <<<"$metrics" || fail "/metrics lacks the request counter"
grep -q '^# TYPE http_request_duration_seconds histogram' <<<"$metrics" || fail "/metrics lacks the latency histogram"

kill -TERM "$pid"
for _ in $(seq 1 100); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
kill -0 "$pid" 2>/dev/null && fail "still running 10 s after SIGTERM"
wait "$pid" && status=0 || status=$?
[ "$status" = 0 ] || fail "exit status $status after SIGTERM"
grep -q 'smoke-0' "$log" || fail "the log does not name the replica (POD_NAME)"
if [ "$route" = - ]; then checked="no route"; else checked="route, 404"; fi
echo "smoke: $(basename "$bin") ok (ready, $checked, correlation id, metrics, SIGTERM drain)"
