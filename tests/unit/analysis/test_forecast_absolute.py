"""Intervals for series whose model half-widths are degenerate (forecast_models.degenerate / _absolute).

A series that holds its value and jumps now and then (a quantised gauge, a setting, a step-like CPU
series in NAB's realAWSCloudwatch) has one-step changes that are zero almost everywhere, so naive's
interval from their quantiles has zero width: it covers the future only until the next jump. The
calibration then uses the conformal quantiles of the backtests' absolute errors instead. Checked on the
held-back future after each history, which the calibration never saw; the seeds are fixed, so the figures
are the same on every run (0.744 with the absolute half-widths, 0.547 with the zero-width ones)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from promv5_lab.analysis import forecast, forecast_models
from promv5_lab.analysis.forecast import Forecaster, _profile
from promv5_lab.analysis.forecast_models import calibrate, degenerate

H = 48


def _steps(seed: int, n: int = 600, rate: float = 1 / 50) -> pd.Series:
    rng = np.random.default_rng(seed)
    jumps = rng.random(n + H) < rate
    y = 50 + np.cumsum(np.where(jumps, rng.normal(0, 10, n + H), 0.0))
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=n + H, freq="5min", tz="UTC"), name="s")


def _coverage(seeds: range) -> tuple[float, list[str], float]:
    cov, scales, widths = [], [], []
    for seed in seeds:
        x = _steps(seed)
        hist, fut = x.iloc[:-H], x.iloc[-H:].to_numpy()
        r = Forecaster(level=0.8, method="snaive", seasonal=None, clean=False).forecast(hist, H * 300)
        cov.append(np.mean((fut >= r.lower.to_numpy() - 1e-9) & (fut <= r.upper.to_numpy() + 1e-9)))
        scales.append(r.params["interval_scale"])
        widths.append(float(np.mean(r.upper - r.lower)))
    return float(np.mean(cov)), scales, float(np.mean(widths))


def test_step_series_get_absolute_half_widths_that_cover_the_jumps():
    cov, scales, width = _coverage(range(30))
    assert set(scales) == {"absolute"}, scales
    assert width > 1.0  # jumps are N(0, 10): a zero-width interval would be 0
    assert 0.65 <= cov <= 0.95, cov


def test_without_the_absolute_fallback_the_interval_collapses(monkeypatch):
    """The same forecasts with the fallback switched off (and the empirical floor, which repairs the same
    collapse from the fitted model's errors at every origin: forecast_errors.py): zero width, and coverage
    only until a jump."""
    monkeypatch.setattr(forecast_models, "degenerate", lambda grid, level: False)
    monkeypatch.setattr(forecast, "EMPIRICAL_FLOOR", False)
    cov, scales, width = _coverage(range(30))
    assert set(scales) == {"model"} and width == 0.0
    assert cov < 0.65, cov


def test_degenerate_rules():
    """Zero widths on more than 5 % of the points, or errors beyond MAX_FACTOR x the widths at the level."""
    ok = np.full((4, 20), 0.5)
    assert not degenerate(ok, 0.8)
    zero = ok.copy()
    zero[0, :5] = np.nan  # 5 of 80 points (6 %) had zero width
    assert degenerate(zero, 0.8)
    far = ok.copy()
    far[:, :] = 20.0  # every error 20x the model's half-width
    assert degenerate(far, 0.8)
    assert not degenerate(np.empty((0, 0)), 0.8)


def test_snaive_calibration_can_use_many_overlapping_origins():
    """stride = half a span: 16 origins fit where four spans would; the default stays four spans apart."""
    y = np.random.default_rng(0).normal(10.0, 1.0, 1200)
    kw = {"method": "snaive", "period": 0, "profile_fn": _profile, "trend": True, "damped": False}
    four = calibrate(y, y, 48, 0.8, **kw)
    many = calibrate(y, y, 48, 0.8, origins=16, stride=24, **kw)
    assert four.origins == 4 and four.points == 4 * 48
    assert many.origins == 16 and many.points == 16 * 48
    assert four.absolute is None and many.absolute is None  # white noise: the model's widths are a fine scale
