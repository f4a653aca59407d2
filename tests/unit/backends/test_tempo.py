"""The Tempo client against a fake Tempo on loopback.

No Tempo server can be installed on this machine, so ``tests/fakes/traces.py`` serves the demo world's
traces following Tempo's documented HTTP API (https://grafana.com/docs/tempo/latest/api_docs/): TraceQL
``/api/search`` results (trace ids without leading zeros) and ``/api/traces/<id>`` as OTLP JSON under
``batches`` with base64 ids and enum names, as Tempo answers it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fakes.data import small_history
from fakes.traces import FakeJaeger, FakeTempo

from promv5_lab.backends.base import TracesBackend
from promv5_lab.backends.traces import JaegerTraces, TempoTraces, TraceStore, open_traces
from promv5_lab.errors import AuthError, ConfigError, InputError, QueryError
from promv5_lab.types import TimeRange

COLS = ["trace_id", "span_id", "parent_span_id", "service", "operation", "kind", "status"]


@pytest.fixture(scope="module")
def history():
    return small_history()


@pytest.fixture(scope="module")
def store(history):
    return TraceStore.open(history)


@pytest.fixture(scope="module")
def tempo(history):
    with FakeTempo(history / "traces.jsonl", bearer_token="tok") as fake:
        yield fake


def window(store, hours: float = 6) -> TimeRange:
    a, b = store.time_bounds()
    mid = a + (b - a) / 2
    return TimeRange(mid, mid + timedelta(hours=hours))


def same(got, want) -> None:
    key = ["start", "span_id"]
    g, w = got.sort_values(key).reset_index(drop=True), want.sort_values(key).reset_index(drop=True)
    assert len(g) == len(w) > 0
    assert g[COLS].values.tolist() == w[COLS].values.tolist()
    assert (g["start"] == w["start"]).all()
    assert g["duration_ms"].round(3).tolist() == w["duration_ms"].round(3).tolist()
    assert g["attributes"].tolist() == w["attributes"].tolist()


@pytest.mark.parametrize("service", [None, "postgres"])
def test_spans_match_the_embedded_store(tempo, store, service):
    tr = window(store)
    with TempoTraces(tempo.url, bearer_token="tok") as client:
        assert isinstance(client, TracesBackend)
        got = client.spans(tr, service=service)
    same(got, store.spans(tr, service=service))
    assert got.attrs["truncated"] is False
    assert got.attrs["query"] == ('{ resource.service.name = "postgres" }' if service else "{ }")


def test_trace_by_id_search_and_truncation(tempo, store):
    tr = window(store)
    err = store.spans(tr, status="ERROR")
    tid = err["trace_id"].iloc[0]
    with TempoTraces(tempo.url, bearer_token="tok", max_traces=5) as client:
        same(client.trace(tid), store.trace(tid))
        assert client.trace("0" * 32).empty
        hits = client.search("{ }", tr)
        assert len(hits) == 5 and all(len(h["trace_id"]) == 32 for h in hits)
        assert client.spans(tr).attrs["truncated"] is True
        assert client.services() == store.services()
        with pytest.raises(QueryError, match="TraceQL") as info:
            client.search("{ .foo = }", tr)
        assert info.value.promql == "{ .foo = }"
        with pytest.raises(InputError):
            client.trace("../../etc/passwd")
    with TempoTraces(tempo.url) as anonymous, pytest.raises(AuthError):
        anonymous.spans(tr)


def test_open_traces_tells_tempo_from_jaeger(tempo, history):
    with FakeJaeger(history / "traces.jsonl") as jaeger:
        assert isinstance(open_traces(jaeger.url), JaegerTraces)
        assert isinstance(open_traces("jaeger+" + jaeger.url), JaegerTraces)
    assert isinstance(open_traces(tempo.url, bearer_token="tok"), TempoTraces)
    assert isinstance(open_traces("tempo+" + tempo.url), TempoTraces)  # no request made yet
    with FakeTempo(history / "traces.jsonl", bearer_token="only-this") as locked, \
            pytest.raises(ConfigError, match="neither like Tempo"):
        open_traces(locked.url)
