"""PrometheusBackend against a scripted loopback HTTP server: retries, caps, result shapes, secrets."""

from __future__ import annotations

import base64
import logging
import time
from datetime import datetime, timezone

import pytest
from _backend_stub import Reply, chunked_writer, err, ok

from promv5_lab.backends import MetricCatalogue, MetricsBackend, RuleSource, open_backend
from promv5_lab.backends.prometheus import PrometheusBackend
from promv5_lab.config import load_settings
from promv5_lab.errors import (
    AuthError,
    BackendError,
    BackendUnavailable,
    InputError,
    QueryError,
    ResultTooLarge,
)
from promv5_lab.types import TimeRange

VECTOR = {"resultType": "vector", "result": [
    {"metric": {"__name__": "up", "job": "a"}, "value": [1700000000.5, "1"]},
    {"metric": {"__name__": "up", "job": "b"}, "value": [1700000000.5, "0"]},
]}
MATRIX = {"resultType": "matrix", "result": [
    {"metric": {"service": "checkout"}, "values": [[1700000000, "1.5"], [1700000030, "NaN"], [1700000060, "+Inf"]]},
]}
TOKEN = "tok-Zq81-very-secret"
PASSWORD = "pw-Kx77-very-secret"


def test_implements_the_three_protocols(stub):
    b = PrometheusBackend(stub.url)
    assert isinstance(b, MetricsBackend) and isinstance(b, MetricCatalogue) and isinstance(b, RuleSource)
    assert b.name == stub.url


def test_instant_vector_scalar_string(stub):
    b = PrometheusBackend(stub.url)
    stub.script(ok(VECTOR))
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    res = b.query("up", time=at)
    assert res.result_type == "vector"
    assert list(res.frame.columns) == ["timestamp", "value", "__name__", "job"]
    assert res.frame["value"].tolist() == [1.0, 0.0]
    assert res.provenance.time == at and res.provenance.kind == "instant" and res.provenance.backend == stub.url
    assert f"time={at.timestamp():.3f}" in stub.requests[0]["path"]
    stub.script(ok({"resultType": "scalar", "result": [1700000000, "2"]}))
    res = b.query("1+1")
    assert res.result_type == "scalar" and res.frame["value"].tolist() == [2.0]
    assert res.provenance.time is not None  # "now" is pinned so the query can be re-run
    stub.script(ok({"resultType": "string", "result": [1700000000, "hello"]}))
    assert b.query('"hello"').result_type == "string"


def test_range_query_frame_and_provenance(stub):
    b = PrometheusBackend(stub.url)
    stub.script(ok(MATRIX))
    tr = TimeRange(datetime(2026, 1, 1, tzinfo=timezone.utc), datetime(2026, 1, 1, 1, tzinfo=timezone.utc), 30)
    res = b.query_range("sum by (service) (rate(x[5m]))", tr)
    vals = res.frame["value"].tolist()
    assert vals[0] == 1.5 and vals[1] != vals[1] and vals[2] == float("inf")
    assert res.provenance.range == tr and res.provenance.kind == "range"
    path = stub.requests[0]["path"]
    assert f"start={int(tr.start.timestamp())}" in path and "step=30" in path
    assert "step 30s" in res.provenance.describe()


def test_warnings_are_kept(stub):
    stub.script(ok(VECTOR, warnings=["partial response: store down"]))
    res = PrometheusBackend(stub.url).query("up")
    assert res.warnings == ("partial response: store down",)


def test_point_limit_refused_before_sending(stub):
    b = PrometheusBackend(stub.url, max_points_per_series=11_000)
    tr = TimeRange.last("7d", step="30s")
    with pytest.raises(ResultTooLarge) as info:
        b.query_range("up", tr)
    assert stub.requests == []  # nothing was sent
    assert info.value.points == 20_161 and info.value.limit == 11_000
    assert "step=1m" in info.value.hint


def test_retries_transient_5xx_then_succeeds(stub):
    stub.script(Reply(503, b"busy"), Reply(502, b"bad gateway"), ok(VECTOR))
    res = PrometheusBackend(stub.url, retries=2).query("up")
    assert len(stub.requests) == 3 and len(res.frame) == 2


def test_gives_up_after_bounded_retries(stub):
    stub.script(Reply(503, b"still busy"))
    with pytest.raises(BackendUnavailable) as info:
        PrometheusBackend(stub.url, retries=2).query("up")
    assert len(stub.requests) == 3
    assert "503" in info.value.message


@pytest.mark.parametrize("reply", [err(400, "bad_data", "parse error"), err(422, "execution", "bad match"),
                                   err(503, "timeout", "query timed out"), Reply(401, b"no")])
def test_never_retries_client_errors_or_query_verdicts(stub, reply):
    stub.script(reply)
    with pytest.raises((QueryError, AuthError)):
        PrometheusBackend(stub.url, retries=3).query("up")
    assert len(stub.requests) == 1


def test_bad_promql_carries_error_type_and_query(stub):
    stub.script(err(400, "bad_data", 'invalid parameter "query": 1:6: parse error: unclosed left parenthesis'))
    with pytest.raises(QueryError) as info:
        PrometheusBackend(stub.url).query("rate(")
    assert info.value.error_type == "bad_data" and info.value.promql == "rate("
    assert "unclosed left parenthesis" in str(info.value)


def test_response_byte_cap_streams_and_stops(stub):
    stub.script(Reply(write=chunked_writer(50_000_000)))
    b = PrometheusBackend(stub.url, max_response_bytes=1_000_000)
    t0 = time.monotonic()
    with pytest.raises(ResultTooLarge) as info:
        b.query("up")
    assert time.monotonic() - t0 < 3
    assert "1,000,000 bytes" in info.value.message and "max_response_bytes" in info.value.hint


def test_declared_content_length_over_cap_is_refused_without_reading(stub):
    stub.script(Reply(200, b"x" * 3000))
    with pytest.raises(ResultTooLarge):
        PrometheusBackend(stub.url, max_response_bytes=1000).query("up")


def test_trickling_answer_is_cut_at_the_deadline(stub):
    stub.script(Reply(write=chunked_writer(10_000, chunk=100, pause_s=0.1)))  # 10 s if read to the end
    t0 = time.monotonic()
    with pytest.raises(BackendUnavailable) as info:
        PrometheusBackend(stub.url, timeout_s=1.0, retries=0).query("up")
    assert time.monotonic() - t0 < 2.5
    assert "timeout_s" in info.value.hint


def test_non_prometheus_answer(stub):
    stub.script(Reply(200, b"<html>Grafana</html>", headers={"Content-Type": "text/html"}))
    with pytest.raises(BackendError) as info:
        PrometheusBackend(stub.url).query("up")
    assert "not a Prometheus API response" in info.value.message


def test_catalogue_and_rule_endpoints_parse(stub):
    b = PrometheusBackend(stub.url)
    stub.script(ok(["job", "__name__", "instance"]))
    assert b.label_names(match=['{job="a"}']) == ["__name__", "instance", "job"]
    assert "match%5B%5D=%7Bjob%3D%22a%22%7D" in stub.requests[0]["path"]
    stub.script(ok(["b", "a"]))
    assert b.label_values("job") == ["a", "b"]
    with pytest.raises(InputError):
        b.label_values("../admin")
    stub.script(ok([{"__name__": "up", "job": "a"}]))
    assert b.series("up", start=0, end=60) == [{"__name__": "up", "job": "a"}]
    assert "start=0.000" in stub.requests[0]["path"]
    stub.script(ok({"http_requests_total": [{"type": "counter", "help": "Requests.", "unit": ""}],
                    "odd": [{"type": "weird", "help": "", "unit": ""}]}))
    meta = b.metadata()
    assert meta["http_requests_total"].type == "counter" and meta["http_requests_total"].help == "Requests."
    assert meta["odd"].type == "unknown"
    stub.script(ok({"activeTargets": [{"scrapeUrl": "http://x/metrics", "health": "down", "lastError": "refused",
                                       "labels": {"job": "demo"}}], "droppedTargets": []}))
    (t,) = b.targets()
    assert (t.scrape_url, t.health, t.last_error, t.labels) == ("http://x/metrics", "down", "refused", {"job": "demo"})
    stub.script(ok({"alerts": [{"labels": {"alertname": "HighErrors", "service": "checkout"}, "annotations": {},
                                "state": "firing", "activeAt": "2026-11-27T12:00:00.123456789Z", "value": "1e+00"}]}))
    (a,) = b.alerts()
    assert a.name == "HighErrors" and a.state == "firing" and a.value == 1.0
    assert a.active_at == datetime(2026, 11, 27, 12, 0, 0, 123456, tzinfo=timezone.utc)
    stub.script(ok({"groups": [{"name": "g", "rules": [
        {"type": "alerting", "name": "HighErrors", "query": "x > 1", "health": "ok", "labels": {"sev": "page"}},
        {"type": "recording", "name": "job:x:rate5m", "query": "rate(x[5m])", "health": "ok"}]}]}))
    rules = b.rules()
    assert [(r.name, r.kind, r.group) for r in rules] == [("HighErrors", "alerting", "g"),
                                                          ("job:x:rate5m", "recording", "g")]


def test_auth_headers_are_sent(stub):
    stub.script(ok(VECTOR))
    PrometheusBackend(stub.url, bearer_token=TOKEN, headers={"X-Scope-OrgID": "team-a"}).query("up")
    h = stub.requests[0]["headers"]
    assert h["Authorization"] == f"Bearer {TOKEN}" and h["X-Scope-OrgID"] == "team-a"
    stub.script(ok(VECTOR))
    host = stub.url.split("//", 1)[1]
    b = PrometheusBackend(f"http://alice:{PASSWORD}@{host}")
    b.query("up")
    assert stub.requests[0]["headers"]["Authorization"] == "Basic " + base64.b64encode(
        f"alice:{PASSWORD}".encode()).decode()
    assert b.name == stub.url


def test_secrets_never_leak(stub, caplog):
    caplog.set_level(logging.DEBUG)
    host = stub.url.split("//", 1)[1]
    settings = load_settings(backend_url=f"http://{host}", bearer_token=TOKEN, timeout_s=2, retries=1,
                             headers={"X-Api-Key": PASSWORD})
    b = open_backend(settings)
    basic = PrometheusBackend(f"http://bob:{PASSWORD}@{host}", retries=1)
    texts = [repr(b), str(b.__dict__.get("name")), repr(basic), basic.name]
    for reply in (Reply(401, b"nope"), Reply(403, b"nope"), Reply(503, b"down"), err(400, "bad_data", "x")):
        for backend in (b, basic):
            stub.script(reply)
            with pytest.raises(BackendError) as info:
                backend.query("up")
            texts += [str(info.value), repr(info.value), info.value.hint or ""]
            assert isinstance(info.value, (AuthError, BackendUnavailable, QueryError))
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    assert TOKEN not in blob and PASSWORD not in blob
    assert "PROMV5_BEARER_TOKEN" in blob  # the 401 hint says what to set


def test_invalid_inputs_are_clear(stub):
    b = PrometheusBackend(stub.url)
    with pytest.raises(InputError):
        b.query("   ")
    with pytest.raises(InputError):
        b.query_range("up", "1h")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        b.series([])
    assert stub.requests == []


@pytest.mark.parametrize("data", [
    {"resultType": "matrix", "result": [{"metric": {"job": "x"}, "values": [[1700000000, "not a number"]]}]},
    {"resultType": "matrix", "result": [{"metric": {"job": "x"}, "values": "nope"}]},
])
def test_a_range_result_of_the_wrong_shape_is_a_backend_error(stub, data):
    """A server that says success but returns samples Prometheus never would (non-numeric values, ``values``
    that is not a list of pairs) is named in a BackendError with a hint, not a raw ValueError/KeyError from the frame code."""
    stub.script(ok(data))
    with pytest.raises(BackendError) as info:
        PrometheusBackend(stub.url).query_range("up", TimeRange.last("10m", step="1m"))
    assert stub.url in info.value.message and "'up'" in info.value.message
    assert "api/v1" in (info.value.hint or "")


def test_an_instant_result_of_the_wrong_shape_is_a_backend_error(stub):
    stub.script(ok({"resultType": "vector", "result": [{"metric": {}, "value": [1700000000, "x"]}]}))
    with pytest.raises(BackendError, match="not the Prometheus API's shape"):
        PrometheusBackend(stub.url).query("up")
