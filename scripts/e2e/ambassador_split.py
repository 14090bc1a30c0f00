"""Driver of scripts/e2e/ambassador.sh for the splitting ambassador.

`upstreams PRIMARY EXPERIMENT SHADOW READY_FILE`: three HTTP servers on 127.0.0.1 that
answer every request with their name and the user header they saw; the shadow answers
only after 2 s and counts what it got in COUNT_FILE (READY_FILE + ".shadow").
`split AMBASSADOR USERS REPEATS`: USERS users, each sending REPEATS requests through the
ambassador; checks 90/10 +- 3 %, every user on one variant on every request, and that no
answer took long (a slow shadow must not delay it)."""

import http.client
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SHADOW_DELAY = 2.0


def fail(message):
    print(f"ambassador split: {message}", file=sys.stderr)
    sys.exit(1)


def upstreams(primary, experiment, shadow, ready_file):
    shadow_count = [0]
    lock = threading.Lock()

    def handler(name, delay):
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The headers and the body are two writes: without TCP_NODELAY the second
            # waits for the client's delayed ACK (40 ms a request).
            disable_nagle_algorithm = True

            def answer(self):
                length = int(self.headers.get("content-length") or 0)
                if length:
                    self.rfile.read(length)
                if delay:
                    time.sleep(delay)
                    with lock:
                        shadow_count[0] += 1
                        with open(ready_file + ".shadow", "w") as f:
                            f.write(str(shadow_count[0]))
                body = json.dumps({"upstream": name, "user": self.headers.get("x-user-id", "")}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = answer
            do_POST = answer

            def log_message(self, *args):
                pass

        return Handler

    class Server(ThreadingHTTPServer):
        # The ambassador may hold SHADOW_IN_FLIGHT copies open at once: a backlog of 5
        # would refuse some, and the shadow's circuit breaker would then open.
        request_queue_size = 256
        daemon_threads = True

    servers = [
        Server(("127.0.0.1", int(primary)), handler("primary", 0)),
        Server(("127.0.0.1", int(experiment)), handler("experiment", 0)),
        Server(("127.0.0.1", int(shadow)), handler("shadow", SHADOW_DELAY)),
    ]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(ready_file, "w") as f:
        f.write("ready\n")
    while True:
        time.sleep(3600)


def split(ambassador, users, repeats):
    host, port = ambassador.split(":")
    users, repeats = int(users), int(repeats)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    seen = {}
    slowest = 0.0
    for round_ in range(repeats):
        for i in range(users):
            user = f"user-{i:05d}"
            started = time.monotonic()
            conn.request("GET", f"/v1/quotes/{i}", headers={"x-user-id": user})
            response = conn.getresponse()
            body = response.read()
            took = time.monotonic() - started
            slowest = max(slowest, took)
            if took >= SHADOW_DELAY / 2:
                fail(f"{user}: the answer took {took * 1000:.0f} ms: the shadow delayed it")
            if response.status != 200:
                fail(f"{user}: status {response.status}: {body[:200]!r}")
            answer = json.loads(body)
            variant = response.getheader("x-ambassador-variant")
            if answer["upstream"] != variant:
                fail(f"{user}: answered by {answer['upstream']}, header says {variant}")
            if answer["upstream"] == "shadow":
                fail(f"{user}: the shadow's answer reached the app")
            if answer["user"] != user:
                fail(f"{user}: the upstream saw user {answer['user']!r}")
            if seen.setdefault(user, variant) != variant:
                fail(f"{user}: {seen[user]} first, then {variant} on round {round_ + 1}")
    experiment = sum(1 for v in seen.values() if v == "experiment")
    share = 100.0 * experiment / users
    print(f"{users} users x {repeats}: {experiment} in the experiment ({share:.1f} %), "
          f"every user sticky on every repeat; slowest answer {slowest * 1000:.0f} ms "
          f"while the shadow takes {SHADOW_DELAY * 1000:.0f} ms")
    if not 7.0 <= share <= 13.0:
        fail(f"the experiment got {share:.1f} % of the users, not 10 +- 3 %")


if __name__ == "__main__":
    {"upstreams": upstreams, "split": split}[sys.argv[1]](*sys.argv[2:])
