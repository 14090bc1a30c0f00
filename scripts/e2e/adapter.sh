#!/usr/bin/env bash
# End-to-end test of the adapter pattern's three generated programs, each started with the
# environment its rendered manifest gives it (scripts/e2e/adapter_env.py reads it from
# k8s/base/<host>.yaml), only the ports, addresses and paths of a pod moved to this test's:
#   metrics: against a stand-in application serving its JSON statistics (adapter_stats.py),
#     the rendered mapping's metrics are served with their values; the exposition passes
#     `promtool check metrics` (in the classic format, adapter_openmetrics.py) and a real
#     Prometheus scrapes and stores it; the statistics gone, `adapter_source_up` is 0 and
#     their metrics leave.
#   health: the rendered tcp check against a real listener, then an http and a command
#     check: /healthz on the health port answers 200, flips to 503 with the reason as JSON
#     when the check fails, and back to 200 when it passes again; the adapter's own probes
#     stay 200.
#   logging: the rendered regex format over a file rotated by rename (an unterminated last
#     line included) and by truncation: every line comes out once, in order, as a
#     normalized JSON record (adapter_records.py).
#   redis exporter (tests/fixtures/specs/adapter-kinds.yaml, rendered here): Debian's
#     build of the upstream exporter (1.45; the manifest pins the image v1.67.0) reads the
#     rendered environment's variables, answers the rendered probe path, and reports a
#     real redis-server up, in metrics promtool parses.
# debian: prometheus prometheus-redis-exporter redis-server curl python3
# Usage: scripts/e2e/adapter.sh PROOF
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project="$1/adapter"
repo="$(cd "$here/../.." && pwd)"
for host in legacy-ledger legacy-billing legacy-audit; do
  [ -f "$project/k8s/base/$host.yaml" ] || e2e_fail "$project/k8s/base/$host.yaml is not rendered"
done
e2e_build "$project/services"
work="$e2e_work"

# rendered_env HOST: the adapter container's environment in HOST's manifest, in a subshell.
rendered_env() {
  python3 "$here/adapter_env.py" "$project/k8s/base/$1.yaml" adapter >"$work/$1.env" ||
    e2e_fail "no adapter container in $1's manifest"
}

# --- metrics ------------------------------------------------------------------------------
rendered_env legacy-ledger
grep -q "^export STATS_URL=http://127.0.0.1:8080/v1/stats$" "$work/legacy-ledger.env" ||
  e2e_fail "the metrics adapter does not read the rendered statsUrl: $(cat "$work/legacy-ledger.env")"
stats_port="$(e2e_port)"
e2e_start stats python3 "$here/adapter_stats.py" "$stats_port"
stats_pid=$E2E_PID
e2e_wait_http "http://127.0.0.1:$stats_port/v1/stats"
m_port="$(e2e_port)"
m_metrics="$(e2e_port)"
e2e_start adapter-metrics env -i PATH="$PATH" bash -c "source '$work/legacy-ledger.env' &&
  export PORT=$m_port METRICS_PORT=$m_metrics STATS_URL=http://127.0.0.1:$stats_port/v1/stats \
    STATS_INTERVAL_SECONDS=1 SHUTDOWN_DRAIN_SECONDS=0 &&
  exec '$E2E_BIN/adapter-metrics'"
e2e_wait_http "http://127.0.0.1:$m_port/readyz" 60
for _ in $(seq 1 100); do
  curl -fsS -m 2 "http://127.0.0.1:$m_port/v1/source" 2>/dev/null | grep -q '"up":true' && break
  sleep 0.1
done
curl -fsS -m 2 "http://127.0.0.1:$m_metrics/metrics" >"$work/metrics.txt" || e2e_fail "no /metrics"
for sample in 'ledger_connections_active 3.0' 'ledger_requests_total{outcome="ok"} 990.0' \
  'ledger_requests_total{outcome="failed"} 10.0' 'ledger_cache_hit_ratio 0.93' 'adapter_source_up 1'; do
  grep -qxF "$sample" "$work/metrics.txt" || e2e_fail "/metrics lacks \`$sample\`: $(grep -v '^#' "$work/metrics.txt" | grep -E 'ledger|adapter')"
done
grep -q '^ledger_connections_total [0-9]' "$work/metrics.txt" || e2e_fail "/metrics lacks the connections counter"
grep -qxF '# TYPE ledger_requests counter' "$work/metrics.txt" || e2e_fail "ledger_requests is not one counter family"
python3 "$here/adapter_openmetrics.py" <"$work/metrics.txt" >"$work/classic.txt" ||
  e2e_fail "the exposition is not valid OpenMetrics"
promtool check metrics <"$work/classic.txt" >"$work/promtool.out" 2>&1 ||
  e2e_fail "promtool check metrics: $(cat "$work/promtool.out")"
[ ! -s "$work/promtool.out" ] || e2e_fail "promtool check metrics found problems: $(cat "$work/promtool.out")"
echo "adapter: metrics adapter serves the mapping ($(grep -c '^ledger_' "$work/metrics.txt") samples); promtool check metrics passes"

# A real Prometheus scrapes the adapter (OpenMetrics, natively) and stores the samples.
prom_port="$(e2e_port)"
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, scrape_timeout: 1s}
scrape_configs:
  - job_name: legacy-ledger-adapter
    static_configs: [{targets: ["127.0.0.1:$m_metrics"]}]
YAML
promtool check config "$work/prometheus.yml" >"$work/promtool-config.out" 2>&1 ||
  e2e_fail "promtool check config: $(cat "$work/promtool-config.out")"
e2e_start prometheus prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn
e2e_wait_http "http://127.0.0.1:$prom_port/-/ready" 60
query='ledger_requests_total{outcome="failed",job="legacy-ledger-adapter"}'
stored=""
for _ in $(seq 1 60); do
  stored=$(curl -fsS -m 2 -G "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$query" 2>/dev/null |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' || true)
  [ -n "$stored" ] && break
  sleep 0.5
done
[ "$stored" = 10 ] || e2e_fail "Prometheus did not store $query = 10 (got '$stored')"
echo "adapter: Prometheus scraped the adapter and stored $query = $stored"

# The application goes away: the source is down and its metrics are gone, not frozen.
kill "$stats_pid"
for _ in $(seq 1 50); do
  curl -fsS -m 2 "http://127.0.0.1:$m_metrics/metrics" >"$work/metrics-down.txt" 2>/dev/null || true
  grep -qxF 'adapter_source_up 0' "$work/metrics-down.txt" && break
  sleep 0.1
done
grep -qxF 'adapter_source_up 0' "$work/metrics-down.txt" || e2e_fail "adapter_source_up is not 0 without the application"
! grep -q '^ledger_' "$work/metrics-down.txt" || e2e_fail "the application's metrics outlived it"
echo "adapter: without the application, adapter_source_up 0 and no stale ledger_* samples"

# --- health -------------------------------------------------------------------------------
rendered_env legacy-billing
grep -q "^export HEALTH_CHECK=tcp:127.0.0.1:5432$" "$work/legacy-billing.env" ||
  e2e_fail "the health adapter does not run the rendered check: $(cat "$work/legacy-billing.env")"
db_port="$(e2e_port)"
start_db() {
  e2e_start database python3 -m http.server --bind 127.0.0.1 "$db_port"
  db_pid=$E2E_PID
  e2e_wait_tcp "$db_port"
}
start_db
# health_adapter NAME EXTRA-EXPORTS: the rendered environment, the check's port moved here.
health_adapter() {
  h_port="$(e2e_port)"
  h_metrics="$(e2e_port)"
  h_health="$(e2e_port)"
  e2e_start "$1" env -i PATH="$PATH" bash -c "source '$work/legacy-billing.env' &&
    export PORT=$h_port METRICS_PORT=$h_metrics HEALTH_PORT=$h_health HEALTH_INTERVAL_SECONDS=1 \
      HEALTH_CHECK=tcp:127.0.0.1:$db_port SHUTDOWN_DRAIN_SECONDS=0 $2 &&
    exec '$E2E_BIN/adapter-health'"
  health_pid=$E2E_PID
  e2e_wait_http "http://127.0.0.1:$h_port/readyz" 60
}
# verdict CODE [SECONDS]: until the health port's /healthz answers CODE; its body in verdict.json.
verdict() {
  local want="$1" limit="${2:-10}" code="" i
  for ((i = 0; i < limit * 10; i++)); do
    code=$(curl -s -m 2 -o "$work/verdict.json" -w '%{http_code}' "http://127.0.0.1:$h_health/healthz" || true)
    [ "$code" = "$want" ] && return 0
    sleep 0.1
  done
  e2e_fail "/healthz answered $code, not $want, within ${limit}s: $(cat "$work/verdict.json" 2>/dev/null)"
}
health_adapter adapter-health-tcp ""
verdict 200
grep -q '"healthy":true' "$work/verdict.json" || e2e_fail "a 200 verdict that is not healthy: $(cat "$work/verdict.json")"
grep -q "\"check\":\"tcp:127.0.0.1:$db_port\"" "$work/verdict.json" || e2e_fail "the verdict does not name its check"
kill "$db_pid"
verdict 503
python3 -c 'import json,sys; v=json.load(open(sys.argv[1])); assert v["healthy"] is False and v["reason"].startswith("cannot connect") and v["host"] == "legacy-billing", v' \
  "$work/verdict.json" || e2e_fail "the 503 verdict does not say why: $(cat "$work/verdict.json")"
reason=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["reason"])' "$work/verdict.json")
code=$(curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$h_port/healthz")
[ "$code" = 200 ] || e2e_fail "the adapter's own /healthz answered $code while the application was down"
start_db
verdict 200
echo "adapter: health adapter (tcp): 200, then 503 ($reason), then 200 again; its own probes stayed 200"
kill "$health_pid"

# An http check (the default's kind: the host's /healthz), against a real HTTP server.
kill "$db_pid"
e2e_start web python3 -m http.server --bind 127.0.0.1 "$db_port" --directory "$work"
web_pid=$E2E_PID
e2e_wait_tcp "$db_port"
health_adapter adapter-health-http "HEALTH_CHECK=http:http://127.0.0.1:$db_port/legacy-billing.env"
verdict 200
kill "$health_pid"
health_adapter adapter-health-http-404 "HEALTH_CHECK=http:http://127.0.0.1:$db_port/no-such-file"
verdict 503
grep -q '"reason":"answered 404 Not Found"' "$work/verdict.json" || e2e_fail "the http verdict: $(cat "$work/verdict.json")"
kill "$health_pid" "$web_pid"
echo "adapter: health adapter (http): 200 for a file served, 503 (answered 404 Not Found) for a missing one"

flag="$work/healthy.flag"
touch "$flag"
health_adapter adapter-health-command "HEALTH_CHECK=command HEALTH_COMMAND='[\"test\", \"-f\", \"$flag\"]'"
verdict 200
rm "$flag"
verdict 503
grep -q '"reason":"`test` exited with 1"' "$work/verdict.json" || e2e_fail "the command's verdict: $(cat "$work/verdict.json")"
touch "$flag"
verdict 200
echo "adapter: health adapter (command): 200, 503 (\`test\` exited with 1), 200"
kill "$health_pid"

# --- logging ------------------------------------------------------------------------------
rendered_env legacy-audit
grep -q '^export LOG_LINE_FORMAT=regex$' "$work/legacy-audit.env" || e2e_fail "the logging adapter's format is not the rendered regex"
log="$work/audit.log"
e2e_start adapter-logging env -i PATH="$PATH" bash -c "source '$work/legacy-audit.env' &&
  export PORT=$(e2e_port) METRICS_PORT=$(e2e_port) LOG_FILE='$log' LOG_POLL_MILLIS=50 SHUTDOWN_DRAIN_SECONDS=0 &&
  exec '$E2E_BIN/adapter-logging'"
records="$work/adapter-logging.log"
# records_at_least N: until N records (lines with a host) are out.
records_at_least() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(grep -cs "\"host\":\"legacy-audit\"" "$records" || true)" -ge "$1" ] 2>/dev/null && return 0
    sleep 0.1
  done
  e2e_fail "fewer than $1 records after 10s"
}
printf '2026-01-05 10:00:00 WARN [db] slow query took=250ms\n2026-01-05 10:00:01 INFO [api] request served\n' >>"$log"
records_at_least 2
# Rotation by rename, the old file's last line unterminated, then a new file.
printf '2026-01-05 10:00:02 ERROR [db] connection lost' >>"$log"
mv "$log" "$log.1"
sleep 0.3
printf '2026-01-05 10:00:03 INFO [db] reconnected\n' >>"$log"
records_at_least 4
# Rotation by truncation (copytruncate), then lines of the new start.
: >"$log"
sleep 0.3
printf '2026-01-05 10:00:04 CRITICAL [disk] volume full\na line of another shape\n' >>"$log"
records_at_least 6
sleep 0.3
summary=$(python3 "$here/adapter_records.py" "$records" legacy-audit \
  "slow query took=250ms" "request served" "connection lost" "reconnected" "volume full" \
  "a line of another shape") || e2e_fail "the records: $summary"
echo "adapter: logging adapter followed a rename and a truncation: $summary"

# --- exporter: redis ----------------------------------------------------------------------
bin="${DPATTERNS_BIN:-$repo/target/debug/dpatterns}"
mkdir -p "$work/kinds"
cp "$repo/tests/fixtures/specs/adapter-kinds.yaml" "$work/kinds/dpatterns.yaml"
"$bin" -q render -f "$work/kinds/dpatterns.yaml" || e2e_fail "dpatterns render of adapter-kinds.yaml"
python3 "$here/adapter_env.py" "$work/kinds/k8s/base/session-store.yaml" adapter >"$work/exporter.env" ||
  e2e_fail "no exporter in session-store's manifest"
grep -qx "export REDIS_ADDR=redis://127.0.0.1:6379" "$work/exporter.env" || e2e_fail "the exporter's address: $(cat "$work/exporter.env")"
grep -qx "export REDIS_EXPORTER_WEB_LISTEN_ADDRESS=:9121" "$work/exporter.env" || e2e_fail "the exporter's port: $(cat "$work/exporter.env")"
grep -q 'path: /health$' "$work/kinds/k8s/base/session-store.yaml" || e2e_fail "the exporter's probe is not /health"
grep -q 'image: oliver006/redis_exporter:v1.67.0$' "$work/kinds/k8s/base/session-store.yaml" || e2e_fail "the exporter's image is not the pinned one"
redis_port="$(e2e_port)"
e2e_start redis redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no --dir "$work"
e2e_wait_tcp "$redis_port"
x_port="$(e2e_port)"
e2e_start redis-exporter env -i PATH="$PATH" bash -c "source '$work/exporter.env' &&
  export REDIS_ADDR=redis://127.0.0.1:$redis_port REDIS_EXPORTER_WEB_LISTEN_ADDRESS=127.0.0.1:$x_port &&
  exec prometheus-redis-exporter"
e2e_wait_http "http://127.0.0.1:$x_port/health" 30
curl -fsS -m 5 "http://127.0.0.1:$x_port/metrics" >"$work/exporter.txt" || e2e_fail "the exporter's /metrics"
grep -qx 'redis_up 1' "$work/exporter.txt" || e2e_fail "the exporter does not see redis: $(grep '^redis_up' "$work/exporter.txt")"
# promtool parses the exposition; its naming lints (`_sec` abbreviations...) are about the
# upstream exporter's metric names, which the adapter does not choose, so they are counted,
# not failed on. A parse error fails.
promtool check metrics <"$work/exporter.txt" >"$work/promtool-exporter.out" 2>&1 || true
! grep -q 'error while linting' "$work/promtool-exporter.out" ||
  e2e_fail "promtool cannot parse the exporter's metrics: $(head -5 "$work/promtool-exporter.out")"
echo "adapter: the redis exporter reads the rendered environment: /health answers, redis_up 1," \
  "promtool parses its $(grep -c '^# TYPE' "$work/exporter.txt") metrics ($(wc -l <"$work/promtool-exporter.out") naming lints on upstream names)"
