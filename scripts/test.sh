#!/usr/bin/env bash
# The whole proof that dpatterns works, as CI runs it (`.ci/run` calls exactly this):
#   1. cargo fmt --check, clippy -D warnings, RUSTDOCFLAGS=-D warnings cargo doc
#   2. cargo test --locked: unit tests, CLI cases, snapshots, catalog/docs sync, PTY test
#   3. every fixture (the embedded patterns' examples, the user catalog kept in
#      tests/fixtures/user-catalog, the specs in tests/fixtures/specs that exercise the
#      graph and the escape hatches, `dpatterns new demo --yes`, and `dpatterns new
#      --pattern ID --yes` for every pattern) rendered by the real
#      binary, then checked by the outside validators (scripts/validate-manifests.sh:
#      kubernetes-validate --strict on 1.29 and newest, checkov, yamllint, kubectl kustomize,
#      over the base and over every environment's overlay as kustomize builds it)
#      plus the spec's JSON Schema (python-jsonschema, draft 2020-12) over good and bad
#      specs, and yamllint over the scaffolded CI workflows; hadolint and checkov over every
#      Dockerfile, actionlint and checkov over every workflow (scripts/lint-build-files.sh)
#   4. every generated Rust workspace built, tested, fmt-checked and clippy-clean as
#      generated, with the rendered Cargo.lock (--locked --offline after one fetch), sharing
#      one CARGO_TARGET_DIR; then each generated service is started on 127.0.0.1 and
#      checked from outside (scripts/smoke-service.sh), and a service with `calls:`
#      against its real upstream (scripts/upstream-call.sh), while the next workspace builds
#   5. each pattern's end-to-end test (scripts/e2e/): its generated programs on 127.0.0.1
#      against the real backends it is about, installed from Debian's packages
#   6. the generated README's shell blocks and the steps `dpatterns new` prints, run as a
#      new user would, without docker or a cluster (scripts/readme-commands.sh)
# It installs what it needs itself (a Python venv under target/ for the validators).
# Exit status 0 only when everything passed; the last line counts the stages.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TERM_COLOR=never
# Every build here starts from nothing (CI's clean clone): incremental state would only be
# written, never reused.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
proof="$repo/target/proof"
passed=0
failed=0
failures=()

stage() {
  local name="$1"
  shift
  local start=$SECONDS
  echo "==> $name"
  if "$@"; then
    passed=$((passed + 1))
    echo "<== $name: ok ($((SECONDS - start))s)"
  else
    failed=$((failed + 1))
    failures+=("$name")
    echo "<== $name: FAILED ($((SECONDS - start))s)"
  fi
}

stage "cargo fmt --check" cargo fmt --all -- --check
stage "cargo clippy -D warnings" cargo clippy --locked --all-targets -- -D warnings
stage "cargo doc -D warnings" env RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps --quiet
stage "cargo test" cargo test --locked

cargo build --locked --quiet
bin="$repo/target/debug/dpatterns"

render_fixtures() {
  rm -rf "$proof"
  mkdir -p "$proof"
  local example id
  for example in templates/*/example.yaml; do
    id="$(basename "$(dirname "$example")")"
    mkdir -p "$proof/$id"
    cp "$example" "$proof/$id/dpatterns.yaml"
    "$bin" -q render -f "$proof/$id/dpatterns.yaml" || return 1
  done
  for example in tests/fixtures/user-catalog/*/example.yaml; do
    id="user-$(basename "$(dirname "$example")")"
    mkdir -p "$proof/$id"
    cp "$example" "$proof/$id/dpatterns.yaml"
    "$bin" -q --templates tests/fixtures/user-catalog render -f "$proof/$id/dpatterns.yaml" || return 1
  done
  for example in tests/fixtures/specs/*.yaml; do
    id="spec-$(basename "$example" .yaml)"
    mkdir -p "$proof/$id"
    cp "$example" "$proof/$id/dpatterns.yaml"
    "$bin" -q render -f "$proof/$id/dpatterns.yaml" || return 1
  done
  "$bin" -q new "$proof/demo" --yes
  # How a new user meets each pattern: `new --pattern ID --yes`, from its defaults alone,
  # must give a project that passes every check below (an attachable pattern comes
  # attached to a host, with the target its defaults need).
  local pattern
  for pattern in templates/*/pattern.yaml; do
    id="$(basename "$(dirname "$pattern")")"
    "$bin" -q new "$proof/new-$id" --pattern "$id" --yes || return 1
  done
}
stage "render every fixture" render_fixtures

# in_halves SCRIPT DIR...: SCRIPT over every other DIR, twice at once (the validators are
# single-threaded Python, and the machine has two cores); both reports are printed whole,
# one after the other, and the stage fails if either half does.
in_halves() {
  local script="$1" i status=0
  shift
  local dirs=("$@") first=() second=()
  for i in "${!dirs[@]}"; do
    if ((i % 2 == 0)); then first+=("${dirs[$i]}"); else second+=("${dirs[$i]}"); fi
  done
  local out
  out="$(mktemp -d)"
  bash "$script" "${first[@]}" >"$out/first" 2>&1 &
  local pid_first=$!
  if [ "${#second[@]}" -gt 0 ]; then
    bash "$script" "${second[@]}" >"$out/second" 2>&1 || status=1
  fi
  wait "$pid_first" || status=1
  cat "$out/first" "$out/second" 2>/dev/null
  rm -rf "$out"
  return "$status"
}

stage "outside validators" in_halves scripts/validate-manifests.sh "$proof"/*/

stage "Dockerfiles and workflows: hadolint, actionlint, checkov" in_halves scripts/lint-build-files.sh "$proof"/*/

# The venv the validators installed also has python-jsonschema (a checkov dependency) and
# yamllint: the spec's JSON Schema and the scaffolded CI workflows get an outside check too.
venv="${DPATTERNS_VENV:-$repo/target/validate-venv}"
outside_schema_and_workflows() {
  "$bin" schema >"$proof/spec.schema.json" &&
    "$venv/bin/python" scripts/check-spec-schema.py "$proof/spec.schema.json" &&
    "$venv/bin/yamllint" --strict -d '{extends: default, rules: {document-start: disable, line-length: disable, truthy: {check-keys: false}}}' "$proof"/*/.github/workflows/ci.yaml
}
stage "spec JSON Schema and CI workflows" outside_schema_and_workflows

# The generated workspaces' builds keep line tables only (backtraces still name lines):
# full debug info costs compile and link time in every one of them, and the user's own
# profile in the generated Cargo.toml is left as it is.
export CARGO_PROFILE_DEV_DEBUG=line-tables-only CARGO_PROFILE_TEST_DEBUG=line-tables-only

# smoke_pipeline_stage BINARY: the shared contract of an event-pipeline stage (a merger),
# against a redis-server of its own on a free loopback port.
smoke_pipeline_stage() {
  local port dir pid status=0
  port=$(( 26000 + RANDOM % 6000 ))
  dir="$(mktemp -d)"
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$dir" >"$dir/redis.log" 2>&1 &
  pid=$!
  PIPELINE_NAME=smoke STAGE_NAME=merge STAGE_KIND=merger STAGE_INPUTS=a,b STAGE_OUTPUTS=c \
    REDIS_URL="redis://127.0.0.1:$port" bash scripts/smoke-service.sh "$1" - || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  return $status
}

# smoke_ambassador_split BINARY: the shared contract of the splitting ambassador, whose
# every path goes to an upstream: both upstreams are one stand-in on a free loopback port
# answering every request 404 with a JSON `not_found` (what the contract wants for an
# unmatched path, passed through).
# wait_port PORT: until something accepts connections on 127.0.0.1:PORT, at most 20 s (a
# stand-in started in the background is not listening at once, less so on a busy machine).
wait_port() {
  local i
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.2
  done
  echo "smoke: nothing listens on 127.0.0.1:$1 after 20 s"
  return 1
}

smoke_ambassador_split() {
  local port pid status=0
  port=$(( 26000 + RANDOM % 6000 ))
  python3 -c '
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"{\"error\":\"not_found\"}"
        self.send_response(404)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
' "$port" &
  pid=$!
  wait_port "$port" || status=1
  PRIMARY_URL="http://127.0.0.1:$port" EXPERIMENT_URL="http://127.0.0.1:$port" \
    bash scripts/smoke-service.sh "$1" - || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  return $status
}

# The sidecar's config-sync is ready once it has written a configuration: it gets a
# Python file server on loopback as its source for the time of the check.
smoke_config_sync() {
  local port dir pid status=0
  port=$(( 26000 + RANDOM % 6000 ))
  dir="$(mktemp -d)"
  printf '{"smoke": true}' >"$dir/settings.json" && mkdir "$dir/out"
  python3 -m http.server "$port" --bind 127.0.0.1 --directory "$dir" >"$dir/source.log" 2>&1 &
  pid=$!
  CONFIG_URL="http://127.0.0.1:$port/settings.json" CONFIG_FILE="$dir/out/settings.json" SYNC_INTERVAL_SECONDS=1 \
    bash scripts/smoke-service.sh "$1" /v1/config-sync '"has_file":true' /v1/config-sync/none || status=1
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
  return $status
}

# The sidecar's tls-proxy is ready once it has loaded a certificate: a self-signed one is
# made for the time of the check (its HTTPS side is scripts/e2e/sidecar.sh's).
smoke_tls_proxy() {
  local dir status=0
  dir="$(mktemp -d)"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -days 1 -nodes \
    -subj /CN=localhost -keyout "$dir/tls.key" -out "$dir/tls.crt" 2>/dev/null || status=1
  HTTPS_PORT=$(( 26000 + RANDOM % 6000 )) APP_URL=http://127.0.0.1:9 \
    TLS_CERT_FILE="$dir/tls.crt" TLS_KEY_FILE="$dir/tls.key" \
    bash scripts/smoke-service.sh "$1" - || status=1
  rm -rf "$dir"
  return $status
}

# smoke_workspace WS BINDIR: each generated program of the workspace WS (components'
# crates, several per multi-program pattern, and the shared crates of attached patterns),
# run from BINDIR as a process and checked from outside.
smoke_workspace() {
  local ws="$1" bindir="$2" ok=0
  echo "--- programs of $ws"
  # Each generated program (components' crates, several per multi-program pattern, and
  # the shared crates of attached patterns), run as a process and checked from outside.
  local service bin
  for service in "$ws"/*/; do
    service="$(basename "$service")"
    [ "$service" = common ] && continue
    bin="$bindir/$service"
    if [ -f "$ws/$service/src/dictionary.rs" ]; then
      # a replicated service: its words route, and SIGTERM during a slow batch lookup
      SLOW_POST=/v1/lookups bash scripts/smoke-service.sh "$bin" || ok=1
    elif [ -f "$ws/$service/src/barrier.rs" ]; then
      # a coordinated batch: a Job's program, not a server; run as its Jobs run it
      bash scripts/smoke-batch.sh "$bin" || ok=1
    elif grep -qs '"x-dpatterns-hops"' "$ws/$service/src/host.rs"; then
      # a function: its route is POST / and may deliver to another process; the host's
      # events, decorator, pipeline and hop limit are scripts/e2e/function.sh's
      echo "smoke: $service: a function, POST / checked end to end"
      bash scripts/smoke-service.sh "$bin" - || ok=1
    elif [ -f "$ws/$service/src/election.rs" ]; then
      # a leader-election candidate: its status route answers without a store (a
      # follower that cannot campaign yet); scripts/e2e/leader-election.sh runs the election
      bash scripts/smoke-service.sh "$bin" /v1/ownership '"owner":false' /v1/ownership/none || ok=1
    elif [ -f "$ws/$service/src/fencing.rs" ]; then
      # a leader-election fence: a resource nobody wrote is an empty ledger
      bash scripts/smoke-service.sh "$bin" /v1/resources/smoke '"entries":[]' /v1/resources || ok=1
    elif [ -f "$ws/$service/src/assign.rs" ] && [ -f "$ws/$service/src/shadow.rs" ]; then
      # the splitting ambassador forwards every path: its upstream is a stand-in
      # (scripts/e2e/ambassador.sh runs the split, the stickiness and the shadow)
      smoke_ambassador_split "$bin" || ok=1
    elif [ -f "$ws/$service/src/forward.rs" ] && grep -qs 'copy_bidirectional' "$ws/$service/src/forward.rs"; then
      # the brokering ambassador: its HTTP contract on PORT, the forwarded port beside it
      # (an endpoint nothing listens on; scripts/e2e/ambassador.sh forwards to redis)
      BROKER_ENDPOINT=127.0.0.1:9 BROKER_LISTEN_PORT=$(( 32000 - RANDOM % 500 )) \
        bash scripts/smoke-service.sh "$bin" - || ok=1
    elif [ -f "$ws/$service/src/exposition.rs" ] && [ -f "$ws/$service/src/translate.rs" ]; then
      # the metrics adapter: no application beside it, so its source is down (the discard
      # port); scripts/e2e/adapter.sh runs it against statistics
      STATS_URL=http://127.0.0.1:9/stats \
        bash scripts/smoke-service.sh "$bin" /v1/source '"up":false' /v1/nothing || ok=1
    elif [ -f "$ws/$service/src/verdict.rs" ] && [ -f "$ws/$service/src/check.rs" ]; then
      # the health adapter: a check that fails (the discard port), answered on a port of
      # its own; scripts/e2e/adapter.sh flips real checks
      HEALTH_CHECK=tcp:127.0.0.1:9 HEALTH_PORT=$(( 26000 + RANDOM % 6000 )) \
        bash scripts/smoke-service.sh "$bin" /v1/verdict '"healthy":false' /v1/nothing || ok=1
    elif [ -f "$ws/$service/src/follow.rs" ] && [ -f "$ws/$service/src/parse.rs" ]; then
      # the logging adapter, following an empty file; scripts/e2e/adapter.sh rotates one
      log_file="$(mktemp)"
      LOG_FILE="$log_file" bash scripts/smoke-service.sh "$bin" /v1/source '"exists":true' /v1/nothing || ok=1
      rm -f "$log_file"
    elif [ "$service" = echo-sidecar ]; then
      bash scripts/smoke-service.sh "$bin" /v1/echo/smoke '"text":"smoke"' /v1/nothing || ok=1
    elif [ -f "$ws/$service/src/notify.rs" ] && [ -f "$ws/$service/src/sync.rs" ]; then
      # a config-sync sidecar: its status route, once it has synced from a real source
      smoke_config_sync "$bin" || ok=1
    elif [ -f "$ws/$service/src/certs.rs" ] && [ -f "$ws/$service/src/gate.rs" ]; then
      # a TLS proxy sidecar: the shared contract on its ops port, with a certificate
      smoke_tls_proxy "$bin" || ok=1
    elif [ -f "$ws/$service/src/corpus.rs" ]; then
      # a scatter-gather leaf: alone it holds the whole example corpus (LEAVES=1)
      LEAVES=1 bash scripts/smoke-service.sh "$bin" '/v1/leaf/search?q=leaf' '"id":"doc-03"' /v1/nothing || ok=1
    elif [ -f "$ws/$service/src/gather.rs" ]; then
      # a scatter-gather root answers by calling its leaves (scripts/e2e/scatter-gather.sh
      # runs it with them); alone, only the shared contract is checked.
      LEAF_URLS=http://127.0.0.1:9 bash scripts/smoke-service.sh "$bin" - || ok=1
    elif [ -f "$ws/$service/src/rollout.rs" ] && [ -f "$ws/$service/src/limiter.rs" ]; then
      # an inference gateway: /v1/models lists its settings' models without a model
      # server; scripts/e2e/inference-service.sh runs it against a stub model server
      MODEL=smoke-model MODEL_URL=http://127.0.0.1:9 \
        bash scripts/smoke-service.sh "$bin" /v1/models '"id":"smoke-model"' /v1/nothing || ok=1
    elif [ -f "$ws/$service/src/store.rs" ] && [ -f "$ws/$service/src/api.rs" ]; then
      # a sharded service's shard: it reports its name (POD_NAME) and the keys it holds
      bash scripts/smoke-service.sh "$bin" /v1/shard '"shard":"smoke-0"' /v1/items/absent || ok=1
    elif [ -f "$ws/$service/src/hooks.rs" ] && [ -f "$ws/$service/src/kinds.rs" ]; then
      # an event-pipeline stage: no route of its own, ready once its broker answers, so
      # it gets a redis-server on loopback for the time of the check
      smoke_pipeline_stage "$bin" || ok=1
    elif [ -f "$ws/$service/src/directory.rs" ] && [ -f "$ws/$service/src/contract.rs" ]; then
      # a work-queue source: the book's ItemList from a directory holding one item
      items="$(mktemp -d)" && printf '{"text": "smoke"}' >"$items/smoke.json"
      SOURCE=directory SOURCE_DIRECTORY="$items" \
        bash scripts/smoke-service.sh "$bin" /api/v1/items '"items":["smoke.json"]' /api/v1/items/no-such-item || ok=1
      rm -rf "$items"
    elif [ -f "$ws/$service/src/one_shot.rs" ]; then
      # a work-queue worker as a Job's pod: the item at WORK_ITEM_FILE, result on stdout,
      # exit 0 (queue mode needs redis: scripts/e2e/work-queue.sh)
      item="$(mktemp)" && printf '{"text": "smoke test"}' >"$item"
      WORK_QUEUE_MODE=jobs WORK_ITEM_FILE="$item" timeout 20 "$bin" 2>/dev/null | grep -q '"words":2' ||
        { echo "smoke: $service: the one-shot worker did not process its item"; ok=1; }
      rm -f "$item"
    elif [ -f "$ws/$service/src/plan.rs" ] && [ -f "$ws/$service/src/cluster.rs" ]; then
      # a work-queue manager needs a Kubernetes API; its plan is unit-tested, its Jobs in job.rs
      echo "smoke: $service: skipped, it needs a Kubernetes API server"
    else
      # pair's front answers by calling back, and back by calling redis, a sharded
      # service's router by calling its shards (scripts/e2e/sharded-service.sh runs it
      # with them): without them only the contract every program shares is checked.
      echo "smoke: $service: route skipped, it needs another process"
      bash scripts/smoke-service.sh "$bin" - || ok=1
    fi
  done
  # A service whose spec says `calls:` runs its example call against the real upstream:
  # the request id reaches the upstream's log, and a stopped upstream opens the breaker.
  local caller callee
  for service in "$ws"/*/; do
    [ -f "$service/src/upstream.rs" ] || continue
    caller="$(basename "$service")"
    callee="$(sed -n 's/^pub const UPSTREAM: &str = "\(.*\)";$/\1/p' "$service/src/upstream.rs")"
    if [ ! -f "$bindir/$callee" ]; then
      echo "upstream-call: $caller: skipped, $callee is not generated here (image:)"
      continue
    fi
    bash scripts/upstream-call.sh "$bindir/$caller" "$bindir/$callee" || ok=1
  done
  return $ok
}

build_workspaces() {
  export CARGO_TARGET_DIR="$repo/target/generated"
  local smoke_pid="" smoke_log="" smoke_dir=""
  # The programs of the workspace built before, when their checks are running: wait for
  # them and print their report.
  finish_smoke() {
    [ -n "$smoke_pid" ] || return 0
    wait "$smoke_pid" || ok=1
    cat "$smoke_log"
    rm -rf "$smoke_log" "$smoke_dir"
    smoke_pid=""
  }
  # Some generated crates build against system tools (protoc, say); the backends' packages
  # and those tools come from the same list.
  bash scripts/install-backends.sh || return 1
  local ws ok=0 otel_checked=""
  for ws in "$proof"/*/services; do
    [ -f "$ws/Cargo.toml" ] || continue
    echo "--- $ws"
    # The rendered lock, as a user gets it: fetched once, then everything builds offline
    # with --locked (which refuses a lock missing or holding a package), and Cargo must keep
    # it byte for byte (`cargo update --workspace` rewrites a lock whose text it would not
    # write itself).
    [ -f "$ws/Cargo.lock" ] || {
      echo "$ws: no Cargo.lock rendered"
      ok=1
      continue
    }
    cp "$ws/Cargo.lock" "$proof/rendered.Cargo.lock"
    (
      cd "$ws"
      bash "$repo/scripts/fresh-crates.sh" . &&
        cargo fetch --locked --quiet &&
        cargo update --workspace --offline --quiet &&
        diff -u "$proof/rendered.Cargo.lock" Cargo.lock &&
        cargo fmt --all -- --check &&
        cargo clippy --locked --offline --all-targets --quiet -- -D warnings &&
        cargo test --locked --offline --quiet &&
        cargo build --locked --offline --quiet &&
        # `common` is the same crate in every workspace: its `otel` feature is checked once.
        if [ -z "$otel_checked" ]; then
          cargo clippy --locked --offline -p common --features otel --all-targets --quiet -- -D warnings &&
            cargo test --locked --offline -p common --features otel --quiet
        fi
    ) || { ok=1; continue; }
    otel_checked=yes
    # The programs are checked while the next workspace builds: from a copy of its
    # binaries (the next build may write a program of the same name), one workspace's
    # checks at a time, their report printed whole when they end.
    local bindir service
    bindir="$(mktemp -d)"
    for service in "$ws"/*/; do
      service="$(basename "$service")"
      [ -f "$CARGO_TARGET_DIR/debug/$service" ] && cp "$CARGO_TARGET_DIR/debug/$service" "$bindir/"
    done
    finish_smoke
    smoke_log="$(mktemp)"
    smoke_dir="$bindir"
    smoke_workspace "$ws" "$bindir" >"$smoke_log" 2>&1 &
    smoke_pid=$!
  done
  finish_smoke
  return $ok
}
stage "generated workspaces: fmt, clippy, test, run" build_workspaces

# The patterns' own end-to-end tests (scripts/e2e/<name>.sh): generated programs against
# the real backends they are about (redis, etcd, nats, memcached, nutcracker, ...), from
# Debian's packages, which scripts/install-backends.sh installs first.
stage "end-to-end: generated programs against real backends" env CARGO_TARGET_DIR="$repo/target/generated" \
  bash scripts/e2e/run.sh "$proof"

# The generated README's commands and the steps `new` prints, run as a new user would on a
# machine without a cluster: docker, kind and kubectl apply are checked by stand-ins, the
# rest (cargo, kubectl kustomize, kustomize edit, dpatterns) runs.
stage "README and new's next steps, as a new user runs them" env CARGO_TARGET_DIR="$repo/target/generated" \
  bash scripts/readme-commands.sh "$bin" "$proof/demo" "$proof/spec-overrides"

echo
if [ "$failed" -gt 0 ]; then
  printf 'failed: %s\n' "${failures[@]}"
fi
echo "test.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
