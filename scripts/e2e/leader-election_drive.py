#!/usr/bin/env python3
"""Drives the leader-election end-to-end test (see leader-election.sh): kills, pauses and
resumes the owner and etcd while a sampler asks every replica's /v1/ownership every 50 ms,
then checks what the fence accepted. Prints what it measured; exits 1 on any violation.

Usage: leader-election_drive.py --ttl S --fence PORT --etcd-pid PID --logs DIR NAME:PORT:PID...
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request


def get_json(port, path, timeout=0.3):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
            return json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None


def post_json(port, path, body, timeout=2.0):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


class Replica:
    def __init__(self, spec):
        name, port, pid = spec.split(":")
        self.name, self.port, self.pid = name, int(port), int(pid)
        self.alive = True

    def view(self):
        return get_json(self.port, "/v1/ownership") if self.alive else None


class Sampler(threading.Thread):
    """Samples every live replica every 50 ms; a sample naming two owners is a violation."""

    def __init__(self, replicas):
        super().__init__(daemon=True)
        self.replicas = replicas
        self.samples = 0
        self.ownerless = 0
        self.violations = []
        self.owner = None  # (name, token) of the last sample with an owner
        self.lock = threading.Lock()
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            owners = []
            for replica in self.replicas:
                view = replica.view()
                if view and view.get("owner"):
                    owners.append((replica.name, view.get("token")))
            with self.lock:
                self.samples += 1
                if len(owners) > 1:
                    self.violations.append((time.time(), owners))
                if not owners:
                    self.ownerless += 1
                else:
                    self.owner = owners[0]
            time.sleep(0.05)

    def current(self):
        with self.lock:
            return self.owner


def fail(message):
    print(f"leader-election: FAILED: {message}")
    sys.exit(1)


def wait_owner(sampler, replicas, limit, not_name=None, above=None):
    """Waits up to `limit` s for one live replica to own the lease (another than `not_name`,
    with a token above `above`); returns (name, token, seconds waited)."""
    start = time.time()
    while time.time() - start < limit:
        for replica in replicas:
            view = replica.view()
            if not view or not view.get("owner") or replica.name == not_name:
                continue
            if above is not None and view["token"] <= above:
                fail(f"{replica.name} owns the lease with token {view['token']}, not above {above}")
            return replica, view["token"], time.time() - start
        time.sleep(0.02)
    return None, None, time.time() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ttl", type=float, required=True)
    parser.add_argument("--fence", type=int, required=True)
    parser.add_argument("--etcd-pid", type=int, required=True)
    parser.add_argument("--logs", required=True)
    parser.add_argument("replicas", nargs=3)
    args = parser.parse_args()
    ttl = args.ttl
    replicas = [Replica(spec) for spec in args.replicas]
    sampler = Sampler(replicas)
    sampler.start()

    # 1. One owner is elected.
    first, first_token, waited = wait_owner(sampler, replicas, 10)
    if not first:
        fail("no owner within 10 s")
    print(f"elected: {first.name} with token {first_token} after {waited:.2f} s")
    time.sleep(ttl)  # a few renewals: the term must last

    view = first.view()
    if not view or not view["owner"] or view["token"] != first_token:
        fail(f"{first.name} did not keep its term over {ttl} s of renewals: {view}")

    # 2. kill -9 the owner: another takes over within 2 x TTL.
    killed_at = time.time()
    os.kill(first.pid, signal.SIGKILL)
    first.alive = False
    second, second_token, _ = wait_owner(sampler, replicas, 3 * ttl, not_name=first.name, above=first_token)
    if not second:
        fail(f"nobody took over within {3 * ttl} s of killing {first.name}")
    takeover = time.time() - killed_at
    print(f"kill -9 {first.name}: {second.name} took over after {takeover:.2f} s (limit {2 * ttl:.0f} s), token {first_token} -> {second_token}")
    if takeover > 2 * ttl:
        fail(f"takeover took {takeover:.2f} s, more than 2 x TTL")
    time.sleep(1)

    # 3. SIGSTOP the owner past its TTL: it is replaced; SIGCONT: it stops at once, and its
    # late request is refused.
    stopped_at = time.time()
    os.kill(second.pid, signal.SIGSTOP)
    second.alive = False
    third, third_token, _ = wait_owner(sampler, replicas, 3 * ttl, not_name=second.name, above=second_token)
    if not third:
        fail(f"nobody took over within {3 * ttl} s of pausing {second.name}")
    print(f"SIGSTOP {second.name}: {third.name} took over after {time.time() - stopped_at:.2f} s, token {second_token} -> {third_token}")
    time.sleep(1)  # the new owner writes with its token
    resumed_at = time.time()
    os.kill(second.pid, signal.SIGCONT)
    second.alive = True
    view = None
    deadline = time.time() + 2
    while view is None and time.time() < deadline:
        view = second.view()
    if view is None or view["owner"]:
        fail(f"{second.name} after SIGCONT says {view}, not follower")
    print(f"SIGCONT {second.name}: says follower {time.time() - resumed_at:.2f} s after resuming")
    # The late request of the paused owner (one it had in flight, or a retry): its old token.
    late = {"fencingToken": second_token, "owner": second.name, "sequence": 999999}
    status, body = post_json(args.fence, "/v1/resources/ledger/entries", late)
    if status != 409:
        fail(f"the fence answered {status} to the stale token {second_token}: {body}")
    print(f"late request with token {second_token}: refused with 409 ({body.get('message')})")
    time.sleep(1)

    # 4. SIGSTOP etcd: the owner cannot renew, and must stop before its lease can expire.
    owner, owner_token, _ = wait_owner(sampler, replicas, 3 * ttl)
    if not owner:
        fail("no owner before pausing etcd")
    os.kill(args.etcd_pid, signal.SIGSTOP)
    paused_at = time.time()
    try:
        while time.time() - paused_at < 2 * ttl:
            view = owner.view()
            if view and not view["owner"]:
                break
            time.sleep(0.02)
        stopped_after = time.time() - paused_at
    finally:
        os.kill(args.etcd_pid, signal.SIGCONT)
    # The last renewal was sent before the pause, so the lease ends at most TTL after it.
    if stopped_after >= ttl:
        fail(f"with etcd paused, {owner.name} still acted as owner {stopped_after:.2f} s later (TTL {ttl} s)")
    print(f"SIGSTOP etcd: {owner.name} stopped acting after {stopped_after:.2f} s, before its lease could expire (TTL {ttl:.0f} s)")
    again, again_token, waited = wait_owner(sampler, replicas, 4 * ttl, above=owner_token)
    if not again:
        fail("no owner after etcd resumed")
    print(f"SIGCONT etcd: {again.name} owns the lease after {waited:.2f} s, token {owner_token} -> {again_token}")
    time.sleep(1)

    sampler.stopping.set()
    sampler.join()

    # 5. What the fence accepted: tokens only grow, each token is one owner's, and nothing
    # of the paused owner's term arrived after its pause.
    ledger = get_json(args.fence, "/v1/resources/ledger", timeout=2)
    if not ledger:
        fail("cannot read the ledger from the fence")
    entries = ledger["entries"]
    owners_of = {}
    previous = 0
    for entry in entries:
        token = entry["fencingToken"]
        if token < previous:
            fail(f"the fence accepted token {token} after {previous}")
        previous = token
        owners_of.setdefault(token, set()).add(entry["owner"])
    shared = {t: o for t, o in owners_of.items() if len(o) > 1}
    if shared:
        fail(f"tokens written by two owners: {shared}")
    late_entries = [
        e for e in entries
        if e["fencingToken"] == second_token and e["acceptedUnixMs"] / 1000 > stopped_at + 0.05
    ]
    if late_entries:
        fail(f"{second.name} wrote after its pause: {late_entries[:3]}")
    if sampler.violations:
        fail(f"two owners at once in {len(sampler.violations)} samples: {sampler.violations[:3]}")
    terms = " -> ".join(f"{t} ({sorted(o)[0]})" for t, o in owners_of.items())
    print(f"fence: {ledger['appended']} entries accepted, tokens in order: {terms}")
    print(f"sampler: {sampler.samples} samples, never two owners; {sampler.ownerless} without an owner (handovers)")


if __name__ == "__main__":
    main()
