#!/usr/bin/env bash
# End-to-end test of monitoring (book, 2nd ed. ch. 14): the rendered Prometheus
# configuration and alerting rules pass promtool, the rendered unit tests of the rules pass
# (`promtool test rules`: each alert fires past its threshold and not below, NoTraffic fires
# on silence), the rendered Grafana dashboard is JSON with a row per component, and a real
# Prometheus scrapes the running generated services of the example: after traffic, its
# query API returns the request counter, labelled by component, pod and namespace; the
# example's batch (`ledger`, a coordinated batch) pushes how its map pods ended to a real
# Pushgateway, which Prometheus scrapes (honor_labels), and BatchRunFailed fires for the
# failed one.
# debian: prometheus prometheus-pushgateway redis-server curl
#
# The configuration discovers pods through the Kubernetes API, which a test does not have
# and which Debian's Prometheus is built without; monitoring_static.py therefore writes a
# COPY in which only the `kubernetes_sd_configs` block becomes static targets carrying the
# labels Kubernetes discovery gives (so the rendered relabelling runs on them as rendered),
# the rule file's path points at the extracted alerts.yml, and for the run the intervals are
# 1s and the Pushgateway's target (its Service's name) is the test's. Everything else is
# checked and run as rendered.
# Usage: scripts/e2e/monitoring.sh PROOF
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project="$1/monitoring"
manifest="$project/k8s/base/observatory.yaml"
[ -f "$manifest" ] || e2e_fail "$manifest is not rendered"
work="$e2e_work"
extract() { python3 "$here/replicated-service_extract.py" "$manifest" "$1" >"$work/$1"; }

# --- the rendered files, through promtool
for key in prometheus.yml alerts.yml alerts-test.yml shop.json; do extract "$key"; done
(cd "$work" && promtool check rules alerts.yml) >"$work/check-rules.log" 2>&1 ||
  e2e_fail "promtool check rules refused the rendered alerts.yml: $(cat "$work/check-rules.log")"
rules="$(sed -n 's/.*SUCCESS: \([0-9]*\) rules found.*/\1/p' "$work/check-rules.log")"
echo "monitoring: promtool check rules accepts the rendered alerts.yml ($rules rules)"
(cd "$work" && promtool test rules alerts-test.yml) >"$work/test-rules.log" 2>&1 ||
  e2e_fail "promtool test rules failed on the rendered unit tests: $(cat "$work/test-rules.log")"
cases="$(grep -c 'alertname:' "$work/alerts-test.yml")"
echo "monitoring: promtool test rules passes the rendered unit tests ($cases alert checks)"
for alert in HighLatency ServerErrors ClientErrors LowTraffic NoTraffic BatchRunFailed; do
  grep -q "alertname: $alert" "$work/alerts-test.yml" || e2e_fail "no unit test of $alert"
done

python3 - "$work/shop.json" <<'EOF' || e2e_fail "the rendered dashboard is not what Grafana loads"
import json, sys
board = json.load(open(sys.argv[1]))
rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
assert rows == ["storefront (replicated-service)", "pricing (replicated-service)", "ledger (coordinated-batch)"], rows
exprs = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
assert any('status=\\"5xx\\"' in e or 'status="5xx"' in e for e in exprs), exprs
assert any("histogram_quantile(0.99" in e for e in exprs), exprs
EOF
echo "monitoring: the rendered dashboard is JSON with a row per component"

app_meta() { # PORT_NAME COMPONENT POD PART_OF -> the labels Kubernetes discovery would give
  printf '{"__meta_kubernetes_pod_container_port_name": "%s", "__meta_kubernetes_pod_label_app_kubernetes_io_name": "%s", "__meta_kubernetes_pod_name": "%s", "__meta_kubernetes_pod_label_app_kubernetes_io_part_of": "%s", "__meta_kubernetes_namespace": "shop", "__meta_kubernetes_pod_phase": "Running", "__meta_kubernetes_pod_container_name": "%s"}' \
    "$1" "$2" "$3" "$4" "$2"
}
echo "[{\"target\": \"127.0.0.1:1\", \"labels\": $(app_meta metrics storefront storefront-0 shop)}]" >"$work/one.json"
python3 "$here/monitoring_static.py" "$work/prometheus.yml" "$work/check.yml" "$work/alerts.yml" "$work/one.json"
promtool check config "$work/check.yml" >"$work/check-config.log" 2>&1 ||
  e2e_fail "promtool check config refused the rendered prometheus.yml: $(cat "$work/check-config.log")"
echo "monitoring: promtool check config accepts the rendered prometheus.yml"

# --- a real Prometheus scraping the generated services
e2e_build "$project/services"
front_port="$(e2e_port)"
front_metrics="$(e2e_port)"
pricing_port="$(e2e_port)"
pricing_metrics="$(e2e_port)"
prom_port="$(e2e_port)"
redis_port="$(e2e_port)"
pg_port="$(e2e_port)"
e2e_start pricing env PORT="$pricing_port" METRICS_PORT="$pricing_metrics" DRAIN_SECONDS=0 "$E2E_BIN/pricing"
e2e_start storefront env PORT="$front_port" METRICS_PORT="$front_metrics" DRAIN_SECONDS=0 \
  UPSTREAM_URL="http://127.0.0.1:$pricing_port" "$E2E_BIN/storefront"
e2e_wait_http "http://127.0.0.1:$front_port/readyz" 30
e2e_wait_http "http://127.0.0.1:$pricing_port/readyz" 30

# Four targets: the two metrics ports are kept; storefront's application port (named
# `http`) and a pod of another system are dropped by the rendered relabelling.
cat >"$work/targets.json" <<EOF
[
  {"target": "127.0.0.1:$front_metrics", "labels": $(app_meta metrics storefront storefront-0 shop)},
  {"target": "127.0.0.1:$pricing_metrics", "labels": $(app_meta metrics pricing pricing-0 shop)},
  {"target": "127.0.0.1:$front_port", "labels": $(app_meta http storefront storefront-0 shop)},
  {"target": "127.0.0.1:$pricing_metrics", "labels": $(app_meta metrics pricing pricing-0 other)}
]
EOF
python3 "$here/monitoring_static.py" "$work/prometheus.yml" "$work/run.yml" "$work/alerts.yml" \
  "$work/targets.json" --interval 1s --pushgateway "127.0.0.1:$pg_port"

# The batch: two map pods of `ledger` push as they end, one done (exit 0), one refused
# (no JOB_COMPLETION_INDEX: exit 2), through common::push, each grouped by its place in the
# batch (`map-0`, `map`), not by its pod's name (new on every run).
e2e_start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
e2e_start pushgateway prometheus-pushgateway --web.listen-address="127.0.0.1:$pg_port"
e2e_wait_tcp "$redis_port"
e2e_wait_http "http://127.0.0.1:$pg_port/-/ready" 30
python3 "$here/coordinated-batch_census.py" input 50 "$work/cities.csv"
push_env=(BATCH_ID="e2e-$$" SHARDS=1 REDIS_URL="redis://127.0.0.1:$redis_port" INPUT_FILE="$work/cities.csv"
  PUSHGATEWAY_URL="http://127.0.0.1:$pg_port" LOG_FORMAT=json)
status=0
env "${push_env[@]}" JOB_COMPLETION_INDEX=0 POD_NAME=ledger-2026-11-map-0-x7k2q "$E2E_BIN/ledger" map \
  >"$work/ledger-map-0.log" 2>&1 || status=$?
[ "$status" -eq 0 ] || e2e_fail "ledger map 0 exited $status"
status=0
env "${push_env[@]}" POD_NAME=ledger-2026-11-map-1-p9z3m "$E2E_BIN/ledger" map >"$work/ledger-map-1.log" 2>&1 || status=$?
[ "$status" -eq 2 ] || e2e_fail "ledger map without an index exited $status, not 2"
curl -sS -m 5 "http://127.0.0.1:$pg_port/metrics" >"$work/pushed.txt"
grep -q '^batch_run_success{instance="map-0",job="ledger"} 1$' "$work/pushed.txt" ||
  e2e_fail "the Pushgateway has no successful run of map-0: $(grep batch_run "$work/pushed.txt")"
grep -q '^batch_run_success{instance="map",job="ledger"} 0$' "$work/pushed.txt" ||
  e2e_fail "the Pushgateway has no failed run of map: $(grep batch_run "$work/pushed.txt")"
! grep -q 'x7k2q\|p9z3m' "$work/pushed.txt" || e2e_fail "a pod's name is a grouping label"
echo "monitoring: the batch's two map pods pushed their runs (exit 0 and exit 2 kept as exit codes)"
e2e_start prometheus prometheus --config.file="$work/run.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$prom_port"
e2e_wait_http "http://127.0.0.1:$prom_port/-/ready" 30
api="http://127.0.0.1:$prom_port/api/v1"

sent=30
for i in $(seq "$sent"); do
  word=replica
  [ $((i % 3)) -eq 0 ] && word="no-such-word-$i"
  curl -sS -m 5 -o /dev/null "http://127.0.0.1:$front_port/v1/words/$word" || e2e_fail "storefront did not answer"
done
echo "monitoring: sent $sent requests to storefront (a third of them for unknown words)"

# query EXPR -> the JSON answer of the query API
query() { curl -sS -m 5 --get --data-urlencode "query=$1" "$api/query"; }
counted=""
for _ in $(seq 60); do
  counted="$(query 'sum(http_requests_total{job="pods",component="storefront",route="/v1/words/{word}"})' |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')"
  [ "$counted" -ge "$sent" ] && break
  sleep 0.5
done
[ "$counted" -eq "$sent" ] || e2e_fail "Prometheus counts $counted requests to storefront, not $sent"
echo "monitoring: Prometheus's query API returns http_requests_total = $counted for storefront"

query 'http_requests_total{job="pods",component="storefront"}' >"$work/series.json"
python3 - "$work/series.json" <<'EOF' || e2e_fail "the scraped series lack the rendered labels: $(cat "$work/series.json")"
import json, sys
result = json.load(open(sys.argv[1]))["data"]["result"]
statuses = {r["metric"]["status"]: int(float(r["value"][1])) for r in result}
assert statuses == {"2xx": 20, "4xx": 10}, statuses
for r in result:
    m = r["metric"]
    assert (m["pod"], m["namespace"], m["container"]) == ("storefront-0", "shop", "storefront"), m
    assert "customer" not in m and "path" not in m, m
EOF
echo "monitoring: the series carry component, pod and namespace; 20 2xx and 10 4xx kept apart"

# The kept targets must all be scraped and up; one only just discovered has not had its
# first scrape yet (health "unknown"), so the answer is asked again for a while.
targets_check() {
  curl -sS -m 5 "$api/targets" >"$work/targets-answer.json" &&
    python3 - "$work/targets-answer.json" 2>"$work/targets-check.log" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))["data"]
pods = [t for t in data["activeTargets"] if t["labels"]["job"] == "pods"]
kept = sorted(t["labels"]["component"] for t in pods)
assert kept == ["pricing", "storefront"], kept
assert all(t["health"] == "up" for t in pods), pods
dropped = [t for t in data["droppedTargets"] if t["discoveredLabels"]["job"] == "pods"]
assert len(dropped) == 2, dropped
EOF
}
targets_ok=""
for _ in $(seq 40); do
  if targets_check; then
    targets_ok=yes
    break
  fi
  sleep 0.5
done
[ -n "$targets_ok" ] ||
  e2e_fail "the targets are not the rendered relabelling's: $(cat "$work/targets-check.log") $(cat "$work/targets-answer.json")"
echo "monitoring: 2 targets kept (the ports named metrics), 2 dropped (an http port, another system's pod)"

# The pushed runs through Prometheus (the job and instance they were pushed under), and the
# alert for the failed one, evaluated by the rendered rule.
pushed=""
for _ in $(seq 60); do
  pushed="$(query 'batch_run_success{job="ledger"}' | python3 -c 'import json,sys
r = json.load(sys.stdin)["data"]["result"]
print(" ".join(sorted(m["metric"]["instance"] + "=" + m["value"][1] for m in r)))')"
  [ "$pushed" = "map-0=1 map=0" ] && break
  sleep 0.5
done
[ "$pushed" = "map-0=1 map=0" ] || e2e_fail "Prometheus has the pushed runs as '$pushed'"
echo "monitoring: Prometheus scraped the pushed runs under their own job and instance: $pushed"
firing=""
for _ in $(seq 60); do
  firing="$(query 'ALERTS{alertname="BatchRunFailed",alertstate="firing"}' |
    python3 -c 'import json,sys; print(" ".join(m["metric"]["instance"] for m in json.load(sys.stdin)["data"]["result"]))')"
  [ -n "$firing" ] && break
  sleep 0.5
done
[ "$firing" = "map" ] || e2e_fail "BatchRunFailed fires for '$firing', not the failed map"
echo "monitoring: BatchRunFailed fires for the failed map pod only"

rules_loaded="$(curl -sS -m 5 "$api/rules" | python3 -c 'import json,sys; print(sum(len(g["rules"]) for g in json.load(sys.stdin)["data"]["groups"]))')"
[ "$rules_loaded" = "$rules" ] || e2e_fail "Prometheus loaded $rules_loaded rules, not $rules"
echo "monitoring: Prometheus loaded the $rules_loaded rendered rules"
