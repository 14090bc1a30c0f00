#!/usr/bin/env bash
# End-to-end test of the inference-service pattern: the generated gateway on 127.0.0.1 in
# front of a stub OpenAI-compatible model server (inference-service_stub.py; no weights),
# as the catalog example renders it (services/<c>-gateway).
#   1. rollout: 20 % of 2,000 users go to the candidate (± 3 %), and each user gets the
#      same model again, named by the x-user-id header or by the request's `user` field;
#   2. streaming: the client reads the first event more than a second before the stub
#      sends its last (events 300 ms apart): passed through chunk by chunk, not buffered;
#   3. deadline: a request slower than the deadline is a 504 `deadline_exceeded` at the
#      deadline, and the next request is served at once on the only slot (the slot freed);
#   4. limit: 12 slow requests at once with 3 slots are all served, and the stub never
#      sees more than 3 at once; with one slot and one queue place, a third is a 429 with
#      Retry-After;
#   5. the metrics per model count the answers, the time to first token, tokens per second
#      and the queue time;
#   6. the fetch Job's script, as rendered in the ConfigMap, downloads once: a second run
#      finds the marker file and does nothing (python replaced by a recorder).
# Usage: inference-service.sh PROOF   (PROOF/inference-service/ rendered from example.yaml)
# debian: curl python3
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/lib.sh"

project="$1/inference-service"
ws="$project/services"
[ -d "$ws" ] || e2e_fail "$ws is missing: render templates/inference-service/example.yaml into $project first"
e2e_build "$ws"
gateway_crate="$(basename "$(dirname "$(dirname "$(ls "$ws"/*/src/rollout.rs)")")")"
gateway_bin="$E2E_BIN/$gateway_crate"

stub_port=$(e2e_port)
e2e_start stub python3 "$here/inference-service_stub.py" "$stub_port"
e2e_wait_http "http://127.0.0.1:$stub_port/health"
stub="http://127.0.0.1:$stub_port"

# start_gateway NAME VAR=VALUE...: a gateway on free ports in front of the stub, with the
# given settings; sets URL and METRICS_URL.
start_gateway() {
  local name="$1" port metrics setting
  shift
  port=$(e2e_port)
  metrics=$(e2e_port)
  while [ "$metrics" = "$port" ]; do metrics=$(e2e_port); done
  (
    for setting in "$@"; do export "${setting?}"; done
    MODEL=small MODEL_URL="$stub" PORT="$port" METRICS_PORT="$metrics" \
      SHUTDOWN_DRAIN_SECONDS=0 LOG_FORMAT=json exec "$gateway_bin"
  ) >"$e2e_work/$name.log" 2>&1 &
  e2e_pids+=("$!")
  e2e_wait_http "http://127.0.0.1:$port/readyz"
  URL="http://127.0.0.1:$port"
  METRICS_URL="http://127.0.0.1:$metrics"
}

drive() {
  python3 "$here/inference-service_driver.py" "$@" || e2e_fail "driver $1"
}

start_gateway rollout CANDIDATE_MODEL=big CANDIDATE_URL="$stub" CANDIDATE_PERCENT=20 \
  MAX_CONCURRENT=3 MAX_QUEUED=32 DEADLINE_MS=5000
wide=$URL
wide_metrics=$METRICS_URL
drive rollout "$wide" 20 2000
drive stream "$wide" "$stub"
drive limit "$wide" "$stub" 3 12

start_gateway narrow MAX_CONCURRENT=1 MAX_QUEUED=1 DEADLINE_MS=1000 QUEUE_TIMEOUT_MS=3000
narrow=$URL
drive deadline "$narrow" 1000
drive queue "$narrow"

metrics=$(curl -fsS -m 2 "$wide_metrics/metrics") || e2e_fail "the gateway's metrics do not answer"
for line in \
  'inference_requests_total{model="big",status_class="2xx"}' \
  'inference_requests_total{model="small",status_class="2xx"}' \
  'inference_time_to_first_token_seconds_count{model="small"} 1' \
  'inference_tokens_per_second_count{model="big"}' \
  'inference_queue_seconds_count{model="small"}' \
  'inference_in_flight{model="small"} 0'; do
  grep -qF "$line" <<<"$metrics" || e2e_fail "the metrics lack $line: $(grep '^inference_' <<<"$metrics" | head -20)"
done
narrow_metrics=$(curl -fsS -m 2 "${METRICS_URL}/metrics") || e2e_fail "the narrow gateway's metrics do not answer"
grep -qF 'inference_requests_total{model="small",status_class="5xx"} 1' <<<"$narrow_metrics" \
  || e2e_fail "the 504 is not counted: $(grep '^inference_requests' <<<"$narrow_metrics")"
grep -qF 'inference_requests_total{model="small",status_class="4xx"} 1' <<<"$narrow_metrics" \
  || e2e_fail "the 429 is not counted: $(grep '^inference_requests' <<<"$narrow_metrics")"

# The fetch script as rendered (the ConfigMap's fetch.sh), run twice against a folder, with
# `python` a recorder that stands in for pip and huggingface-cli.
awk '/^  fetch.sh: \|/ {on=1; next} on && /^    / {print substr($0, 5); next} on {exit}' \
  "$project"/k8s/base/*.yaml >"$e2e_work/fetch.sh"
grep -q 'dpatterns-complete' "$e2e_work/fetch.sh" || e2e_fail "no fetch.sh in the rendered ConfigMap"
mkdir -p "$e2e_work/bin" "$e2e_work/models" "$e2e_work/tmp"
cat >"$e2e_work/bin/python" <<'SH'
#!/bin/sh
echo "$*" >>"$CALLS"
case "$*" in *huggingface_cli\ download*) touch "$MODELS_DIR/$MODEL/model.gguf" ;; esac
SH
chmod +x "$e2e_work/bin/python"
fetch() {
  PATH="$e2e_work/bin:$PATH" CALLS="$e2e_work/calls" MODEL=tiny MODELS_DIR="$e2e_work/models" \
    TMPDIR="$e2e_work/tmp" REPO=acme/tiny REVISION=main FILE=tiny.gguf HF_HUB_VERSION=0.26.5 \
    sh "$e2e_work/fetch.sh" >>"$e2e_work/fetch.log" 2>&1 || e2e_fail "fetch.sh failed"
}
fetch
[ -f "$e2e_work/models/tiny/.dpatterns-complete" ] && [ -f "$e2e_work/models/tiny/model.gguf" ] \
  || e2e_fail "the first fetch left no model and marker"
grep -q 'huggingface_cli download acme/tiny --revision main --local-dir .*/models/tiny tiny.gguf' \
  "$e2e_work/calls" || e2e_fail "the download was not asked for: $(cat "$e2e_work/calls")"
fetch
[ "$(wc -l <"$e2e_work/calls")" = 2 ] || e2e_fail "the second fetch ran again: $(cat "$e2e_work/calls")"
grep -q 'already on the volume' "$e2e_work/fetch.log" || e2e_fail "the second fetch did not say it skipped"
echo "fetch: the rendered fetch.sh downloaded once (pip and the hub called once), the second run found the marker"
echo "$e2e_name: ok"
