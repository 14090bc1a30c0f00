#!/usr/bin/env python3
"""Drives the generated inference gateway for scripts/e2e/inference-service.sh.

  rollout GATEWAY PERCENT USERS   the candidate's share over USERS users is PERCENT ± 3 %,
                                  and every user gets the same model again, by the header
                                  and by the OpenAI `user` field alike
  stream GATEWAY STUB             a streamed answer: the client has the first event before
                                  the stub sends its last (times measured), all events pass
  deadline GATEWAY DEADLINE_MS    a request past the deadline is a 504 in OpenAI's shape,
                                  about at the deadline; the next request is served at once
  limit GATEWAY STUB MAX N        N slow requests at once: all served, the stub never sees
                                  more than MAX at once
  queue GATEWAY                   (one slot, one queue place) the third request at once is
                                  a 429 with Retry-After
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse
import urllib.request


def fail(message):
    print(f"inference-service driver: FAILED: {message}")
    sys.exit(1)


def connect(base):
    url = urllib.parse.urlparse(base)
    return http.client.HTTPConnection(url.hostname, url.port, timeout=15)


def chat(conn, body, headers=None):
    """POST a chat on a kept-alive connection: (status, headers, parsed body)."""
    conn.request("POST", "/v1/chat/completions", json.dumps(body),
                 {"content-type": "application/json", **(headers or {})})
    response = conn.getresponse()
    data = response.read()
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return response.status, response, parsed


def question(**extra):
    return {"messages": [{"role": "user", "content": "How do I reset my password?"}], **extra}


def rollout(gateway, percent, users):
    conn = connect(gateway)
    sides = {}
    for i in range(users):
        status, response, body = chat(conn, question(), {"x-user-id": f"user-{i}"})
        if status != 200:
            fail(f"user-{i}: {status} {body}")
        sides[i] = (response.getheader("x-inference-variant"), response.getheader("x-inference-model"))
        if body["model"] != sides[i][1]:
            fail(f"user-{i}: the answer header names {sides[i][1]}, the model server was asked for {body['model']}")
    share = 100 * sum(1 for side, _ in sides.values() if side == "candidate") / users
    if abs(share - percent) > 3:
        fail(f"the candidate got {share:.2f} % of {users} users, not {percent} ± 3 %")
    moved = 0
    for i in range(users):
        by_header = chat(conn, question(), {"x-user-id": f"user-{i}"})[1].getheader("x-inference-variant")
        by_field = chat(conn, question(user=f"user-{i}"))[1].getheader("x-inference-variant")
        moved += (by_header != sides[i][0]) + (by_field != sides[i][0])
    if moved:
        fail(f"{moved} repeated requests of the {users} users landed on the other model")
    print(f"rollout: candidate {share:.2f} % of {users} users (wanted {percent} ± 3 %); "
          f"all {users} sticky on {2 * users} repeated requests (header and `user` field)")


def stream(gateway, stub):
    conn = connect(gateway)
    started = time.time()
    conn.request("POST", "/v1/chat/completions",
                 json.dumps(question(stream=True, chunks=5, chunk_ms=300)),
                 {"content-type": "application/json"})
    response = conn.getresponse()
    if response.status != 200 or response.getheader("content-type") != "text/event-stream":
        fail(f"stream: {response.status} {response.getheader('content-type')}")
    events, first_at = [], None
    while True:
        line = response.readline()
        if not line:
            break
        if line.startswith(b"data:"):
            first_at = first_at or time.time()
            events.append(line.strip())
    ended = time.time()
    sent = json.loads(urllib.request.urlopen(f"{stub}/stats", timeout=5).read())["last_stream"]
    if len(events) != 6 or events[-1] != b"data: [DONE]":
        fail(f"stream: {len(events)} events, last {events[-1:]}")
    ahead = sent["last_sent"] - first_at
    if ahead < 1.0:
        fail(f"stream: the first event arrived only {ahead:.3f} s before the stub sent its last: buffered")
    print(f"stream: first event at {first_at - started:.3f} s, {ahead:.3f} s before the stub sent "
          f"its last event; stream ended at {ended - started:.3f} s, 6 events passed")


def deadline(gateway, deadline_ms):
    conn = connect(gateway)
    started = time.time()
    status, response, body = chat(conn, question(delay_ms=5000))
    took = time.time() - started
    if status != 504 or body["error"]["code"] != "deadline_exceeded" or body["error"]["type"] != "timeout":
        fail(f"deadline: {status} {body}")
    if not deadline_ms / 1000 <= took < deadline_ms / 1000 + 1:
        fail(f"deadline: the 504 came after {took:.3f} s, deadline {deadline_ms} ms")
    started = time.time()
    status, _, body = chat(conn, question())
    took_next = time.time() - started
    if status != 200 or took_next > 1:
        fail(f"deadline: the next request got {status} after {took_next:.3f} s: the slot was not freed")
    print(f"deadline: 504 deadline_exceeded after {took:.3f} s (deadline {deadline_ms} ms); "
          f"the next request was served in {took_next:.3f} s on the one slot")


def reset(stub):
    urllib.request.urlopen(urllib.request.Request(f"{stub}/reset", data=b"{}", method="POST"), timeout=5)


def at_once(gateway, n, body):
    results = [None] * n

    def one(i):
        results[i] = chat(connect(gateway), body)[:2]

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
        time.sleep(0.02)
    for thread in threads:
        thread.join(30)
    return results


def limit(gateway, stub, most, n):
    reset(stub)
    started = time.time()
    results = at_once(gateway, n, question(model="small", delay_ms=400))
    took = time.time() - started
    statuses = sorted(status for status, _ in results)
    if statuses != [200] * n:
        fail(f"limit: {statuses}")
    seen = json.loads(urllib.request.urlopen(f"{stub}/stats", timeout=5).read())["max_concurrent"]
    if seen != most:
        fail(f"limit: the stub saw {seen} requests at once, the limit is {most}")
    print(f"limit: {n} requests at once, all 200 in {took:.3f} s; the stub saw at most {seen} at once (limit {most})")


def queue(gateway):
    results = at_once(gateway, 3, question(delay_ms=300))
    statuses = sorted(status for status, _ in results)
    if statuses != [200, 200, 429]:
        fail(f"queue: {statuses}, wanted two served and one 429")
    refused = next(response for status, response in results if status == 429)
    if refused.getheader("retry-after") != "1":
        fail(f"queue: the 429 has Retry-After {refused.getheader('retry-after')}")
    print("queue: one slot and one queue place: 2 served, the third 429 with Retry-After: 1")


if __name__ == "__main__":

    command, args = sys.argv[1], sys.argv[2:]
    if command == "rollout":
        rollout(args[0], int(args[1]), int(args[2]))
    elif command == "stream":
        stream(args[0], args[1])
    elif command == "deadline":
        deadline(args[0], int(args[1]))
    elif command == "limit":
        limit(args[0], args[1], int(args[2]), int(args[3]))
    elif command == "queue":
        queue(args[0])
    else:
        fail(f"unknown command {command}")
