"""Every incident of the 3-day demo world leaves its mark in the logs and traces backends.

Uses the session's ``demo_history`` (3 days at 30 s, ending now). The embedded DuckDB stores are real;
Loki, Tempo and Jaeger cannot run on this machine, so their clients are checked against the loopback
fakes in ``tests/fakes/`` (built from each service's documented JSON wire format, see their docstrings),
serving the same files: for every incident window they must return what the embedded store returns.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fakes.loki import FakeLoki
from fakes.traces import FakeJaeger, FakeTempo

from promv5_lab.backends.logs import LokiLogs, open_logs
from promv5_lab.backends.traces import JaegerTraces, TempoTraces, open_traces
from promv5_lab.types import TimeRange, as_utc

# incident type -> (whose logs, a text that marks it) - the templates the demo writes for each cause
MARKS = {
    "db_pool_exhaustion": ("culprit", "connection pool exhausted"),
    "disk_fill": ("culprit", "% full"),
    "memory_leak": ("culprit", "heap usage high"),
    "cache_failure": ("catalog", "cache miss ratio high"),
    "traffic_surge": ("culprit", "request shed"),
    "bad_deploy": ("culprit", "reason=deploy"),
}
LOG_COLS = ["timestamp", "service", "level", "message", "trace_id", "node"]
SPAN_COLS = ["trace_id", "span_id", "parent_span_id", "service", "operation", "kind", "status"]


@pytest.fixture(scope="module")
def world(demo_history):
    out = Path(demo_history.out_dir)
    incidents = json.loads((out / "incidents.json").read_text())
    return out, incidents


def _window(inc) -> TimeRange:
    return TimeRange(as_utc(inc["start"]) - timedelta(minutes=2), as_utc(inc["end"]))


def test_each_incident_marks_the_logs_and_not_the_hour_before(world):
    out, incidents = world
    assert {i["type"] for i in incidents} >= set(MARKS)
    with open_logs(out) as logs:
        for inc in incidents:
            who, text = MARKS[inc["type"]]
            service = inc["root_cause_service"] if who == "culprit" else who
            during = logs.logs(_window(inc), service=service, contains=text)
            before = TimeRange(as_utc(inc["start"]) - timedelta(hours=1, minutes=5),
                               as_utc(inc["start"]) - timedelta(minutes=5))
            baseline = logs.logs(before, service=service, contains=text)
            assert len(during) >= 1, f"{inc['id']}: no {text!r} lines from {service}"
            assert len(during) > len(baseline), f"{inc['id']}: {text!r} as common before as during"


def test_db_pool_exhaustion_shows_as_error_spans_at_the_culprit(world):
    out, incidents = world
    inc = next(i for i in incidents if i["type"] == "db_pool_exhaustion")
    with open_traces(out) as traces:
        spans = traces.spans(_window(inc), service=inc["root_cause_service"], status="ERROR")
        assert (spans["operation"] == "db.pool.acquire").sum() >= 3
        tid = spans["trace_id"].iloc[0]
        whole = traces.trace(tid)
        assert whole["parent_span_id"].isna().sum() == 1 and whole.iloc[0]["service"] == "frontend"


def test_live_clients_agree_with_the_embedded_stores_on_every_incident(world):
    out, incidents = world
    with open_logs(out) as logs, open_traces(out) as traces, \
            FakeLoki(out / "logs.jsonl") as loki_srv, FakeTempo(out / "traces.jsonl") as tempo_srv, \
            FakeJaeger(out / "traces.jsonl") as jaeger_srv, LokiLogs(loki_srv.url) as loki, \
            TempoTraces(tempo_srv.url, max_traces=5000) as tempo, JaegerTraces(jaeger_srv.url, max_traces=5000) as jaeger:
        for inc in incidents:
            tr, svc = _window(inc), inc["root_cause_service"]
            want = logs.logs(tr, level=["ERROR", "WARN"])
            got = loki.logs(tr, level=["ERROR", "WARN"])
            # same lines; lines with the same timestamp may come in either order (neither API promises one)
            assert sorted(got[LOG_COLS].astype(str).values.tolist()) == \
                sorted(want[LOG_COLS].astype(str).values.tolist()), inc["id"]
            assert got["timestamp"].is_monotonic_increasing and want["timestamp"].is_monotonic_increasing
            want_spans = traces.spans(tr, service=svc).sort_values(["start", "span_id"]).reset_index(drop=True)
            for client in (tempo, jaeger):
                got_spans = client.spans(tr, service=svc).sort_values(["start", "span_id"]).reset_index(drop=True)
                assert got_spans[SPAN_COLS].values.tolist() == want_spans[SPAN_COLS].values.tolist(), \
                    f"{inc['id']} via {client!r}"
