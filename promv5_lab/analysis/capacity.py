"""Capacity: when does a series cross a limit, with an interval; and the probability it does so soon.

Both come from one :class:`~promv5_lab.analysis.forecast.Forecaster` fit with simulated future paths
(ETS on the history as it is: no cleaning, no model choice, since the trend *is* the event here), whose
spread is calibrated like every forecast's interval: scaled, per step ahead, by the factors measured on
past forecast origins of the same history (:func:`.forecast_models.calibrate`; not floored by the errors
from every origin of the history, ``Forecaster(floor=False)``), so the crossing-time
interval and the forecast band come from one distribution. The result carries that forecast
(``CapacityResult.forecast``).

* the point estimate ``eta_s`` is where the mean forecast first crosses the limit;
* the interval at ``level`` (80 % by default) is the (1-level)/2 and (1+level)/2 quantiles of the
  first-crossing times of the simulated paths (a path that never crosses counts as "after the horizon",
  so a quantile past the horizon is reported as "beyond the horizon");
* the probability of crossing within the horizon is the share of paths whose *maximum* (minimum, when
  falling) over the horizon reaches the limit. With ``crossing="simulated"`` (capacity's default) those
  are the simulated paths above. With ``crossing="history"`` (:func:`failure_probability` and
  ``predict.failures``) they are the history's own paths (:func:`.forecast_errors.history_paths`): the
  mean forecast plus the error path the fitted model really made over the horizon from every earlier
  origin, so the step-to-step dependence of the errors (which decides whether the maximum crosses) is the
  series' own, not the model's. The simulated ETS paths wander like random walks with the calibrated
  spread at every step, and crossed too often: on the demo world (seed 7, held back) events given 0.8-0.95
  crossed 62 % of the time. Too short a history for :data:`.forecast_errors.MIN_ORIGINS` whole error
  paths falls back to the simulated ones (``params["crossing"]`` says which were used). The share on the
  history's paths is in-sample and its paths overlap, so it is shrunk toward the history's own crossing
  rate at this phase of its cycle and Laplace-smoothed (:func:`.forecast_errors.crossing_probability`:
  shares of 0.8-1 held only 0.76-0.91 of the time on the demo world without this).

The direction is rising when the limit is above the last value (usage -> size), falling otherwise
(filesystem avail -> 0).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..errors import InputError
from .forecast import Forecaster
from .forecast_errors import climate_changes, crossing_probability
from .results import CapacityResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["failure_probability", "first_crossing", "time_to_limit"]

log = logging.getLogger(__name__)

DEFAULT_SIMULATIONS = 500


def first_crossing(values: np.ndarray, limit: float, rising: bool) -> np.ndarray:
    """Index of the first step at which each column of ``values`` (steps x paths) reaches ``limit``;
    ``-1`` where it never does. A 1-D array is one path."""
    v = np.asarray(values, dtype=float)
    one = v.ndim == 1
    v = v[:, None] if one else v
    hit = v >= limit if rising else v <= limit
    first = np.where(hit.any(axis=0), hit.argmax(axis=0), -1)
    return first[0:1] if one else first


def time_to_limit(series: pd.Series, limit: float, horizon_s: float, *, level: float = 0.8,
                  forecaster: Forecaster | None = None, simulations: int = DEFAULT_SIMULATIONS,
                  seed: int = 0, name: str | None = None,
                  crossing: Literal["simulated", "history"] = "simulated") -> CapacityResult:
    """When ``series`` is expected to reach ``limit`` within ``horizon_s`` seconds, with an interval.

    ``crossing``: which paths the probability of crossing comes from (module docstring); the crossing-time
    interval always comes from the simulated paths."""
    if crossing not in ("simulated", "history"):
        raise InputError(f"crossing must be 'simulated' or 'history', got {crossing!r}")
    if not np.isfinite(limit):
        raise InputError(f"limit must be a finite number, got {limit!r}")
    if not horizon_s > 0:
        raise InputError(f"horizon must be positive, got {horizon_s!r}")
    if simulations < 20:
        raise InputError(f"simulations must be at least 20, got {simulations}")
    # the trend is the event here: ETS on the history as it is (no cleaning, no model choice), calibrated on
    # backtests but not floored by the errors from every origin of the history: those made before a fill
    # started are not the errors of a forecast made now (with the floor, a disk filling for 1 h of history
    # got a crossing interval of 18 min to 3 h around its true 27 min, instead of 24 to 30 min)
    fc = forecaster or Forecaster(level=level, damped=False, method="ets", clean=False, calibrate=True, floor=False)
    if fc.level != level:
        fc = dataclasses.replace(fc, level=level)
    result = fc.forecast(series, horizon_s, simulations=simulations, seed=seed, name=name,
                         error_paths=crossing == "history")
    used = "history" if result.error_paths is not None else "simulated"
    observed = series.dropna()
    last_value = float(observed.iloc[-1])
    now = observed.index[-1].to_pydatetime()
    rising = limit > last_value
    step = float(result.params["step_s"])
    offsets = (np.arange(len(result.mean)) + 1) * step  # seconds after the last sample
    horizon = float(offsets[-1])
    already = (last_value >= limit) if rising else (last_value <= limit)
    if already:
        eta = lo = hi = 0.0
        prob = 1.0
    else:
        m = int(first_crossing(result.mean.to_numpy(), limit, rising)[0])
        eta = float(offsets[m]) if m >= 0 else None
        firsts = first_crossing(result.paths, limit, rising)
        times = np.where(firsts >= 0, offsets[np.clip(firsts, 0, None)], np.inf)
        prob = float(np.isfinite(times).mean())
        if used == "history":
            prob = crossing_probability(result.error_paths, _climate(series, result.params, len(offsets)), limit, rising,
                                        last_value, len(offsets))
        q_lo, q_hi = np.quantile(times, [(1 - level) / 2, (1 + level) / 2], method="inverted_cdf")
        lo = float(q_lo) if np.isfinite(q_lo) else None
        hi = float(q_hi) if np.isfinite(q_hi) else None
    params = {**result.params, "simulations": int(simulations), "seed": int(seed), "crossing": used,
              "crossing_paths": int(result.error_paths.shape[1]) if used == "history" else int(simulations)}
    return CapacityResult(series=result.series, limit=float(limit), direction="rising" if rising else "falling",
                          now=now, last_value=last_value, horizon_s=horizon, eta_s=eta, lower_s=lo, upper_s=hi,
                          level=level, probability=prob, model=result.model, params=params, forecast=result)


def _climate(series: pd.Series, params: dict, steps: int) -> np.ndarray:
    """The history's own changes over the horizon from origins at the current phase of its cycle
    (:func:`.forecast_errors.climate_changes`), from the series as it was (leading/trailing gaps trimmed)."""
    v = series.to_numpy(dtype=float)
    ok = np.flatnonzero(np.isfinite(v))
    v = v[ok[0]:ok[-1] + 1]
    step = float(params.get("step_s") or 0.0)
    period = round(float(params.get("season_period_s") or 0.0) / step) if step > 0 else 0
    return climate_changes(v, steps, period)


def failure_probability(series: pd.Series, threshold: float, horizon_s: float, *,
                        forecaster: Forecaster | None = None, simulations: int = DEFAULT_SIMULATIONS,
                        seed: int = 0, crossing: Literal["simulated", "history"] = "history") -> float:
    """P(the series crosses ``threshold`` within ``horizon_s``), from the history's own error paths (the
    simulated ones when the history is too short for them; see the module docstring)."""
    return time_to_limit(series, threshold, horizon_s, forecaster=forecaster, simulations=simulations,
                         seed=seed, crossing=crossing).probability
