"""The per-process cache of statsmodels fits (forecast_models._cached_fit): one fit per history and model,
whatever the interval level, and the same answer as fitting afresh."""

from __future__ import annotations

import numpy as np
import pandas as pd

from promv5_lab.analysis import forecast_models
from promv5_lab.analysis.forecast import Forecaster


def _series(seed: int) -> pd.Series:
    rng = np.random.default_rng(seed)
    t = np.arange(24 * 12)
    y = 50 + 10 * np.sin(2 * np.pi * t / 24) + 0.05 * t + rng.normal(0, 1.5, t.size)
    return pd.Series(y, index=pd.date_range("2026-01-01", periods=t.size, freq="1h", tz="UTC"), name="s")


def test_two_levels_fit_each_model_once_and_match_fresh_fits(monkeypatch):
    """80 % then 95 % of one history: the second forecast adds no statsmodels fit, has the same mean and
    model, a wider interval, and equals what a cold cache gives."""
    calls = []  # fits made, counted by the cache's growth
    forecast_models._FITS.clear()
    s = _series(3)
    a80 = Forecaster(level=0.8, method="ets").forecast(s, 24 * 3600)
    calls.append(len(forecast_models._FITS))
    a95 = Forecaster(level=0.95, method="ets").forecast(s, 24 * 3600)
    calls.append(len(forecast_models._FITS))
    assert calls[0] > 0 and calls[1] == calls[0], calls  # no new fit for the second level
    np.testing.assert_allclose(a95.mean, a80.mean)
    assert a95.model == a80.model
    assert ((a95.upper - a95.lower) >= (a80.upper - a80.lower) - 1e-9).all()
    assert ((a95.upper - a95.lower).mean()) > 1.1 * (a80.upper - a80.lower).mean()
    forecast_models._FITS.clear()
    cold = Forecaster(level=0.95, method="ets").forecast(s, 24 * 3600)
    np.testing.assert_allclose(cold.mean, a95.mean)
    np.testing.assert_allclose(cold.lower, a95.lower)
    np.testing.assert_allclose(cold.upper, a95.upper)


def test_the_cache_is_bounded_and_keyed_by_the_values(monkeypatch):
    """Different histories get different fits; the cache never holds more than FIT_CACHE_SIZE of them."""
    monkeypatch.setattr(forecast_models, "FIT_CACHE_SIZE", 3)
    forecast_models._FITS.clear()
    ys = [_series(seed).to_numpy() for seed in range(5)]
    fits = [forecast_models._cached_fit("ets", y[:100], True, False) for y in ys]
    assert len(forecast_models._FITS) == 3
    assert fits[0] is not fits[1]
    assert not np.allclose(fits[0].fittedvalues, fits[1].fittedvalues)
    again = forecast_models._cached_fit("ets", ys[-1][:100].copy(), True, False)
    assert again is fits[-1]  # same values, another array: the cached fit
    forecast_models._FITS.clear()
