"""EmbeddedBackend (MetricsBackend + MetricCatalogue) and its Prometheus-compatible HTTP API,
exercised with prometheus-api-client and plain requests over a real loopback server."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
import requests
import typer
from typer.testing import CliRunner

from promv5_lab.backends.base import MetricCatalogue, MetricsBackend
from promv5_lab.backends.embedded.backend import EmbeddedBackend
from promv5_lab.backends.embedded.cli import register
from promv5_lab.backends.embedded.server import serve_in_thread
from promv5_lab.backends.embedded.storage import Store
from promv5_lab.errors import InputError, QueryError, ResultTooLarge
from promv5_lab.types import TimeRange

OM = """# TYPE up gauge
# HELP up Target health.
up{job="api",instance="a"} 1 1000
up{job="api",instance="a"} 1 1030
up{job="db",instance="b"} 0 1000
up{job="db",instance="b"} 1 1030
# TYPE req counter
req_total{job="api"} 10 1000
req_total{job="api"} 40 1030
# EOF
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("emb")
    (d / "metrics.om").write_text(OM)
    return d


@pytest.fixture(scope="module")
def backend(data_dir) -> EmbeddedBackend:
    return EmbeddedBackend.open(data_dir)


@pytest.fixture(scope="module")
def server(backend):
    httpd, url = serve_in_thread(backend)
    yield url
    httpd.shutdown()
    httpd.server_close()


def test_protocols_and_open_variants(backend, data_dir, tmp_path):
    assert isinstance(backend, MetricsBackend) and isinstance(backend, MetricCatalogue)
    assert (data_dir / ".embedded" / "store.npz").is_file()  # parsed once, cached
    again = EmbeddedBackend.open(data_dir)
    assert again.store.labels == backend.store.labels
    backend.store.save(tmp_path / "st")
    assert EmbeddedBackend.open(tmp_path / "st").store.num_samples == 6
    assert EmbeddedBackend.open(data_dir / "metrics.om").store.num_samples == 6
    with pytest.raises(InputError, match="No embedded data"):
        EmbeddedBackend.open(tmp_path / "nothing")


def test_query_returns_tidy_frame_with_provenance(backend):
    res = backend.query("sum by (job) (up)", datetime.fromtimestamp(1030, timezone.utc))
    assert res.result_type == "vector"
    assert dict(zip(res.frame["job"], res.frame["value"])) == {"api": 1.0, "db": 1.0}
    assert str(res.frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert res.provenance.backend.startswith("embedded:") and res.provenance.kind == "instant"


def test_query_range_and_limits(backend):
    res = backend.query_range("up", TimeRange(1000, 1060, 30))
    assert res.result_type == "matrix" and res.series_count == 2 and len(res.frame) == 6
    with pytest.raises(ResultTooLarge) as info:
        backend.query_range("up", TimeRange(0, 20_000, 1))
    assert info.value.limit == 11_000 and "step" in (info.value.hint or "")


def test_query_errors_carry_promql_and_error_type(backend):
    with pytest.raises(QueryError) as info:
        backend.query("sum(up", 1030)
    assert info.value.error_type == "bad_data" and info.value.promql == "sum(up"
    assert "parse error" in info.value.message


def test_catalogue(backend):
    assert backend.label_names() == ["__name__", "instance", "job"]
    assert backend.label_names(["req_total"]) == ["__name__", "job"]
    assert backend.label_values("job") == ["api", "db"]
    assert backend.label_values("instance", ['up{job="db"}']) == ["b"]
    assert backend.metric_names() == ["req_total", "up"]
    assert backend.metadata()["up"].help == "Target health."
    assert backend.metadata("req")["req"].type == "counter"
    assert backend.series('up{job=~"a.*"}') == [{"__name__": "up", "instance": "a", "job": "api"}]
    assert backend.series("up", start=2000, end=3000) == []


def test_prometheus_api_client_works_unchanged(server):
    from prometheus_api_client import PrometheusConnect

    pc = PrometheusConnect(server, disable_ssl=True)
    assert pc.check_prometheus_connection()
    vec = pc.custom_query("up", params={"time": "1030"})
    assert {r["metric"]["job"]: r["value"] for r in vec} == {"api": [1030, "1"], "db": [1030, "1"]}
    mat = pc.custom_query_range("rate(req_total[1m])", start_time=datetime.fromtimestamp(1030, timezone.utc),
                                end_time=datetime.fromtimestamp(1090, timezone.utc), step="30")
    # at 1090 the window holds one sample: no rate; at 1030 the zero point of the counter bounds extrapolation
    assert mat[0]["metric"] == {"job": "api"} and mat[0]["values"] == [[1030, "0.6666666666666666"], [1060, "1"]]
    assert pc.all_metrics() == ["req_total", "up"]
    assert pc.get_label_values("job") == ["api", "db"]


@pytest.mark.parametrize(
    ("method", "path", "params", "status", "expect"),
    [
        ("get", "/api/v1/query", {"query": "1+1", "time": "5.5"}, 200, {"resultType": "scalar", "result": [5.5, "2"]}),
        ("post", "/api/v1/query", {"query": '"hi"', "time": "5"}, 200, {"resultType": "string", "result": [5, "hi"]}),
        ("post", "/api/v1/query", {"query": "sum(", "time": "5"}, 400, "bad_data"),
        ("get", "/api/v1/query", {"query": "up + on() up", "time": "1030"}, 422, "execution"),
        ("get", "/api/v1/query_range", {"query": "up", "start": "0", "end": "100000", "step": "1"}, 400, "bad_data"),
        ("get", "/api/v1/query_range", {"query": "up", "start": "10", "end": "1", "step": "1"}, 400, "bad_data"),
        ("get", "/api/v1/query_range", {"query": "up", "start": "1", "end": "10", "step": "0"}, 400, "bad_data"),
        ("get", "/api/v1/query_range", {"query": "up", "start": "x", "end": "10", "step": "1"}, 400, "bad_data"),
        ("get", "/api/v1/query_range", {"query": "up[5m]", "start": "1", "end": "10", "step": "1"}, 400, "bad_data"),
        ("get", "/api/v1/series", {}, 400, "bad_data"),
        ("get", "/api/v1/series", {"match[]": 'up{job="db"}'}, 200,
         [{"__name__": "up", "instance": "b", "job": "db"}]),
        ("post", "/api/v1/labels", {"match[]": "req_total"}, 200, ["__name__", "job"]),
        ("get", "/api/v1/label/job/values", {}, 200, ["api", "db"]),
        ("get", "/api/v1/label/a-b/values", {}, 400, "bad_data"),
        ("get", "/api/v1/metadata", {"metric": "up"}, 200, {"up": [{"type": "gauge", "help": "Target health.", "unit": ""}]}),
        ("get", "/api/v1/nope", {}, 404, "not_found"),
        ("get", "/api/v1/rules", {}, 200, {"groups": []}),
        ("get", "/api/v1/metadata", {"limit": "x"}, 400, "bad_data"),
        ("get", "/api/v1/query", {"query": "up @ -5"}, 400, "bad_data"),
        ("get", "/api/v1/query", {"query": "up", "time": "abc"}, 400, "bad_data"),
        ("get", "/api/v1/query_range", {"query": "up", "start": "1", "end": "2", "step": "abc"}, 400, "bad_data"),
        ("get", "/api/v1/alerts", {}, 200, {"alerts": []}),
        ("get", "/api/v1/targets", {}, 200, {"activeTargets": [], "droppedTargets": []}),
    ],
)
def test_http_api_shapes(server, method, path, params, status, expect):
    if method == "get":
        r = requests.get(server + path, params=params, timeout=10)
    else:
        r = requests.post(server + path, data=params, timeout=10)
    assert r.status_code == status, r.text
    body = r.json()
    if status == 200:
        assert body["status"] == "success" and body["data"] == expect
    else:
        assert body["status"] == "error" and body["errorType"] == expect and body["error"]


def test_buildinfo_and_ready(server):
    assert requests.get(server + "/api/v1/status/buildinfo", timeout=5).json()["data"]["version"].startswith("2.42")
    assert requests.get(server + "/-/ready", timeout=5).status_code == 200


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """test root"""

    register(app)
    return app


def test_cli_load_and_query(tmp_path, data_dir):
    runner = CliRunner()
    out = tmp_path / "store"
    r = runner.invoke(_app(), ["embedded", "load", "--from", str(data_dir / "metrics.om"), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert Store.load(out).num_samples == 6
    r = runner.invoke(_app(), ["embedded", "query", "--data", str(out), "--time", "1030", "sum(up)"])
    assert r.exit_code == 0 and '"2"' in r.output
    for cmd in ("load", "serve", "import", "query"):
        assert runner.invoke(_app(), ["embedded", cmd, "--help"]).exit_code == 0
