"""The embedded span store (DuckDB) over traces.jsonl and OTLP/JSON exports."""

from __future__ import annotations

import json
from datetime import datetime

import pandas as pd
import pytest
from fakes.data import read_jsonl, small_history

from promv5_lab.backends.base import TracesBackend
from promv5_lab.backends.signals.frames import SPAN_COLUMNS
from promv5_lab.backends.signals.otlp import spans_to_otlp
from promv5_lab.backends.traces import TraceStore, open_traces
from promv5_lab.errors import ConfigError, InputError
from promv5_lab.types import TimeRange


@pytest.fixture(scope="module")
def history():
    return small_history()


@pytest.fixture(scope="module")
def store(history):
    with open_traces(history) as s:
        yield s


@pytest.fixture(scope="module")
def raw(history):
    return read_jsonl(history / "traces.jsonl")


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _everything(raw) -> TimeRange:
    times = [_ts(r["start"]) for r in raw]
    return TimeRange(min(times), max(times))


def test_is_a_traces_backend_with_the_frame_conventions(store, raw):
    assert isinstance(store, TracesBackend)
    frame = store.spans(_everything(raw))
    assert tuple(frame.columns) == SPAN_COLUMNS and len(frame) == len(raw)
    assert str(frame["start"].dtype) == "datetime64[ns, UTC]" and frame["duration_ms"].dtype == "float64"
    assert frame["start"].is_monotonic_increasing
    roots = frame[frame["parent_span_id"].isna()]
    assert (roots["parent_span_id"].map(lambda v: v is None)).all()
    assert len(roots) == sum(1 for r in raw if r["parent_span_id"] is None)
    assert set(frame["status"]) == {"OK", "ERROR"}
    assert all(isinstance(a, dict) for a in frame["attributes"])


def test_service_filter_and_trace_by_id(store, raw):
    tr = _everything(raw)
    got = store.spans(tr, service="postgres")
    assert len(got) == sum(1 for r in raw if r["service"] == "postgres") and set(got["service"]) == {"postgres"}
    err = [r for r in raw if r["status"] == "ERROR"]
    tid = err[0]["trace_id"]
    trace = store.trace(tid.upper())
    expect = [r for r in raw if r["trace_id"] == tid]
    assert sorted(trace["span_id"]) == sorted(r["span_id"] for r in expect)
    by_id = {r["span_id"]: r for r in expect}
    for row in trace.itertuples():
        assert row.duration_ms == pytest.approx(by_id[row.span_id]["duration"])
        assert row.attributes == by_id[row.span_id]["attributes"]
    assert store.trace("0" * 32).empty
    assert tid in store.trace_ids(tr, errors_only=True, limit=10_000)
    with pytest.raises(InputError, match="not a hex trace id"):
        store.trace("'; DROP TABLE spans; --")


def test_otlp_round_trip_hex_and_tempo_flavours(store, raw, tmp_path):
    frame = store.spans(_everything(raw)).iloc[:300].reset_index(drop=True)
    spec = spans_to_otlp(frame)
    tempo = spans_to_otlp(frame, id_encoding="base64", enums="name", container="batches")
    assert spec["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["kind"] in range(6)
    for name, doc in (("spec.json", spec), ("tempo.json", tempo)):
        (tmp_path / name).write_text(json.dumps(doc))
    (tmp_path / "notes.txt").write_text("ignored")
    back = open_traces(tmp_path).spans(_everything(raw))
    assert len(back) == 600
    first = back.drop_duplicates(["span_id"]).sort_values(["start", "span_id"]).reset_index(drop=True)
    want = frame.sort_values(["start", "span_id"]).reset_index(drop=True)
    for col in ("trace_id", "span_id", "parent_span_id", "service", "operation", "kind", "status"):
        assert first[col].tolist() == want[col].tolist(), col
    assert first["duration_ms"].round(3).tolist() == want["duration_ms"].round(3).tolist()
    assert first["attributes"].tolist() == want["attributes"].tolist()


def test_from_frame_and_errors(tmp_path, store, raw):
    frame = store.spans(_everything(raw), limit=50)
    assert frame.attrs["truncated"] is True
    small = TraceStore.from_frame(frame)
    pd.testing.assert_frame_equal(small.spans(_everything(raw)), frame, check_dtype=False)
    with pytest.raises(InputError, match="No traces found"):
        open_traces(tmp_path)
    with pytest.raises(ConfigError, match="Unknown traces URL scheme 'zipkin'"):
        open_traces("zipkin://host:9411")
    with pytest.raises(ConfigError, match="only apply"):
        open_traces(tmp_path, bearer_token="x")


def test_both_stores_share_the_duckdb_base_and_name_what_is_missing(tmp_path):
    """The log and span stores are one DuckStore each (backends/_duckstore.py); a frame without the
    store's columns is refused with the columns named, and each store names its own kind."""
    import pandas as pd

    from promv5_lab.backends._duckstore import DuckStore
    from promv5_lab.backends.logs import LogStore

    assert issubclass(TraceStore, DuckStore) and issubclass(LogStore, DuckStore)
    with pytest.raises(InputError, match=r"lacks traces columns \['trace_id'"):
        TraceStore.from_frame(pd.DataFrame({"service": ["a"]}))
    with pytest.raises(InputError, match=r"lacks logs columns \['timestamp'"):
        LogStore.from_frame(pd.DataFrame({"service": ["a"]}))
    (tmp_path / "notes.txt").write_text("nothing here")
    with pytest.raises(InputError, match="No logs found"):
        LogStore.open(tmp_path)
