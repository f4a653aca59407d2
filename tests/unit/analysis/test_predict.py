"""The issue's API names: learn.normal_behavior/seasonality, predict.anomalies/capacity/failures, local scans."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis import learn, predict
from promv5_lab.analysis.forecast import detect_period
from promv5_lab.analysis.seasonality import learn_seasonality
from promv5_lab.errors import InputError

N = 288 * 7
IDX = pd.date_range("2026-01-05", periods=N, freq="5min", tz="UTC")
T = np.arange(N) * 300.0


def world(seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    daily = 50 + 10 * np.sin(2 * np.pi * T / 86400) + 0.5 * T / 86400 + rng.standard_normal(N)
    daily[1000:1030] += 80  # an incident inside the training data
    return pd.DataFrame({"daily": daily, "noise": rng.standard_normal(N),
                         "hourly": 5 * np.sin(2 * np.pi * T / 3600) + rng.standard_normal(N)}, index=IDX)


def test_normal_behavior_is_robust_to_an_incident_in_its_training_data():
    nb = learn.normal_behavior(world())
    d = nb["daily"]
    assert d.period_s == 86400 and d.strength > 0.7
    assert set(d.strengths) == {86400.0, 3600.0}  # a week does not fit twice in 7 days
    assert 0.35 < d.trend_per_day < 0.65
    assert 0.7 < d.noise < 1.4  # the unit noise, not the incident's 80
    assert len(d.profile) == 288 and 17 < max(d.profile) - min(d.profile) < 23
    # the profile is indexed by phase of the day: 06:00 UTC is the peak of this sine
    assert abs(d.expected(pd.Timestamp("2026-02-01T06:00Z").timestamp()) - (d.level + 10)) < 1.5
    assert len(d.hourly_p99) == 24 and d.hourly_p99[6] > d.hourly_median[18] + 15
    assert nb["noise"].period_s == 0 and nb["hourly"].period_s == 3600
    assert learn.normalBehavior is learn.normal_behavior


def test_one_period_detector_for_detector_and_forecaster():
    w = world()
    s = learn.seasonality(w)
    for col in w.columns:
        lag, strength = detect_period(w[col].to_numpy(), 300.0)
        assert lag * 300.0 == s[col].period_s and strength == pytest.approx(s[col].strength)
        assert learn_seasonality(w[col].to_numpy(), 300.0) == s[col]


def test_bad_input_is_a_clear_error():
    with pytest.raises(InputError, match="DatetimeIndex"):
        learn.normal_behavior(pd.DataFrame({"a": [1.0, 2.0]}))
    short = world().iloc[:5]
    short.index.freq = IDX.freq
    with pytest.raises(InputError, match="too few"):
        learn.normal_behavior(short)
    with pytest.raises(InputError):
        predict.failures(pd.DataFrame(), 1.0)


def test_anomalies_local_chunks_equal_one_call():
    w = world()
    one = predict.anomalies(w, progress=False)
    chunked = predict.anomalies(w, chunk_series=1, progress=False)
    assert chunked.params["chunks"] == 3 and chunked.params["executor"] == "local threads"
    pd.testing.assert_frame_equal(one.scores, chunked.scores)
    assert one.thresholds == chunked.thresholds and one.anomalies == chunked.anomalies
    assert any(a.series == "daily" and IDX[1000] <= a.start <= IDX[1030] for a in one.anomalies)


def test_failures_rank_the_riskiest_series_first():
    rng = np.random.default_rng(4)
    idx = IDX[:600]
    climbing = pd.Series(10 + 0.05 * np.arange(600) + rng.standard_normal(600) * 0.3, index=idx)
    flat = pd.Series(10 + rng.standard_normal(600) * 0.3, index=idx)
    frame = pd.DataFrame({"flat": flat, "climbing": climbing}, index=idx)
    res = predict.failures(frame, threshold=45.0, horizon="12h", simulations=100)
    assert [r.series for r in res] == ["climbing", "flat"]
    assert res[0].probability > 0.9 and res[1].probability < 0.05
    cap = predict.capacity(climbing, 45.0, "12h", simulations=100)
    assert cap.direction == "rising" and 6 * 3600 < cap.eta_s < 11 * 3600


def test_a_daily_recurring_event_is_reported_once_but_a_new_one_is_not_hidden():
    from datetime import timedelta

    from promv5_lab.analysis.learn import _drop_recurring, detect
    from promv5_lab.analysis.results import Anomaly

    n = 288 * 5
    idx = pd.date_range("2026-01-05", periods=n, freq="5min", tz="UTC")
    rng = np.random.default_rng(2)
    y = 10 + rng.standard_normal(n) * 0.5
    for day in range(1, 5):  # a nightly job at 02:00, each run bigger than the last: flagged every time
        y[day * 288 + 24:day * 288 + 27] += 15 * 2.0 ** day
    wide = pd.DataFrame({"s": y}, index=idx)
    off = detect(wide, progress=False, recurring_days=0)
    assert [(a.start.day, a.start.hour) for a in off.anomalies] == [(6, 2), (7, 2), (8, 2), (9, 2)]
    res = detect(wide, progress=False)
    assert [(a.start.day, a.start.hour) for a in res.anomalies] == [(6, 2)]  # the first run only
    assert len(res.params["recurring"]) == 3
    assert not res.flags.loc["2026-01-07 02:00":"2026-01-07 02:20", "s"].any()
    # only the past counts, per series, within the window and the tolerance
    t0 = idx[300].to_pydatetime()

    def ep(series, t):
        return Anomaly(series, t, t, 0.9, t, 0.7, 1)

    eps = (ep("s", t0), ep("s", t0 + timedelta(days=1, minutes=10)), ep("s", t0 + timedelta(days=1, hours=3)),
           ep("other", t0 + timedelta(days=1)), ep("s", t0 + timedelta(days=7, minutes=-5)), ep("s", t0 + timedelta(days=16)))
    kept, dropped = _drop_recurring(eps, 7, 900.0)
    assert [a.start - t0 for a in dropped] == [timedelta(days=1, minutes=10), timedelta(days=7, minutes=-5)]
    assert len(kept) == 4  # a new time of day, another series, and 9 days after the last run are reported
