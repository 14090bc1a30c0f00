#!/usr/bin/env python3
"""Drives the event-pipeline end-to-end test (scripts/e2e/event-pipeline.sh).

  feed N STREAM        RESP commands adding N documents and one poison item to STREAM,
                       for `redis-cli --pipe`
  expected N           the ids the pipeline must deliver to its end, one per line
  env MANIFEST         each stage Deployment of the rendered manifest as one line:
                       `<stage> NAME=value ...` (its container's plain env values)

The documents: every fourth is long (to the `long` branch), the next is blank (dropped
by the filter on the `short` branch), the other two short and kept. Each has an author,
for the sharder. The poison item's body is not JSON, which every hook refuses.
"""

import json
import re
import sys


def resp(*args):
    out = [f"*{len(args)}\r\n"]
    for a in args:
        b = str(a).encode()
        out.append(f"${len(b)}\r\n")
        out.append(b.decode() + "\r\n")
    return "".join(out)


def document(i):
    if i % 4 == 0:
        text = f"long document {i} " + "x" * 150
    elif i % 4 == 1:
        text = "   "
    else:
        text = f"document {i}"
    return {"text": text, "author": f"author-{i % 7}", "n": i}


def kept(i):
    return i % 4 != 1


def feed(n, stream):
    lines = [resp("XADD", stream, "*", "id", f"item-{i:04d}", "body", json.dumps(document(i))) for i in range(n)]
    lines.append(resp("XADD", stream, "*", "id", "poison-1", "body", "not json"))
    sys.stdout.write("".join(lines))


def expected(n):
    for i in range(n):
        if kept(i):
            print(f"item-{i:04d}")


def env(manifest):
    text = open(manifest, encoding="utf-8").read()
    for doc in text.split("\n---"):
        if not re.search(r"^kind: Deployment$", doc, re.M):
            continue
        pairs = dict(re.findall(r"- name: (\w+)\n\s+value: ['\"]?([^'\"\n]*)['\"]?\n", doc))
        stage = pairs.get("STAGE_NAME")
        if stage:
            print(stage, " ".join(f"{k}={v}" for k, v in sorted(pairs.items())))


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "feed":
        feed(int(sys.argv[2]), sys.argv[3])
    elif command == "expected":
        expected(int(sys.argv[2]))
    elif command == "env":
        env(sys.argv[2])
    else:
        sys.exit(f"unknown command {command}")
