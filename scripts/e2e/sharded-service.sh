#!/usr/bin/env bash
# End-to-end proof of the sharded-service pattern (book ch. 6 / 2nd ed. ch. 7).
# Usage: scripts/e2e/sharded-service.sh PROOF
#   PROOF/sharded-service/ is the catalog example as test.sh renders it (backend http).
# HTTP: the generated router in front of three generated shards on 127.0.0.1:
#   - 300 keys PUT through the router land on every shard, and each key is answered by
#     the same shard on every read; asked directly, each shard holds exactly its keys;
#   - the router restarted with a fourth shard: a key stays or moves to the new shard,
#     at most 1/4 + 2% of them; restarted without the third: only that shard's keys move;
#   - a shard killed: its keys answer 502/503, every other key is served as before.
# nutcracker: tests/fixtures/specs/sharded-memcached.yaml rendered by dpatterns, and the
#   same spec with `backend: redis`; each ConfigMap's nutcracker.yml passes `nutcracker -t`
#   as rendered, then, with only the servers' addresses rewritten to three local memcached
#   (redis) servers (names kept: ketama places keys by name), routes 300 keys, each found
#   on exactly one server: the one twemproxy's ketama over the server names picks.
# debian: memcached redis-server nutcracker curl python3
set -euo pipefail

proof="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=scripts/e2e/lib.sh
source "$here/lib.sh"
driver=(python3 "$here/sharded-service_driver.py")
project="$proof/sharded-service"
keys=300

e2e_build "$project/services"
router_crate="$(basename "$(ls -d "$project"/services/*-router)")"
shard_crate="$(basename "$(ls -d "$project"/services/*-shard)")"

# start_shard I: shard I on a free port; sets SHARD_PORT_I and SHARD_PID_I.
start_shard() {
  local port metrics
  port="$(e2e_port)"
  metrics="$(e2e_port)"
  e2e_start "shard-$1" env PORT="$port" METRICS_PORT="$metrics" SHARD_NAME="shard-$1" \
    SHUTDOWN_DRAIN_SECONDS=0 "$E2E_BIN/$shard_crate"
  printf -v "SHARD_PORT_$1" '%s' "$port"
  printf -v "SHARD_PID_$1" '%s' "$E2E_PID"
  e2e_wait_http "http://127.0.0.1:$port/readyz" 60
}

router_pid=""
# start_router NAME PORT...: the router over the shards on those ports, in that order.
start_router() {
  local name="$1" urls="" port metrics
  shift
  for port in "$@"; do urls="$urls${urls:+,}http://127.0.0.1:$port"; done
  [ -z "$router_pid" ] || { kill "$router_pid"; wait "$router_pid" 2>/dev/null || true; }
  port="$(e2e_port)"
  metrics="$(e2e_port)"
  e2e_start "$name" env PORT="$port" METRICS_PORT="$metrics" SHARD_URLS="$urls" \
    SHUTDOWN_DRAIN_SECONDS=0 UPSTREAM_MAX_ATTEMPTS=1 "$E2E_BIN/$router_crate"
  router_pid="$E2E_PID"
  ROUTER="127.0.0.1:$port"
  e2e_wait_http "http://$ROUTER/readyz" 60
}

for i in 0 1 2 3; do start_shard "$i"; done
placed="$e2e_work/placed.json"

start_router router-3 "$SHARD_PORT_0" "$SHARD_PORT_1" "$SHARD_PORT_2"
"${driver[@]}" put "$ROUTER" "$keys" "$placed" || e2e_fail "writing through the router"
"${driver[@]}" same "$ROUTER" "$placed" || e2e_fail "each key always on the same shard"
"${driver[@]}" holdings "$placed" "127.0.0.1:$SHARD_PORT_0" "127.0.0.1:$SHARD_PORT_1" "127.0.0.1:$SHARD_PORT_2" \
  || e2e_fail "the shards' own view of their keys"

start_router router-4 "$SHARD_PORT_0" "$SHARD_PORT_1" "$SHARD_PORT_2" "$SHARD_PORT_3"
"${driver[@]}" grown "$ROUTER" "$placed" 3 || e2e_fail "growing 3 -> 4 shards"

start_router router-2 "$SHARD_PORT_0" "$SHARD_PORT_1"
"${driver[@]}" shrunk "$ROUTER" "$placed" 2 || e2e_fail "removing the third shard"

start_router router-3-again "$SHARD_PORT_0" "$SHARD_PORT_1" "$SHARD_PORT_2"
"${driver[@]}" same "$ROUTER" "$placed" || e2e_fail "the same placement after a restart"
{ kill -9 "$SHARD_PID_1"; wait "$SHARD_PID_1"; } 2>/dev/null || true
"${driver[@]}" down "$ROUTER" "$placed" 1 || e2e_fail "a shard going away"

# nutcracker over memcached and over redis, from the configuration dpatterns renders for
# tests/fixtures/specs/sharded-memcached.yaml (and the same spec with `backend: redis`).
bin="${DPATTERNS_BIN:-$repo/target/debug/dpatterns}"
through_nutcracker() {
  local backend="$1" spec manifest port proxy_port stats_port config i
  local ports=()
  spec="$e2e_work/$backend/dpatterns.yaml"
  mkdir -p "$(dirname "$spec")"
  sed "s/backend: memcached/backend: $backend/" "$repo/tests/fixtures/specs/sharded-memcached.yaml" >"$spec"
  "$bin" -q render -f "$spec" || e2e_fail "dpatterns render of the $backend spec"
  manifest="$(grep -l 'nutcracker.yml' "$e2e_work/$backend"/k8s/base/*.yaml | head -n 1)"
  [ -n "$manifest" ] || e2e_fail "no rendered manifest holds nutcracker.yml ($backend)"
  for i in 0 1 2; do
    port="$(e2e_port)"
    if [ "$backend" = memcached ]; then
      e2e_start "memcached-$i" memcached -u "$(id -un)" -l 127.0.0.1 -p "$port" -U 0 -m 16
    else
      e2e_start "redis-$i" redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no
    fi
    ports+=("$port")
  done
  proxy_port="$(e2e_port)"
  config="$e2e_work/nutcracker-$backend.yml"
  "${driver[@]}" nutcracker-config "$manifest" "$config" "127.0.0.1:$proxy_port" "${ports[@]}" \
    || e2e_fail "reading the rendered nutcracker configuration ($backend)"
  nutcracker -t -c "$config.rendered" >"$e2e_work/nutcracker-t-$backend.log" 2>&1 \
    || e2e_fail "nutcracker -t refused the rendered $backend configuration: $(cat "$e2e_work/nutcracker-t-$backend.log")"
  echo "nutcracker -t: the rendered $backend configuration is valid"
  for port in "${ports[@]}"; do e2e_wait_tcp "$port"; done
  stats_port="$(e2e_port)"
  e2e_start "nutcracker-$backend" nutcracker -c "$config" -a 127.0.0.1 -s "$stats_port" -v 5
  e2e_wait_tcp "$proxy_port"
  "${driver[@]}" "$backend" "$proxy_port" "$keys" "$config" "${ports[@]}" \
    || e2e_fail "keys through nutcracker to $backend"
}
through_nutcracker memcached
through_nutcracker redis
echo "sharded-service: ok"
