"""predict.failures counts crossings of each path's maximum over the horizon on the history's own error paths
(the fitted model's real multi-step errors from every earlier origin), not on the simulated ETS paths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from promv5_lab.analysis import predict
from promv5_lab.analysis.capacity import first_crossing, time_to_limit
from promv5_lab.analysis.forecast_errors import MIN_ORIGINS, history_paths
from promv5_lab.errors import InputError


def noisy_level(n: int = 1500, seed: int = 1) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series(50.0 + rng.standard_normal(n), name="x",
                     index=pd.date_range("2026-01-01", periods=n, freq="60s", tz="UTC"))


def test_history_paths_are_the_mean_plus_whole_error_rows():
    mean = np.array([1.0, 2.0, 3.0])
    errors = np.arange(3.0 * (MIN_ORIGINS + 2)).reshape(-1, 3)
    errors[0, 2] = np.nan  # an origin whose horizon ran past the history: left out
    errors[5, 0] = np.nan
    paths = history_paths(errors, mean, np.array([1.0, 2.0, 1.0]))
    assert paths.shape == (3, MIN_ORIGINS)
    np.testing.assert_allclose(paths[:, 0], mean + errors[1] * [1.0, 2.0, 1.0])
    assert history_paths(errors[:MIN_ORIGINS], mean) is None  # 2 incomplete rows: too few whole paths
    assert history_paths(errors, mean[:2]) is None


def test_failures_probability_is_the_share_of_history_paths_whose_maximum_crosses():
    s = noisy_level()
    (res,) = predict.failures(s, threshold=52.0, horizon="30m", simulations=100)
    assert res.params["crossing"] == "history" and res.params["crossing_paths"] > 1000
    paths = res.forecast.error_paths
    assert paths.shape == (30, res.params["crossing_paths"])
    assert res.probability == pytest.approx(np.mean(first_crossing(paths, 52.0, True) >= 0))
    # the maximum of 30 independent N(50, 1) samples reaches 52 with probability 1 - Phi(2)^30 = 0.50; the
    # last value of any single step would say 0.02
    assert 0.35 < res.probability < 0.65, res.probability
    (far,) = predict.failures(s, threshold=55.0, horizon="30m", simulations=100)
    assert far.probability < 0.02


def test_a_history_too_short_for_whole_error_paths_uses_the_simulated_ones():
    s = noisy_level(600)
    res = time_to_limit(s, 52.0, 12 * 3600, simulations=50, crossing="history")  # 720 steps > 600 points
    assert res.params["crossing"] == "simulated" and res.forecast.error_paths is None
    assert res.params["crossing_paths"] == 50
    sim = time_to_limit(s, 52.0, 1800, simulations=50)  # capacity's default: simulated paths
    assert sim.params["crossing"] == "simulated" and sim.forecast.error_paths is None
    with pytest.raises(InputError, match="crossing"):
        time_to_limit(s, 52.0, 1800, crossing="sampled")
