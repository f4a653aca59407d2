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

import hashlib
import itertools
import logging
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .._deps import require

__all__ = ["CANDIDATES", "SNAIVE_ORIGINS", "Calibration", "Candidate", "calibrate", "choose", "clean_history", "fit_candidate", "noise_profile",
           "scaled", "select"]

log = logging.getLogger(__name__)

CANDIDATES = ("ets", "sarimax", "snaive")
ORIGINS = 4  # backtest origins for the interval calibration
# seasonal naive costs no fit: it is calibrated on many more origins, half a span apart, so that rare
# events (a level switch, a burst) are seen at the rate they happen, not as luck of four spans
SNAIVE_ORIGINS = 16
BINS = 3  # horizon bins with their own factor
MIN_BIN_STEPS = 8
MIN_TRAIN = 10
MAX_FACTOR = 8.0  # beyond this, a model's own half-widths are no scale for its errors (see degenerate())


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
    z = _z(level)
    if method == "ets":
        use_trend = trend and n >= 14
        fit = _cached_fit(method, adjusted, use_trend, damped and use_trend)
        frame = fit.get_prediction(start=n, end=n + steps - 1).summary_frame(alpha=1.0 - level)
        mean = frame["mean"].to_numpy()
        params = {"trend": bool(use_trend), "damped": bool(damped and use_trend), "aic": float(fit.aic),
                  "sigma2": float(np.nanvar(np.asarray(fit.resid, dtype=float))),
                  **{str(k): float(v) for k, v in zip(fit.param_names, fit.params)}}
        return Candidate("ets", mean + future_season, mean - frame["pi_lower"].to_numpy(),
                         frame["pi_upper"].to_numpy() - mean, params, fit)
    if method == "sarimax":
        fit = _cached_fit(method, adjusted, False, False)
        fc = fit.get_forecast(steps)
        mean = np.asarray(fc.predicted_mean, dtype=float)
        se = np.asarray(fc.se_mean, dtype=float)
        params = {"order": [1, 0, 1], "trend": "c", "aic": float(fit.aic),
                  **{str(k): float(v) for k, v in zip(fit.param_names, fit.params)}}
        return Candidate("sarimax", mean + future_season, z * se, z * se, params, fit)
    raise ValueError(f"unknown forecast method {method!r}")


_FITS: OrderedDict[tuple, object] = OrderedDict()
_FITS_LOCK = threading.Lock()
FIT_CACHE_SIZE = 32


def _cached_fit(method: str, adjusted: np.ndarray, trend: bool, damped: bool):
    """The statsmodels fit of ``method`` on ``adjusted``, from a small per-process cache.

    The fit does not depend on the interval level, so a forecast at 80 % and one at 95 % of the same
    history (or a capacity estimate and the chart drawn from the same series) fit each model once. The key
    is a hash of the values and the model settings; the cache keeps the last :data:`FIT_CACHE_SIZE` fits."""
    key = (method, hashlib.blake2b(np.ascontiguousarray(adjusted, dtype=float).tobytes(), digest_size=16).digest(),
           adjusted.size, bool(trend), bool(damped))
    with _FITS_LOCK:
        fit = _FITS.get(key)
        if fit is not None:
            _FITS.move_to_end(key)
            return fit
    pd = require("pandas")
    n = adjusted.size
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "ets":
            ets = require("statsmodels.tsa.exponential_smoothing.ets")
            model = ets.ETSModel(pd.Series(adjusted, index=pd.RangeIndex(n)), error="add",
                                 trend="add" if trend else None, damped_trend=bool(damped))
            fit = model.fit(disp=False, maxiter=200)
        else:
            sm = require("statsmodels.tsa.statespace.sarimax")
            fit = sm.SARIMAX(adjusted, order=(1, 0, 1), trend="c").fit(disp=False, maxiter=50)
    with _FITS_LOCK:
        _FITS[key] = fit
        while len(_FITS) > FIT_CACHE_SIZE:
            _FITS.popitem(last=False)
    return fit


def choose(y: np.ndarray, raw: np.ndarray, steps: int, level: float, *, period: int, profile_fn, trend: bool,
           damped: bool, methods: tuple[str, ...] = CANDIDATES,
           vol: np.ndarray | None = None) -> tuple[str, dict, Candidate | None, int]:
    """(best method, validation MAE per method, the best one's validation fit, the held-back length).

    Models are fitted on the cleaned history ``y`` before the held-back span and scored against the raw
    values ``raw`` of that span (what really happened, incidents included). The span is ``steps`` points
    (at most a fifth of the history); the training part must still hold two periods, else the period is
    not used for the validation fits. ``profile_fn(train, period)`` gives a training span's profile."""
    hold = _hold(y.size, steps)
    maes: dict[str, float] = {}
    fits: dict[str, Candidate] = {}
    for m in methods:
        c = _fit_at(m, y, y.size - hold, hold, level, period=period, profile_fn=profile_fn, trend=trend,
                    damped=damped, vol=vol)
        if c is not None:
            maes[m] = float(np.mean(np.abs(c.mean - raw[-hold:])))
            fits[m] = c
    if not maes:
        return "ets", {}, None, hold
    best = min(maes, key=lambda k: (maes[k], k != "snaive"))  # a tie goes to seasonal naive
    return best, maes, fits[best], hold


def select(y: np.ndarray, raw: np.ndarray, steps: int, level: float, *, period: int, profile_fn, trend: bool,
           damped: bool, methods: tuple[str, ...] = CANDIDATES, vol: np.ndarray | None = None) -> tuple[str, float, dict]:
    """(best method, interval scale factor, validation MAE per method): :func:`choose` then
    :func:`calibrate`; the factor is the mean of the per-horizon factors."""
    best, maes, first, _hold = choose(y, raw, steps, level, period=period, profile_fn=profile_fn, trend=trend,
                                     damped=damped, methods=methods, vol=vol)
    if first is None:
        return best, 1.0, maes
    cal = calibrate(y, raw, steps, level, method=best, period=period, profile_fn=profile_fn, trend=trend,
                    damped=damped, first=first, vol=vol)
    return best, float(np.mean(cal.bins)), maes


@dataclass(frozen=True)
class Calibration:
    """Interval scale factors from rolling-origin backtests (see :func:`calibrate`).

    ``factors[h]`` multiplies the model's half-widths ``h + 1`` steps ahead; ``bins`` are the factors
    measured per horizon bin (``edges`` in steps), ``origins`` the number of backtest origins and
    ``points`` the held-back points they scored."""

    factors: np.ndarray
    bins: tuple[float, ...] = (1.0,)
    edges: tuple[int, ...] = ()
    origins: int = 0
    points: int = 0
    absolute: np.ndarray | None = None  # half-widths per step when the model's own widths are degenerate

    def half_widths(self, below: np.ndarray, above: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The calibrated (below, above) half-widths of a forecast whose model half-widths are given."""
        if self.absolute is not None:
            return self.absolute.copy(), self.absolute.copy()
        return self.factors * below, self.factors * above

    @classmethod
    def none(cls, steps: int) -> Calibration:
        return cls(np.ones(steps))


def calibrate(y: np.ndarray, raw: np.ndarray, steps: int, level: float, *, method: str, period: int, profile_fn,
              trend: bool, damped: bool, origins: int = ORIGINS, bins: int = BINS,
              first: Candidate | None = None, vol: np.ndarray | None = None, chosen: bool = True,
              stride: int | None = None) -> Calibration:
    """Per-horizon interval factors from the errors of ``method`` at several past forecast origins.

    The history is cut at up to ``origins`` points, one held-back span apart, going back from the start of
    the span the model was *chosen* on (its errors there are optimistic: it won there; with ``chosen=False``,
    one method and no choice, from the end of the history); each training part
    keeps at least half of the history (and two periods of a cycle), and when none can, the choice span itself is used (``first``,
    :func:`choose`'s fit there, else a new one). At each cut the model is fitted on what came
    before (the cleaned ``y``) and forecasts the span; each held-back raw point gives a score
    ``|error| / half-width`` (the half-width on the side the error fell). The span is split into ``bins``
    horizon bins (errors grow with the horizon, and faster than some models assume); each bin's factor is
    the geometric mean of the conformal ``level`` quantile of its scores (rank ``ceil((m + 1) level)`` of
    ``m``) and that of all scores, each limited to [0.1, 8], and shrunk towards 1 when there are few origins
    (raised to the power ``k / (k + 1)`` for ``k`` origins: one span is weak evidence). Factors are interpolated between bin centres, and beyond the span the last bin's holds.
    ``vol`` (:func:`noise_profile`) scales every half-width by the noise of its phase of the cycle.
    ``stride`` (default: one held-back span) is the distance between origins; spans may overlap.

    When the model's own half-widths are no scale for its errors (:func:`degenerate`: zero on the
    backtests, or exceeded more than :data:`MAX_FACTOR` times at ``level``), the calibration is
    *absolute*: the half-widths are the conformal ``level`` quantiles of the backtests' ``|error|`` per
    horizon bin (``Calibration.absolute``)."""
    n = y.size
    hold = _hold(n, steps)
    kw = {"period": period, "profile_fn": profile_fn, "trend": trend, "damped": damped, "vol": vol}
    skip = 2 if chosen else 1
    stride = max(1, int(stride or hold))
    # each training part keeps half the history and, with a cycle, two periods: a shorter one would be
    # fitted without the cycle (see _fit_at), a different model from the one being calibrated
    least = max(n // 2, MIN_TRAIN, 2 * period if period else 0)
    cuts = [c for c in (n - skip * hold - i * stride for i in range(origins)) if c >= least]
    if not cuts:
        cuts = [n - hold]
    scores: list[np.ndarray] = []
    errors: list[np.ndarray] = []
    for end in cuts:
        c = first if end == n - hold and first is not None else _fit_at(method, y, end, hold, level, **kw)
        if c is None:
            continue
        err = raw[end:end + hold] - c.mean
        width = np.where(err >= 0, c.above, c.below)
        with np.errstate(divide="ignore", invalid="ignore"):
            score = np.where((width > 0) & np.isfinite(err), np.abs(err) / width, np.nan)
        scores.append(score)
        errors.append(np.abs(err))
    if not scores:
        return Calibration.none(steps)
    grid = np.vstack(scores)  # origins x hold
    pooled = grid[np.isfinite(grid)]
    if degenerate(grid, level):
        return _absolute(np.vstack(errors), steps, level, bins, len(scores))
    if pooled.size < 5:
        return Calibration.none(steps)
    k = len(scores)
    # a bin's points come from few origins (its errors are correlated): its factor is the geometric mean of
    # its own quantile and the pooled one, shrunk towards 1 for few origins
    whole = _conformal(pooled, level)
    edges, centres, factors = _per_bin(grid, bins, lambda s: float(np.sqrt(_conformal(s, level) * whole))
                                       ** (k / (k + 1.0)))
    per_step = np.interp(np.arange(steps, dtype=float), centres, factors)
    return Calibration(per_step, tuple(factors), edges, k, int(np.isfinite(grid).sum()))


def _per_bin(grid: np.ndarray, bins: int, stat) -> tuple[tuple[int, ...], list[float], list[float]]:
    """(bin edges, bin centres, ``stat`` of each bin's finite values) over the columns (horizon steps) of
    ``grid`` (origins x steps), split into at most ``bins`` bins of at least :data:`MIN_BIN_STEPS` steps; a
    bin with fewer than 5 finite values is left out."""
    hold = grid.shape[1]
    nb = int(max(1, min(bins, hold // MIN_BIN_STEPS)))
    edges = np.linspace(0, hold, nb + 1).round().astype(int)
    centres, values = [], []
    for a, b in itertools.pairwise(edges):
        s = grid[:, a:b].ravel()
        s = s[np.isfinite(s)]
        if s.size < 5:
            continue
        values.append(stat(s))
        centres.append((a + b - 1) / 2.0)
    return tuple(int(e) for e in edges), centres, values


def degenerate(grid: np.ndarray, level: float) -> bool:
    """Whether a model's own half-widths are useless as a scale on these backtests: zero on more than 5 %
    of the points (a series flat most of the time: the quantiles of its changes are 0), or the errors
    beyond :data:`MAX_FACTOR` times them at ``level`` (a quantised CPU series that jumps between two
    levels; a naive forecast started on a spike)."""
    if grid.size == 0:
        return False
    finite = grid[np.isfinite(grid)]
    if np.mean(~np.isfinite(grid)) > 0.05:
        return True
    return finite.size >= 5 and _conformal(finite, level, cap=np.inf) > MAX_FACTOR


def _absolute(errors: np.ndarray, steps: int, level: float, bins: int, origins: int) -> Calibration:
    """Split-conformal half-widths from the absolute backtest errors themselves (per horizon bin: the
    conformal ``level`` quantile of ``|error|``), for models whose own widths are degenerate."""
    edges, centres, widths = _per_bin(errors, bins, lambda e: _conformal(e, level, lo=0.0, cap=np.inf))
    if not widths:
        return Calibration.none(steps)
    per_step = np.interp(np.arange(steps, dtype=float), centres, widths)
    return Calibration(np.ones(steps), (1.0,) * len(widths), edges, origins, int(np.isfinite(errors).sum()),
                       absolute=per_step)


def _conformal(scores: np.ndarray, level: float, lo: float = 0.1, cap: float = 8.0) -> float:
    """The conformal ``level`` quantile of ``scores`` (rank ceil((m + 1) level) of m), within [lo, cap]."""
    m = scores.size
    rank = min(1.0, np.ceil((m + 1) * level) / m)
    return float(np.clip(np.quantile(scores, rank, method="higher"), lo, cap))


def _hold(n: int, steps: int) -> int:
    return int(min(steps, max(1, n // 5)))


def _fit_at(method: str, y: np.ndarray, end: int, hold: int, level: float, *, period: int, profile_fn,
            trend: bool, damped: bool, vol: np.ndarray | None = None) -> Candidate | None:
    """``method`` fitted on ``y[:end]`` forecasting ``hold`` steps; None when it cannot be fitted."""
    train = y[:end]
    p = period if period and train.size >= 2 * period else 0
    prof = profile_fn(train, p) if p else None
    try:
        c = fit_candidate(method, train, hold, level, period=p, profile=prof, trend=trend, damped=damped)
    except (ValueError, np.linalg.LinAlgError) as exc:  # a candidate that cannot be fitted is left out
        log.debug("forecast candidate %s failed at a validation origin: %s", method, exc)
        return None
    return scaled(c, vol, end) if np.all(np.isfinite(c.mean)) else None


def scaled(c: Candidate, vol: np.ndarray | None, start: int) -> Candidate:
    """``c`` with its half-widths scaled by the noise profile at the phases of its steps (``start`` = the
    index of its first forecast point, phase 0 = the first sample of the history)."""
    if vol is None:
        return c
    v = vol[(start + np.arange(c.mean.size)) % vol.size]
    return Candidate(c.method, c.mean, c.below * v, c.above * v, c.params, c.fit)


def noise_profile(y: np.ndarray, period: int) -> np.ndarray | None:
    """How noisy each phase of the cycle is, relative to the average (mean 1), or None without a cycle.

    Traffic-like series are noisier at their daily peak than at night (counts are Poisson-like); model
    intervals are not. Per phase: the median absolute deviation of the one-step changes (from that
phase's median change, which is the cycle's own slope) over the periods of ``y``,
    smoothed over a 12th of the period (circularly), divided by its mean and limited to [1/3, 3]."""
    if not period or y.size < 2 * period + 1:
        return None
    d = np.diff(y)
    d = np.r_[d[0], d]
    pad = (-d.size) % period
    grid = np.concatenate([d, np.full(pad, np.nan)]).reshape(-1, period)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        # the cycle's own slope at each phase is not noise: take it out before measuring the spread
        grid = np.abs(grid - np.nanmedian(grid, axis=0))
        prof = np.nanmedian(grid, axis=0)
    if not np.all(np.isfinite(prof)):
        return None
    w = max(1, period // 24)  # +- a 24th: a 2-hour window of a day
    kernel = np.ones(2 * w + 1) / (2 * w + 1)
    prof = np.convolve(np.r_[prof[-w:], prof, prof[:w]], kernel, mode="valid")
    mean = prof.mean()
    if not mean > 0:
        return None
    return np.clip(prof / mean, 1 / 3, 3.0)
