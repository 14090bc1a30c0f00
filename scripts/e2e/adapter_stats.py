"""A stand-in for an application that keeps its statistics in a JSON document of its
own: serves GET /v1/stats on 127.0.0.1:PORT, each request counting as an accepted
connection, so the values move between scrapes.

Usage: python3 adapter_stats.py PORT
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"accepted": 120}


class Stats(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the standard library's name)
        if self.path != "/v1/stats":
            self.send_error(404)
            return
        STATE["accepted"] += 1
        body = json.dumps(
            {
                "connections": {"active": 3, "accepted": STATE["accepted"]},
                "requests": {"ok": 990, "failed": 10},
                "cache": {"hitRatio": 0.93},
                "version": "2.3.1",
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Stats).serve_forever()
