#!/usr/bin/env python3
"""A stub OpenAI-compatible model server for scripts/e2e/inference-service.sh (no weights).

POST /v1/chat/completions and /v1/completions answer like a model server: the model the
request names, a short answer and its usage. Knobs in the request body (the gateway passes
the body through): `delay_ms` waits before answering; with `"stream": true`, `chunks`
events (default 5) are sent `chunk_ms` apart (default 300), each flushed at once.
GET /stats: the most requests the stub saw at once, requests per model, and when the last
stream's first and last events were sent (time.time()); POST /reset clears them.
Usage: inference-service_stub.py PORT
"""
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
stats = {"current": 0, "max_concurrent": 0, "requests": 0, "by_model": {}, "last_stream": None}


def reset():
    with lock:
        stats.update(max_concurrent=stats["current"], requests=0, by_model={}, last_stream=None)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: without this, Nagle's algorithm and the
    # gateway's delayed ACK add 40 ms to every answer.
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass  # thousands of requests: the stats say what happened

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/stats":
            with lock:
                return self.answer(200, dict(stats))
        if self.path == "/health":
            return self.answer(200, {"status": "ok"})
        self.answer(404, {"error": {"message": "no such path"}})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path == "/reset":
            reset()
            return self.answer(200, {})
        if self.path not in ("/v1/chat/completions", "/v1/completions"):
            return self.answer(404, {"error": {"message": "no such path"}})
        request = json.loads(body)
        model = request.get("model")
        with lock:
            stats["current"] += 1
            stats["max_concurrent"] = max(stats["max_concurrent"], stats["current"])
            stats["requests"] += 1
            stats["by_model"][model] = stats["by_model"].get(model, 0) + 1
        try:
            time.sleep(request.get("delay_ms", 0) / 1000)
            if request.get("stream"):
                self.stream(request, model)
            else:
                self.answer(200, {
                    "id": "cmpl-stub", "object": "chat.completion", "model": model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}}],
                    "usage": {"prompt_tokens": 7, "completion_tokens": 3},
                })
        except (BrokenPipeError, ConnectionResetError):
            pass  # the gateway gave up (its deadline): what a model server sees then
        finally:
            with lock:
                stats["current"] -= 1

    def stream(self, request, model):
        chunks, gap = request.get("chunks", 5), request.get("chunk_ms", 300) / 1000
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        first = None
        for i in range(chunks + 1):
            if i:
                time.sleep(gap)
            if i < chunks:
                event = {"model": model, "choices": [{"index": 0, "delta": {"content": f"t{i} "}}]}
                data = f"data: {json.dumps(event)}\n\n"
            else:
                data = "data: [DONE]\n\n"
            raw = data.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(raw), raw))
            self.wfile.flush()
            now = time.time()
            first = first or now
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        with lock:
            stats["last_stream"] = {"first_sent": first, "last_sent": now, "events": chunks}


if __name__ == "__main__":
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
