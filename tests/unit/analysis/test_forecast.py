"""Forecasts and capacity on synthetic series whose truth is known.

Calibration: 40 independent series from the model family the forecaster fits (local level + daily cycle
+ noise, hourly samples), each forecast 24 steps ahead. The 80 % intervals should cover about 80 % of
the 960 held-out points. The points of one path are correlated, so the effective sample is closer to
the 40 paths than to 960 points: the standard error of the coverage is about sqrt(0.16 / 40) = 0.06,
and we accept 0.80 +- 0.10 (and 0.95 in [0.88, 0.99] at the 95 % level). A forecaster whose intervals
ignored the growing uncertainty (e.g. +-1.28 sigma of the one-step error) covers far less and fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis.capacity import failure_probability, first_crossing, time_to_limit
from promv5_lab.analysis.forecast import Forecaster, detect_period
from promv5_lab.errors import InputError

H = 24
# the ETS model on its own (its analytic intervals): the default choice between models, the cleaning and
# the interval calibration are tested in test_forecast_select.py
ETS_ONLY = {"method": "ets", "clean": False, "calibrate": False}


def seasonal(seed: int, n: int = 24 * 12, h: int = H, walk: float = 0.5, noise: float = 1.0) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(n + h)
    level = 100 + np.cumsum(rng.normal(0, walk, n + h))
    y = level + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, noise, n + h)
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=n + h, freq="1h", tz="UTC"), name="s")


def coverage(level: float, seeds: range) -> float:
    hits = []
    for seed in seeds:
        x = seasonal(seed)
        hist, fut = x.iloc[:-H], x.iloc[-H:].to_numpy()
        res = Forecaster(level=level, **ETS_ONLY).forecast(hist, H * 3600)
        assert res.mean.index.equals(x.index[-H:])
        hits.append((fut >= res.lower.to_numpy()) & (fut <= res.upper.to_numpy()))
    return float(np.mean(hits))


def test_intervals_are_calibrated_on_seasonal_series():
    c80 = coverage(0.8, range(40))
    assert 0.70 <= c80 <= 0.90, c80
    c95 = coverage(0.95, range(40, 60))
    assert 0.88 <= c95 <= 0.99, c95
    assert c95 > c80


def test_seasonality_is_found_and_recorded():
    res = Forecaster(**ETS_ONLY).forecast(seasonal(1), 6 * 3600)
    assert res.params["season_period_s"] == 86400.0
    assert res.params["season_strength"] > 0.5
    assert "seasonal profile 1d" in res.model
    # the forecast follows the cycle: peak-to-trough of the next day is near the true 20
    day = Forecaster(**ETS_ONLY).forecast(seasonal(1), 24 * 3600).mean
    assert 15 < day.max() - day.min() < 25


def test_no_season_on_noise_and_no_season_when_told():
    rng = np.random.default_rng(3)
    noise = pd.Series(rng.normal(0, 1, 500), index=pd.date_range("2026-01-01", periods=500, freq="1h", tz="UTC"))
    assert detect_period(noise.to_numpy(), 3600.0)[0] == 0
    res = Forecaster().forecast(noise, 3600 * 5)
    assert res.params["season_period_s"] == 0.0 and "seasonal" not in res.model
    told = Forecaster(seasonal=None).forecast(seasonal(2), 3600)
    assert told.params["season_period_s"] == 0.0


def test_damped_trend_levels_off():
    t = np.arange(300.0)
    rng = np.random.default_rng(0)
    s = pd.Series(5 * t + rng.normal(0, 3, t.size), index=pd.date_range("2026-01-01", periods=t.size,
                                                                          freq="5min", tz="UTC"))
    plain = Forecaster(seasonal=None, **ETS_ONLY).forecast(s, 300 * 300)
    damped = Forecaster(seasonal=None, damped=True, **ETS_ONLY).forecast(s, 300 * 300)
    assert damped.model == "ETS(A,Ad,N)" and "damping_trend" in damped.params
    assert plain.mean.iloc[-1] > damped.mean.iloc[-1]
    assert abs(plain.mean.iloc[-1] - 5 * (299 + 300)) < 0.05 * 5 * 600


def test_bad_input_gets_a_clear_error():
    s = seasonal(0)
    with pytest.raises(InputError, match="freq"):
        Forecaster().forecast(pd.Series(s.to_numpy(), index=s.index.to_list()), 3600)
    with pytest.raises(InputError, match="too few"):
        Forecaster().forecast(s.iloc[:5], 3600)
    gappy = s.copy()
    gappy.iloc[10:200] = np.nan
    with pytest.raises(InputError, match="missing") as exc:
        Forecaster().forecast(gappy, 3600)
    assert exc.value.hint
    with pytest.raises(InputError, match="two seasons"):
        Forecaster(seasonal=7 * 86400).forecast(s, 3600)
    with pytest.raises(InputError, match="shorter than the step"):
        Forecaster().forecast(s, 60)
    with pytest.raises(InputError, match="level"):
        Forecaster(level=80)
    with pytest.raises(InputError, match="method"):
        Forecaster(method="prophet")


def test_a_few_gaps_are_interpolated_and_counted():
    s = seasonal(4)
    s.iloc[[50, 51, 120]] = np.nan
    res = Forecaster().forecast(s, 3600)
    assert res.params["interpolated"] == 3 and np.isfinite(res.mean).all()


def linear(rate: float, start: float, n: int = 600, noise: float = 2e5, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    y = start + rate * np.arange(n) + rng.normal(0, noise, n)
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=n, freq="60s", tz="UTC"), name="avail")


def test_capacity_of_a_linear_fill_matches_the_analytic_time():
    s = linear(-1e5, 1e9)  # avail falls 1e5 bytes a minute
    analytic = (1e9 - 1e5 * 599) / 1e5 * 60  # seconds after the last sample until avail = 0
    res = time_to_limit(s, 0.0, 10 * 86400)
    assert res.direction == "falling"
    assert abs(res.eta_s - analytic) < 0.05 * analytic, (res.eta_s, analytic)
    assert res.lower_s <= analytic <= res.upper_s
    assert res.probability > 0.9
    assert "falls to 0 in 6.5 days (80% interval" in res.describe()
    up = time_to_limit(linear(1e5, 0.0), 1e9, 10 * 86400)  # usage rising to the size
    assert up.direction == "rising" and abs(up.eta_s - analytic) < 0.05 * analytic


def test_capacity_not_within_the_horizon():
    res = time_to_limit(linear(-1e5, 1e9), 0.0, 86400)  # needs 6.5 days, we look 1 day ahead
    assert res.eta_s is None and res.lower_s is None and res.probability < 0.05
    assert "not within the horizon" in res.describe()


def test_failure_probability_grows_with_the_horizon():
    s = linear(-1e5, 1e9)
    ps = [failure_probability(s, 0.0, d * 86400, simulations=200) for d in (2, 6.5, 12)]
    assert ps[0] < 0.05 and 0.2 < ps[1] < 0.8 and ps[2] > 0.95
    assert ps == sorted(ps)


def test_first_crossing():
    v = np.array([[5.0, 5.0], [3.0, 6.0], [1.0, 7.0]])
    assert first_crossing(v, 2.0, rising=False).tolist() == [2, -1]
    assert first_crossing(v, 6.0, rising=True).tolist() == [-1, 1]


def test_a_never_negative_series_is_not_forecast_below_zero():
    """Rates and byte counts near zero: the interval is clipped at 0 and the clipping is recorded."""
    rng = np.random.default_rng(3)
    idx = pd.date_range("2026-01-01", periods=300, freq="5min", tz="UTC")
    y = pd.Series(np.abs(rng.normal(0.5, 1.0, len(idx))), index=idx)
    res = Forecaster(seasonal=None).forecast(y, 6 * 3600.0)
    assert (res.lower >= 0).all() and (res.mean >= 0).all()
    assert res.params["clipped_at_zero"] is True
    assert (res.upper > res.lower).any()
    signed = Forecaster(seasonal=None).forecast(y - 1.0, 6 * 3600.0)
    assert signed.params["clipped_at_zero"] is False and (signed.lower < 0).any()
