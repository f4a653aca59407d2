"""The live demo world over real HTTP on loopback: /metrics validity (promtool), the admin API, faults
that move the metrics, right vs wrong remediation, bad requests, and a clean stop of the CLI server."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from promv5_lab.demo.incidents import CATALOGUE
from promv5_lab.demo.server import DemoServer

PROMTOOL = "/usr/bin/promtool"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def srv():
    with DemoServer(seed=11, port=0, time_scale=30) as s:
        yield s


def _promtool_check(text: str) -> subprocess.CompletedProcess:
    assert Path(PROMTOOL).exists(), "promtool is required (Debian package prometheus)"
    return subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)


def _counter(text: str, name: str, **labels: str) -> float:
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in text.splitlines()
               if ln.startswith(name + "{") and all(f'{k}="{v}"' in ln for k, v in labels.items()))


def test_metrics_pass_promtool_check(srv):
    r = requests.get(srv.url + "/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    res = _promtool_check(r.text)
    assert res.returncode == 0, res.stdout + res.stderr
    for kind in CATALOGUE:  # still valid with every fault active
        assert requests.post(srv.url + "/admin/faults", json={"type": kind}, timeout=10).status_code == 201
    time.sleep(1.0)
    r = requests.get(srv.url + "/metrics", timeout=10)
    res = _promtool_check(r.text)
    assert res.returncode == 0, res.stdout + res.stderr
    for fam in ("http_requests_total", "http_request_duration_seconds_bucket", "db_connections_in_use",
                "kube_pod_container_status_restarts_total", "cache_misses_total", "queue_depth", "up"):
        assert fam in r.text
    node = requests.get(srv.url + "/metrics/node", timeout=10).text
    res = _promtool_check(node)
    problems = [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]
    # node-exporter's real names are the only lint complaint (camelCase MemTotal/MemAvailable)
    assert problems and all("camelCase" in p and "node_memory_Mem" in p for p in problems)
    assert "node_filesystem_avail_bytes" in node and "node_cpu_seconds_total" in node


def test_admin_api_round_trip(srv):
    u = srv.url
    types = requests.get(u + "/admin/faults", timeout=10).json()["faults"]
    assert {t["type"] for t in types} == set(CATALOGUE)
    assert all(t["default_service"] in t["targets"] for t in types)
    ids = []
    for t in types:
        r = requests.post(u + "/admin/faults", json={"type": t["type"]}, timeout=10)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
        assert r.json()["fault"]["service"] == t["default_service"]
    state = requests.get(u + "/admin/state", timeout=10).json()
    assert sorted(f["id"] for f in state["active_faults"]) == sorted(ids)
    assert set(state["services"]) >= {"frontend", "checkout", "postgres", "redis"}
    assert all(s["health"] in ("healthy", "degraded", "down") for s in state["services"].values())
    for fid in ids:
        r = requests.delete(f"{u}/admin/faults/{fid}", timeout=10)
        assert r.status_code == 200 and r.json()["cleared"]["id"] == fid
    assert requests.get(u + "/admin/state", timeout=10).json()["active_faults"] == []


def test_db_pool_fault_shows_in_metrics_and_only_the_right_action_ends_it(srv):
    u = srv.url

    def ratio(x, y, svc):
        tot = _counter(y, "http_requests_total", service=svc) - _counter(x, "http_requests_total", service=svc)
        bad = sum(_counter(y, "http_requests_total", service=svc, code=k)
                  - _counter(x, "http_requests_total", service=svc, code=k) for k in ("500", "503"))
        return bad / max(tot, 1)

    a0 = requests.get(u + "/metrics", timeout=10).text
    time.sleep(1.5)
    a = requests.get(u + "/metrics", timeout=10).text
    assert ratio(a0, a, "checkout") < 0.05  # healthy before the fault
    fid = requests.post(u + "/admin/faults", json={"type": "db_pool_exhaustion", "service": "checkout"},
                        timeout=10).json()["id"]
    time.sleep(1.5)  # 45 simulated seconds at time_scale 30
    b = requests.get(u + "/metrics", timeout=10).text
    time.sleep(2.0)
    c = requests.get(u + "/metrics", timeout=10).text

    assert ratio(b, c, "checkout") > 0.4
    assert ratio(b, c, "frontend") > 0.02
    in_use = _counter(c, "db_connections_in_use", service="checkout")
    assert in_use >= 0.9 * _counter(c, "db_connections_max", service="checkout")
    wrong = requests.post(u + "/admin/actions", json={"action": "scale", "service": "checkout"}, timeout=10)
    assert wrong.status_code == 200 and wrong.json()["effective"] is False and "resolved none" in wrong.json()["message"]
    assert [f["id"] for f in requests.get(u + "/admin/state", timeout=10).json()["active_faults"]] == [fid]
    right = requests.post(u + "/admin/actions", json={"action": "restart", "service": "checkout", "params": {}},
                          timeout=10)
    assert right.status_code == 200 and right.json()["effective"] is True and right.json()["resolved"] == [fid]
    assert requests.get(u + "/admin/state", timeout=10).json()["active_faults"] == []
    time.sleep(1.0)
    d = requests.get(u + "/metrics", timeout=10).text
    time.sleep(1.5)
    e = requests.get(u + "/metrics", timeout=10).text
    assert ratio(d, e, "checkout") < 0.1


@pytest.mark.parametrize("kind", list(CATALOGUE))
def test_right_vs_wrong_remediation_for_each_type(srv, kind):
    u = srv.url
    spec = CATALOGUE[kind]
    fid = requests.post(u + "/admin/faults", json={"type": kind}, timeout=10).json()["id"]
    other = "cart" if spec.default_service != "cart" else "catalog"
    r = requests.post(u + "/admin/actions", json={"action": spec.remediation, "service": other}, timeout=10).json()
    assert r["effective"] is False and fid not in r["resolved"]
    r = requests.post(u + "/admin/actions", json={"action": spec.remediation, "service": spec.default_service},
                      timeout=10).json()
    assert r["effective"] is True and r["resolved"] == [fid], r


@pytest.mark.parametrize("method,path,body,status,needle", [
    ("POST", "/admin/faults", b"{not json", 400, "not valid JSON"),
    ("POST", "/admin/faults", b"[1, 2]", 400, "JSON object"),
    ("POST", "/admin/faults", b"", 400, "empty"),
    ("POST", "/admin/faults", b'{"service": "checkout"}', 400, '"type"'),
    ("POST", "/admin/faults", b'{"type": "meteor_strike"}', 400, "meteor_strike"),
    ("POST", "/admin/faults", b'{"type": "disk_fill", "service": "mainframe"}', 400, "mainframe"),
    ("POST", "/admin/faults", b'{"type": "cache_failure", "service": "cart"}', 400, "cannot target"),
    ("POST", "/admin/faults", b'{"type": "disk_fill", "service": 7}', 400, '"service"'),
    ("DELETE", "/admin/faults/flt-9999-nothing", None, 404, "flt-9999-nothing"),
    ("GET", "/no/such/thing", None, 404, "/no/such/thing"),
    ("PUT", "/admin/faults", b"{}", 405, "PUT"),
    ("GET", "/admin/actions", None, 405, "GET"),
    ("POST", "/admin/actions", b'{"action": "reboot-the-world", "service": "cart"}', 400, "reboot-the-world"),
    ("POST", "/admin/actions", b'{"action": "restart", "service": "mainframe"}', 400, "mainframe"),
    ("POST", "/admin/actions", b'{"action": "restart", "service": "cart", "params": []}', 400, "params"),
    ("POST", "/admin/actions", b'{"action": "scale", "service": "cart", "params": {"replicas": -1}}', 400,
     "replicas"),
    ("POST", "/admin/faults", b"x" * (65 * 1024), 413, "limit"),
])
def test_bad_requests_get_json_errors(srv, method, path, body, status, needle):
    r = requests.request(method, srv.url + path, data=body, timeout=10)
    assert r.status_code == status, r.text
    assert needle in r.json()["error"]
    assert requests.get(srv.url + "/admin/state", timeout=10).status_code == 200  # still alive


def test_duplicate_fault_conflicts(srv):
    u = srv.url
    first = requests.post(u + "/admin/faults", json={"type": "disk_fill"}, timeout=10)
    again = requests.post(u + "/admin/faults", json={"type": "disk_fill"}, timeout=10)
    assert first.status_code == 201 and again.status_code == 409
    assert first.json()["id"] in again.json()["error"]


def test_python_api_port_zero_and_stop(srv):
    assert srv.port > 0 and srv.url.startswith("http://127.0.0.1:")
    s2 = DemoServer(seed=1, port=0).start()
    port = s2.port
    assert requests.get(s2.url + "/", timeout=10).status_code == 200
    s2.stop()
    with socket.socket() as sock:  # nobody listens there any more (TIME_WAIT allowed)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cli_serve_stops_cleanly_on_signal(sig):
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "promv5_lab.cli", "simulate", "--serve", "--host", "127.0.0.1",
                             "--port", str(port), "--seed", "5"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/admin/state", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        assert "http_requests_total{" in requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped" in out and "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_cli_serve_port_in_use_is_a_clear_error(srv):
    r = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "simulate", "--serve", "--port", str(srv.port)],
                       cwd=REPO, capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and "Cannot listen" in r.stderr and "Traceback" not in r.stderr
    json.loads(requests.get(srv.url + "/admin/state", timeout=5).text)
