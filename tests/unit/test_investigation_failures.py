"""Every kind of question against a backend that fails in several ways must come back as an Answer with
``error`` set and a short message: never an exception, never a traceback in the text.

The backend is a real HTTP server on 127.0.0.1: a proxy in front of the embedded engine's Prometheus API
(over a simulated day) that answers the catalogue's requests faithfully and breaks the query endpoints on
demand: HTTP 500, an HTML body, sample values that are not numbers, a wrong JSON shape, a reply slower than the
client's timeout, a dropped connection, and a failure in the middle of an analysis (after some good queries).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from promv5_lab.investigation import Investigation

QUESTIONS = {
    "query": "p95 latency of checkout over the last hour",
    "anomalies": "is anything weird with checkout right now",
    "forecast": "predict checkout traffic tomorrow",
    "capacity": "how long until the disk is full on node-3",
    "diagnosis": "what's wrong with checkout",
}
MODES = ("500", "html", "not_numbers", "wrong_shape", "slow", "dropped")


class Proxy(BaseHTTPRequestHandler):
    upstream = ""
    mode: str | None = None
    calls = 0
    lock = threading.Lock()

    def log_message(self, *a):  # quiet
        pass

    def _forward(self, body: bytes | None) -> None:
        req = urllib.request.Request(self.upstream + self.path, data=body, method=self.command,
                                     headers={"Content-Type": self.headers.get("Content-Type", "")} if body else {})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as exc:
            status, data = exc.code, exc.read()
        self._send(status, data)

    def _send(self, status: int, data: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else None
        is_query = self.path.startswith(("/api/v1/query", "/api/v1/query_range"))
        mode = type(self).mode
        if not is_query or mode is None:
            return self._forward(body)
        with type(self).lock:
            type(self).calls += 1
            calls = type(self).calls
        if mode == "after_3" and calls <= 3:
            return self._forward(body)
        if mode in ("500", "after_3"):
            return self._send(500, b'{"status":"error","errorType":"internal","error":"storage exploded"}')
        if mode == "html":
            return self._send(200, b"<html><body>502 Bad Gateway (nginx)</body></html>", "text/html")
        if mode == "not_numbers":
            kind = "matrix" if "query_range" in self.path else "vector"
            sample = [1764000000, "twelve"]
            item = {"metric": {"service": "checkout"}, ("values" if kind == "matrix" else "value"):
                    [sample] if kind == "matrix" else sample}
            return self._send(200, json.dumps({"status": "success", "data": {"resultType": kind,
                                                                              "result": [item]}}).encode())
        if mode == "wrong_shape":
            return self._send(200, b'{"status":"success","data":{"resultType":"matrix","result":{"oops":1}}}')
        if mode == "slow":
            time.sleep(1.5)
            return self._forward(body)
        if mode == "dropped":
            self.close_connection = True
            self.connection.shutdown(2)
            return None
        raise AssertionError(mode)

    do_GET = do_POST = _handle


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):  # the dropped connections are on purpose
        pass


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.backends.embedded.server import serve_in_thread
    from promv5_lab.backends.prometheus import PrometheusBackend
    from promv5_lab.demo.simulate import simulate
    from promv5_lab.nl.catalogue import Catalogue
    from promv5_lab.nl.planner import OfflinePlanner

    hist = simulate(tmp_path_factory.mktemp("fail") / "demo", days=1, step_s=60, seed=7)
    upstream, up_url = serve_in_thread(EmbeddedBackend.open(hist.out_dir))
    handler = type("P", (Proxy,), {"upstream": up_url, "mode": None, "calls": 0, "lock": threading.Lock()})
    proxy = QuietServer(("127.0.0.1", 0), handler)
    proxy.daemon_threads = True
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{proxy.server_address[1]}"
    backend = PrometheusBackend(url, timeout_s=0.5, retries=0)  # the investigation's: a short timeout
    inc = next(i for i in hist.incidents if i.type == "disk_fill")
    now = inc.start + timedelta(minutes=40)
    with PrometheusBackend(url, timeout_s=30.0) as catalogue_backend:
        planner = OfflinePlanner(Catalogue.from_backend(catalogue_backend), now=now, use_embeddings=False)
    try:
        yield backend, handler, planner, now
    finally:
        proxy.shutdown()
        upstream.shutdown()
        backend.close()


@pytest.mark.parametrize("mode", MODES)
def test_every_route_answers_with_an_error(setup, mode):
    backend, handler, planner, now = setup
    handler.mode, handler.calls = mode, 0
    try:
        for route, question in QUESTIONS.items():
            inv = Investigation(backend, now=now, planner=planner)
            t0 = time.monotonic()
            ans = inv.ask(question)
            took = time.monotonic() - t0
            assert ans.route == route, (mode, route, ans.route)
            assert ans.error, (mode, route, ans.answer)
            assert 10 < len(ans.answer) < 600 and "Traceback" not in ans.answer, ans.answer
            assert inv.history[-1].answer is ans
            assert json.loads(json.dumps(ans.to_json(), default=str))["error"] == ans.error
            assert took < 30, (mode, route, took)  # a slow backend costs its timeout, not a hang
    finally:
        handler.mode = None


def test_a_failure_in_the_middle_of_an_analysis(setup):
    """The first queries work, then the backend fails: a fleet scan is an error answer; a diagnosis (which
    forgives failing signals one by one) still answers but says how many of its queries failed."""
    backend, handler, planner, now = setup
    handler.mode = "after_3"
    try:
        handler.calls = 0
        scan = Investigation(backend, now=now, planner=planner).ask("does anything look off right now")
        assert scan.route == "anomalies" and scan.error and "storage exploded" in scan.answer, scan.answer
        handler.calls = 0
        diag = Investigation(backend, now=now, planner=planner).ask(QUESTIONS["diagnosis"])
        assert diag.route == "diagnosis" and diag.details["failed_queries"] > 0
        assert f"{diag.details['failed_queries']} of {diag.details['query_count']} queries failed" in diag.answer
        from promv5_lab.ui.magics import render_details

        shown = render_details(diag.details)  # the notebook and the app show these details (was a TypeError)
        assert "*Provenance:* range" in shown and "rootcause" in shown, shown[:300]
    finally:
        handler.mode = None


def test_the_same_investigation_works_again_when_the_backend_recovers(setup):
    backend, handler, planner, now = setup
    inv = Investigation(backend, now=now, planner=planner)
    handler.mode = "500"
    try:
        assert inv.ask(QUESTIONS["query"]).error
    finally:
        handler.mode = None
    ans = inv.ask(QUESTIONS["query"])
    assert ans.error is None and ans.result.series_count == 1 and " ms " in ans.answer, ans.answer
