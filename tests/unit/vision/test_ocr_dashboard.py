"""Pure pieces of OCR parsing and Grafana dashboard mapping (no Tesseract, no backend needed)."""

from __future__ import annotations

import json

import pytest

from promv5_lab.errors import InputError
from promv5_lab.vision.dashboard import _assign, attach_queries, grafana_panels, load_dashboard
from promv5_lab.vision.ocr import Word, _fit, parse_number
from promv5_lab.vision.report import PanelFinding


@pytest.mark.parametrize("text, value, unit", [
    ("42", 42.0, ""), ("1.5k", 1500.0, "k"), ("20%", 20.0, "%"), ("250ms", 250.0, "ms"), ("\u22125", -5.0, ""),
    ("1,000", 1000.0, ""), ("2 GB", 2e9, "GB"), ("0,5", 0.5, ""),
])
def test_parse_number(text, value, unit):
    assert parse_number(text) == pytest.approx((value, unit))


@pytest.mark.parametrize("text", ["cpu", "12:00", "v1.2.3", "", "--"])
def test_not_numbers(text):
    assert parse_number(text) is None


def test_value_axis_fit_drops_one_misread_tick():
    import numpy as np

    ticks = [(100.0, 80.0), (150.0, 60.0), (200.0, 40.0), (250.0, 20.0), (300.0, 900.0)]  # "0" read as "900"
    axis = _fit(np, ticks, [""] * 5, increasing=False)
    assert axis is not None and axis(300.0) == pytest.approx(0.0)
    assert _fit(np, [(10.0, 5.0)], [""], increasing=False) is None
    _ = Word("x", 90, 0, 0, 1, 1, (1, 1, 1))


DASH = {"title": "shop", "time": {"from": "now-1h", "to": "now"}, "panels": [
    {"type": "row", "title": "r", "panels": [], "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
    {"type": "timeseries", "title": "Requests", "gridPos": {"x": 0, "y": 1, "w": 12, "h": 8},
     "targets": [{"expr": "sum(rate(http_requests_total[5m]))", "legendFormat": "rps"}]},
    {"type": "timeseries", "title": "Errors", "gridPos": {"x": 12, "y": 1, "w": 12, "h": 8},
     "targets": [{"expr": "sum(rate(http_requests_total{code=~\"5..\"}[5m]))"}]},
    {"type": "text", "title": "notes", "gridPos": {"x": 0, "y": 9, "w": 24, "h": 3}},
]}


def _finding(x: int, title: str = "") -> PanelFinding:
    return PanelFinding((x, 40, 400, 200), (x, 60, 380, 160), title, False, "normal", 0.9, (), None)


def test_grafana_panels_and_position_matching():
    panels = grafana_panels(load_dashboard(json.dumps({"dashboard": DASH})))
    assert [p["title"] for p in panels] == ["Requests", "Errors"]
    # found right-to-left: matched by position, not by order
    assert _assign([_finding(500), _finding(10)], panels) == {0: 1, 1: 0}
    out, notes = attach_queries([_finding(10), _finding(500)], DASH)
    assert [f.title for f in out] == ["Requests", "Errors"]
    assert out[0].queries[0].promql == "sum(rate(http_requests_total[5m]))" and not out[0].queries[0].ran
    assert any("pass a backend" in n for n in notes)


def test_titles_read_by_ocr_win_over_position():
    panels = grafana_panels(DASH)
    assert _assign([_finding(10, "Errors"), _finding(500, "Requests")], panels) == {0: 1, 1: 0}


@pytest.mark.parametrize("source", ["{not json", json.dumps({"panels": 3}), "/no/such/dashboard.json"])
def test_bad_dashboard_json(source):
    with pytest.raises(InputError):
        load_dashboard(source)
