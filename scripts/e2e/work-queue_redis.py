#!/usr/bin/env python3
"""Driver of scripts/e2e/work-queue.sh: talks RESP to the test's redis-server (stdlib only).

  work-queue_redis.py PORT enqueue STREAM COUNT POISON_EVERY WORK_MS [PREFIX]
      XADDs COUNT items `<prefix>-<i>` (data {"text": ..., "work_ms": WORK_MS}); every
      POISON_EVERY-th (i % POISON_EVERY == 7) carries the example handler's poison marker.
  work-queue_redis.py PORT count KEY            XLEN of KEY
  work-queue_redis.py PORT settled STREAM       XLEN of STREAM:results plus XLEN of STREAM:dead
  work-queue_redis.py PORT held STREAM GROUP CONSUMER
      the names of the entries CONSUMER holds (its pending entries), one per line
  work-queue_redis.py PORT pending STREAM GROUP the group's pending count
  work-queue_redis.py PORT rpush KEY VALUE...   RPUSH
  work-queue_redis.py PORT dump KEY             every entry of a stream as one JSON object per line
"""
import json
import socket
import sys


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.file = self.sock.makefile("rb")

    def call(self, *args):
        parts = [b"*%d\r\n" % len(args)]
        for arg in args:
            data = arg if isinstance(arg, bytes) else str(arg).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        self.sock.sendall(b"".join(parts))
        return self.read()

    def pipeline(self, commands):
        for command in commands:
            parts = [b"*%d\r\n" % len(command)]
            for arg in command:
                data = str(arg).encode()
                parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
            self.sock.sendall(b"".join(parts))
        return [self.read() for _ in commands]

    def read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)[:-2]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self.read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)


def main():
    port, command, *args = sys.argv[1:]
    r = Redis(int(port))
    if command == "enqueue":
        stream, count, poison_every, work_ms = args[0], int(args[1]), int(args[2]), int(args[3])
        prefix = args[4] if len(args) > 4 else "item"
        commands = []
        for i in range(count):
            text = "item number %d of the test" % i
            if poison_every and i % poison_every == 7:
                text += " #poison"
            data = json.dumps({"text": text, "work_ms": work_ms})
            commands.append(["XADD", stream, "*", "name", "%s-%d" % (prefix, i), "data", data])
        r.pipeline(commands)
    elif command == "count":
        print(r.call("XLEN", args[0]))
    elif command == "settled":
        print(r.call("XLEN", args[0] + ":results") + r.call("XLEN", args[0] + ":dead"))
    elif command == "pending":
        print(r.call("XPENDING", args[0], args[1])[0])
    elif command == "held":
        stream, group, consumer = args
        for entry in r.call("XPENDING", stream, group, "-", "+", 1000, consumer):
            found = r.call("XRANGE", stream, entry[0], entry[0])
            if found:
                fields = found[0][1]
                print(dict(zip(fields[::2], fields[1::2]))["name"])
    elif command == "rpush":
        print(r.call("RPUSH", args[0], *args[1:]))
    elif command == "dump":
        for entry_id, fields in r.call("XRANGE", args[0], "-", "+"):
            record = dict(zip(fields[::2], fields[1::2]))
            record["_id"] = entry_id
            print(json.dumps(record))
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
