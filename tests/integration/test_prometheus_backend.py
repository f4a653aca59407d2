"""PrometheusBackend against real servers: Prometheus 2.42 and VictoriaMetrics, with the same demo history.

The catalogue/query suite is parametrised over both servers (session fixtures ``prometheus_demo`` and
``victoria_demo``). Where they differ, each test asserts what is true for each server and says why.
Targets, alerts, rules and metadata need a Prometheus that evaluates rules and scrapes something: a small
module-scoped one is started here over a tiny backfilled history, scraping a stdlib /metrics server.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from promv5_lab.backends import MetricCatalogue, MetricsBackend, RuleSource
from promv5_lab.backends.harness import PrometheusHarness, free_port
from promv5_lab.backends.prometheus import PrometheusBackend
from promv5_lab.errors import QueryError, ResultTooLarge
from promv5_lab.types import TimeRange

SERVICES = {"frontend", "catalog", "cart", "checkout", "payments"}  # services that serve HTTP in the demo
RATE = 'sum by (service) (rate(http_requests_total[5m]))'


@pytest.fixture(scope="module", params=["prometheus", "victoria"])
def server(request) -> tuple[str, PrometheusBackend]:
    harness = request.getfixturevalue("prometheus_demo" if request.param == "prometheus" else "victoria_demo")
    return request.param, PrometheusBackend(harness.url, timeout_s=30)


def _at(demo_history, minutes_before_end: float = 10) -> datetime:
    return demo_history.end - timedelta(minutes=minutes_before_end)


def test_protocols(server):
    _, b = server
    assert isinstance(b, MetricsBackend) and isinstance(b, MetricCatalogue) and isinstance(b, RuleSource)


def test_instant_query(server, demo_history):
    _, b = server
    at = _at(demo_history)
    res = b.query(RATE, time=at)
    assert res.result_type == "vector"
    assert set(res.frame["service"]) == SERVICES
    assert (res.frame["value"] > 0).all()
    assert (res.frame["timestamp"] == res.frame["timestamp"].iloc[0]).all()
    assert abs((res.frame["timestamp"].iloc[0] - at).total_seconds()) < 0.01
    assert res.provenance.promql == RATE and res.provenance.time == at and res.provenance.backend == b.name


def test_scalar_query(server, demo_history):
    """Prometheus answers a scalar expression with resultType ``scalar``; VictoriaMetrics answers a
    ``vector`` of one sample without labels. The number is the same, and the tidy frame looks the same."""
    name, b = server
    res = b.query("scalar(count(up))", time=_at(demo_history))
    assert res.result_type == {"prometheus": "scalar", "victoria": "vector"}[name]
    assert list(res.frame.columns) == ["timestamp", "value"] and len(res.frame) == 1
    assert res.frame["value"].iloc[0] == len(b.series("up", start=_at(demo_history, 15), end=_at(demo_history)))


def test_range_query(server, demo_history):
    _, b = server
    tr = TimeRange(_at(demo_history, 70), _at(demo_history, 10), 60)
    res = b.query_range(RATE, tr)
    assert res.result_type == "matrix" and res.series_count == len(SERVICES)
    per_series = res.frame.groupby("service")["timestamp"]
    assert (per_series.count() == 61).all()
    steps = per_series.diff().dropna().dt.total_seconds().unique()
    assert list(steps) == [60.0]
    assert res.frame["timestamp"].min() == tr.start.replace(microsecond=0)
    assert res.provenance.range is not None and res.provenance.range.step_s == 60
    assert "step 60s" in res.provenance.describe()


def test_series_labels_and_values(server, demo_history):
    _, b = server
    start, end = _at(demo_history, 30), _at(demo_history)
    series = b.series('http_requests_total{service="checkout"}', start=start, end=end)
    assert series and all(s["__name__"] == "http_requests_total" and s["service"] == "checkout" for s in series)
    instant = b.query('count(http_requests_total{service="checkout"})', time=end)
    assert len(series) == int(instant.frame["value"].iloc[0])
    names = b.label_names()
    assert {"__name__", "service", "route", "code", "le", "instance", "job"} <= set(names)
    assert set(b.label_values("service", match=["http_requests_total"])) == SERVICES
    metrics = b.metric_names()
    for expected in ("http_requests_total", "http_request_duration_seconds_bucket", "node_filesystem_avail_bytes",
                     "process_resident_memory_bytes", "up"):
        assert expected in metrics
    assert set(b.label_names(match=["node_filesystem_avail_bytes"])) >= {"mountpoint", "device", "instance"}
    assert "route" not in b.label_names(match=["node_filesystem_avail_bytes"])


def test_metadata(server):
    """Prometheus learns TYPE/HELP from scrapes only, so a backfilled-only Prometheus has none; VictoriaMetrics
    1.79 does not keep metadata at all and answers an empty map. Both: ``{}`` (no error). Metadata from a
    real scrape is checked on the rules Prometheus below."""
    _, b = server
    assert b.metadata() == {}
    assert b.metadata("http_requests_total") == {}


def test_bad_promql_is_a_query_error(server):
    """Prometheus says errorType ``bad_data`` (HTTP 400); VictoriaMetrics puts the HTTP status there (``422``)."""
    name, b = server
    with pytest.raises(QueryError) as info:
        b.query("sum(rate(http_requests_total[5m])")
    err = info.value
    assert err.promql == "sum(rate(http_requests_total[5m])" and err.url == b.name
    assert err.error_type == {"prometheus": "bad_data", "victoria": "422"}[name]
    assert err.hint
    expected = {"prometheus": "parse error", "victoria": "unparsed data"}[name]
    assert expected in err.message


def test_execution_error_is_a_query_error(server, demo_history):
    """A valid expression that fails while running: Prometheus ``execution`` (422), VictoriaMetrics ``422``."""
    name, b = server
    with pytest.raises(QueryError) as info:
        b.query('label_replace(up, "x", "$1", "job", "(")', time=_at(demo_history))
    assert info.value.error_type == {"prometheus": "execution", "victoria": "422"}[name]
    assert "regex" in info.value.message.lower() or "regular expression" in info.value.message.lower()


def test_server_point_limit(server, demo_history):
    """With our own guard lifted, each server refuses with its own limit: 11,000 (Prometheus), 30,000
    (VictoriaMetrics' -search.maxPointsPerTimeseries); both become ResultTooLarge with a usable step."""
    name, b = server
    unguarded = PrometheusBackend(b.url, max_points_per_series=10**9, retries=0)
    tr = TimeRange(demo_history.end - timedelta(days=2), demo_history.end, 5)  # 34,561 points
    with pytest.raises(ResultTooLarge) as info:
        unguarded.query_range("up", tr)
    limit = {"prometheus": 11_000, "victoria": 30_000}[name]
    assert info.value.limit == limit and info.value.points == tr.points()
    step = info.value.hint.split("step=")[1].split(" ")[0]
    from promv5_lab.types import parse_duration

    assert TimeRange(tr.start, tr.end, parse_duration(step)).points() <= limit
    assert unguarded.query_range("up", TimeRange(tr.start, tr.end, parse_duration(step))).series_count > 0


def test_plain_servers_have_no_rules(server):
    """Neither demo server is configured with rules or scrapes: empty lists, not errors."""
    _, b = server
    assert b.targets() == [] and b.alerts() == [] and b.rules() == []


def test_buildinfo(server):
    """Prometheus reports its version; VictoriaMetrics 1.79 answers the endpoint with an empty object."""
    name, b = server
    info = b.buildinfo()
    if name == "prometheus":
        assert info["version"].startswith("2.42")
    else:
        assert info == {}
    assert b.ping() < 5


def test_both_servers_agree(prometheus_demo, victoria_demo, demo_history):
    """Same history, same raw samples: an instant query over counters gives the same numbers on both."""
    at = _at(demo_history, 7.5)
    q = 'sum by (service, code) (http_requests_total)'
    a = PrometheusBackend(prometheus_demo.url).query(q, time=at).frame.sort_values(["service", "code"])
    v = PrometheusBackend(victoria_demo.url).query(q, time=at).frame.sort_values(["service", "code"])
    assert len(a) == len(v) > 0
    assert list(a["service"]) == list(v["service"]) and list(a["code"]) == list(v["code"])
    np.testing.assert_allclose(a["value"].to_numpy(), v["value"].to_numpy(), rtol=1e-9)


# -- targets, alerts, rules, metadata on a Prometheus that evaluates rules and scrapes --------------------

EXPORTER_BODY = (
    "# HELP promv5_test_widgets_total Widgets made by the test exporter.\n"
    "# TYPE promv5_test_widgets_total counter\n"
    "promv5_test_widgets_total 42\n"
    "# HELP promv5_test_temperature_celsius Temperature of the test exporter.\n"
    "# TYPE promv5_test_temperature_celsius gauge\n"
    "promv5_test_temperature_celsius 21.5\n"
)

RULES = """
groups:
  - name: promv5-test
    interval: 1s
    rules:
      - record: service:promv5_test_requests:rate30m
        expr: sum by (service) (rate(promv5_test_requests_total[30m]))
      - alert: CheckoutErrorsHigh
        expr: |
          sum(rate(promv5_test_requests_total{code="500"}[30m]))
            / sum(rate(promv5_test_requests_total[30m])) > 0.05
        labels: {severity: page, service: checkout}
        annotations: {summary: "checkout error ratio above 5%"}
      - alert: NeverFires
        expr: vector(1) < 0
"""


class _Exporter(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        body = EXPORTER_BODY.encode() if self.path.startswith("/metrics") else b"not found"
        self.send_response(200 if self.path.startswith("/metrics") else 404)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _tiny_history(path: Path) -> None:
    """Two hours of a checkout request counter, 10 % errors, ending now: what the alert rule reads."""
    now = int(time.time()) // 30 * 30
    lines = ["# HELP promv5_test_requests_total Requests.", "# TYPE promv5_test_requests_total counter"]
    for code, share in (("200", 9), ("500", 1)):
        for i, t in enumerate(range(now - 7200, now + 1, 30)):
            lines.append(f'promv5_test_requests_total{{service="checkout",code="{code}"}} {i * share} {t}')
    path.write_text("\n".join(lines) + "\n# EOF\n")


@pytest.fixture(scope="module")
def ruled(tmp_path_factory) -> Iterator[PrometheusBackend]:
    tmp = tmp_path_factory.mktemp("ruled")
    exporter = ThreadingHTTPServer(("127.0.0.1", 0), _Exporter)
    exporter.daemon_threads = True
    thread = threading.Thread(target=exporter.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    (tmp / "rules.yml").write_text(RULES)
    _tiny_history(tmp / "tiny.om")
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there: a target that is down
    prom = PrometheusHarness(tmp / "prom", rule_files=[tmp / "rules.yml"], evaluation_interval="1s",
                             scrape_interval="1s",
                             scrape_targets=[f"127.0.0.1:{exporter.server_address[1]}", dead])
    try:
        prom.backfill(tmp / "tiny.om")
        prom.start()
        yield PrometheusBackend(prom.url)
    finally:
        prom.stop()
        exporter.shutdown()
        exporter.server_close()


def _eventually(fn, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.25)


def test_targets(ruled):
    targets = _eventually(lambda: [t for t in ruled.targets() if t.health != "unknown"] if all(
        t.health != "unknown" for t in ruled.targets()) else [])
    by_health = {t.health: t for t in targets}
    assert set(by_health) == {"up", "down"}
    assert by_health["up"].scrape_url.endswith("/metrics") and by_health["up"].last_error == ""
    assert by_health["up"].labels["job"] == "demo"
    assert "refused" in by_health["down"].last_error


def test_alerts_fire_on_backfilled_data(ruled):
    alerts = _eventually(lambda: [a for a in ruled.alerts() if a.state == "firing"])
    assert [a.name for a in alerts] == ["CheckoutErrorsHigh"]
    alert = alerts[0]
    assert alert.labels["severity"] == "page" and alert.annotations["summary"].startswith("checkout error ratio")
    assert alert.value is not None and math.isclose(alert.value, 0.1, rel_tol=0.05)
    assert alert.active_at is not None and alert.active_at <= datetime.now(timezone.utc)


def test_rules(ruled):
    rules = _eventually(lambda: [r for r in ruled.rules() if r.health == "ok"] if all(
        r.health == "ok" for r in ruled.rules()) else [])
    assert {(r.name, r.kind) for r in rules} == {("service:promv5_test_requests:rate30m", "recording"),
                                                ("CheckoutErrorsHigh", "alerting"), ("NeverFires", "alerting")}
    assert all(r.group == "promv5-test" for r in rules)
    alerting = next(r for r in rules if r.name == "CheckoutErrorsHigh")
    assert "promv5_test_requests_total" in alerting.query and alerting.labels["severity"] == "page"
    recorded = _eventually(lambda: len(ruled.query("service:promv5_test_requests:rate30m").frame))
    assert recorded == 1
    assert ruled.query("service:promv5_test_requests:rate30m").frame["value"].iloc[0] > 0


def test_metadata_from_a_scrape(ruled):
    meta = _eventually(lambda: ruled.metadata())
    assert meta["promv5_test_widgets_total"].type == "counter"
    assert meta["promv5_test_widgets_total"].help == "Widgets made by the test exporter."
    assert meta["promv5_test_temperature_celsius"].type == "gauge"
    assert set(ruled.metadata("promv5_test_temperature_celsius")) == {"promv5_test_temperature_celsius"}
    assert "promv5_test_requests_total" not in meta  # backfilled series carry no metadata in Prometheus


# -- the command line --------------------------------------------------------------------------------------


def test_cli_query_formats(prometheus_demo, demo_history, capsys):
    import json

    from promv5_lab import cli

    at = _at(demo_history).isoformat()
    assert cli.main(["query", RATE, "--backend", prometheus_demo.url, "--time", at]) == 0
    out, err = capsys.readouterr()
    assert all(s in out for s in SERVICES) and "instant at" in err and "5 series" in err
    assert cli.main(["query", RATE, "-b", prometheus_demo.url, "-t", at, "--range", "10m", "--step", "1m",
                     "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "range" and doc["range"]["step_s"] == 60 and doc["backend"] == prometheus_demo.url
    assert len(doc["data"]) == 11 * len(SERVICES) and {r["service"] for r in doc["data"]} == SERVICES
    assert cli.main(["query", 'sum(up)', "-b", prometheus_demo.url, "-t", at, "-r", "2m", "-s", "30s",
                     "-f", "csv"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "timestamp,value" and len(lines) == 1 + 5
    assert cli.main(["query", "rate(", "-b", prometheus_demo.url]) == 2
    assert "bad_data" in capsys.readouterr().err


def test_cli_prometheus_up_serves_until_interrupted(tmp_path, capsys):
    import selectors
    import signal
    import subprocess
    import sys

    import requests

    data = tmp_path / "sim"
    data.mkdir()
    _tiny_history(data / "metrics.om")
    proc = subprocess.Popen([sys.executable, "-m", "promv5_lab.cli", "prometheus", "up", "--data", str(data)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    url = None
    try:
        sel = selectors.DefaultSelector()
        sel.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + 60
        while url is None and time.monotonic() < deadline and proc.poll() is None:
            if sel.select(timeout=0.5):
                line = proc.stdout.readline()
                if "serving" in line:
                    url = line.split(" at ")[-1].strip()
        assert url, f"no URL printed; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        res = PrometheusBackend(url).query('sum(promv5_test_requests_total{code="500"})')
        assert res.frame["value"].iloc[0] > 0
        # The same history through `query --data` (embedded engine) and `query --backend` (this Prometheus).
        from promv5_lab import cli

        at = str((int(time.time()) // 30 - 2) * 30)
        answers = []
        for source in (["--data", str(data)], ["--backend", url]):
            assert cli.main(["query", "sum by (code) (promv5_test_requests_total)", *source, "-t", at,
                             "-f", "csv"]) == 0
            answers.append(capsys.readouterr().out)
        assert answers[0] == answers[1] and answers[0].count("\n") == 3
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/-/ready", timeout=2)  # the Prometheus it started is gone
    assert (data / ".prometheus" / "backfilled-from").is_file()
