"""Reads a file over and over for SECONDS, as an app re-reading its configuration would,
and counts the reads that are not one whole JSON document (a torn or empty file) and the
versions (`"v"`) seen. Prints `reads=N torn=M versions=a,b`.

Usage: python3 sidecar_reader.py FILE SECONDS
"""

import json
import sys
import time

path, seconds = sys.argv[1], float(sys.argv[2])
reads = torn = 0
versions = []
end = time.monotonic() + seconds
while time.monotonic() < end:
    try:
        with open(path, "rb") as f:
            data = f.read()
        reads += 1
        v = json.loads(data)["v"]
        if not versions or versions[-1] != v:
            versions.append(v)
    except (ValueError, KeyError):
        torn += 1
print("reads=%d torn=%d versions=%s" % (reads, torn, ",".join(map(str, versions))))
