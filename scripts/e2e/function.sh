#!/usr/bin/env bash
# End-to-end proof of the `function` pattern with the generated programs of its example
# (hook-intake and hook-lookup, two functions, and the hook-glossary dictionary they
# decorate), all on 127.0.0.1:
#   1. the decorator: hook-lookup in front of the real hook-glossary fills in the spec's
#      default word list, refuses an event without one (400, the reason named) before it
#      reaches the dictionary, and passes a valid one on, returning the dictionary's answer;
#   2. the pipeline: an event POSTed to hook-intake reaches hook-lookup with intake's
#      output (its default `source`, its stamp at hop 1) at hop 2, and hook-lookup's
#      output reaches the service it decorates (a recording stand-in here) at hop 3 with
#      the caller's request id;
#   3. a loop: the two functions made to deliver to each other (a -> b -> a, as the
#      fixture tests/fixtures/specs/function-loop.yaml renders it) stop at the hop limit:
#      422 hop_limit_exceeded, a log line, the metric, and exactly maxHops handled calls.
# Usage: function.sh PROOF   (PROOF/function is the rendered example)
# debian: python3
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/e2e/lib.sh
source "$here/lib.sh"
proof="$1"
ws="$proof/function/services"
[ -d "$ws/hook-intake" ] || e2e_fail "$ws has no hook-intake: render templates/function/example.yaml into $proof/function"
e2e_build "$ws"
intake="$E2E_BIN/hook-intake"
lookup="$E2E_BIN/hook-lookup"
glossary="$E2E_BIN/hook-glossary"
sink=(python3 "$here/function_sink.py")
json() { "${sink[@]}" get "$1" "$2"; }

# e2e_expect WHAT ACTUAL EXPECTED
e2e_expect() {
  [ "$2" = "$3" ] || e2e_fail "$1: got $2, expected $3"
  echo "function: $1 = $2"
}

# fresh_port: a free port no earlier call handed out (a program may not listen yet).
used=" "
fresh_port() {
  local port
  port=$(e2e_port)
  while [[ "$used" == *" $port "* ]]; do port=$(e2e_port); done
  used+="$port "
  FRESH=$port
}

# try_start NAME BINARY VAR=VALUE...: a program on port PORT_<NAME> (fresh if unset) and
# a fresh metrics port, waiting until it is ready. Returns 1 when it exits instead (a port
# taken in the meantime, by another program's outgoing connection, say), so the caller
# can try other ports; sets PORT_<NAME>, METRICS_<NAME> and PID_<NAME>.
try_start() {
  local name="$1" bin="$2" port metrics pid var="PORT_${1//-/_}" i
  shift 2
  port="${!var:-}"
  [ -n "$port" ] || { fresh_port; port=$FRESH; }
  fresh_port
  metrics=$FRESH
  e2e_start "$name" env PORT="$port" METRICS_PORT="$metrics" SHUTDOWN_DRAIN_SECONDS=0 \
    LOG_FORMAT=json POD_NAME="$name" "$@" "$bin"
  pid=$E2E_PID
  printf -v "$var" '%s' "$port"
  printf -v "METRICS_${name//-/_}" '%s' "$metrics"
  printf -v "PID_${name//-/_}" '%s' "$pid"
  for ((i = 0; i < 300; i++)); do
    curl -fsS -m 1 -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || { printf -v "$var" '%s' ""; return 1; }
    sleep 0.1
  done
  e2e_fail "$name did not become ready within 30s"
}

# start NAME BINARY VAR=VALUE...: try_start on fresh ports until one pair works.
start() {
  local attempt
  for attempt in 1 2 3 4 5; do
    try_start "$@" && return 0
    echo "function: $1 could not listen (attempt $attempt); other ports"
  done
  e2e_fail "$1 could not listen on 5 pairs of ports"
}

# post NAME PORT BODY [HEADER...]: POSTs BODY to / of 127.0.0.1:PORT; the answer's body in
# $e2e_work/NAME.json, its headers in $e2e_work/NAME.headers, its status in $STATUS.
post() {
  local name="$1" port="$2" body="$3"
  shift 3
  local args=()
  for header in "$@"; do args+=(-H "$header"); done
  STATUS=$(curl -sS -m 10 -o "$e2e_work/$name.json" -D "$e2e_work/$name.headers" -w '%{http_code}' \
    -H 'content-type: application/json' "${args[@]}" --data "$body" "http://127.0.0.1:$port/") \
    || e2e_fail "POST $name to :$port did not complete"
}

# metric PORT LINE-PREFIX: the value of the first metric line starting with the prefix (0 if none).
metric() {
  local text
  text=$(curl -fsS -m 2 "http://127.0.0.1:$1/metrics") || e2e_fail "no metrics on :$1"
  awk -v p="$2" 'index($0, p) == 1 && !found { print $NF; found = 1 } END { if (!found) print 0 }' <<<"$text"
}

# 1. The decorator in front of the real dictionary.
start glossary "$glossary"
start decorator "$lookup" DECORATES_URL="http://127.0.0.1:$PORT_glossary" DECORATES_PATH=/v1/lookups \
  FUNCTION_DEFAULTS='{"words": ["replica"]}' FUNCTION_REQUIRED=words
post defaulted "$PORT_decorator" '{}'
e2e_expect "decorator: status of {}" "$STATUS" 200
e2e_expect "decorator: the default word reached the dictionary" "$(json "$e2e_work/defaulted.json" .entries.0.word)" '"replica"'
post given "$PORT_decorator" '{"words": ["shard"]}'
e2e_expect "decorator: a given word is kept" "$(json "$e2e_work/given.json" .entries.0.word)" '"shard"'
post missing "$PORT_decorator" '{"words": null}'
e2e_expect "decorator: status without words" "$STATUS" 400
e2e_expect "decorator: the reason" "$(json "$e2e_work/missing.json" .message)" '"required field is missing: words"'
post list "$PORT_decorator" '["replica"]'
e2e_expect "decorator: status of a list" "$STATUS" 400
e2e_expect "decorator: the reason" "$(json "$e2e_work/list.json" .message)" \
  '"an event must be a JSON object to take defaults and required fields, not a list"'
e2e_expect "dictionary: lookups it received (the two valid ones only)" \
  "$(metric "$METRICS_glossary" 'http_requests_total{method="POST",route="/v1/lookups",status="2xx"}')" 2
e2e_expect "decorator: events counted invalid" "$(metric "$METRICS_decorator" 'function_events_total{outcome="invalid"}')" 2

# 2. The pipeline intake -> lookup -> (decorated) recording sink.
fresh_port
sink_port=$FRESH
records="$e2e_work/sink.jsonl"
e2e_start sink "${sink[@]}" serve "$sink_port" "$records"
e2e_wait_tcp "$sink_port"
start b "$lookup" DECORATES_URL="http://127.0.0.1:$sink_port" DECORATES_PATH=/v1/lookups \
  FUNCTION_DEFAULTS='{"words": ["replica"]}' FUNCTION_REQUIRED=words FUNCTION_MAX_HOPS=4
start a "$intake" NEXT_URL="http://127.0.0.1:$PORT_b" FUNCTION_DEFAULTS='{"source": "web"}' FUNCTION_MAX_HOPS=4
post pipeline "$PORT_a" '{"user": "ada"}' 'x-request-id: e2e-pipeline-1'
e2e_expect "pipeline: status" "$STATUS" 200
e2e_expect "pipeline: the decorated service got both stamps, hop 1 then 2" "$(json "$records" .body.handledBy)" \
  '[{"function":"hook-intake","hop":1},{"function":"hook-lookup","hop":2}]'
e2e_expect "pipeline: intake's default reached the end" "$(json "$records" .body.source)" '"web"'
e2e_expect "pipeline: lookup's default too" "$(json "$records" .body.words)" '["replica"]'
e2e_expect "pipeline: the event's own field" "$(json "$records" .body.user)" '"ada"'
e2e_expect "pipeline: path at the decorated service" "$(json "$records" .path)" '"/v1/lookups"'
e2e_expect "pipeline: hop count at the decorated service" "$(json "$records" '.headers.x-dpatterns-hops')" '"3"'
e2e_expect "pipeline: request id carried through" "$(json "$records" '.headers.x-request-id')" '"e2e-pipeline-1"'
e2e_expect "pipeline: the answer is the decorated service's" "$(json "$e2e_work/pipeline.json" .received.user)" '"ada"'
e2e_expect "pipeline: deliveries it received" "$(wc -l <"$records" | tr -d ' ')" 1

# 3. A loop: ping (intake's program) -> pong (lookup's) -> ping, maxHops 6 on both. pong
# learns ping's port before ping listens; if ping cannot take it, both start again.
for attempt in 1 2 3 4 5; do
  fresh_port
  PORT_ping=$FRESH
  start pong "$lookup" NEXT_URL="http://127.0.0.1:$PORT_ping" FUNCTION_MAX_HOPS=6
  try_start ping "$intake" NEXT_URL="http://127.0.0.1:$PORT_pong" FUNCTION_MAX_HOPS=6 && break
  kill -9 "$PID_pong" 2>/dev/null || true
  PORT_pong=""
  [ "$attempt" -lt 5 ] || e2e_fail "ping could not listen on 5 ports"
done
started=$(date +%s%N)
post loop "$PORT_ping" '{"user": "ada"}'
elapsed_ms=$(( ($(date +%s%N) - started) / 1000000 ))
e2e_expect "loop: status" "$STATUS" 422
e2e_expect "loop: error" "$(json "$e2e_work/loop.json" .error)" '"hop_limit_exceeded"'
e2e_expect "loop: refused at hop" "$(json "$e2e_work/loop.json" .hop)" 7
e2e_expect "loop: refused by" "$(json "$e2e_work/loop.json" .function)" '"hook-intake"'
pong_handled=$(metric "$METRICS_pong" 'function_events_total{outcome="handled"}')
ping_handled=$(metric "$METRICS_ping" 'function_events_total{outcome="handled"}')
e2e_expect "loop: calls handled (ping + pong), bounded by maxHops" "$((ping_handled + pong_handled))" 6
e2e_expect "loop: refusals counted at ping" "$(metric "$METRICS_ping" 'function_events_total{outcome="hop_limit"}')" 1
grep -q '"event refused: past its hop limit' "$e2e_work/ping.log" || e2e_fail "no log line for the refused event"
echo "function: loop cut after $((ping_handled + pong_handled)) handled calls in ${elapsed_ms} ms"
echo "function: ok"
