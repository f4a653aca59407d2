"""Routed answers carry chart panels built from the frames their analysis used, checked against the answer's
own findings (flagged episodes, forecast, crossing interval, evidence), over a simulated day on the embedded
engine; the numbers in the sentences carry their units."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest

from promv5_lab.investigation import Investigation


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.demo.simulate import simulate

    hist = simulate(tmp_path_factory.mktemp("charts") / "demo", days=1, step_s=60, seed=7)
    return EmbeddedBackend.open(hist.out_dir), hist


def incident(hist, kind):
    return next(i for i in hist.incidents if i.type == kind)


ASKED: dict = {}


def ask(world, question, now):
    """Each (question, time) is answered once per module (the analyses take seconds)."""
    if (question, now) not in ASKED:
        ASKED[question, now] = Investigation(world[0], now=now, use_embeddings=False).ask(question)
    return ASKED[question, now]


def test_anomaly_panels_shade_the_flagged_episodes(world):
    inc = incident(world[1], "db_pool_exhaustion")
    now = inc.start + timedelta(minutes=20)
    ans = ask(world, "is anything weird with checkout right now", now)
    assert ans.route == "anomalies" and ans.error is None, ans.answer
    found = ans.details["anomalies"]
    assert found and ans.charts, ans.answer
    flagged = {a["series"] for a in found}
    for panel in ans.charts:
        (series,) = panel.observed.columns
        assert series in flagged and panel.span_label == "flagged as anomalous"
        episodes = [(pd.Timestamp(a["start"]), pd.Timestamp(a["end"])) for a in found if a["series"] == series]
        assert len(panel.spans) == len(episodes)
        for (a, b), (ea, eb) in zip(sorted(panel.spans), sorted(episodes)):
            assert pd.Timestamp(b) == eb and pd.Timestamp(a) >= ea  # clipped to the shown context at most
        assert panel.observed.index.max() <= pd.Timestamp(now) and panel.observed[series].notna().sum() > 30
        assert panel.promql and "checkout" in panel.promql
    units = {p.y_label for p in ans.charts}
    assert units <= {"s", "/s", "req/s", "%", ""} and units & {"s", "/s", "req/s", "%"}


def test_forecast_panel_history_mean_and_band(world):
    _backend, hist = world
    ans = ask(world, "predict checkout traffic tomorrow", hist.end)
    assert ans.route == "forecast" and ans.error is None, ans.answer
    (panel, *_rest) = ans.charts
    fc = panel.forecast
    assert list(fc.columns) == ["mean", "lower", "upper"] and len(fc) > 100
    assert (fc["lower"] <= fc["mean"] + 1e-9).all() and (fc["mean"] <= fc["upper"] + 1e-9).all()
    assert fc.index.min() > panel.observed.index.max() - pd.Timedelta(minutes=10)  # the future, after the history
    assert fc.index.max() - panel.observed.index.max() >= pd.Timedelta(hours=23)
    assert panel.level == 0.8 and panel.y_label == "req/s" and ("now", hist.end) in panel.marks
    assert "req/s" in ans.answer  # the sentence's numbers carry the unit too


def test_capacity_panel_limit_and_crossing_interval(world):
    inc = incident(world[1], "disk_fill")
    ans = ask(world, "how long until the disk is full on node-3", inc.start + timedelta(minutes=40))
    assert ans.route == "capacity" and ans.error is None, ans.answer
    best = ans.details["capacity"][0]
    assert best["eta_s"] is not None, ans.answer
    panel = ans.charts[0]
    assert panel.observed.columns[0] == best["series"] and panel.limit == ans.details["limit"] == 1.0
    now = panel.marks[0][1]
    (start, end), = panel.spans
    assert start == now + timedelta(seconds=best["lower_s"])
    upper = best["upper_s"] if best["upper_s"] is not None else ans.details["horizon_s"]
    assert end == now + timedelta(seconds=upper)
    assert dict(panel.marks)["expected to reach the limit"] == now + timedelta(seconds=best["eta_s"])
    assert panel.forecast is not None and panel.y_label == "%"
    assert "%" in ans.answer and "1 - node_filesystem_avail_bytes" in panel.promql
    # the chart's fit is the one the estimate came from: time_to_limit with its own defaults agrees
    from promv5_lab.analysis.capacity import time_to_limit

    own = time_to_limit(panel.observed[best["series"]], 1.0, ans.details["horizon_s"], simulations=200,
                        name=best["series"])
    assert (own.eta_s, own.lower_s, own.upper_s) == (best["eta_s"], best["lower_s"], best["upper_s"])


def test_diagnosis_panels_show_the_top_cause_evidence(world):
    inc = incident(world[1], "db_pool_exhaustion")
    ans = ask(world, "what's wrong with checkout", inc.start + timedelta(minutes=15))
    assert ans.route == "diagnosis" and ans.error is None, ans.answer
    top = ans.details["diagnosis"]["root_causes"][0]
    evidence = {e["promql"] for e in top["evidence"] if e["promql"]}
    assert ans.charts and all(p.promql in evidence for p in ans.charts)
    assert all(not p.observed.empty for p in ans.charts) and ans.charts[0].promql == ans.promql


def test_charts_in_json_and_query_units(world):
    _backend, hist = world
    inc = incident(hist, "disk_fill")
    ans = ask(world, "how long until the disk is full on node-3", inc.start + timedelta(minutes=40))
    out = json.loads(json.dumps(ans.to_json()))
    (chart, *_r) = out["charts"]
    assert chart["y_label"] == "%" and chart["unit"] == "ratio" and chart["limit"] == 1.0
    assert chart["series"][0]["values"] and len(chart["series"][0]["values"][0]) == 2
    assert chart["forecast"]["columns"] == ["timestamp", "mean", "lower", "upper"] and chart["spans"]
    q = ask(world, "p95 latency of checkout", hist.end)
    assert q.to_json()["y_label"] == "s" and q.to_json()["charts"] == []
    assert q.answer.rstrip(".").split()[-5] in ("ms", "s")  # "...: 476 ms at 2026-... UTC."
