"""Interval calibration on past forecast origins (forecast_models.calibrate), the per-phase noise profile,
and capacity answers that carry the calibrated forecast they came from.

Everything is checked on data the calibration never saw: the held-back future after the history."""

from __future__ import annotations

import numpy as np
import pandas as pd

from promv5_lab.analysis.capacity import time_to_limit
from promv5_lab.analysis.forecast import Forecaster, _profile
from promv5_lab.analysis.forecast_models import calibrate, fit_candidate, noise_profile


def _hourly(y: np.ndarray) -> pd.Series:
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=y.size, freq="1h", tz="UTC"), name="s")


def test_naive_intervals_that_grow_like_a_random_walk_are_narrowed_on_white_noise():
    """Naive's own interval grows with sqrt(steps ahead); on white noise the error does not grow, so the
    factors of the later horizon bins must fall well below the first one, and the calibrated interval must
    cover about 80 % of fresh noise (uncalibrated: nearly all of it, far too wide)."""
    h = 48
    cov_raw, cov_cal, bins = [], [], []
    for seed in range(6):
        y = np.random.default_rng(seed).normal(10.0, 1.0, 600 + h)
        hist, fut = y[:-h], y[-h:]
        cal = calibrate(hist, hist, h, 0.8, method="snaive", period=0, profile_fn=_profile, trend=True,
                        damped=False)
        assert cal.origins == 4 and cal.points == 4 * h and len(cal.bins) == 3
        c = fit_candidate("snaive", hist, h, 0.8, period=0)
        raw_in = (fut >= c.mean - c.below) & (fut <= c.mean + c.above)
        cal_in = (fut >= c.mean - cal.factors * c.below) & (fut <= c.mean + cal.factors * c.above)
        cov_raw.append(raw_in.mean())
        cov_cal.append(cal_in.mean())
        bins.append(cal.bins)
    b = np.array(bins)
    # sqrt(h) growth undone: the quantile ratio is about sqrt(9 / 41), its geometric mean with the pooled one 0.68
    assert (b[:, 2] < 0.85 * b[:, 0]).all(), b
    assert np.mean(cov_raw) > 0.95, cov_raw
    assert 0.65 <= np.mean(cov_cal) <= 0.92, cov_cal


def test_noise_profile_finds_the_noisy_phase_and_widens_the_interval_there():
    """Poisson-like traffic: noise 4x larger in the day's busy half. The interval at the busy hours must
    be wider than at the quiet ones, and each half must hold about 80 % of the held-out points."""
    period, h = 24, 24
    cover, ratio = {"busy": [], "quiet": []}, []
    for seed in range(4):
        rng = np.random.default_rng(seed)
        n = 24 * 14 + h
        t = np.arange(n)
        busy = (t % period) < 12
        y = 100 + 20 * np.sin(2 * np.pi * t / period) + rng.normal(0, 1, n) * np.where(busy, 4.0, 1.0)
        vol = noise_profile(y[:-h], period)
        assert vol is not None and vol[:12].mean() > 2.0 * vol[12:].mean()
        r = Forecaster(level=0.8, method="snaive", clean=False).forecast(_hourly(y[:-h]), h * 3600)
        assert r.params["noise_profile"] is True
        width = (r.upper - r.lower).to_numpy()
        fut = y[-h:]
        inside = (fut >= r.lower.to_numpy()) & (fut <= r.upper.to_numpy())
        b = busy[-h:]
        ratio.append(width[b].mean() / width[~b].mean())
        cover["busy"].append(inside[b].mean())
        cover["quiet"].append(inside[~b].mean())
    assert min(ratio) > 2.0, ratio
    for part, c in cover.items():
        assert 0.6 <= np.mean(c) <= 0.99, (part, c)


def test_capacity_carries_its_calibrated_forecast_and_its_paths_match_the_interval():
    rng = np.random.default_rng(4)
    n = 600
    y = 1e9 - 1e5 * np.arange(n) + np.cumsum(rng.normal(0, 4e5, n))
    s = pd.Series(y, index=pd.date_range("2026-01-01", periods=n, freq="60s", tz="UTC"), name="avail")
    limit = 6e8  # about 2.4 days away at 1e5 bytes a minute
    res = time_to_limit(s, limit, 3 * 86400, simulations=400, seed=1)
    assert res.eta_s is not None, res.describe()
    fc = res.forecast
    assert fc is not None and fc.model == res.model and fc.paths is not None
    assert fc.params["calibration_origins"] >= 1 and fc.params["calibration_points"] > 0
    assert res.params["interval_factors"] == fc.params["interval_factors"]
    # one distribution: the paths' 10 % / 90 % quantiles are the forecast's 80 % interval
    lo, hi = np.quantile(fc.paths, [0.1, 0.9], axis=1)
    width = (fc.upper - fc.lower).to_numpy()
    for k in (10, 200, len(width) - 1):
        assert abs(lo[k] - fc.lower.iloc[k]) < 0.15 * width[k], k
        assert abs(hi[k] - fc.upper.iloc[k]) < 0.15 * width[k], k
    # and the crossing time is where the mean forecast reaches the limit
    m = int(np.argmax(fc.mean.to_numpy() <= limit))
    assert res.eta_s == (m + 1) * 60.0
