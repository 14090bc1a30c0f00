#!/usr/bin/env bash
# End-to-end test of replicated-service as in the book: the rendered Varnish VCL and nginx
# configuration pass their own checkers, and the real chain nginx (TLS) -> varnishd -> the
# generated service runs on loopback: a second GET is a cache hit, and the service's rate
# limit answers 429 with Retry-After per client key.
# debian: varnish nginx-light openssl curl
#
# The configurations name the Kubernetes Services of the tiers (`dict-server`,
# `dict-server-cache`) and the paths of the pod (the certificate Secret's mount). varnishd
# -C and nginx -t resolve those host names and open those files, so they run on a COPY of
# the rendered file in which only these are rewritten: every `.host = "<service>"` of the
# VCL and every `server <service>:<port>` of nginx.conf become 127.0.0.1 and this test's
# ports, the certificate paths point at a self-signed certificate made here by openssl,
# and nginx's listen/pid/temp paths move to the test's folder. Everything else is checked
# and run as rendered.
# Usage: scripts/e2e/replicated-service.sh PROOF
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project="$1/replicated-service"
manifest="$project/k8s/base/dict-server.yaml"
[ -f "$manifest" ] || e2e_fail "$manifest is not rendered"
e2e_build "$project/services"
bin="$E2E_BIN/dict-server"

app_port="$(e2e_port)"
metrics_port="$(e2e_port)"
cache_port="$(e2e_port)"
tls_port="$(e2e_port)"
host=dictionary.example.com
work="$e2e_work"

# --- the rendered configurations, and the copies the checkers run on
python3 "$here/replicated-service_extract.py" "$manifest" default.vcl >"$work/rendered.vcl"
python3 "$here/replicated-service_extract.py" "$manifest" nginx.conf >"$work/rendered.nginx.conf"
grep -q '\.host = "dict-server";' "$work/rendered.vcl" || e2e_fail "the VCL's backend is not the app's Service"
grep -q 'server dict-server-cache:80;' "$work/rendered.nginx.conf" || e2e_fail "nginx does not proxy to the cache tier"
grep -q -- '- malloc,716M$' "$manifest" || e2e_fail "the cache storage is not 70% of the 1024Mi memory request"

sed -e 's/\.host = "[^"]*";/.host = "127.0.0.1";/' \
  -e "s/\\.port = \"[0-9]*\";/.port = \"$app_port\";/" \
  "$work/rendered.vcl" >"$work/test.vcl"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=$host" \
  -addext "subjectAltName=DNS:$host" -keyout "$work/tls.key" -out "$work/tls.crt" 2>"$work/openssl.out" ||
  e2e_fail "openssl could not make the test certificate: $(tail -n 5 "$work/openssl.out")"
sed -e "s#/tmp/#$work/nginx-#g" \
  -e "s#server [a-z0-9-]*:[0-9]*;#server 127.0.0.1:$cache_port;#" \
  -e "s#/etc/nginx/tls/#$work/#g" \
  -e "s#listen 8443 ssl;#listen 127.0.0.1:$tls_port ssl;#" \
  "$work/rendered.nginx.conf" >"$work/test.nginx.conf"

# varnishd -C prints the C it compiled the VCL to on stderr; only its errors are shown.
varnishd -C -j none -f "$work/test.vcl" >/dev/null 2>"$work/varnishd-C.out" ||
  e2e_fail "varnishd -C refused the rendered VCL: $(head -n 20 "$work/varnishd-C.out")"
echo "replicated-service: varnishd -C accepts the rendered VCL"
nginx -t -c "$work/test.nginx.conf" -e stderr >"$work/nginx-t.log" 2>&1 || e2e_fail "nginx -t refused the rendered nginx.conf"
echo "replicated-service: nginx -t accepts the rendered nginx.conf"

# --- the generated service alone: its rate limit, per key
e2e_start app env PORT="$app_port" METRICS_PORT="$metrics_port" LOG_FORMAT=json \
  DRAIN_SECONDS=0 RATE_LIMIT_PER_SECOND=1 RATE_LIMIT_BURST=3 RATE_LIMIT_KEY_HEADER=x-api-key \
  RATE_LIMIT_TRUSTED_PROXIES=2 "$bin"
e2e_wait_http "http://127.0.0.1:$app_port/readyz" 30

# status and headers of one request: curl -D - prints them, -o drops the body
ask() { curl -sS -m 5 -o /dev/null -D - "$@"; }
header() { tr -d '\r' | sed -n "s/^$1: *//Ip" | head -n 1; }
status() { tr -d '\r' | sed -n '1s/^HTTP[^ ]* \([0-9]*\).*/\1/p'; }

for n in 1 2 3; do
  answer="$(ask -H 'x-api-key: alice' "http://127.0.0.1:$app_port/v1/words/replica")"
  [ "$(status <<<"$answer")" = 200 ] || e2e_fail "request $n of alice: $(status <<<"$answer"), expected 200"
  [ "$(header ratelimit-remaining <<<"$answer")" = "$((3 - n))" ] ||
    e2e_fail "request $n of alice: RateLimit-Remaining $(header ratelimit-remaining <<<"$answer"), expected $((3 - n))"
done
answer="$(ask -H 'x-api-key: alice' "http://127.0.0.1:$app_port/v1/words/replica")"
[ "$(status <<<"$answer")" = 429 ] || e2e_fail "alice over her budget got $(status <<<"$answer"), expected 429"
retry="$(header retry-after <<<"$answer")"
[[ "$retry" =~ ^[1-9][0-9]*$ ]] || e2e_fail "429 without a Retry-After in seconds: '$retry'"
[ "$(header ratelimit-limit <<<"$answer")" = 3 ] || e2e_fail "RateLimit-Limit is not the burst of 3"
answer="$(ask -H 'x-api-key: bob' "http://127.0.0.1:$app_port/v1/words/replica")"
[ "$(status <<<"$answer")" = 200 ] || e2e_fail "bob was refused while alice was over her budget"
echo "replicated-service: 3 requests of key alice served, the 4th 429 with Retry-After: $retry; key bob still served"
sleep "$retry"
[ "$(ask -H 'x-api-key: alice' "http://127.0.0.1:$app_port/v1/words/replica" | status)" = 200 ] ||
  e2e_fail "alice is still refused after Retry-After"

# --- the real chain: nginx (TLS) -> varnishd -> the service
# -j none (here and for -C): varnishd runs as whoever runs the test, without switching to
# its own user, which could not read the test's private folder.
e2e_start varnishd varnishd -F -j none -f "$work/test.vcl" -a "127.0.0.1:$cache_port" \
  -n "$work/varnish" -s malloc,32M -s Transient=malloc,8M
e2e_wait_http "http://127.0.0.1:$cache_port/healthz" 30
e2e_start nginx nginx -c "$work/test.nginx.conf" -e stderr
e2e_wait_tcp "$tls_port" 20

tls() { ask --cacert "$work/tls.crt" --resolve "$host:$tls_port:127.0.0.1" "$@"; }
url="https://$host:$tls_port/v1/words/stateless"
# The backend probe needs a few rounds before varnish calls the app healthy; until then
# the first miss may fail, so wait for a 200 through the chain.
for ((i = 0; i < 100; i++)); do
  first="$(tls "$url" 2>"$work/curl.log" || true)"
  [ "$(status <<<"$first")" = 200 ] && break
  sleep 0.2
done
[ "$(status <<<"$first")" = 200 ] || e2e_fail "no 200 through nginx and varnish: $(status <<<"$first") $(cat "$work/curl.log")"
[ "$(header x-cache <<<"$first")" = MISS ] || e2e_fail "the first GET was not a miss: $(header x-cache <<<"$first")"
second="$(tls "$url")"
[ "$(status <<<"$second")" = 200 ] || e2e_fail "second GET: $(status <<<"$second")"
[ "$(header x-cache <<<"$second")" = HIT ] || e2e_fail "the second GET was not served from the cache: $(header x-cache <<<"$second")"
age="$(header age <<<"$second")"
[ -n "$age" ] || e2e_fail "a cache hit without Age"
echo "replicated-service: HTTPS through nginx with the test certificate; second GET X-Cache: HIT, Age: $age"
# Answers for one client are never shared: with Authorization or a Cookie, every GET of the
# cached URL goes to the service.
for credential in 'Authorization: Bearer t0ken' 'Cookie: session=s1'; do
  for n in 1 2; do
    answer="$(tls -H "$credential" -H "x-api-key: private-$n-${credential%%:*}" "$url")"
    [ "$(status <<<"$answer")" = 200 ] || e2e_fail "GET $n with ${credential%%:*}: $(status <<<"$answer")"
    [ "$(header x-cache <<<"$answer")" = MISS ] ||
      e2e_fail "GET $n with ${credential%%:*} was $(header x-cache <<<"$answer"), expected MISS (not from the cache)"
  done
done
echo "replicated-service: GETs with Authorization or Cookie are not served from the cache"

# A POST is never cached: each one reaches the service, whose budget for the key refuses
# the 4th.
post() { tls -X POST -H 'x-api-key: carol' -H 'content-type: application/json' --data '{"words":["replica"]}' "https://$host:$tls_port/v1/lookups"; }
codes=""
for n in 1 2 3 4; do codes="$codes $(post | status)"; done
[ "$codes" = " 200 200 200 429" ] || e2e_fail "POSTs through the chain answered$codes, expected 200 200 200 429"
echo "replicated-service: POSTs through the chain:$codes (the 4th over the budget)"
grep -q 'X-Forwarded-Proto' "$work/rendered.nginx.conf" || e2e_fail "nginx sets no X-Forwarded-Proto"
echo "replicated-service: ok"
