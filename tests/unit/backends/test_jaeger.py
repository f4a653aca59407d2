"""The Jaeger client against a fake Jaeger query service on loopback.

No Jaeger can be installed on this machine, so ``tests/fakes/traces.py`` follows the query service's
HTTP JSON API (https://www.jaegertracing.io/docs/latest/apis/#http-json-internal): ``/api/services``,
``/api/traces`` (microsecond times, service required) and ``/api/traces/<id>``, wrapped in
``{"data", "errors"}``, spans with ``references``/``tags``/``processID`` and a ``processes`` map.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes.data import small_history
from fakes.traces import FakeJaeger

from promv5_lab.backends.base import TracesBackend
from promv5_lab.backends.harness import free_port
from promv5_lab.backends.traces import JaegerTraces, TraceStore
from promv5_lab.backends.traces.jaeger import trace_rows
from promv5_lab.errors import AuthError, BackendUnavailable
from promv5_lab.types import TimeRange

COLS = ["trace_id", "span_id", "parent_span_id", "service", "operation", "kind", "status"]


@pytest.fixture(scope="module")
def history():
    return small_history()


@pytest.fixture(scope="module")
def store(history):
    return TraceStore.open(history)


@pytest.fixture(scope="module")
def jaeger(history):
    with FakeJaeger(history / "traces.jsonl", bearer_token="tok") as fake:
        yield fake


def window(store, hours: float = 6) -> TimeRange:
    a, b = store.time_bounds()
    mid = a + (b - a) / 3
    return TimeRange(mid, mid + timedelta(hours=hours))


@pytest.mark.parametrize("service", [None, "checkout"])
def test_spans_match_the_embedded_store(jaeger, store, service):
    tr = window(store)
    with JaegerTraces(jaeger.url, bearer_token="tok") as client:
        assert isinstance(client, TracesBackend)
        got = client.spans(tr, service=service)
    want = store.spans(tr, service=service)
    key = ["start", "span_id"]
    g, w = got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    assert len(g) == len(w) > 0
    assert g[COLS].values.tolist() == w[COLS].values.tolist()
    # Jaeger keeps microseconds: starts and durations agree to the microsecond
    assert (g["start"] - w["start"]).abs().max() <= timedelta(microseconds=1)
    assert (g["duration_ms"] - w["duration_ms"]).abs().max() <= 0.0011
    assert g["attributes"].tolist() == w["attributes"].tolist()
    if service is None:  # one search per service, since Jaeger requires one
        searched = {q["service"][0] for p, q, _ in jaeger.requests if p == "/api/traces"}
        assert searched == set(store.services())


def test_trace_by_id_and_errors(jaeger, store):
    tr = window(store)
    tid = store.spans(tr, status="ERROR")["trace_id"].iloc[0]
    with JaegerTraces(jaeger.url, bearer_token="tok", max_traces=3) as client:
        got = client.trace(tid)
        assert sorted(got["span_id"]) == sorted(store.trace(tid)["span_id"])
        assert (got["status"] == "ERROR").any()
        assert client.trace("f" * 32).empty
        assert client.spans(tr, service="frontend").attrs["truncated"] is True
    with JaegerTraces(jaeger.url, bearer_token="nope") as client, pytest.raises(AuthError):
        client.services()
    with JaegerTraces(f"http://127.0.0.1:{free_port()}", retries=0) as client, pytest.raises(BackendUnavailable):
        client.spans(tr)


def test_trace_rows_reads_otel_status_and_follows_from():
    trace = {"traceID": "abc", "processes": {"p1": {"serviceName": "svc"}}, "spans": [
        {"traceID": "abc", "spanID": "1", "operationName": "op", "startTime": 1_000_000, "duration": 2500,
         "references": [{"refType": "FOLLOWS_FROM", "spanID": "2"}], "processID": "p1",
         "tags": [{"key": "otel.status_code", "value": "ERROR"}, {"key": "span.kind", "value": "client"}]}]}
    row = trace_rows(trace)[0]
    assert row["status"] == "ERROR" and row["kind"] == "CLIENT" and row["parent_span_id"] == "0000000000000002"
    assert row["duration_ms"] == 2.5 and row["trace_id"] == "0" * 29 + "abc" and row["attributes"] == {}


def test_probed_jaeger_takes_a_tenant_header(jaeger):
    from promv5_lab.backends.traces import open_traces

    client = open_traces(jaeger.url, bearer_token="tok", tenant="team-a", workers=2)
    assert isinstance(client, JaegerTraces) and client.services()
    assert jaeger.requests[-1][2]["x-tenant"] == "team-a"
