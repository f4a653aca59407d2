"""The default forecaster: incidents cleaned out of the history, the model chosen on a held-back span
(never worse there than seasonal naive), and intervals calibrated at earlier origins of the history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from promv5_lab.analysis.forecast import Forecaster
from promv5_lab.analysis.forecast_models import clean_history

H = 24


def _hourly(y: np.ndarray) -> pd.Series:
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=y.size, freq="1h", tz="UTC"), name="s")


def _seasonal(seed: int, n: int = 24 * 12 + H) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 100 + np.cumsum(rng.normal(0, 0.5, n)) + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1.0, n)


def test_clean_history_replaces_an_incident_by_the_seasonal_baseline():
    y = _seasonal(1)[:-H]
    bad = y.copy()
    bad[200:206] += 60  # a six-hour surge
    cleaned, mask = clean_history(bad, 24)
    assert mask[200:206].all() and mask.sum() < 20
    assert np.max(np.abs(cleaned[200:206] - y[200:206])) < 6  # back near what the day would have been
    np.testing.assert_array_equal(cleaned[~mask], bad[~mask])  # the rest untouched
    assert bad[200] == y[200] + 60  # the input is not mutated


def test_an_incident_in_the_last_day_is_not_repeated_and_does_not_widen_the_interval():
    y = _seasonal(2)
    hist = y[:-H].copy()
    hist[-20:-14] += 60  # yesterday at this time of day
    s = _hourly(np.r_[hist, y[-H:]]).iloc[:-H]
    raw = Forecaster(method="snaive", clean=False, calibrate=False).forecast(s, H * 3600)
    clean = Forecaster(method="snaive", calibrate=False).forecast(s, H * 3600)
    truth = y[-H:]
    window = slice(4, 10)  # the incident's hours, one day later
    assert np.mean(np.abs(raw.mean.to_numpy()[window] - truth[window])) > 40
    assert np.mean(np.abs(clean.mean.to_numpy()[window] - truth[window])) < 8
    assert clean.params["cleaned_points"] >= 6
    ets_raw = Forecaster(method="ets", clean=False, calibrate=False).forecast(s, H * 3600)
    ets_clean = Forecaster(method="ets", calibrate=False).forecast(s, H * 3600)

    def width(r):
        return float(np.mean(r.upper - r.lower))

    assert width(ets_clean) < 0.8 * width(ets_raw)


def test_the_choice_is_never_worse_than_seasonal_naive_on_the_held_back_span():
    rng = np.random.default_rng(5)
    trend = _hourly(50 + 0.8 * np.arange(300.0) + rng.normal(0, 1, 300))
    res = Forecaster(seasonal=None).forecast(trend, H * 3600)
    mae = res.params["validation_mae"]
    assert set(mae) == {"ets", "sarimax", "snaive"}
    assert res.params["method"] == "ets" and res.model.startswith("ETS(A,A,N)")
    assert mae["ets"] < 0.2 * mae["snaive"]  # naive = the last value: far behind a trend
    # the forecast keeps climbing
    assert abs(res.mean.iloc[-1] - (50 + 0.8 * (299 + H))) < 5
    for seed in (3, 4):
        r = Forecaster().forecast(_hourly(_seasonal(seed)[:-H]), H * 3600)
        m = r.params["validation_mae"]
        assert m[r.params["method"]] <= m["snaive"]


def test_calibrated_intervals_cover_about_80_percent():
    """10 series x 24 held-out hours; the paths' points are correlated, so the tolerance is wide.

    A calibrated but useless-wide interval is no win: the mean half-width must stay within 2.5x the true
    80 % half-width of the generating process when its level is known (1.2816 sqrt(0.25 h + 1): the walk's
    variance grows 0.25 per hour, plus unit noise), which no estimated model can beat by much."""
    hits, ratios = [], []
    oracle = 1.2816 * np.sqrt(0.25 * np.arange(1, H + 1) + 1.0)
    for seed in range(100, 110):
        y = _seasonal(seed)
        res = Forecaster(level=0.8).forecast(_hourly(y[:-H]), H * 3600)
        fut = y[-H:]
        hits.append((fut >= res.lower.to_numpy()) & (fut <= res.upper.to_numpy()))
        ratios.append(float(np.mean((res.upper - res.lower).to_numpy() / 2 / oracle)))
        assert res.params["calibration_origins"] == 4 and len(res.params["interval_factors"]) == 3
    cov = float(np.mean(hits))
    assert 0.6 <= cov <= 0.95, cov
    assert 0.8 <= float(np.mean(ratios)) <= 2.5, ratios


def test_capacity_keeps_the_trend_it_is_about():
    """A fill in progress is an 'incident' to the cleaner: capacity fits ETS on the raw history."""
    from promv5_lab.analysis.capacity import time_to_limit

    n = 600
    rng = np.random.default_rng(1)
    y = np.r_[np.full(400, 1e9), 1e9 - 4e6 * np.arange(1, 201)] + rng.normal(0, 2e5, n)
    s = pd.Series(y, index=pd.date_range("2026-01-01", periods=n, freq="60s", tz="UTC"))
    res = time_to_limit(s, 0.0, 12 * 3600, simulations=50)
    assert res.eta_s is not None and "cleaned_points" in res.params
    assert res.params["method"] == "ets" and res.params["cleaned_points"] == 0
