"""The Loki client against a fake Loki on loopback.

No Loki server can be installed on this machine, so ``tests/fakes/loki.py`` is a small real HTTP server
that follows Loki's documented HTTP API and JSON wire format
(https://grafana.com/docs/loki/latest/reference/loki-http-api/): ``/loki/api/v1/query_range`` answering
``resultType: "streams"`` with ``[ "<unix ns>", "<line>" ]`` values, ``/loki/api/v1/labels``, plain-text
400 ``parse error`` answers, and the 5000-entry ``max_entries_limit_per_query``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from fakes.data import small_history
from fakes.loki import FakeLoki

from promv5_lab.backends.base import LogsBackend
from promv5_lab.backends.harness import free_port
from promv5_lab.backends.logs import LogStore, LokiLogs, open_logs
from promv5_lab.backends.logs.loki import logql_string
from promv5_lab.errors import AuthError, BackendUnavailable, QueryError
from promv5_lab.types import TimeRange

COLS = ["timestamp", "service", "level", "message", "trace_id", "node"]


@pytest.fixture(scope="module")
def history():
    return small_history()


@pytest.fixture(scope="module")
def store(history):
    return LogStore.open(history)


@pytest.fixture(scope="module")
def loki(history):
    with FakeLoki(history / "logs.jsonl", bearer_token="tok", tenant="team-a") as fake:
        yield fake


@pytest.fixture
def client(loki):
    loki.requests.clear()
    with LokiLogs(loki.url, bearer_token="tok", tenant="team-a", batch_size=2000) as c:
        yield c


def _all(store) -> TimeRange:
    a, b = store.time_bounds()
    return TimeRange(a, b)


def test_same_lines_as_the_embedded_store_paged_forward(client, store, loki):
    assert isinstance(client, LogsBackend)
    tr = _all(store)
    got, want = client.logs(tr), store.logs(tr)
    assert len(got) == len(want) > 2000
    assert got[COLS].astype(str).values.tolist() == want[COLS].astype(str).values.tolist()
    pages = [q for p, q, _ in loki.requests if p == "/loki/api/v1/query_range"]
    assert len(pages) >= len(want) // 2000
    assert all(q["direction"] == ["forward"] and int(q["limit"][0]) <= 2000 for q in pages)
    assert all(h.get("x-scope-orgid") == "team-a" for _, _, h in loki.requests)
    assert got.attrs["query"] == '{service_name=~".+"}' and got.attrs["source"] == loki.url


def test_service_contains_level_and_limit(client, store):
    tr = _all(store)
    got = client.logs(tr, service="checkout", contains="pool", limit=50)
    want = store.logs(tr, service="checkout", contains="pool", limit=50)
    assert got["message"].tolist() == want["message"].tolist() and got.attrs["truncated"] == want.attrs["truncated"]
    assert got.attrs["query"] == '{service_name="checkout"} |= "pool"'
    errors = client.logs(tr, service="frontend", level="error")
    assert set(errors["level"]) == {"ERROR"} and len(errors) == len(store.logs(tr, service="frontend", level="ERROR"))
    assert client.services() == store.services()


def test_hostile_text_stays_a_string_literal(client, store):
    tr = _all(store)
    nasty = 'x"} |= "" or {service_name=~".+'
    assert client.logs(tr, contains=nasty).empty
    assert client.logs(tr, service=nasty).empty
    assert json.loads(logql_string(nasty)) == nasty


def test_errors_map_to_promv5_errors(loki, store):
    tr = _all(store)
    with LokiLogs(loki.url, bearer_token="wrong", tenant="team-a") as c, pytest.raises(AuthError) as info:
        c.logs(tr)
    assert "wrong" not in str(info.value)
    with LokiLogs(loki.url, bearer_token="tok", tenant="team-a", service_label="service_name") as c:
        with pytest.raises(QueryError, match="parse error") as info:
            c.query("rate({a=1}[5m])", tr)
        assert info.value.promql == "rate({a=1}[5m])"
    with LokiLogs(loki.url, bearer_token="tok", tenant="team-a", batch_size=6000, service_label="x") as c, \
            pytest.raises(QueryError, match="max entries limit"):
        c.logs(tr)
    with LokiLogs(f"http://127.0.0.1:{free_port()}", retries=0) as c, pytest.raises(BackendUnavailable):
        c.logs(tr)


def test_page_boundaries_with_equal_timestamps(tmp_path):
    def rec(sec: int, msg: str) -> str:
        ts = datetime.fromtimestamp(1_700_000_000 + sec, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        return json.dumps({"timestamp": ts, "service": "a", "level": "INFO", "message": msg, "trace_id": None,
                           "node": "n"})
    path = tmp_path / "logs.jsonl"
    path.write_text("\n".join([rec(1, "A"), rec(2, "B"), rec(2, "C"), rec(3, "D"), rec(4, "E")]) + "\n")
    with FakeLoki(path) as fake, open_logs(fake.url, batch_size=2) as c:
        got = c.logs(TimeRange(datetime.fromtimestamp(1_700_000_000, tz=timezone.utc),
                               datetime.fromtimestamp(1_700_000_010, tz=timezone.utc)))
    assert got["message"].tolist() == ["A", "B", "C", "D", "E"]
    assert isinstance(c, LokiLogs) and c.service_label == "service_name"
