"""The configuration source of scripts/e2e/sidecar.sh: an HTTP server on 127.0.0.1 serving
GET /settings.json from the file STATE/body, with an ETag (the body's SHA-256) and 304 to a
matching If-None-Match; it answers 500 while STATE/fail exists. Each request is logged as
one line `<status>` to stdout, so the test can count full answers and 304s.

Usage: python3 sidecar_source.py PORT STATE
"""

import hashlib
import os
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
STATE = sys.argv[2]


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/settings.json":
            return self.answer(404, b"not found\n")
        if os.path.exists(os.path.join(STATE, "fail")):
            return self.answer(500, b"the source is down\n")
        with open(os.path.join(STATE, "body"), "rb") as f:
            body = f.read()
        etag = '"%s"' % hashlib.sha256(body).hexdigest()[:32]
        if self.headers.get("If-None-Match") == etag:
            return self.answer(304, b"", etag)
        return self.answer(200, body, etag)

    def answer(self, status, body, etag=None):
        self.send_response(status)
        if etag:
            self.send_header("ETag", etag)
        if status != 304:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if status != 304:
            self.wfile.write(body)
        print(status, flush=True)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
