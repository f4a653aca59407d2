"""Empirical multi-step errors of a fitted forecast model, from every origin of its own history.

The interval calibration of :func:`.forecast_models.calibrate` re-fits the model at four past origins:
four spans are too few to see rare events (a level shift, a burst of news tweets, a taxi-demand holiday)
at the rate they happen, so an interval calibrated there is too narrow whenever one comes after the
forecast origin. Here the fitted model (its parameters fixed) forecasts ``steps`` points ahead from *every*
origin of the history at once, from its filtered states, and each forecast is compared with what really
happened there (the raw values, incidents included):

* ETS (additive error, additive or damped trend): from origin ``o`` (``y[:o]`` seen), ``h`` steps ahead,
  ``level[o-1] + (phi + ... + phi**h) * trend[o-1]`` (statsmodels' filtered states);
* SARIMAX ARMA(1,1) with a constant: ``c + ar * y[o-1] + ma * resid[o-1]`` one step ahead, then
  ``c + ar * previous`` (its one-step residuals are the fitted model's);
* seasonal naive: the value one period before the target, seen at the origin.

ETS and SARIMAX forecast the profile-adjusted series; the profile is added back at each target's phase.
Row ``i`` of the result holds the errors (raw minus forecast) of the forecast from origin ``first + i``
for steps ``1..steps``; targets past the end of the history are NaN. The errors are divided by the noise
profile at each target's phase (``vol``), so their quantiles are in the same unit as the model's
half-widths before the profile scales them.

The parameters were fitted on the same history (in-sample), so these errors are slightly optimistic; they
are used as a floor under the interval calibrated out of sample (:func:`empirical_half_widths`).

Every origin x every step ahead of a long history with a long horizon does not fit in memory (200,000
minutes x a week ahead: 2e9 errors); :func:`sample_plan` keeps the floor within :data:`FLOOR_ELEMENTS` by
measuring every stride-th origin and at most :data:`MAX_COLUMNS` steps ahead (interpolated between).
:func:`crossing_probability` turns the error paths into the probability ``predict.failures`` reports,
shrunk toward the history's own crossing rate (:func:`climate_changes`).
"""

from __future__ import annotations

import numpy as np

__all__ = ["FAILURE_PRIOR_WINDOWS", "MIN_ORIGINS", "climate_changes", "crossing_probability", "empirical_half_widths",
           "floor_half_widths", "history_paths", "multi_step_errors", "sample_plan"]

MIN_ORIGINS = 30  # a step needs this many origins before its quantiles are used
FLOOR_ELEMENTS = 2_000_000  # origins x measured steps of the floor (16 MB of errors); beyond it, sampled
MAX_COLUMNS = 256  # steps ahead measured when the horizon is longer (the rest interpolated)
DENSE_STEPS = 32  # the first steps ahead are always measured one by one
BLOCK_ELEMENTS = 250_000  # origins x steps worked on at once (a few MB of temporaries)


def multi_step_errors(method: str, fit: object, y: np.ndarray, raw: np.ndarray, steps: int, *, period: int,
                      profile: np.ndarray | None, params: dict, first: int | None = None,
                      vol: np.ndarray | None = None, at: np.ndarray | None = None, stride: int = 1) -> np.ndarray:
    """Errors (origins x steps) of ``method``'s forecasts from every origin ``o >= first`` of the history.

    ``y`` is the history the model was fitted on (cleaned), ``raw`` the same span as it was; ``fit`` the
    statsmodels results (ETS, SARIMAX) or None (seasonal naive, whose period is ``params["period_steps"]``).
    An empty array when the model gives no states or the history is too short.

    ``at`` (1-based steps ahead, increasing) measures only those columns, ``stride`` only every
    ``stride``-th origin (:func:`sample_plan` bounds both for long histories x long horizons); the work is
    done in blocks of origins, so the memory is that of the result plus one block."""
    n = y.size
    m = int(params.get("period_steps", 1)) if method == "snaive" else 0
    lo = max(1, m, period if period else 0, 10) if first is None else max(1, int(first), m)
    h = np.arange(1, steps + 1) if at is None else np.asarray(at, dtype=np.int64)
    if n - lo < 1 or steps < 1 or h.size == 0:
        return np.empty((0, h.size))
    origins = np.arange(lo, n, max(1, int(stride)))  # forecast made after seeing y[:o]
    if method == "ets":
        states = getattr(fit, "states", None)
        if states is None or "level" not in getattr(states, "columns", ()):
            return np.empty((0, h.size))
        level = np.asarray(states["level"], dtype=float)
        trend = np.asarray(states["trend"], dtype=float) if "trend" in states.columns else None
        phi = float(params.get("damping_trend", 1.0)) if params.get("damped") else 1.0
        growth = np.cumsum(phi ** np.arange(1, int(h[-1]) + 1))[h - 1] if phi != 1.0 else h.astype(float)
        model = {"level": level, "trend": trend, "growth": growth}
    elif method == "sarimax":
        names = list(getattr(fit, "param_names", ()))
        values = np.asarray(getattr(fit, "params", ()), dtype=float)
        if not {"intercept", "ar.L1", "ma.L1"} <= set(names):
            return np.empty((0, h.size))
        c, ar, ma = (values[names.index(k)] for k in ("intercept", "ar.L1", "ma.L1"))
        adjusted = y - (profile[np.arange(n) % period] if profile is not None and period else 0.0)
        # the recursion x_1 = c + ar * y[o-1] + ma * e[o-1], x_j = c + ar * x_{j-1} in closed form at the
        # measured steps: x_j = c * (1 + ar + ... + ar^(j-2)) + ar^(j-1) * x_1
        powers = ar ** (h - 1).astype(float)
        sums = np.cumsum(np.r_[0.0, ar ** np.arange(int(h[-1]) - 1, dtype=float)])[h - 1]
        model = {"c": c, "ar": ar, "ma": ma, "adjusted": adjusted, "resid": np.asarray(fit.resid, dtype=float),
                 "powers": powers, "sums": sums}
    elif method != "snaive":
        return np.empty((0, h.size))
    out = np.empty((origins.size, h.size))
    block = max(1, BLOCK_ELEMENTS // h.size)
    for a in range(0, origins.size, block):
        o = origins[a:a + block]
        target = o[:, None] + h[None, :] - 1  # index of the forecast point
        inside = target < n
        tgt = np.minimum(target, n - 1)
        season = (profile[tgt % period] if profile is not None and period else 0.0)
        if method == "snaive":
            # repeat the last period seen at the origin: the value a whole number of periods before the
            # target, o - m + (h - 1) mod m, always inside the history (from the unclipped target: a target
            # past the end, clipped to n - 1, would reach back before the start)
            forecast = y[target - ((h[None, :] - 1) // m + 1) * m]
        elif method == "ets":
            forecast = np.repeat(model["level"][o - 1][:, None], h.size, axis=1)
            if model["trend"] is not None:
                forecast = forecast + model["growth"][None, :] * model["trend"][o - 1][:, None]
            forecast = forecast + season
        else:
            x1 = model["c"] + model["ar"] * model["adjusted"][o - 1] + model["ma"] * model["resid"][o - 1]
            forecast = model["c"] * model["sums"][None, :] + model["powers"][None, :] * x1[:, None] + season
        err = np.where(inside, raw[tgt] - forecast, np.nan)
        if vol is not None:
            err = err / vol[tgt % vol.size]
        out[a:a + block] = err
    return out


def sample_plan(n: int, steps: int, budget: int | None = None) -> tuple[np.ndarray | None, int]:
    """(steps ahead to measure or None for all, origin stride) keeping origins x measured steps within
    ``budget`` (default :data:`FLOOR_ELEMENTS`) for the floor of a history of ``n`` points.

    Within the budget everything is measured (the exact floor). Beyond it, at most :data:`MAX_COLUMNS`
    steps ahead are measured (every step up to :data:`DENSE_STEPS`, then evenly and geometrically spaced,
    always the last; the quantiles in between are interpolated: they change smoothly with the horizon),
    and every ``stride``-th origin, evenly over the whole history."""
    budget = int(budget or FLOOR_ELEMENTS)
    if n * steps <= budget:
        return None, 1
    at = None
    if steps > MAX_COLUMNS:
        k = (MAX_COLUMNS - DENSE_STEPS) // 2
        at = np.unique(np.r_[np.arange(1, DENSE_STEPS + 1), np.geomspace(DENSE_STEPS, steps, k).round(),
                             np.linspace(DENSE_STEPS, steps, k).round(), steps]).astype(np.int64)
    cols = steps if at is None else at.size
    return at, max(1, int(np.ceil(n * cols / budget)))


def empirical_half_widths(errors: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(below, above, steps measured): per step ahead, the half-widths that hold ``level`` of ``errors``
    (origins x steps): the conformal ``(1 - level) / 2`` and ``(1 + level) / 2`` quantiles of the signed
    errors, so a series that bursts upwards gets a wider upper side. Steps with fewer than
    :data:`MIN_ORIGINS` errors, and every step after the first such one, are NaN."""
    steps = errors.shape[1] if errors.ndim == 2 else 0
    below = np.full(steps, np.nan)
    above = np.full(steps, np.nan)
    count = np.isfinite(errors).sum(axis=0) if steps else np.zeros(0, dtype=int)
    ok = count >= MIN_ORIGINS
    measured = int(np.argmin(ok)) if not ok.all() else steps
    if measured == 0:
        return below, above, 0
    tail = (1.0 - level) / 2.0
    e = errors[:, :measured]
    # conformal ranks: with m errors, the ceil((m + 1)(1 - tail))-th smallest for the upper side
    m = count[:measured].min()
    q = min(1.0, np.ceil((m + 1) * (1.0 - tail)) / m)
    with np.errstate(all="ignore"):
        above[:measured] = np.maximum(np.nanquantile(e, q, axis=0, method="higher"), 0.0)
        below[:measured] = np.maximum(-np.nanquantile(e, 1.0 - q, axis=0, method="lower"), 0.0)
    return below, above, measured


def history_paths(errors: np.ndarray, mean: np.ndarray, vol: np.ndarray | None = None) -> np.ndarray | None:
    """The mean forecast plus each earlier origin's whole error path (steps x origins), or None.

    Row ``i`` of ``errors`` (:func:`multi_step_errors`) is what really happened after origin ``i`` minus
    what the model said, for every step of the horizon: a path with the series' own step-to-step
    dependence (a mean-reverting series wanders less over an hour than a random walk whose steps have the
    same spread). Only origins that saw the whole horizon count; ``vol`` (the noise profile at the future
    steps' phases) scales them back from the profile's unit. None with fewer than :data:`MIN_ORIGINS`."""
    if errors.ndim != 2 or errors.shape[1] != mean.size:
        return None
    whole = errors[np.isfinite(errors).all(axis=1)]
    if whole.shape[0] < MIN_ORIGINS:
        return None
    v = np.ones(mean.size) if vol is None else np.asarray(vol, dtype=float)
    return mean[:, None] + (whole * v[None, :]).T


def floor_half_widths(below: np.ndarray, above: np.ndarray, errors: np.ndarray, level: float,
                      vol: np.ndarray, backtest_origins: int | None = None, *, at: np.ndarray | None = None,
                      stride: int = 1) -> tuple[np.ndarray, np.ndarray, int, float]:
    """(below, above, steps measured, share of steps widened): the calibrated half-widths ``below`` and
    ``above`` floored by :func:`empirical_half_widths` of ``errors`` (in the unit of ``vol``, the noise
    profile at the future steps); past the measured steps the floor follows the calibrated widths,
    scaled to meet the last measured one.

    With ``backtest_origins`` (the ``k`` origins the calibrated widths were measured at), the floor is
    weighed by evidence instead of taken whole: where the empirical half-width is the wider one, the result
    is ``calibrated + m / (m + k) * (empirical - calibrated)``, ``m`` the number of independent horizon
    windows the empirical errors come from (origins / steps: one event counts in ``steps`` overlapping
    origins). Taking the wider of two estimates whole over-covered the series whose backtests were already
    right (NAB held-out half: 0.866 / 0.967 at 80 / 95 %).

    ``at`` and ``stride``: ``errors`` measured only at those steps ahead and every ``stride``-th origin
    (:func:`sample_plan`); the half-widths are interpolated between the measured steps, and the independent
    windows are counted over the whole span the sampled origins cover."""
    e_below, e_above, k = empirical_half_widths(errors, level)
    if not k:
        return below, above, 0, 0.0
    if at is not None:
        at = np.asarray(at, dtype=float)
        upto = np.arange(1, int(at[k - 1]) + 1, dtype=float)
        pad = np.full(below.size - upto.size, np.nan)
        e_below = np.r_[np.interp(upto, at[:k], e_below[:k]), pad]
        e_above = np.r_[np.interp(upto, at[:k], e_above[:k]), pad]
        k = upto.size
    e_below = _extend(e_below, below / vol, k) * vol
    e_above = _extend(e_above, above / vol, k) * vol
    if backtest_origins is not None:
        span = float(np.isfinite(errors[:, 0]).sum()) * min(max(1, int(stride)), below.size)
        m = span / below.size
        w = m / (m + max(1, int(backtest_origins)))
        e_below = np.where(e_below > below, below + w * (e_below - below), below)
        e_above = np.where(e_above > above, above + w * (e_above - above), above)
    raised = float(np.mean((e_below > below) | (e_above > above)))
    return np.maximum(below, e_below), np.maximum(above, e_above), k, raised


def _extend(measured: np.ndarray, model: np.ndarray, k: int) -> np.ndarray:
    """Empirical half-widths measured for the first ``k`` steps, continued past them by the model's
    half-widths scaled to meet them at step ``k``."""
    out = measured.copy()
    if k < out.size:
        ratio = measured[k - 1] / model[k - 1] if model[k - 1] > 0 else 1.0
        out[k:] = model[k:] * ratio if model[k - 1] > 0 else measured[k - 1]
    return out


def climate_changes(values: np.ndarray, steps: int, period: int = 0, *, max_elements: int = 4_000_000) -> np.ndarray:
    """The history's own changes over a horizon (steps x origins): column ``j`` is ``values[o + h - 1] -
    values[o - 1]`` for ``h = 1..steps`` from an earlier origin ``o``, model-free (what the series did, not
    what a model said). With a cycle of ``period`` steps, only origins at the same phase as now (the end of
    ``values``) within a 24th of the period (an hour of a day); all origins when that leaves fewer than
    :data:`MIN_ORIGINS`. Windows with a gap (NaN) are left out; at most ``max_elements`` values (the
    latest origins)."""
    v = np.asarray(values, dtype=float)
    n = v.size
    first = max(1, n - steps + 1 - max(MIN_ORIGINS, max_elements // max(1, steps)))
    origins = np.arange(first, n - steps + 1)
    if period and origins.size:
        d = (origins - n) % period
        near = np.minimum(d, period - d) <= max(0, period // 24)
        if near.sum() >= MIN_ORIGINS:
            origins = origins[near]
    if not origins.size:
        return np.empty((steps, 0))
    change = v[origins[:, None] + np.arange(steps)[None, :]] - v[origins - 1][:, None]
    return change[np.isfinite(change).all(axis=1)].T


def crossing_probability(paths: np.ndarray, climate: np.ndarray | None, limit: float, rising: bool,
                         last: float, steps: int, prior: float | None = None) -> float:
    """P(crossing ``limit`` within the horizon) from the history's error ``paths`` (steps x origins,
    :func:`history_paths`), shrunk toward the history's own crossing rate from ``last``.

    The share of paths whose maximum (minimum) crosses is in-sample: the model's parameters and seasonal
    profile were fitted on the very values its error paths are measured against, and the paths overlap
    (one event is in ``steps`` of them), so a share of 0.99 from ~800 paths held 0.91-0.96 of the time on
    the demo world. Here it counts as ``n = origins / steps`` independent windows, the climatological
    share (``climate``, :func:`climate_changes` added to ``last``: how often the series itself moved that
    far within a horizon from this phase of its cycle) as a prior worth ``prior`` windows
    (:data:`FAILURE_PRIOR_WINDOWS`): ``(n * share + prior * climate_share) / (n + prior)``. A threshold
    neither the paths nor the history ever reached stays at 0 (tried on dev and not kept: Laplace smoothing
    on top, which also gave a flat series 6 % to climb 100 standard deviations within 3 windows)."""
    from .capacity import first_crossing

    a = float(FAILURE_PRIOR_WINDOWS if prior is None else prior)
    p = float(np.mean(first_crossing(paths, limit, rising) >= 0))
    n = paths.shape[1] / max(1, steps)
    if climate is not None and climate.size and climate.shape[1] >= MIN_ORIGINS:
        p_clim = float(np.mean(first_crossing(last + climate, limit, rising) >= 0))
        p = (n * p + a * p_clim) / (n + a)
    return p


# the climatological prior of crossing_probability, in independent horizon windows (chosen on the dev
# demo seed 11 among 4, 8, 12, 24: Brier 0.1048, 0.1040, 0.1037, 0.1041; 0.1059 without the prior)
FAILURE_PRIOR_WINDOWS = 12.0
