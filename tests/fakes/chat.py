"""A fake OpenAI-compatible chat-completions server (no LLM or vision model can run here).

Built from the documented wire format (https://platform.openai.com/docs/api-reference/chat/create):
``POST {base}/chat/completions`` with a JSON body ``{"model", "messages", ...}``; the answer is a
``chat.completion`` object whose ``choices[0].message.content`` holds the model's text. Used by the LLM
planner's, the vision classifier's and the shared client's tests.

``reply(n, body) -> (status, content, delay_s)`` answers the n-th request (from 0); ``content`` is wrapped in a
chat completion, unless it is ``bytes``: then it is sent as the raw body (a broken server). Without ``reply``,
``replies`` is a queue of ``(status, content)`` answered in order. The ``serve`` fixture starts them. ``stall_s`` > 0 sends the headers and half
the body, then waits that long before the rest (a server that stops in the middle of its answer).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

Reply = Callable[[int, dict], tuple[int, Any, float]]


class FakeChat:
    def __init__(self, reply: Reply | None = None) -> None:
        self.reply = reply
        self.replies: list[tuple[int, Any]] = []
        self.requests: list[dict] = []
        self.stall_s = 0.0
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with fake.lock:
                    n = len(fake.requests)
                    fake.requests.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                          "body": body})
                    status, content, delay = fake.reply(n, body) if fake.reply else (*fake.replies.pop(0), 0)
                if delay:
                    time.sleep(delay)
                if isinstance(content, bytes):
                    payload = content
                else:
                    payload = json.dumps({"id": "x", "object": "chat.completion", "model": body.get("model"),
                                          "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                              "role": "assistant", "content": content}}]}).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if fake.stall_s > 0:
                        self.wfile.write(payload[: len(payload) // 2])
                        self.wfile.flush()
                        time.sleep(fake.stall_s)
                        payload = payload[len(payload) // 2:]
                    self.wfile.write(payload)
                except OSError:  # the client gave up (timeout tests)
                    pass

            def log_message(self, *a: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture(name="serve")
def serve_fixture():
    """The ``serve`` fixture (import ``serve_fixture`` into a test module): ``serve(reply=None)`` -> a started
    :class:`FakeChat`; all are closed after the test."""
    made: list[FakeChat] = []

    def make(reply: Reply | None = None) -> FakeChat:
        made.append(FakeChat(reply))
        return made[-1]

    yield make
    for f in made:
        f.close()
