"""Driver of scripts/e2e/sharded-service.sh: the HTTP checks against the generated router
and shards, and the memcached checks behind the rendered nutcracker configuration.
Python standard library only; every socket has a timeout; loopback only.

Subcommands (each exits 1 with a message when its check fails):
  put ROUTER KEYS OUT                PUT KEYS keys through the router; OUT records key -> shard
  same ROUTER MAP                    every key answers 200 with its value from its shard, twice
  holdings MAP SHARD...              each shard holds exactly the keys MAP puts on it
  grown ROUTER MAP NEW               after N -> N+1 shards: a key stays or moves to NEW
  shrunk ROUTER MAP GONE             after removing shard GONE: only its keys move
  down ROUTER MAP DEAD               shard DEAD is down: its keys 502/503, the others 200
  nutcracker-config MANIFEST OUT LISTEN PORTS...   the rendered nutcracker.yml, addresses
                                     rewritten to 127.0.0.1 ports (names kept)
  memcached PROXY KEYS CONFIG PORTS...   keys set through the proxy land on the memcached
                                     ketama (fnv1a_64, by server name) picks, and only there
  redis PROXY KEYS CONFIG PORTS...   the same with redis servers (RESP)
"""

import hashlib
import http.client
import json
import re
import socket
import struct
import sys


def fail(message):
    print(f"sharded-service driver: {message}", flush=True)
    sys.exit(1)


def request(base, method, path, body=None):
    host, port = base.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path, body=body, headers={"x-request-id": f"e2e-{method}-{path}"})
        response = conn.getresponse()
        return response.status, response.getheader("x-shard"), response.read()
    finally:
        conn.close()


def keys(count):
    return [f"user-{i}" for i in range(int(count))]


def load(path):
    with open(path) as f:
        return json.load(f)


def put(router, count, out):
    placed = {}
    for key in keys(count):
        status, shard, body = request(router, "PUT", f"/v1/items/{key}", f"value-of-{key}")
        if status != 201 or shard is None:
            fail(f"PUT {key} through the router: {status} {body!r}")
        placed[key] = int(shard)
    with open(out, "w") as f:
        json.dump(placed, f)
    spread = sorted({s for s in placed.values()})
    print(f"put {len(placed)} keys through the router onto shards {spread}")


def same(router, path):
    placed = load(path)
    for _ in range(2):
        for key, shard in placed.items():
            status, answered_by, body = request(router, "GET", f"/v1/items/{key}")
            if status != 200 or answered_by != str(shard) or body != f"value-of-{key}".encode():
                fail(f"GET {key}: {status} from shard {answered_by}, expected 200 from {shard}: {body!r}")
    print(f"every one of {len(placed)} keys answered twice by the shard it was written to")


def holdings(path, *shards):
    placed = load(path)
    for number, base in enumerate(shards):
        status, _, body = request(base, "GET", "/v1/shard")
        if status != 200:
            fail(f"GET /v1/shard on shard {number}: {status}")
        held = set(json.loads(body)["keys"])
        expected = {k for k, s in placed.items() if s == number}
        if held != expected:
            fail(f"shard {number} holds {sorted(held ^ expected)[:5]}... unlike the router's placement")
        if not held:
            fail(f"shard {number} holds no key")
        print(f"shard {number} holds exactly its {len(held)} keys")


def grown(router, path, new):
    placed, new, moved = load(path), int(new), 0
    for key, shard in placed.items():
        status, answered_by, body = request(router, "GET", f"/v1/items/{key}")
        if answered_by == str(shard):
            if status != 200 or body != f"value-of-{key}".encode():
                fail(f"{key} stayed on shard {shard} but answered {status} {body!r}")
        elif answered_by == str(new):
            moved += 1
            if status != 404:
                fail(f"{key} moved to the new shard, which should not have it yet: {status}")
        else:
            fail(f"{key} moved from shard {shard} to shard {answered_by}, not to the new shard {new}")
    fraction, bound = moved / len(placed), 1 / (new + 1) + 0.02
    print(f"{new} -> {new + 1} shards: {moved} of {len(placed)} keys ({fraction:.3f}) moved, all to the new shard (bound {bound:.3f})")
    if moved == 0 or fraction > bound:
        fail(f"moved fraction {fraction:.3f} outside (0, {bound:.3f}]")


def shrunk(router, path, gone):
    placed, gone, moved = load(path), int(gone), 0
    for key, shard in placed.items():
        status, answered_by, body = request(router, "GET", f"/v1/items/{key}")
        if shard == gone:
            moved += 1
            if answered_by == str(gone) or status != 404:
                fail(f"{key} of the removed shard {gone}: {status} from shard {answered_by}")
        elif answered_by != str(shard) or status != 200 or body != f"value-of-{key}".encode():
            fail(f"{key} left shard {shard} when shard {gone} was removed: {status} from {answered_by}")
    print(f"shard {gone} removed: its {moved} keys moved, every other key stayed")


def down(router, path, dead):
    placed, dead = load(path), int(dead)
    failed, served = {}, 0
    for key, shard in placed.items():
        status, answered_by, body = request(router, "GET", f"/v1/items/{key}")
        if shard == dead:
            if status not in (502, 503) or answered_by != str(dead):
                fail(f"{key} of the down shard {dead}: {status} from {answered_by} {body!r}")
            failed[status] = failed.get(status, 0) + 1
        else:
            if status != 200 or answered_by != str(shard) or body != f"value-of-{key}".encode():
                fail(f"{key} of shard {shard} while shard {dead} is down: {status} from {answered_by}")
            served += 1
    print(f"shard {dead} down: its keys answered {failed}, the other {served} keys served as before")


def nutcracker_config(manifest, out, listen, *ports):
    """The ConfigMap's nutcracker.yml as rendered, with each server's address (not its name)
    pointed at a local memcached, and the pool listening on LISTEN."""
    text = open(manifest).read()
    match = re.search(r"^  nutcracker\.yml: \|-?\n((?:    .*\n|\n)+)", text, re.M)
    if not match:
        fail(f"no nutcracker.yml block in {manifest}")
    config = "\n".join(line[4:] for line in match.group(1).splitlines()) + "\n"
    with open(out + ".rendered", "w") as f:
        f.write(config)
    servers = re.findall(r"^    - (\S+):(\d+):(\d+) (\S+)$", config, re.M)
    if len(servers) != len(ports):
        fail(f"{len(servers)} servers in the rendered config, {len(ports)} memcached started")
    for i, (host, _, _, name) in enumerate(servers):
        if not host.startswith(name + ".") or not name.endswith(f"-{i}"):
            fail(f"server {i}: name {name} is not the pod of {host}")
    print("rendered servers:", ", ".join(f"{h} as {n}" for h, _, _, n in servers))
    lines = iter(ports)
    config = re.sub(r"^(  listen: ).*$", lambda m: m.group(1) + listen, config, flags=re.M)
    config = re.sub(
        r"^    - \S+:\d+:(\d+) (\S+)$",
        lambda m: f"    - 127.0.0.1:{next(lines)}:{m.group(1)} {m.group(2)}",
        config,
        flags=re.M,
    )
    with open(out, "w") as f:
        f.write(config)


def memcached_command(port, line, expect_end=b"\r\n"):
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as conn:
        conn.sendall(line)
        data = b""
        while not data.endswith(expect_end):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
        return data


def float32(x):
    return struct.unpack("f", struct.pack("f", x))[0]


def twemproxy_ketama(names):
    """nutcracker 0.5.0's continuum (nc_ketama.c): 160 points per server of equal weight,
    the MD5 of `<name>-<i>` giving four points each, in float32 as the C code computes."""
    points, count = [], len(names)
    pct = float32(1.0 / count)
    per_server = int(float32(float32(float32(float32(pct * 160) / 4) * count) + 0.0000000001)) * 4
    for index, name in enumerate(names):
        for i in range(per_server // 4):
            digest = hashlib.md5(f"{name}-{i}".encode()).digest()
            for x in range(4):
                value = int.from_bytes(digest[x * 4:x * 4 + 4], "little")
                points.append((value, index))
    points.sort(key=lambda p: p[0])
    return points


def fnv1a_64_as_twemproxy(key):
    """twemproxy's fnv1a_64 (nc_fnv.c): FNV-1a with 64-bit constants in 32-bit arithmetic."""
    value = 0xCBF29CE484222325 & 0xFFFFFFFF
    for byte in key.encode():
        value ^= byte
        value = (value * (0x100000001B3 & 0xFFFFFFFF)) & 0xFFFFFFFF
    return value


def dispatch(points, value):
    lo, hi = 0, len(points)
    while lo < hi:
        mid = (lo + hi) // 2
        if points[mid][0] < value:
            lo = mid + 1
        else:
            hi = mid
    return points[0 if hi == len(points) else hi][1]


def memcached(proxy, count, config, *ports):
    names = re.findall(r"^    - \S+:\d+:\d+ (\S+)$", open(config).read(), re.M)
    continuum = twemproxy_ketama(names)
    for key in keys(count):
        reply = memcached_command(proxy, f"set {key} 0 0 {len(key) + 2}\r\nv:{key}\r\n".encode())
        if reply != b"STORED\r\n":
            fail(f"set {key} through nutcracker: {reply!r}")
    held = {port: 0 for port in ports}
    for key in keys(count):
        on = [p for p in ports if memcached_command(p, f"get {key}\r\n".encode(), b"END\r\n") != b"END\r\n"]
        if len(on) != 1:
            fail(f"{key} is on {len(on)} memcached servers, not one")
        predicted = ports[dispatch(continuum, fnv1a_64_as_twemproxy(key))]
        if on[0] != predicted:
            fail(f"{key} is on memcached :{on[0]}, ketama over the names places it on :{predicted}")
        held[on[0]] += 1
        reply = memcached_command(proxy, f"get {key}\r\n".encode(), b"END\r\n")
        if f"v:{key}".encode() not in reply:
            fail(f"get {key} through nutcracker: {reply!r}")
    if not all(held.values()):
        fail(f"a memcached got no key: {held}")
    print(f"{count} keys through nutcracker: each on exactly one memcached, the one ketama picks by server name; per server {list(held.values())}")


def resp(*parts):
    out = f"*{len(parts)}\r\n"
    for part in parts:
        out += f"${len(part.encode())}\r\n{part}\r\n"
    return out.encode()


def redis_command(port, *parts):
    """One command, one reply: a status line, or a bulk string (`$-1` when absent)."""
    with socket.create_connection(("127.0.0.1", int(port)), timeout=5) as conn:
        conn.sendall(resp(*parts))
        data = b""
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
            if data[:1] in (b"+", b"-", b":") and data.endswith(b"\r\n"):
                return data
            if data.startswith(b"$-1\r\n"):
                return data
            if data[:1] == b"$" and b"\r\n" in data:
                size = int(data[1:data.index(b"\r\n")])
                if len(data) >= data.index(b"\r\n") + 2 + size + 2:
                    return data


def redis(proxy, count, config, *ports):
    names = re.findall(r"^    - \S+:\d+:\d+ (\S+)$", open(config).read(), re.M)
    continuum = twemproxy_ketama(names)
    for key in keys(count):
        reply = redis_command(proxy, "SET", key, f"v:{key}")
        if reply != b"+OK\r\n":
            fail(f"SET {key} through nutcracker: {reply!r}")
    held = {port: 0 for port in ports}
    for key in keys(count):
        on = [p for p in ports if not redis_command(p, "GET", key).startswith(b"$-1")]
        if len(on) != 1:
            fail(f"{key} is on {len(on)} redis servers, not one")
        predicted = ports[dispatch(continuum, fnv1a_64_as_twemproxy(key))]
        if on[0] != predicted:
            fail(f"{key} is on redis :{on[0]}, ketama over the names places it on :{predicted}")
        held[on[0]] += 1
        if f"v:{key}".encode() not in redis_command(proxy, "GET", key):
            fail(f"GET {key} through nutcracker failed")
    if not all(held.values()):
        fail(f"a redis got no key: {held}")
    print(f"{count} keys through nutcracker: each on exactly one redis, the one ketama picks by server name; per server {list(held.values())}")


COMMANDS = {
    "put": put,
    "same": same,
    "holdings": holdings,
    "grown": grown,
    "shrunk": shrunk,
    "down": down,
    "nutcracker-config": nutcracker_config,
    "memcached": memcached,
    "redis": redis,
}

if __name__ == "__main__":
    COMMANDS[sys.argv[1]](*sys.argv[2:])
