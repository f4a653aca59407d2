"""The embedded log store (DuckDB) over the demo world's logs.jsonl and over OTLP/JSON exports."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest
from fakes.data import read_jsonl, small_history

from promv5_lab.backends.base import LogsBackend
from promv5_lab.backends.logs import LogStore, open_logs
from promv5_lab.backends.signals.frames import LOG_COLUMNS
from promv5_lab.backends.signals.otlp import logs_to_otlp
from promv5_lab.errors import ConfigError, InputError
from promv5_lab.types import TimeRange


@pytest.fixture(scope="module")
def history():
    return small_history()


@pytest.fixture(scope="module")
def store(history):
    with open_logs(history) as s:
        yield s


@pytest.fixture(scope="module")
def raw(history):
    return read_jsonl(history / "logs.jsonl")


def _ts(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def _everything(raw) -> TimeRange:
    return TimeRange(_ts(raw[0]["timestamp"]), _ts(raw[-1]["timestamp"]))


def test_is_a_logs_backend_with_the_frame_conventions(store, raw):
    assert isinstance(store, LogsBackend)
    frame = store.logs(_everything(raw))
    assert tuple(frame.columns) == LOG_COLUMNS
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert len(frame) == len(raw) == store.count()
    assert frame["timestamp"].is_monotonic_increasing
    assert not frame["trace_id"].isna().any() and not frame["node"].isna().any()
    assert set(frame["level"]) <= {"INFO", "WARN", "ERROR"}
    assert frame.attrs["source"].startswith("embedded-logs:") and frame.attrs["truncated"] is False


def test_filters_match_a_plain_python_scan(store, raw):
    tr = _everything(raw)
    mid = tr.start + (tr.end - tr.start) / 2
    window = TimeRange(mid, mid + timedelta(hours=6))
    expect = [r for r in raw if r["service"] == "checkout" and "pool" in r["message"]
              and window.start <= _ts(r["timestamp"]) <= window.end]
    got = store.logs(window, service="checkout", contains="pool")
    assert len(got) == len(expect)
    assert list(got["message"]) == [r["message"] for r in expect]
    assert got.attrs["query"].count("?") == 4 and "'checkout'" in got.attrs["query"]


def test_limit_keeps_the_oldest_and_says_it_truncated(store, raw):
    got = store.logs(_everything(raw), limit=10)
    assert len(got) == 10 and got.attrs["truncated"] is True
    assert list(got["message"]) == [r["message"] for r in raw[:10]]


def test_hostile_text_is_data_not_sql(store, raw):
    tr = _everything(raw)
    assert store.logs(tr, service="x' OR '1'='1").empty
    assert store.logs(tr, contains="'; DROP TABLE logs; --").empty
    assert store.count() == len(raw)


def test_counts_by_service_and_level(store, raw):
    tr = _everything(raw)
    counts = store.count_by_service(tr, level="error")
    expect = pd.Series([r["service"] for r in raw if r["level"] == "ERROR"]).value_counts().sort_index()
    got = counts.set_index("service")["count"].sort_index()
    assert got.to_dict() == expect.to_dict()
    hourly = store.count_by_service(tr, bucket_s=3600)
    assert hourly["count"].sum() == len(raw)
    assert (hourly["bucket"].dt.minute == 0).all()
    assert store.services() == sorted({r["service"] for r in raw})


def test_otlp_export_loads_to_the_same_lines(store, raw, tmp_path):
    frame = store.logs(_everything(raw))
    doc = logs_to_otlp(frame.iloc[:500])
    path = tmp_path / "export.json"
    # the collector's file exporter: one ExportLogsServiceRequest per line
    half = {"resourceLogs": doc["resourceLogs"][:2]}, {"resourceLogs": doc["resourceLogs"][2:]}
    path.write_text("\n".join(json.dumps(d) for d in half) + "\n")
    other = open_logs(str(path))
    back = other.logs(_everything(raw))
    assert len(back) == 500
    pd.testing.assert_frame_equal(back.reset_index(drop=True), frame.iloc[:500].reset_index(drop=True),
                                  check_like=False, check_dtype=False)
    assert isinstance(other, LogStore)


def test_from_frame_and_errors(tmp_path):
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    frame = pd.DataFrame([{"timestamp": t0, "service": "a", "level": "warning", "message": "m", "trace_id": None,
                           "node": None}])
    s = LogStore.from_frame(frame)
    got = s.logs(TimeRange(t0, t0))
    assert got["level"].tolist() == ["WARN"] and got["trace_id"].tolist() == [""]
    with pytest.raises(InputError, match="positive integer"):
        s.logs(TimeRange(t0, t0), limit=0)
    with pytest.raises(InputError, match="No such file"):
        open_logs(tmp_path / "missing")
    with pytest.raises(InputError, match="No logs found"):
        open_logs(tmp_path)
    (tmp_path / "logs.jsonl").write_text('{"timestamp": "not a time", "service": 1}\n')
    with pytest.raises(InputError, match="Cannot load logs"):
        open_logs(tmp_path)
    with pytest.raises(ConfigError, match="Unknown logs URL scheme 'elastic'"):
        open_logs("elastic://user:secret@host:9200")
    try:
        open_logs("ftp://user:secret@host")
    except ConfigError as exc:
        assert "secret" not in str(exc)
