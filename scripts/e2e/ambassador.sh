#!/usr/bin/env bash
# End-to-end proof of the ambassador pattern (book ch. 3 / 2nd ed. ch. 4).
# Usage: scripts/e2e/ambassador.sh PROOF
#   PROOF/ambassador/ is the catalog example as test.sh renders it: basket-api with a
#   sharding ambassador over the memcached shards of basket-cache, quote-api with a
#   splitting one, orders-api with a broker.
# shard: the ConfigMap's nutcracker.yml, as rendered, passes `nutcracker -t` and listens on
#   127.0.0.1; with only the servers' addresses rewritten to three local memcached (names
#   kept: ketama places keys by name), 300 keys through it each land on exactly one
#   server, the one twemproxy's ketama picks (scripts/e2e/sharded-service_driver.py).
# split: the generated ambassador-split between two upstreams with a shadow that answers
#   after 2 s: 2,000 users send a request each, then again: 10 % +- 3 of the users in the
#   experiment, every user on one variant both times, no answer delayed by the shadow
#   (slowest under 1 s), and copies reaching the shadow, with the drops over the bound
#   counted in /metrics.
# broker: the generated ambassador-broker from a loopback port to a real redis-server:
#   PING, SET and GET through it, bytes and connections counted; the endpoint stopped, a
#   connection through the broker fails and is counted.
# debian: memcached redis-server nutcracker curl python3
set -euo pipefail

proof="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/e2e/lib.sh
source "$here/lib.sh"
sharded=(python3 "$here/sharded-service_driver.py")
split=(python3 "$here/ambassador_split.py")
project="$proof/ambassador"

e2e_build "$project/services"

# --- shard: twemproxy with the rendered configuration, in front of three memcached.
manifest="$project/k8s/base/basket-api.yaml"
grep -q 'nutcracker.yml' "$manifest" || e2e_fail "no nutcracker.yml in $manifest"
ports=()
for i in 0 1 2; do
  port="$(e2e_port)"
  e2e_start "memcached-$i" memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U 0 -m 16
  ports+=("$port")
done
proxy_port="$(e2e_port)"
config="$e2e_work/nutcracker.yml"
"${sharded[@]}" nutcracker-config "$manifest" "$config" "127.0.0.1:$proxy_port" "${ports[@]}" \
  || e2e_fail "reading the rendered nutcracker configuration"
grep -q '^  listen: 127\.0\.0\.1:11211$' "$config.rendered" \
  || e2e_fail "the ambassador's nutcracker does not listen on 127.0.0.1:<listenPort>: $(grep listen "$config.rendered")"
nutcracker -t -c "$config.rendered" >"$e2e_work/nutcracker-t.log" 2>&1 \
  || e2e_fail "nutcracker -t refused the rendered configuration: $(cat "$e2e_work/nutcracker-t.log")"
echo "nutcracker -t: the rendered ambassador configuration is valid (listen 127.0.0.1:11211)"
for port in "${ports[@]}"; do e2e_wait_tcp "$port"; done
e2e_start nutcracker nutcracker -c "$config" -a 127.0.0.1 -s "$(e2e_port)" -v 5
e2e_wait_tcp "$proxy_port"
"${sharded[@]}" memcached "$proxy_port" 300 "$config" "${ports[@]}" \
  || e2e_fail "keys through the ambassador's nutcracker to memcached"

# --- split: the generated proxy between two upstreams, with a slow shadow.
primary="$(e2e_port)" experiment="$(e2e_port)" shadow="$(e2e_port)"
ready="$e2e_work/upstreams.ready"
e2e_start upstreams "${split[@]}" upstreams "$primary" "$experiment" "$shadow" "$ready"
for port in "$primary" "$experiment" "$shadow"; do e2e_wait_tcp "$port"; done
split_port="$(e2e_port)" split_metrics="$(e2e_port)"
e2e_start ambassador-split env PORT="$split_port" METRICS_PORT="$split_metrics" \
  PRIMARY_URL="http://127.0.0.1:$primary" EXPERIMENT_URL="http://127.0.0.1:$experiment" \
  EXPERIMENT_PERCENT=10 STICKY_KEY=header:x-user-id \
  SHADOW_URL="http://127.0.0.1:$shadow" SHADOW_TIMEOUT_MS=3000 SHADOW_IN_FLIGHT=4 \
  UPSTREAM_MAX_ATTEMPTS=1 SHUTDOWN_DRAIN_SECONDS=0 LOG_LEVEL=warn "$E2E_BIN/ambassador-split"
e2e_wait_http "http://127.0.0.1:$split_port/readyz" 60
PORT="$split_port" "$E2E_BIN/ambassador-split" healthcheck || e2e_fail "ambassador-split healthcheck"
split_start=$SECONDS
"${split[@]}" split "127.0.0.1:$split_port" 2000 2 || e2e_fail "the split"
echo "split: 4,000 requests in $((SECONDS - split_start)) s"
metrics="$(curl -fsS -m 5 "http://127.0.0.1:$split_metrics/metrics")" || e2e_fail "ambassador-split /metrics"
metric() { awk -v name="$1" '$1 == name {print $2}' <<<"$metrics"; }
sent="$(metric ambassador_shadow_sent_total)" dropped="$(metric ambassador_shadow_dropped_total)"
failed="$(metric ambassador_shadow_failed_total)"
to_primary="$(metric 'ambassador_requests_total{variant="primary"}')"
to_experiment="$(metric 'ambassador_requests_total{variant="experiment"}')"
[ "${to_primary:-0}" -gt 0 ] && [ "${to_experiment:-0}" -gt 0 ] && [ $((to_primary + to_experiment)) -eq 4000 ] \
  || e2e_fail "requests per variant in /metrics: primary=$to_primary experiment=$to_experiment"
[ "${sent:-0}" -gt 0 ] && [ "${dropped:-0}" -gt 0 ] && [ $((sent + dropped)) -eq 4000 ] \
  || e2e_fail "shadow copies in /metrics: sent=$sent dropped=$dropped failed=$failed (4000 requests)"
for ((i = 0; i < 50; i++)); do
  [ -f "$ready.shadow" ] && [ "$(cat "$ready.shadow")" -ge "$sent" ] && break
  sleep 0.1
done
[ -f "$ready.shadow" ] || e2e_fail "no copy reached the shadow"
echo "split: $to_primary requests to the primary, $to_experiment to the experiment; shadow copies: $sent sent ($(cat "$ready.shadow") reached the shadow), $dropped dropped over the bound of 4 in flight"

# --- broker: TCP from a loopback port to a real redis-server.
redis_port="$(e2e_port)"
e2e_start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no
redis_pid="$E2E_PID"
e2e_wait_tcp "$redis_port"
broker_port="$(e2e_port)" broker_ops="$(e2e_port)" broker_metrics="$(e2e_port)"
e2e_start ambassador-broker env PORT="$broker_ops" METRICS_PORT="$broker_metrics" \
  BROKER_LISTEN_PORT="$broker_port" BROKER_ENDPOINT="127.0.0.1:$redis_port" \
  BROKER_CONNECT_TIMEOUT_MS=500 SHUTDOWN_DRAIN_SECONDS=0 "$E2E_BIN/ambassador-broker"
e2e_wait_http "http://127.0.0.1:$broker_ops/readyz" 60
PORT="$broker_ops" "$E2E_BIN/ambassador-broker" healthcheck || e2e_fail "ambassador-broker healthcheck"
[ "$(redis-cli -h 127.0.0.1 -p "$broker_port" PING)" = PONG ] || e2e_fail "PING through the broker"
redis-cli -h 127.0.0.1 -p "$broker_port" SET ambassador brokered >/dev/null || e2e_fail "SET through the broker"
[ "$(redis-cli -h 127.0.0.1 -p "$redis_port" GET ambassador)" = brokered ] || e2e_fail "the SET did not reach redis"
[ "$(redis-cli -h 127.0.0.1 -p "$broker_port" GET ambassador)" = brokered ] || e2e_fail "GET through the broker"
bmetric() { curl -fsS -m 5 "http://127.0.0.1:$broker_metrics/metrics" | awk -v name="$1" '$1 == name {print $2}'; }
for ((i = 0; i < 50; i++)); do [ "$(bmetric ambassador_bytes_received_total)" -gt 0 ] 2>/dev/null && break; sleep 0.1; done
conns="$(bmetric ambassador_connections_total)" sent_bytes="$(bmetric ambassador_bytes_sent_total)"
received_bytes="$(bmetric ambassador_bytes_received_total)"
[ "$conns" -eq 3 ] && [ "$sent_bytes" -gt 0 ] && [ "$received_bytes" -gt 0 ] \
  || e2e_fail "broker metrics: connections=$conns sent=$sent_bytes received=$received_bytes"
{ kill -9 "$redis_pid"; wait "$redis_pid"; } 2>/dev/null || true
if [ "$(timeout 5 redis-cli -h 127.0.0.1 -p "$broker_port" PING 2>&1)" = PONG ]; then
  e2e_fail "PING through the broker answered with redis stopped"
fi
failures="$(bmetric ambassador_connect_failures_total)"
[ "$failures" -ge 1 ] || e2e_fail "the failed connection was not counted (connect failures: $failures)"
echo "broker: PING, SET, GET through 127.0.0.1:$broker_port to redis ($conns connections, $sent_bytes bytes sent, $received_bytes received); with redis stopped the connection fails ($failures connect failure counted)"
echo "ambassador: ok"
