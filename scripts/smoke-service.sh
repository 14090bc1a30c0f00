#!/usr/bin/env bash
# Runs a generated replicated service as a process on 127.0.0.1 and checks its contract
# from outside: ready only after warm-up, the example route, /metrics counting the
# request, the correlation id echoed, and a clean exit on SIGTERM after draining.
# Usage: smoke-service.sh BINARY   (bounded: every wait has a timeout; loopback only)
set -euo pipefail

bin="$1"
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

body=$(curl -fsS -m 2 -H 'x-correlation-id: smoke-test-1' -D "$log.headers" "$base/v1/words/replica") \
  || fail "GET /v1/words/replica failed"
grep -q '"word":"replica"' <<<"$body" || fail "unexpected body: $body"
grep -qi '^x-correlation-id: smoke-test-1' "$log.headers" || fail "correlation id not echoed"
rm -f "$log.headers"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 2 "$base/v1/words/no-such-word")
[ "$code" = 404 ] || fail "unknown word gave $code, not 404"

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
echo "smoke: $(basename "$bin") ok (ready, route, 404, correlation id, metrics, SIGTERM drain)"
