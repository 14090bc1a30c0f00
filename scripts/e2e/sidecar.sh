#!/usr/bin/env bash
# End-to-end test of the sidecar pattern's generated programs, on loopback against real
# processes, with the settings their pod patches give them (the ones that name a pod's
# paths and ports are this test's):
#
# config-sync: a Python source (sidecar_source.py) serves a JSON configuration with ETags;
#   a real child process named e2e-report-builder (a bash script trapping HUP, which records
#   the file's version at each signal) stands for the app. The sidecar writes the file, then
#   finds the child by name in /proc and SIGHUPs it; an unchanged source is neither
#   rewritten nor announced (304s); a changed source is written atomically (a new file
#   renamed over the old one: a reader re-reading the file all the while never sees a torn
#   or empty file, and no temporary file stays) and announced
#   again; while the source answers 500, or serves broken JSON, the last good file stays
#   and the sidecar stays ready.
# tls-proxy: a certificate made here by openssl, laid out as kubelet mounts a Secret
#   (tls.crt -> ..data/tls.crt, ..data -> a dated folder); the proxy serves a real TLS
#   handshake and forwards to the host's generated program (legacy-app); after the
#   Secret is renewed (..data swapped to a new certificate), the next connection gets the
#   new certificate and the old one is no longer trusted.
# debian: openssl curl python3
# Usage: scripts/e2e/sidecar.sh PROOF
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"

project="$1/sidecar"
app_manifest="$project/k8s/base/report-builder.yaml"
proxy_manifest="$project/k8s/base/legacy-app.yaml"
[ -f "$app_manifest" ] || e2e_fail "$app_manifest is not rendered"
# The rendered wiring: the app reads the file the sidecar writes, the proxy gets the Secret.
grep -q 'value: /etc/report-builder/settings.json' "$app_manifest" || e2e_fail "the app has no CONFIG_FILE"
grep -q 'mountPath: /etc/report-builder' "$app_manifest" || e2e_fail "the app does not mount the configuration"
grep -q 'secretName: legacy-app-tls' "$proxy_manifest" || e2e_fail "the proxy has no certificate Secret"
e2e_build "$project/services"
work="$e2e_work"

# ---------------------------------------------------------------- config-sync
state="$work/source" && mkdir -p "$state" "$work/sync"
# Large bodies (about 400 KB), so that a write that were not atomic would be seen torn.
version() {
  python3 -c 'import json,sys; v=int(sys.argv[1]); print(json.dumps({"v": v, "padding": "x" * 400000}))' "$1" \
    >"$state/body.new" && mv "$state/body.new" "$state/body"
}
version 1
source_port="$(e2e_port)"
e2e_start source python3 "$here/sidecar_source.py" "$source_port" "$state"
e2e_wait_tcp "$source_port"

config="$work/sync/settings.json"
# /bin/bash itself, not through env: the process is then named after the script (its
# comm, which the kernel cuts at 15 bytes: the sidecar matches the longer name by those).
cat >"$work/e2e-report-builder" <<APP
#!/bin/bash
# The app: on SIGHUP, records the version of the configuration it finds then.
trap 'python3 -c "import json; print(json.load(open(\"$config\"))[\"v\"])" >>"$work/hups"' HUP
while :; do sleep 0.1 & wait \$!; done
APP
chmod +x "$work/e2e-report-builder"
e2e_start app "$work/e2e-report-builder"
touch "$work/hups"

sync_port="$(e2e_port)"
sync_metrics="$(e2e_port)"
PORT=$sync_port METRICS_PORT=$sync_metrics POD_NAME=e2e-0 \
  CONFIG_URL="http://127.0.0.1:$source_port/settings.json" CONFIG_FILE="$config" \
  SYNC_INTERVAL_SECONDS=1 CONFIG_MAX_SIZE_BYTES=1048576 \
  NOTIFY=sighup NOTIFY_PROCESS_NAME=e2e-report-builder SHUTDOWN_DRAIN_SECONDS=0 \
  e2e_start config-sync "$E2E_BIN/sidecar-config-sync"
e2e_wait_http "http://127.0.0.1:$sync_port/readyz" 60

# wait_hups N: until the app has been signalled N times.
wait_hups() {
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(wc -l <"$work/hups")" -ge "$1" ] && return 0
    sleep 0.1
  done
  e2e_fail "the app got $(wc -l <"$work/hups") SIGHUPs, not $1"
}
file_version() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["v"])' "$config"; }
metric() { curl -fsS -m 2 "http://127.0.0.1:$sync_metrics/metrics" | awk -v m="$1" '$1 == m {print $2}'; }

wait_hups 1
[ "$(file_version)" = 1 ] || e2e_fail "the first file is not version 1"
[ "$(sed -n 1p "$work/hups")" = 1 ] || e2e_fail "the app was signalled before the file was in place"

# Unchanged: three rounds of 304, no write, no signal.
sleep 3.5
[ "$(wc -l <"$work/hups")" = 1 ] || e2e_fail "an unchanged configuration was announced again"
not_modified=$(grep -c '^304$' "$work/source.log" || true)
[ "$not_modified" -ge 2 ] || e2e_fail "the sidecar did not use the ETag ($not_modified answers 304)"
[ "$(metric config_sync_writes_total)" = 1 ] || e2e_fail "an unchanged configuration was rewritten"

# Changed: written atomically while the app keeps reading, then announced. A rename puts a
# new file (a new inode) in place; a write in place would keep the inode.
inode_before="$(stat -c %i "$config")"
python3 "$here/sidecar_reader.py" "$config" 4 >"$work/reader.out" &
reader=$!
sleep 0.5
version 2
wait_hups 2
wait "$reader"
read_result="$(cat "$work/reader.out")"
case "$read_result" in
  *" torn=0 versions=1,2") ;;
  *) e2e_fail "the app read a torn file or missed the change: $read_result" ;;
esac
[ "$(sed -n 2p "$work/hups")" = 2 ] || e2e_fail "the second signal came before the new file"
[ "$(stat -c %i "$config")" != "$inode_before" ] || e2e_fail "the file was rewritten in place, not replaced by a rename"
[ "$(ls -A "$work/sync")" = settings.json ] || e2e_fail "files left beside the configuration: $(ls -A "$work/sync")"

# The source fails, then serves broken JSON: the last good file stays, still ready.
touch "$state/fail"
sleep 3
rm "$state/fail"
printf '{"v": 3, "broken' >"$state/body"
sleep 3
[ "$(file_version)" = 2 ] || e2e_fail "the last good file was not kept"
[ "$(wc -l <"$work/hups")" = 2 ] || e2e_fail "the app was signalled without a new file"
curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$sync_port/readyz" || e2e_fail "not ready while the source failed"
fetch_failures="$(metric 'config_sync_failures_total{stage="fetch"}')"
check_failures="$(metric 'config_sync_failures_total{stage="check"}')"
[ "${fetch_failures:-0}" -ge 2 ] || e2e_fail "fetch failures not counted: ${fetch_failures:-none}"
[ "${check_failures:-0}" -ge 2 ] || e2e_fail "refused bodies not counted: ${check_failures:-none}"

# Back: the next good version is written and announced.
version 3
wait_hups 3
[ "$(file_version)" = 3 ] && [ "$(sed -n 3p "$work/hups")" = 3 ] || e2e_fail "version 3 was not synced"
[ "$(metric config_sync_notifications_total)" = 3 ] || e2e_fail "notifications not counted"
echo "config-sync: 3 versions written and signalled, $not_modified answers 304 while unchanged," \
  "$read_result, kept through $fetch_failures fetch and $check_failures check failures"

# ---------------------------------------------------------------- tls-proxy
app_port="$(e2e_port)"
app_metrics="$(e2e_port)"
PORT=$app_port METRICS_PORT=$app_metrics POD_NAME=e2e-0 SHUTDOWN_DRAIN_SECONDS=0 \
  e2e_start legacy-app "$E2E_BIN/legacy-app"
e2e_wait_http "http://127.0.0.1:$app_port/readyz" 60

# kubelet's layout of a mounted Secret: the files are links through ..data to a folder
# that a renewal replaces at once.
tls="$work/tls" && mkdir -p "$tls"
make_certificate() {
  mkdir -p "$tls/$1"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 1 -nodes \
    -subj "/CN=$1" -addext "subjectAltName=DNS:localhost" \
    -addext "basicConstraints=critical,CA:FALSE" -addext "extendedKeyUsage=serverAuth" \
    -keyout "$tls/$1/tls.key" -out "$tls/$1/tls.crt" 2>/dev/null
  cp "$tls/$1/tls.crt" "$work/$1.ca"
  ln -sfn "$1" "$tls/..data_tmp" && mv -T "$tls/..data_tmp" "$tls/..data"
}
make_certificate first
ln -s ..data/tls.crt "$tls/tls.crt"
ln -s ..data/tls.key "$tls/tls.key"

https_port="$(e2e_port)"
proxy_port="$(e2e_port)"
proxy_metrics="$(e2e_port)"
PORT=$proxy_port METRICS_PORT=$proxy_metrics HTTPS_PORT=$https_port POD_NAME=e2e-0 \
  APP_URL="http://127.0.0.1:$app_port" TLS_CERT_FILE="$tls/tls.crt" TLS_KEY_FILE="$tls/tls.key" \
  SHUTDOWN_DRAIN_SECONDS=0 e2e_start tls-proxy "$E2E_BIN/sidecar-tls-proxy"
e2e_wait_http "http://127.0.0.1:$proxy_port/readyz" 60

https_get() {
  curl -sS -m 5 --cacert "$work/$1.ca" --resolve "localhost:$https_port:127.0.0.1" \
    -w '\n%{http_code}' "https://localhost:$https_port/v1/words/replica"
}
answer="$(https_get first)" || e2e_fail "no TLS handshake with the first certificate"
[ "$(tail -n 1 <<<"$answer")" = 200 ] || e2e_fail "the proxied request failed: $answer"
grep -q '"word":"replica"' <<<"$answer" || e2e_fail "the app's answer did not come through: $answer"
protocol="$(curl -sS -m 5 --cacert "$work/first.ca" --resolve "localhost:$https_port:127.0.0.1" \
  -o /dev/null -w '%{scheme} %{http_version}' "https://localhost:$https_port/healthz")"
[ "$protocol" = "HTTPS 1.1" ] || e2e_fail "not HTTPS over HTTP/1.1: $protocol"

# The Secret is renewed: the next connection gets the second certificate.
make_certificate second
answer="$(https_get second)" || e2e_fail "the renewed certificate is not served"
[ "$(tail -n 1 <<<"$answer")" = 200 ] || e2e_fail "the proxied request failed after renewal: $answer"
if https_get first >/dev/null 2>&1; then e2e_fail "the old certificate is still served"; fi
reloads="$(curl -fsS -m 2 "http://127.0.0.1:$proxy_metrics/metrics" |
  awk '$1 == "tls_proxy_certificate_reloads_total{result=\"loaded\"}" {print $2}')"
[ "$reloads" = 2 ] || e2e_fail "certificate loads counted: ${reloads:-none}, not 2"
echo "tls-proxy: TLS handshake and the app's answer through the proxy, the renewed certificate served from the next connection"
echo "$e2e_name: ok"
