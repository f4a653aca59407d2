"""Pure helpers of the builders: escaping PromQL strings, backend names, wide frames, signal discovery, back-tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from promv5_lab.frames import to_wide
from promv5_lab.report.gather import Signals, find_signals, promql_string, safe_name, wide
from promv5_lab.report.models import Chart, ChartSeries
from promv5_lab.report.rules import backtest
from promv5_lab.types import MetricMetadata


@pytest.mark.parametrize("raw, want", [
    ("checkout", '"checkout"'),
    ('a"b', '"a\\"b"'),
    ("a\\b", '"a\\\\b"'),
    ('x"} or vector(1) or {a="', '"x\\"} or vector(1) or {a=\\""'),
    ("line\nbreak", '"line\\nbreak"'),
])
def test_promql_string_keeps_label_values_inside_the_literal(raw, want):
    assert promql_string(raw) == want


@pytest.mark.parametrize("raw, want", [
    ("https://user:pass@prom.example.com:9090/api?token=abc", "https://prom.example.com:9090/api"),
    ("http://prom:9090", "http://prom:9090"),
    ("embedded:/data/demo", "embedded:/data/demo"),
])
def test_safe_name_drops_credentials(raw, want):
    assert safe_name(raw) == want


def test_wide_matches_frames_to_wide():
    t0 = pd.Timestamp("2026-11-26T20:00:00Z")
    rows = [{"timestamp": t0 + pd.Timedelta(minutes=i), "value": float(i * k), "service": s, "code": c}
            for i in range(30) for k, (s, c) in enumerate([("a", "200"), ("b", "500"), ("a", "500")], 1) if i != 7 or k != 2]
    frame = pd.DataFrame(rows)
    pd.testing.assert_frame_equal(wide(frame, 60), to_wide(frame, step_s=60))


class Catalogue:
    """A catalogue with OpenMetrics family names (counters without _total), as the embedded engine reports."""

    def __init__(self, meta, labels):
        self._meta, self._labels = meta, labels

    def metadata(self, metric=None):
        return self._meta

    def label_names(self, match=()):
        return self._labels


def test_find_signals_from_types_and_labels():
    meta = {"http_requests": MetricMetadata("http_requests", "counter"),
            "http_request_duration_seconds": MetricMetadata("http_request_duration_seconds", "histogram"),
            "up": MetricMetadata("up", "gauge")}
    s = find_signals(Catalogue(meta, ["__name__", "job", "status_code"]))
    assert s == Signals("http_requests_total", "status_code", "job", "http_request_duration_seconds")
    assert s.selector("we\"ird", errors=True) == 'http_requests_total{job="we\\"ird",status_code=~"5.."}'
    none = find_signals(Catalogue({"up": MetricMetadata("up", "gauge")}, []))
    assert none.requests is None


def test_backtest_counts_when_a_threshold_fires():
    t0 = datetime(2026, 11, 26, 20, tzinfo=timezone.utc)
    ts = tuple((t0 + timedelta(minutes=i)).timestamp() for i in range(120))
    vals = tuple(5.0 if 60 <= i < 90 or 10 <= i < 13 else 1.0 for i in range(120))
    chart = Chart("c", "t", (ChartSeries("x", ts, vals),),
                  shade=((ts[60], ts[90]),))
    fired, before = backtest(chart, 3.0, rising=True)
    assert fired == ts[64]  # five samples in a row above the threshold
    assert before == 0      # the 3-sample blip before does not count
    fired, before = backtest(chart, 0.5, rising=True)
    assert before == 1 and fired is None  # always above: it fired once, before the incident, and stayed firing
