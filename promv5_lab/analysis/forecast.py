"""Forecasts with prediction intervals: exponential smoothing (ETS) with automatic seasonality.

:class:`Forecaster` is the model object (settings only); :meth:`Forecaster.forecast` fits one series and
returns a frozen :class:`~promv5_lab.analysis.results.ForecastResult` (mean, lower, upper at ``level``,
the model's name and fitted parameters, and optionally simulated future paths for capacity questions).

How it works, so a person can redo it by hand:

1. The series must be regularly sampled (a ``DatetimeIndex`` with ``freq``, as :func:`frames.to_wide`
   builds it). Interior gaps (NaN) are linearly interpolated and counted in ``params["interpolated"]``;
   more than 20 % missing is refused.
2. Seasonality: with ``seasonal="auto"`` the period comes from :func:`seasonality.learn_seasonality`
   (a day, a week or an hour; none when its strength is below ``min_strength``). A seasonal series is
   adjusted by a classical decomposition profile: the median, per phase of the period, of the series minus
   its centred moving average (a profile of 1440 values for a day at 60 s; statsmodels' seasonal ETS
   would have to estimate 1440 initial states, which is slow and fragile).
3. The adjusted series gets statsmodels' ``ETSModel`` with additive errors and an additive (optionally
   damped) trend; its analytic prediction intervals and simulated paths are shifted back by the profile.
4. By default (``method="auto"``, ``clean=True``, ``calibrate=True``; :mod:`.forecast_models`): outliers of
   the history (incidents) are first replaced by the robust seasonal baseline; ETS, SARIMAX and seasonal
   naive are fitted on the history minus its held-back end and the one with the lowest error there is
   refitted on everything. The interval is then calibrated (:func:`forecast_models.calibrate`): the chosen
   model is re-fitted at up to four earlier origins of the history (before the span it was chosen on) and
   the half-widths are scaled, per horizon bin, by the conformal ``level`` quantile of
   ``|error| / half-width`` there; with a cycle, each half-width is also scaled by how noisy its phase of
   the cycle is (:func:`forecast_models.noise_profile`: traffic is noisier at its peak than at night).
   Seasonal naive costs no fit, so it is calibrated at 16 origins half a span apart. When the model's own
   half-widths are no scale for its errors (zero, as for a series that is flat most of the time, or
   exceeded more than 8 times), the half-widths are the conformal quantiles of the backtests' absolute
   errors instead (``params["interval_scale"] == "absolute"``).
   Four spans rarely hold the rare events (a level shift, a burst) that break an interval, and when they
   are calm the factors narrow it. So the calibrated half-widths are then floored, per step ahead, by the
   empirical multi-step errors of the fitted model from *every* origin of its history
   (:mod:`.forecast_errors`: the conformal quantiles of raw minus forecast, per side, so bursts upwards
   widen the upper side; ``params["empirical_raised"]`` is the share of steps where this widened it).
   The floor is weighed by evidence (:func:`forecast_errors.floor_half_widths`): where it is the wider,
   the half-width moves from the calibrated one toward it by ``m / (m + k)``, ``k`` the backtest origins
   and ``m`` the independent horizon windows of the history (origins / steps). A long history with a long
   horizon is sampled to stay within :data:`forecast_errors.FLOOR_ELEMENTS` (every stride-th origin, at
   most :data:`forecast_errors.MAX_COLUMNS` steps ahead; ``params["empirical_stride"]``,
   ``params["empirical_columns"]``).
   ``params`` records the method, every candidate's validation error, the interval factors per horizon
   bin, the calibration origins and points, and how many points were cleaned.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from .._deps import require
from ..errors import InputError
from .results import ForecastResult

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["Forecaster", "detect_period", "step_seconds"]

log = logging.getLogger(__name__)

MAX_MISSING = 0.2
MIN_POINTS = 10
PATH_ELEMENTS = 4_000_000  # memory budget of the history's error paths (origins x steps floats, 32 MB)


def step_seconds(index: pd.DatetimeIndex) -> float:
    """The sampling step of a regular index (its ``freq``), or a clear InputError."""
    freq = getattr(index, "freq", None)
    if freq is None or not hasattr(freq, "nanos"):
        raise InputError("The series needs a regular time index with a freq",
                         hint="Build it with promv5_lab.frames.to_wide(frame), which sets the freq")
    return freq.nanos / 1e9


@dataclass(frozen=True)
class Forecaster:
    """Settings of the ETS forecaster.

    ``level``: coverage of the prediction interval (0.8 = 80 %). ``seasonal``: ``"auto"`` (detect),
    ``None`` (no cycle) or a period in seconds. ``trend``: fit a trend. ``damped``: damp it (forecasts
    level off). ``min_strength``: weakest autocorrelation that counts as a cycle with ``"auto"``.
    ``method``: ``"auto"`` chooses between ETS, SARIMAX and seasonal naive by their error on the
    held-back end of the history (:func:`forecast_models.select`; ETS only when simulated paths are
    asked for), or one of them. ``clean``: replace outliers (incidents) of the history by the robust
    seasonal baseline before fitting. ``calibrate``: scale the interval (and simulated paths) so that
    ``level`` of the points held back at earlier origins fell inside it. ``floor``: never narrower than
    the fitted model's empirical multi-step errors from every origin of the history (with ``calibrate``).
    Capacity questions use ``method="ets", clean=False, floor=False``: there the trend *is* the event,
    and the errors of forecasts made before it started are not those of a forecast made now.
    """

    level: float = 0.8
    seasonal: Literal["auto"] | float | None = "auto"
    trend: bool = True
    damped: bool = False
    min_strength: float = 0.3
    method: Literal["auto", "ets", "sarimax", "snaive"] = "auto"
    clean: bool = True
    calibrate: bool = True
    floor: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.level < 1.0:
            raise InputError(f"level must be between 0 and 1, got {self.level}", hint="e.g. 0.8 for an 80 % interval")
        if self.method not in ("auto", "ets", "sarimax", "snaive"):
            raise InputError(f"method must be auto, ets, sarimax or snaive, got {self.method!r}")
        if self.seasonal not in ("auto", None) and not (isinstance(self.seasonal, (int, float))
                                                        and self.seasonal >= 0):
            raise InputError(f"seasonal must be 'auto', None or a period in seconds, got {self.seasonal!r}")

    def forecast(self, series: pd.Series, horizon_s: float, *, simulations: int = 0,
                 seed: int = 0, name: str | None = None, error_paths: bool = False) -> ForecastResult:
        """Fit ``series`` and forecast ``horizon_s`` seconds past its last sample.

        ``simulations`` > 0 also returns that many simulated future paths (``ForecastResult.paths``);
        ``error_paths`` the mean forecast plus the fitted model's own multi-step errors from every earlier
        origin of the history (``ForecastResult.error_paths``; None when fewer than
        :data:`forecast_errors.MIN_ORIGINS` origins saw the whole horizon).
        """
        pd = require("pandas")
        require("statsmodels")
        label = name or str(series.name if series.name is not None else "value")
        if not isinstance(series.index, pd.DatetimeIndex):
            raise InputError(f"{label}: the series needs a DatetimeIndex",
                             hint="Build it with promv5_lab.frames.to_wide(frame)")
        step = step_seconds(series.index)
        steps = int(np.floor(horizon_s / step + 1e-9))
        if steps < 1:
            raise InputError(f"horizon {horizon_s:g} s is shorter than the step ({step:g} s)",
                             hint="Ask for a longer --horizon or a finer --step")
        y, interpolated = _clean(series.to_numpy(dtype=float), label)
        index = series.index[np.isfinite(series.to_numpy(dtype=float))]
        last = index[-1]
        period_steps, strength = self._period(y, step, label)
        from .forecast_errors import MIN_ORIGINS as MIN_PATH_ORIGINS
        from .forecast_errors import floor_half_widths, history_paths, multi_step_errors, sample_plan
        from .forecast_models import (
            CANDIDATES,
            SNAIVE_ORIGINS,
            Calibration,
            calibrate,
            choose,
            clean_history,
            fit_candidate,
            noise_profile,
            scaled,
        )

        raw = y
        cleaned = np.zeros(y.size, dtype=bool)
        if self.clean:
            y, cleaned = clean_history(y, period_steps)
        profile = _profile(y, period_steps) if period_steps else None
        vol = noise_profile(y, period_steps) if self.calibrate else None
        if self.method == "auto":
            methods = ("ets",) if simulations > 0 else CANDIDATES
        else:
            methods = (self.method,)
        chosen, maes, cal = methods[0], {}, Calibration.none(steps)
        if len(methods) > 1 or self.calibrate:
            kw = {"period": period_steps, "profile_fn": _profile, "trend": self.trend, "damped": self.damped, "vol": vol}
            try:
                chosen, maes, first, _hold = choose(y, raw, steps, self.level, methods=methods, **kw)
                if self.calibrate and first is not None:
                    many = {"origins": SNAIVE_ORIGINS, "stride": max(1, _hold // 2)} if chosen == "snaive" else {}
                    cal = calibrate(y, raw, steps, self.level, method=chosen, first=first,
                                    chosen=len(methods) > 1, **many, **kw)
            except (ValueError, np.linalg.LinAlgError) as exc:
                log.debug("%s: validation failed (%s); ETS without calibration", label, exc)
                chosen, cal = "ets" if "ets" in methods else methods[0], Calibration.none(steps)
        try:
            cand = fit_candidate(chosen, y, steps, self.level, period=period_steps, profile=profile,
                                 trend=self.trend, damped=self.damped)
        except (ValueError, np.linalg.LinAlgError) as exc:
            raise InputError(f"{label}: the {chosen} model could not be fitted ({exc})",
                             hint="Use a longer --history or check the series for constant/degenerate values") from exc
        errors = np.empty((0, steps))
        at, stride = None, 1
        if self.calibrate and self.floor:
            # every origin x every step ahead while that fits FLOOR_ELEMENTS; a long history x a long horizon
            # is sampled (every stride-th origin, at most MAX_COLUMNS steps ahead, interpolated between)
            at, stride = sample_plan(len(y), steps)
            errors = multi_step_errors(chosen, cand.fit, y, raw, steps, period=period_steps, profile=profile,
                                       params=cand.params, vol=vol, at=at, stride=stride)
        path_errors = errors if at is None and stride == 1 else np.empty((0, steps))
        if error_paths and not path_errors.size:
            # only the latest origins, within a memory budget (origins x steps floats); a horizon too long
            # for MIN_ORIGINS whole paths within it gets none (capacity falls back to simulated paths)
            first = max(period_steps, 10, len(y) - PATH_ELEMENTS // steps)
            if len(y) - steps + 1 - first >= MIN_PATH_ORIGINS:
                path_errors = multi_step_errors(chosen, cand.fit, y, raw, steps, period=period_steps, profile=profile,
                                           params=cand.params, vol=vol, first=first)
        cand = scaled(cand, vol, len(y))
        future = pd.date_range(last + pd.Timedelta(seconds=step), periods=steps, freq=pd.Timedelta(seconds=step))
        mean = cand.mean
        below, above = cal.half_widths(cand.below, cand.above)
        emp_steps, raised = 0, 0.0
        if EMPIRICAL_FLOOR and errors.size and self.calibrate and self.floor:
            # the backtests saw four spans; every origin of the history says how far off the model can be
            v = vol[(len(y) + np.arange(steps)) % vol.size] if vol is not None else np.ones(steps)
            below, above, emp_steps, raised = floor_half_widths(below, above, errors, self.level, v,
                                                                backtest_origins=cal.origins, at=at, stride=stride)
        lower = mean - below
        upper = mean + above
        paths = None
        if simulations > 0 and cand.fit is not None and chosen == "ets":
            future_season = (profile[(len(y) + np.arange(steps)) % period_steps] if profile is not None
                             else np.zeros(steps))
            sim = np.asarray(cand.fit.simulate(steps, anchor="end", repetitions=int(simulations),
                                               rng=np.random.default_rng(seed)), dtype=float)
            paths = sim.reshape(steps, -1) + future_season[:, None]
            # the same calibrated distribution as the interval: each step's spread scaled by its factor
            # (the paths spread like the model's own half-widths, before the noise profile scaled them)
            v = vol[(len(y) + np.arange(steps)) % vol.size] if vol is not None else 1.0
            hw = (cand.below + cand.above) / 2.0
            factor = np.where(hw > 0, (below + above) / 2.0 / np.where(hw > 0, hw, 1.0), 1.0)
            paths = mean[:, None] + (factor * v)[:, None] * (paths - mean[:, None])
        hist_paths = None
        if error_paths:
            v = vol[(len(y) + np.arange(steps)) % vol.size] if vol is not None else np.ones(steps)
            hist_paths = history_paths(path_errors, mean, v)
        # A series that was never negative (rates, bytes, counts) cannot go below zero: clip, and say so.
        nonneg = bool(np.nanmin(raw) >= 0)
        if nonneg:
            mean, lower, upper = np.maximum(mean, 0.0), np.maximum(lower, 0.0), np.maximum(upper, 0.0)
            if paths is not None:
                paths = np.maximum(paths, 0.0)
            if hist_paths is not None:
                hist_paths = np.maximum(hist_paths, 0.0)
        if chosen == "ets":
            use_trend = bool(cand.params.get("trend"))
            trend_code = ("Ad" if cand.params.get("damped") else "A") if use_trend else "N"
            model_name = f"ETS(A,{trend_code},N)"
        elif chosen == "sarimax":
            model_name = "SARIMAX(1,0,1)+c"
        else:
            m = int(cand.params["period_steps"])
            model_name = f"seasonal naive {_dur(m * step)}" if m > 1 else "naive"
        if period_steps and chosen != "snaive":
            model_name += f" + seasonal profile {_dur(period_steps * step)}"
        params = {
            "level": self.level,
            "step_s": step,
            "history_points": len(y),
            "history_start": index[0].isoformat(),
            "history_end": last.isoformat(),
            "interpolated": int(interpolated),
            "season_period_s": float(period_steps * step),
            "season_strength": float(strength),
            "clipped_at_zero": nonneg,
            "method": chosen,
            "candidates": list(methods),
            "validation_mae": maes,
            "interval_factor": float(np.mean(cal.bins)),
            # "absolute": the model's own half-widths were degenerate on the backtests (zero, or far
            # below its errors), so the interval is the conformal quantile of the backtests' |errors|
            "interval_scale": "absolute" if cal.absolute is not None else "model",
            "noise_profile": vol is not None,
            "interval_factors": [round(f, 4) for f in cal.bins],
            "calibration_bins": list(cal.edges),
            "calibration_origins": cal.origins,
            "calibration_points": cal.points,
            "cleaned_points": int(cleaned.sum()),
            # steps ahead measured from every origin of the history (forecast_errors.py), the origins, and
            # the share of the horizon where their quantiles widened the backtest-calibrated interval
            "empirical_steps": int(emp_steps),
            "empirical_origins": int(np.isfinite(errors[:, 0]).sum()) if errors.size else 0,
            # a long history x a long horizon: every stride-th origin, this many steps ahead measured
            "empirical_stride": int(stride),
            "empirical_columns": int(steps if at is None else at.size),
            "empirical_raised": round(raised, 4),
            **cand.params,
        }
        return ForecastResult(
            series=label,
            mean=pd.Series(mean, index=future, name="mean"),
            lower=pd.Series(lower, index=future, name="lower"),
            upper=pd.Series(upper, index=future, name="upper"),
            level=self.level, model=model_name, params=params, paths=paths, error_paths=hist_paths,
        )

    def _period(self, y: np.ndarray, step: float, label: str) -> tuple[int, float]:
        """The seasonal period in steps (0 = none) and its strength."""
        if self.seasonal is None or self.seasonal == 0:
            return 0, 0.0
        if self.seasonal == "auto":
            return detect_period(y, step, self.min_strength)
        period = round(float(self.seasonal) / step)
        if period < 2:
            raise InputError(f"{label}: season {self.seasonal:g} s is under two steps of {step:g} s",
                             hint="Use a finer step or no season")
        if len(y) < 2 * period:
            raise InputError(
                f"{label}: {len(y)} points cover less than two seasons of {_dur(period * step)}",
                hint=f"Use at least {_dur(2 * period * step)} of --history, or no season")
        return period, float("nan")


def detect_period(y: np.ndarray, step: float, min_strength: float = 0.3) -> tuple[int, float]:
    """Strongest cycle among :data:`seasonality.CANDIDATES` that fits twice: (period in steps, strength).

    A thin adapter over :func:`seasonality.learn_seasonality`, the package's one period detector.
    """
    from .seasonality import learn_seasonality

    found = learn_seasonality(y, step, min_strength=min_strength)
    return round(found.period_s / step) if found.period_s else 0, float(found.strength)


def _clean(values: np.ndarray, label: str) -> tuple[np.ndarray, int]:
    """Trim leading/trailing NaN, interpolate interior gaps (counted); refuse short or gappy series."""
    ok = np.isfinite(values)
    if ok.sum() < MIN_POINTS:
        raise InputError(f"{label}: {int(ok.sum())} samples are too few to forecast (need {MIN_POINTS})",
                         hint="Use a longer --history or a finer --step")
    first, last = np.flatnonzero(ok)[[0, -1]]
    y = values[first:last + 1].copy()
    gaps = ~np.isfinite(y)
    if gaps.mean() > MAX_MISSING:
        raise InputError(f"{label}: {gaps.mean():.0%} of the samples are missing",
                         hint="Use a coarser --step, or a span where the series was scraped")
    if gaps.any():
        x = np.arange(y.size)
        y[gaps] = np.interp(x[gaps], x[~gaps], y[~gaps])
    return y, int(gaps.sum())


def _profile(y: np.ndarray, period: int) -> np.ndarray:
    """Classical additive seasonal profile: per-phase mean of y minus its centred moving average."""
    from .seasonality import moving_average

    # 2 x period moving average, centred, for an even period
    trend = moving_average(y, period, centred_even=period % 2 == 0)
    half = (period + (1 if period % 2 == 0 else 0)) // 2
    detr = (y - trend)[half:y.size - half]
    # per-phase median (not mean): one incident (a traffic surge) in the history must not become part of
    # every future day
    start = half % period
    grid = np.full(((start + detr.size + period - 1) // period) * period, np.nan)
    grid[start:start + detr.size] = detr
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            prof = np.nanmedian(grid.reshape(-1, period), axis=0)
    prof = np.where(np.isfinite(prof), prof, 0.0)
    return prof - prof.mean()


# the interval is never narrower than the empirical multi-step errors of the fitted model from every origin
# of its history (forecast_errors.py); False switches that off in the whole process (for comparisons; one
# forecaster: Forecaster(floor=False))
EMPIRICAL_FLOOR = True


def _dur(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"
