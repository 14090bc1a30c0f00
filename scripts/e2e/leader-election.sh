#!/usr/bin/env bash
# End-to-end proof of the leader-election pattern (ownership election, backend etcd): the
# example's generated programs against a real etcd from Debian's etcd-server, all on
# 127.0.0.1. Three candidates (TTL 3 s) and the fence; leader-election_drive.py then checks:
#   - exactly one owner at a time, sampling every replica's /v1/ownership every 50 ms;
#   - kill -9 of the owner: another takes over within 2 x TTL (measured and printed);
#   - SIGSTOP of the owner past its TTL: another takes over; after SIGCONT the old owner
#     says follower at once and sends nothing more, and its late request (the old token)
#     is refused by the fence with 409;
#   - SIGSTOP of etcd: the owner stops acting before its lease can expire, although etcd
#     cannot be reached; after SIGCONT, ownership resumes with a greater token;
#   - across the run, the tokens the fence accepted only grow and each belongs to one owner.
# Usage: scripts/e2e/leader-election.sh PROOF  (CARGO_TARGET_DIR names the shared target)
# debian: etcd-server
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=lib.sh
source "$here/lib.sh"
proof="$(cd "$1" && pwd)"
project="$proof/leader-election"
ttl=3
# Waits for a process to become ready are a minute long: on a loaded machine a debug build
# once took over 20 s to answer (see sharded-service.sh).

e2e_build "$project/services"
candidate="$E2E_BIN/ledger-candidate"
fence="$E2E_BIN/ledger-fence"
[ -x "$candidate" ] && [ -x "$fence" ] || e2e_fail "no ledger-candidate or ledger-fence in $E2E_BIN"

etcd_port=$(e2e_port)
peer_port=$(e2e_port)
e2e_start etcd etcd --name e2e --data-dir "$e2e_work/etcd" \
  --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
  --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
  --initial-cluster "e2e=http://127.0.0.1:$peer_port"
etcd_pid=$E2E_PID
e2e_wait_http "http://127.0.0.1:$etcd_port/health" 60

fence_port=$(e2e_port)
e2e_start fence env PORT="$fence_port" METRICS_PORT="$(e2e_port)" SHUTDOWN_DRAIN_SECONDS=0 "$fence"
e2e_wait_http "http://127.0.0.1:$fence_port/readyz" 60

replicas=()
for i in 1 2 3; do
  port=$(e2e_port)
  e2e_start "candidate-$i" env POD_NAME="candidate-$i" PORT="$port" METRICS_PORT="$(e2e_port)" \
    RUST_LOG=info,common::telemetry=warn SHUTDOWN_DRAIN_SECONDS=0 LEASE_TTL_SECONDS="$ttl" ON_LOSS=stepDown LEDGER_EVERY_MILLIS=100 \
    ETCD_ENDPOINTS="http://127.0.0.1:$etcd_port" FENCE_URL="http://127.0.0.1:$fence_port" \
    OWNED_RESOURCE=ledger "$candidate"
  replicas+=("candidate-$i:$port:$E2E_PID")
  e2e_wait_http "http://127.0.0.1:$port/readyz" 60
done

python3 "$here/leader-election_drive.py" --ttl "$ttl" --fence "$fence_port" --etcd-pid "$etcd_pid" \
  --logs "$e2e_work" "${replicas[@]}" || e2e_fail "the election misbehaved (above)"
echo "leader-election: ok"
