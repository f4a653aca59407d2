"""The pieces :class:`~promv5_lab.analysis.forecast.Forecaster` chooses between, and the history cleaning.

* :func:`clean_history`: incidents in the history are replaced by the robust seasonal baseline before any
  model is fitted (a rolling median level plus the per-phase median profile; a point is an outlier when it
  is more than ``k`` robust standard deviations from that baseline, and its neighbours within ``pad``
  steps go with it; the first and last half-window are never cleaned: the rolling median lags there, and
  the recent past is the present the forecast starts from). Without this, one traffic surge or outage inflates the fitted noise (intervals too
  wide) and drags the level.
* :func:`fit_candidate`: one of ``"ets"`` (statsmodels ``ETSModel``, additive error and trend, on the
  profile-adjusted series), ``"sarimax"`` (``SARIMAX`` ARMA(1,1) with a constant on the profile-adjusted
  series) or ``"snaive"`` (repeat the last period; its interval from the empirical one-period-back
  errors, growing with the square root of the periods ahead). Each returns mean and half-widths of the
  interval at ``level`` for ``steps`` future points after ``y``.
* :func:`select`: which candidate has the lowest mean absolute error on the held-back end of the history
  (fitted on what comes before it); seasonal naive is always a candidate, so the choice is never worse
  than it on that validation span. The same span gives the interval's calibration factor: the factor by
  which the chosen model's half-widths must be scaled so that ``level`` of the held-back points fall
  inside (limited to [0.5, 2], then shrunk towards 1 for short spans: ``factor ** (n / (n + 48))``).
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np

from .._deps import require

__all__ = ["CANDIDATES", "Candidate", "clean_history", "fit_candidate", "select"]

log = logging.getLogger(__name__)

CANDIDATES = ("ets", "sarimax", "snaive")


@dataclass(frozen=True)
class Candidate:
    """A fitted candidate: point forecast and interval half-widths (below and above), plus its details."""

    method: str
    mean: np.ndarray
    below: np.ndarray
    above: np.ndarray
    params: dict
    fit: object = None  # the statsmodels results (ETS: used for simulated paths)


def _z(level: float) -> float:
    from statistics import NormalDist

    return NormalDist().inv_cdf(0.5 + level / 2.0)


def clean_history(y: np.ndarray, period: int, *, k: float = 5.0, pad: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(cleaned copy of ``y``, mask of the replaced points): see the module docstring."""
    pd = require("pandas")
    n = y.size
    window = max(period, 25) if period else 25
    window = min(window, max(3, n // 2 * 2 - 1))
    level = pd.Series(y).rolling(window, center=True, min_periods=1).median().to_numpy()
    base = level.copy()
    if period and n >= 2 * period:
        detr = y - level
        pad_n = (-n) % period
        grid = np.concatenate([detr, np.full(pad_n, np.nan)]).reshape(-1, period)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            prof = np.nanmedian(grid, axis=0)
        prof = np.where(np.isfinite(prof), prof, 0.0)
        base = level + prof[np.arange(n) % period]
    resid = y - base
    mad = np.median(np.abs(resid - np.median(resid)))
    sigma = 1.4826 * mad
    if not sigma > 0:
        return y.copy(), np.zeros(n, dtype=bool)
    out = np.abs(resid) > k * sigma
    if pad and out.any():
        out = np.convolve(out.astype(float), np.ones(2 * pad + 1), mode="same") > 0
    # only where the centred window is full: near the ends the rolling median lags, and the last
    # half-window is the present the forecast must start from (an outage going on now is not cleaned)
    edge = min(window // 2, n // 4)
    out[:edge] = False
    out[n - edge:] = False
    cleaned = np.where(out, base, y)
    return cleaned, out


def _one_thread():
    """BLAS on one thread while fitting: the small matrices of these models gain nothing from threads, and
    on a busy machine OpenBLAS's spinning threads made one SARIMAX fit take 30 s instead of 1 s."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn/statsmodels' stack
        from contextlib import nullcontext

        return nullcontext()
    return threadpool_limits(1)


def fit_candidate(method: str, y: np.ndarray, steps: int, level: float, *, period: int = 0,
                  profile: np.ndarray | None = None, trend: bool = True, damped: bool = False) -> Candidate:
    """Fit ``method`` on ``y`` (already cleaned) and forecast ``steps`` points with an interval at ``level``.

    ``profile`` (length ``period``, indexed from the first sample of ``y``) is removed before ETS/SARIMAX
    and added back to their forecasts; seasonal naive uses ``period`` directly (1 = naive)."""
    with _one_thread():
        return _fit(method, y, steps, level, period=period, profile=profile, trend=trend, damped=damped)


def _fit(method: str, y: np.ndarray, steps: int, level: float, *, period: int, profile: np.ndarray | None,
         trend: bool, damped: bool) -> Candidate:
    n = y.size
    future_season = np.zeros(steps)
    adjusted = y
    if profile is not None and period:
        adjusted = y - profile[np.arange(n) % period]
        future_season = profile[(n + np.arange(steps)) % period]
    if method == "snaive":
        m = period if period and n >= 2 * period else 1
        last = y[n - m:]
        mean = last[np.arange(steps) % m]
        err = y[m:] - y[:-m]
        q_lo, q_hi = np.quantile(err, [0.5 - level / 2, 0.5 + level / 2]) if err.size else (0.0, 0.0)
        ahead = np.sqrt(np.arange(steps) // m + 1.0)
        return Candidate("snaive", mean, -q_lo * ahead, q_hi * ahead, {"period_steps": int(m)})
    pd = require("pandas")
    z = _z(level)
    if method == "ets":
        ets = require("statsmodels.tsa.exponential_smoothing.ets")
        use_trend = trend and n >= 14
        model = ets.ETSModel(pd.Series(adjusted, index=pd.RangeIndex(n)), error="add",
                             trend="add" if use_trend else None, damped_trend=bool(damped and use_trend))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(disp=False, maxiter=200)
        frame = fit.get_prediction(start=n, end=n + steps - 1).summary_frame(alpha=1.0 - level)
        mean = frame["mean"].to_numpy()
        params = {"trend": bool(use_trend), "damped": bool(damped and use_trend), "aic": float(fit.aic),
                  "sigma2": float(np.nanvar(np.asarray(fit.resid, dtype=float))),
                  **{str(k): float(v) for k, v in zip(fit.param_names, fit.params)}}
        return Candidate("ets", mean + future_season, mean - frame["pi_lower"].to_numpy(),
                         frame["pi_upper"].to_numpy() - mean, params, fit)
    if method == "sarimax":
        sm = require("statsmodels.tsa.statespace.sarimax")
        model = sm.SARIMAX(adjusted, order=(1, 0, 1), trend="c")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = model.fit(disp=False, maxiter=50)
        fc = fit.get_forecast(steps)
        mean = np.asarray(fc.predicted_mean, dtype=float)
        se = np.asarray(fc.se_mean, dtype=float)
        params = {"order": [1, 0, 1], "trend": "c", "aic": float(fit.aic),
                  **{str(k): float(v) for k, v in zip(fit.param_names, fit.params)}}
        return Candidate("sarimax", mean + future_season, z * se, z * se, params, fit)
    raise ValueError(f"unknown forecast method {method!r}")


def select(y: np.ndarray, raw: np.ndarray, steps: int, level: float, *, period: int, profile_fn, trend: bool,
           damped: bool, methods: tuple[str, ...] = CANDIDATES) -> tuple[str, float, dict]:
    """(best method, interval scale factor, validation MAE per method) on the held-back end of the history.

    Models are fitted on the cleaned history ``y`` before the held-back span and scored against the raw
    values ``raw`` of that span (what really happened, incidents included). The span is ``steps`` points
    (at most a fifth of the history); the training part must still hold two periods, else the period is
    not used for the validation fits. ``profile_fn(train, period)`` gives a training span's profile."""
    hold = int(min(steps, max(1, y.size // 5)))
    train, test = y[:-hold], raw[-hold:]
    p = period if period and train.size >= 2 * period else 0
    prof = profile_fn(train, p) if p else None
    maes: dict[str, float] = {}
    fits: dict[str, Candidate] = {}
    for m in methods:
        try:
            c = fit_candidate(m, train, hold, level, period=p, profile=prof, trend=trend, damped=damped)
        except (ValueError, np.linalg.LinAlgError) as exc:  # a candidate that cannot be fitted is left out
            log.debug("forecast candidate %s failed on the validation span: %s", m, exc)
            continue
        if np.all(np.isfinite(c.mean)):
            maes[m] = float(np.mean(np.abs(c.mean - test)))
            fits[m] = c
    if not maes:
        return "ets", 1.0, {}
    best = min(maes, key=lambda k: (maes[k], k != "snaive"))  # a tie goes to seasonal naive
    c = fits[best]
    err = test - c.mean
    width = np.where(err >= 0, c.above, c.below)
    ok = width > 0
    factor = 1.0
    if ok.sum() >= 5:
        # one held-back span is a noisy judge (its points are correlated): the factor it suggests is
        # shrunk towards 1, the more the shorter the span (weight hold / (hold + 48))
        est = float(np.clip(np.quantile(np.abs(err[ok]) / width[ok], level), 0.5, 2.0))
        factor = float(est ** (ok.sum() / (ok.sum() + 48.0)))
    return best, factor, maes
