#!/usr/bin/env python3
"""Helpers of scripts/e2e/function.sh (python3 standard library only).

  function_sink.py serve PORT RECORDS
      A stand-in for a decorated service on 127.0.0.1:PORT: every POST is appended to
      RECORDS as one JSON line {"path", "headers", "body"} (header names lower-cased) and
      answered 200 with {"received": <the body>}. It lets the test read exactly what the
      last function of a pipeline delivered.
  function_sink.py get FILE PATH
      Prints the JSON value at PATH in FILE (a JSON document, or the last line of a JSON
      lines file) as compact JSON with sorted keys; PATH is like .body.handledBy.0.hop
      (`.` alone is the whole value). Exit 1 when the path is not there.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def serve(port, records):
    class Sink(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("content-length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            record = {
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            }
            with open(records, "a", encoding="utf-8") as out:
                out.write(json.dumps(record, sort_keys=True) + "\n")
            answer = json.dumps({"received": body}).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    ThreadingHTTPServer(("127.0.0.1", int(port)), Sink).serve_forever()


def get(path, where):
    with open(path, encoding="utf-8") as f:
        text = f.read().strip()
    try:
        value = json.loads(text)
    except ValueError:
        value = json.loads(text.splitlines()[-1])
    for part in [p for p in where.split(".") if p]:
        try:
            value = value[int(part)] if isinstance(value, list) else value[part]
        except (KeyError, IndexError, ValueError, TypeError):
            print(f"{where}: no {part!r} in {path}", file=sys.stderr)
            sys.exit(1)
    print(json.dumps(value, sort_keys=True, separators=(",", ":")))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "serve":
        serve(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "get":
        get(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
