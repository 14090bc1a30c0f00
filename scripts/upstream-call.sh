#!/usr/bin/env bash
# Runs a generated service that calls another (the spec's `calls:`) against the real
# upstream binary, both on 127.0.0.1, and checks `common::Client` from outside:
#   1. the caller's example route answers with the upstream's entry, and the upstream's
#      log carries the request id the test sent to the caller (propagation);
#   2. with the upstream stopped, the caller answers 502 until its circuit breaker opens,
#      then 503 at once (no connection attempted), logs "circuit breaker opened", and its
#      metrics show the breaker open and the calls rejected.
# Usage: upstream-call.sh CALLER_BINARY UPSTREAM_BINARY
# (Bounded: every wait has a timeout; loopback only.)
set -euo pipefail

caller_bin="$1"
upstream_bin="$2"
base_port=$(( 20000 + RANDOM % 6000 ))
up_port=$base_port
caller_port=$(( base_port + 1 ))
caller="http://127.0.0.1:$caller_port"
work="$(mktemp -d)"
up_pid=""
caller_pid=""
cleanup() {
  [ -n "$up_pid" ] && kill -9 "$up_pid" 2>/dev/null || true
  [ -n "$caller_pid" ] && kill -9 "$caller_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "upstream-call: $*"
  echo "--- upstream log"; cat "$work/upstream.log"
  echo "--- caller log"; cat "$work/caller.log"
  exit 1
}

wait_ready() {
  local url="$1" _
  for _ in $(seq 1 100); do
    curl -fsS -m 1 "$url/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

# Each process gets its own metrics port too, so the two never compete for 9090.
PORT=$up_port METRICS_PORT=$(( base_port + 2 )) SHUTDOWN_DRAIN_SECONDS=0 LOG_FORMAT=json \
  "$upstream_bin" >"$work/upstream.log" 2>&1 &
up_pid=$!
caller_metrics="http://127.0.0.1:$(( base_port + 3 ))/metrics"
PORT=$caller_port METRICS_PORT=$(( base_port + 3 )) SHUTDOWN_DRAIN_SECONDS=0 LOG_FORMAT=json \
  UPSTREAM_URL="http://127.0.0.1:$up_port" UPSTREAM_BREAKER_FAILURES=3 \
  UPSTREAM_BREAKER_COOL_DOWN_MS=60000 UPSTREAM_MAX_ATTEMPTS=2 \
  "$caller_bin" >"$work/caller.log" 2>&1 &
caller_pid=$!
wait_ready "http://127.0.0.1:$up_port" || fail "the upstream was not ready within 10 s"
wait_ready "$caller" || fail "the caller was not ready within 10 s"

# 1. A call through, with a request id the upstream must log.
id="upstream-call-$RANDOM$RANDOM"
body=$(curl -fsS -m 5 -H "x-request-id: $id" "$caller/v1/upstream/words/replica") ||
  fail "GET /v1/upstream/words/replica failed"
grep -qF '"word":"replica"' <<<"$body" || fail "unexpected body: $body"
grep -qF '"definition":' <<<"$body" || fail "no definition in: $body"
grep -qF '"source":' <<<"$body" || fail "no source in: $body"
logged=""
for _ in $(seq 1 20); do
  grep -qF "$id" "$work/upstream.log" && { logged=yes; break; }
  sleep 0.1
done
[ -n "$logged" ] || fail "the upstream's log lacks the caller's request id $id"

# 2. The upstream goes away: failures, then the breaker opens and fails fast.
kill -TERM "$up_pid"
wait "$up_pid" || true
up_pid=""
statuses=()
for _ in 1 2 3 4; do
  statuses+=("$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$caller/v1/upstream/words/replica")")
done
# Two attempts per call and three failures to open: the second call opens it.
[ "${statuses[0]}" = 502 ] || fail "first call without upstream gave ${statuses[0]}, not 502"
[ "${statuses[3]}" = 503 ] || fail "calls after the breaker opened gave ${statuses[*]}, not ending in 503"
grep -q 'circuit breaker opened' "$work/caller.log" || fail "the caller did not log the breaker opening"
out=$(curl -s -o "$work/open.json" -D "$work/open.headers" -w '%{http_code} %{time_total}' -m 5 \
  "$caller/v1/upstream/words/replica")
read -r code seconds <<<"$out"
[ "$code" = 503 ] || fail "open breaker gave $code, not 503"
grep -qF '"error":"upstream_unavailable"' "$work/open.json" || fail "503 body: $(cat "$work/open.json")"
grep -qi '^retry-after: [1-9]' "$work/open.headers" || fail "503 without Retry-After"
awk -v s="$seconds" 'BEGIN { exit !(s < 0.5) }' || fail "open breaker took ${seconds}s to answer"
metrics=$(curl -fsS -m 2 "$caller_metrics") || fail "the caller's metrics port did not answer"
grep -q '^upstream_circuit_breaker_state{upstream="[^"]*"} 1$' <<<"$metrics" ||
  fail "metrics do not show the breaker open: $(grep upstream_ <<<"$metrics")"
grep -q '^upstream_calls_total{upstream="[^"]*",outcome="rejected"} [1-9]' <<<"$metrics" ||
  fail "metrics count no rejected call: $(grep upstream_ <<<"$metrics")"

kill -TERM "$caller_pid"
wait "$caller_pid" && status=0 || status=$?
caller_pid=""
[ "$status" = 0 ] || fail "caller exit status $status after SIGTERM"
echo "upstream-call: ok (request id reached the upstream; breaker opened after ${statuses[*]}; open answer in ${seconds}s)"
