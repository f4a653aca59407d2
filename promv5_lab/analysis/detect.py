"""Streaming anomaly detection: O(1) work per new sample, vectorised across many series.

One recursion, :class:`DetectorState`, advances every series of a batch by one sample with a fixed
number of numpy operations on arrays of shape ``(n_series,)`` (plus one seasonal-profile slot per
series), so

* :class:`StreamingDetector` (one series, ``update(t, value) -> score``) and
* :func:`score_arrays` / :func:`score_frame` (many series at once, tqdm progress)

run the *same* code and give the same scores. The score at time t uses only samples up to t.

Components, all learned online from the series itself:

* level: a robust EWMA mean and EWMA absolute deviation; updates are winsorised at ``clip`` scales so
  an anomaly cannot drag the baseline with it, unless ``accept`` big residuals come in a row (then it
  is a new regime and is learned quickly);
* seasonal: an additive profile over the period (``season_s`` seconds, or a per-series period learned
  in batch by :mod:`.seasonality`, in ``season_buckets`` slots) on top of a level; whichever of the
  two models has the lower running error is the one that scores; the profile is always winsorised
  (an incident must not become "normal at this time of day" for tomorrow);
* scale floors: a fraction of the level, a fraction of the long-run scale (quiet nights do not make
  every later wiggle infinite) and, for series that usually move, half their resolution;
* shift: a two-sided CUSUM of the standardised residuals (level shifts, slow leaks; off by default);
* volatility: the short-run mean absolute residual (variance bursts; off by default);
* flatline: in a series that usually moves, a run of identical values longer than twice any run seen
  while learning (a stuck exporter);
* drop-out: missing samples (NaN) in a row in a series that had been reporting;
* counters: scored on increments; a decrease is a reset (the new value is the increment), never an
  anomaly.

The combined surprise (in robust standard deviations) is turned into a score by comparing it with
the largest surprise this series has produced recently (``record_decay`` per sample):
``score = r / (1 + r)`` with ``r = surprise / max(1, recent peak)``, so 0.5 means "as unusual as
anything seen lately" and a flag needs a new record. This normalisation is what makes one threshold
work across very different series, and it stops one long episode from flagging again and again (one
sample raises the peak at most ``peak_growth`` times, so a single extreme sample does not blind the
series for hours; a long episode still raises it a lot).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["FLEET_CONFIG", "DetectorConfig", "DetectorState", "StreamingDetector", "score_arrays", "score_frame", "squash"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DetectorConfig:
    """Parameters of the streaming detector (the defaults are the ones benchmarked on NAB)."""

    level_alpha: float = 0.05       # level (EWMA) weight
    scale_alpha: float = 0.02       # EWMA absolute deviation weight
    season_s: float = 86400.0       # period of the seasonal profile in seconds (0 disables it)
    season_buckets: int = 48        # slots of the profile
    season_alpha: float = 0.1       # profile update weight (per visit of a slot)
    clip: float = 4.0               # winsorise updates at this many scales
    accept: int = 3                 # big residuals in a row that are learned as a new regime
    scale_floor: float = 1e-3       # scales never fall below this fraction of the level
    long_floor: float = 0.25        # ... nor below this fraction of the long-run scale (quiet nights)
    long_alpha: float = 0.002       # weight of the long-run scale
    cusum_k: float = 0.5            # CUSUM allowance (in scales)
    cusum_h: float = math.inf       # CUSUM value that counts as 3 sigma of surprise (inf: off)
    burst_alpha: float = 0.2        # short-run mean |z| weight
    burst_min: float = math.inf     # short-run mean |z| above which a variance burst scores (inf: off)
    warmup: int = 120               # samples before any non-zero score
    record_decay: float = 0.9985    # per-sample decay of the largest surprise seen
    peak_floor: float = 1.0         # the recent peak is never taken below this many sigmas
    peak_growth: float = 2.0       # one sample raises the recent peak by at most this factor
    peak_step: float = math.inf     # ... and by at most this many sigmas
    models: str = "best"            # "best": the model with the lower running error scores; "min": both must
    flat_min: int = 6               # shortest run of equal values ever considered a flatline
    dropout_min: int = 3            # missing samples in a row before a drop-out scores
    event_sigma: float = 15.0       # surprise of a flatline or a drop-out (in sigmas)
    counter: bool = False           # treat every series as a monotone counter with resets
    season_interp: bool = False     # interpolate the profile linearly between slot centres (no steps)
    rearm_max: int = 3600           # samples an open episode waits for the series to come back
    learn_peak: bool = False        # during warm-up, learn the recent peak from the surprises (no score):
    #                                 the first alarms after warm-up then need a new record too

    def __post_init__(self) -> None:
        for name in ("level_alpha", "scale_alpha", "season_alpha", "burst_alpha"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise InputError(f"DetectorConfig.{name} must be in (0, 1], got {v}")
        if not 0.0 < self.record_decay <= 1.0:
            raise InputError(f"DetectorConfig.record_decay must be in (0, 1], got {self.record_decay}")
        if self.season_s < 0 or self.season_buckets < 1:
            raise InputError("DetectorConfig.season_s must be >= 0 and season_buckets >= 1")


#: the fleet default (``learn.detect``, ``predict.anomalies``, the demo benchmark): the peak of recent
#: surprises is learned during warm-up (the first alarms after it need a new record, not just any
#: 3-sigma wiggle of a series that spikes all the time) and the seasonal profile is interpolated between
#: slot centres (no artificial steps every ``86400 / season_buckets`` seconds). ``DetectorConfig()``
#: stays the NAB-benchmarked default of ``promv5-lab detect``.
FLEET_CONFIG = DetectorConfig(learn_peak=True, season_interp=True)


_EPISODE_STATE = ("peak", "mean", "scale", "level", "s_scale", "long_scale")


def squash(stat: np.ndarray) -> np.ndarray:
    """Map a non-negative surprise (in sigmas) to [0, 1): 3 sigma -> 0.5, 6 -> 0.8, 12 -> 0.94."""
    s = np.maximum(stat, 0.0)
    return s * s / (s * s + 9.0)


class DetectorState:
    """The state of ``n`` independent detectors, advanced one sample at a time by :meth:`step`."""

    def __init__(self, n: int, config: DetectorConfig | None = None,
                 counters: Sequence[bool] | np.ndarray | None = None,
                 periods: Sequence[float] | np.ndarray | None = None) -> None:
        self.config = c = config or DetectorConfig()
        self.n = n
        # seasonal period of each series in seconds (0: none); default: the config's for all
        self.period = np.full(n, float(c.season_s)) if periods is None else np.asarray(periods, dtype=float)
        if self.period.shape != (n,) or np.any(~np.isfinite(self.period)) or np.any(self.period < 0):
            raise InputError(f"periods needs {n} finite, non-negative numbers of seconds")
        self._seasonal = bool(np.any(self.period > 0))
        self.is_counter = np.full(n, c.counter) if counters is None else np.asarray(counters, dtype=bool)
        if self.is_counter.shape != (n,):
            raise InputError(f"counters has {self.is_counter.size} flags for {n} series")
        z = np.zeros(n)
        self.count = np.zeros(n, dtype=np.int64)     # present samples seen
        self.prev_raw = np.full(n, np.nan)           # last finite raw value (counters)
        self.prev = np.full(n, np.nan)               # last finite value scored
        self.mean = z.copy()                         # level model
        self.scale = z.copy()
        self.level = z.copy()                        # seasonal model: level + profile[slot]
        self.s_scale = z.copy()
        self.err_lvl = z.copy()                      # running errors of the two models
        self.err_sea = z.copy()
        self.cus_pos = z.copy()
        self.cus_neg = z.copy()
        self.short_abs = z.copy()
        self.long_scale = z.copy()                   # long-run EWMA |residual| (floor of the scales)
        self.exceed = np.zeros(n, dtype=np.int64)    # big residuals in a row
        self.run = np.zeros(n, dtype=np.int64)       # equal values in a row
        self.max_run = np.zeros(n, dtype=np.int64)   # longest run learned as normal
        self.gap = np.zeros(n, dtype=np.int64)       # missing samples in a row
        self.moves = np.zeros(n, dtype=np.int64)     # samples that differed from the previous one
        self.quantum = np.full(n, np.inf)            # smallest non-zero change seen (resolution)
        self.peak = z.copy()                         # largest recent surprise
        b = c.season_buckets if self._seasonal else 1
        self.profile = np.zeros((n, b))
        self.seen = np.zeros((n, b), dtype=bool)
        self._rows = np.arange(n)
        self.last_surprise = z.copy()                # the combined surprise of the last step (sigmas)
        # the state before an open anomaly episode (begin_episode): restored when the series comes back
        self.ep_open = np.zeros(n, dtype=bool)
        self.ep_age = np.zeros(n, dtype=np.int64)
        self._ep = {k: z.copy() for k in _EPISODE_STATE}
        self.peak_before = z.copy()

    def step(self, t: np.ndarray | float, x: np.ndarray) -> np.ndarray:
        """Advance every series by one sample (``t`` seconds since the epoch, ``x`` values, NaN = missing).

        Returns the anomaly scores in [0, 1] of these samples.
        """
        c = self.config
        x = np.asarray(x, dtype=float)
        # ---- counters: increments, a decrease is a reset
        raw_present = np.isfinite(x)
        inc = x - self.prev_raw
        inc = np.where(inc < 0, x, inc)
        self.prev_raw = np.where(raw_present, x, self.prev_raw)
        x = np.where(self.is_counter, inc, x)  # the first sample of a counter has no increment: NaN
        present = np.isfinite(x)
        missing = ~raw_present
        x0 = np.where(present, x, 0.0)
        fresh = present & (self.count == 0)
        if self.ep_open.any():
            self._recover(present, x0)
        warm = self.count >= c.warmup
        # ---- drop-out
        self.gap = np.where(missing, self.gap + 1, 0)
        dropout = np.where(missing & warm & (self.gap >= c.dropout_min), c.event_sigma, 0.0)
        # ---- flatline
        same = present & (x0 == self.prev)
        # a run that ended while learning (the first 10 warm-ups) is a normal run length
        ended = present & ~same & (self.count <= 10 * c.warmup) & (self.run > self.max_run)
        self.max_run = np.where(ended, self.run, self.max_run)
        self.run = np.where(same, self.run + 1, np.where(present, 0, self.run))
        flat_limit = np.maximum(self.max_run * 2 + 1, c.flat_min)
        # only a series that usually moves can get stuck
        moving = self.moves * 2 >= self.count
        flat = np.where(present & warm & moving & (self.run >= flat_limit), c.event_sigma, 0.0)
        step_size = np.abs(x0 - self.prev)
        moved = present & np.isfinite(self.prev) & (step_size > 0)
        self.moves = np.where(moved, self.moves + 1, self.moves)
        self.prev = np.where(present, x0, self.prev)
        for arr in (self.mean, self.level):
            arr[fresh] = x0[fresh]
        # ---- predictions made before seeing x
        if self._seasonal:
            tt = np.broadcast_to(np.asarray(t, dtype=float), x0.shape)
            per = np.where(self.period > 0, self.period, 1.0)
            slot = None if c.season_interp else (
                ((tt % per) * (c.season_buckets / per)).astype(np.int64) % c.season_buckets)
        else:
            slot = np.zeros(self.n, dtype=np.int64)
        pair = None
        if not (self._seasonal and c.season_interp):
            seen = self.seen[self._rows, slot]
            prof = np.where(seen, self.profile[self._rows, slot], 0.0)
        else:
            # linear interpolation between the two nearest slot centres: no step at slot boundaries
            u = (tt % per) * (c.season_buckets / per) - 0.5
            fl = np.floor(u)
            w1 = u - fl
            i0 = fl.astype(np.int64) % c.season_buckets
            i1 = (i0 + 1) % c.season_buckets
            s0, s1 = self.seen[self._rows, i0], self.seen[self._rows, i1]
            p0, p1 = self.profile[self._rows, i0], self.profile[self._rows, i1]
            prof = np.where(s0 & s1, (1.0 - w1) * p0 + w1 * p1, np.where(s0, p0, np.where(s1, p1, 0.0)))
            seen = s0 | s1
            pair = (i0, i1, w1, s0, s1)
        tiny = 1e-9 + c.scale_floor * np.abs(self.mean)
        r_lvl = x0 - self.mean
        # nor, for a series that usually moves, below half its resolution (integer-valued series)
        tiny = np.maximum.reduce([tiny, c.long_floor * self.long_scale,
                                  np.where(np.isfinite(self.quantum) & (self.moves * 2 >= self.count),
                                           0.5 * self.quantum, 0.0)])
        sc_lvl = np.maximum(self.scale, tiny)
        r_sea = x0 - prof - self.level
        sc_sea = np.maximum(self.s_scale, tiny)
        use_sea = (self.err_sea < 0.9 * self.err_lvl) & (self.period > 0)
        z_signed = np.where(use_sea, r_sea / sc_sea, r_lvl / sc_lvl)
        if c.models == "min" and self._seasonal:
            z_signed = np.where(np.abs(r_sea) / sc_sea < np.abs(r_lvl) / sc_lvl, r_sea / sc_sea, r_lvl / sc_lvl)
        z_main = np.abs(z_signed)
        # ---- CUSUM and variance burst on the standardised residual
        zs = np.clip(z_signed, -c.clip, c.clip)
        self.cus_pos = np.where(present, np.maximum(0.0, self.cus_pos + zs - c.cusum_k), self.cus_pos)
        self.cus_neg = np.where(present, np.maximum(0.0, self.cus_neg - zs - c.cusum_k), self.cus_neg)
        cusum = np.maximum(self.cus_pos, self.cus_neg) * (3.0 / c.cusum_h)
        burst_abs = (1 - c.burst_alpha) * self.short_abs + c.burst_alpha * np.minimum(z_main, 2 * c.clip)
        burst = np.where(burst_abs > c.burst_min, (burst_abs - 1.0) * 3.0, 0.0)
        # ---- combined surprise and its record-relative score
        raw = np.maximum.reduce([z_main, cusum, burst])
        stat = np.where(present & warm, raw, 0.0)
        stat = np.maximum.reduce([stat, flat, dropout])
        self.last_surprise = stat
        ratio = stat / np.maximum(self.peak, c.peak_floor)
        score = np.where(warm, ratio / (1.0 + ratio), 0.0)
        base = np.maximum(self.peak, c.peak_floor)
        grown = np.minimum.reduce([stat, base * c.peak_growth, base + c.peak_step])
        learn_peak = warm
        if c.learn_peak:
            # the second half of the warm-up (the scales have settled) teaches the peak, unscored
            learning = present & ~warm & (self.count * 2 >= c.warmup)
            grown = np.where(learning, raw, grown)
            learn_peak = warm | learning
        self.peak_before = self.peak                 # (begin_episode saves the peak of before the flag)
        self.peak = np.where(learn_peak, np.maximum(self.peak * c.record_decay, grown), self.peak)
        self.quantum = np.where(moved, np.minimum(self.quantum, step_size), self.quantum)  # after scoring
        self._learn(present & ~fresh, x0, r_lvl, sc_lvl, r_sea, sc_sea, z_main, prof, seen, slot, burst_abs, pair)
        self.count = np.where(present, self.count + 1, self.count)
        return score

    def begin_episode(self, mask: np.ndarray | None = None) -> None:
        """An anomaly episode starts on the series in ``mask`` (all if None): remember their state.

        During the episode the detector learns as usual (a lasting change becomes the new normal, one long
        incident is one alarm). When the series comes back to within ``clip`` of its old scales of its old
        level (the fault was cleared), the state of before the episode is restored: the return is not an
        anomaly, and the recent peak and scales are those of normal times again (re-armed), so a second
        fault soon after a larger one is a record again. A series that does not come back within
        ``rearm_max`` samples keeps what it learned. O(1) per series; an open episode is not reopened."""
        m = np.ones(self.n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        m = m & ~self.ep_open
        for k in _EPISODE_STATE:
            self._ep[k] = np.where(m, self.peak_before if k == "peak" else getattr(self, k), self._ep[k])
        self.ep_open = self.ep_open | m
        self.ep_age = np.where(m, 0, self.ep_age)

    def end_episode(self, mask: np.ndarray | None = None) -> None:
        """The caller's episode ended (no flags for a while) on ``mask``: the recent peak goes back to its
        value of before the episode, so the next fault is compared with normal times, not with this one.
        The saved level and scales stay until the series comes back (see :meth:`begin_episode`)."""
        m = np.ones(self.n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        m = m & self.ep_open
        self.peak = np.where(m, np.minimum(self.peak, self._ep["peak"]), self.peak)

    def _recover(self, present: np.ndarray, x0: np.ndarray) -> None:
        c = self.config
        op = self.ep_open & present
        self.ep_age = np.where(op, self.ep_age + 1, self.ep_age)
        old_sc = np.maximum(self._ep["scale"], 1e-9 + c.scale_floor * np.abs(self._ep["mean"]))
        back = op & (self.ep_age > c.accept) & (np.abs(x0 - self._ep["mean"]) <= c.clip * old_sc)
        if back.any():
            for k in _EPISODE_STATE:
                cur = getattr(self, k)
                saved = np.minimum(cur, self._ep[k]) if k == "peak" else self._ep[k]
                setattr(self, k, np.where(back, saved, cur))
            self.exceed = np.where(back, 0, self.exceed)
            self.cus_pos = np.where(back, 0.0, self.cus_pos)
            self.cus_neg = np.where(back, 0.0, self.cus_neg)
        self.ep_open = self.ep_open & ~back & (self.ep_age <= c.rearm_max)

    def _learn(self, p, x0, r_lvl, sc_lvl, r_sea, sc_sea, z_main, prof, seen, slot, burst_abs, pair=None) -> None:
        """Update both models from the present samples ``p`` (winsorised unless a new regime)."""
        c = self.config
        k = c.clip
        self.exceed = np.where(p & (z_main > k), self.exceed + 1, np.where(p, 0, self.exceed))
        accept = self.exceed >= c.accept
        lim_l = np.where(accept, np.inf, k * sc_lvl)
        lim_s = np.where(accept, np.inf, k * sc_sea)
        r_l = np.clip(r_lvl, -lim_l, lim_l)
        r_s = np.clip(r_sea, -lim_s, lim_s)
        a = np.where(accept, 0.5, c.level_alpha)
        s_a = c.scale_alpha
        first = p & (self.count < 3)
        self.mean = np.where(p, self.mean + a * r_l, self.mean)
        self.level = np.where(p, self.level + a * r_s, self.level)
        self.scale = np.where(first, np.maximum(self.scale, np.abs(r_lvl)),
                              np.where(p, (1 - s_a) * self.scale + s_a * np.abs(r_l), self.scale))
        self.s_scale = np.where(first, np.maximum(self.s_scale, np.abs(r_sea)),
                                np.where(p, (1 - s_a) * self.s_scale + s_a * np.abs(r_s), self.s_scale))
        e_a = 0.01
        self.err_lvl = np.where(p, (1 - e_a) * self.err_lvl + e_a * np.minimum(np.abs(r_lvl), k * sc_lvl),
                                self.err_lvl)
        self.err_sea = np.where(p, (1 - e_a) * self.err_sea + e_a * np.minimum(np.abs(r_sea), k * sc_sea),
                                self.err_sea)
        if self._seasonal and pair is not None:
            i0, i1, w1, s0, s1 = pair
            err = np.clip(x0 - self.level - prof, -k * sc_sea, k * sc_sea)
            for idx, w, was in ((i0, 1.0 - w1, s0), (i1, w1, s1)):
                cur = self.profile[self._rows, idx]
                upd = np.where(was, cur + c.season_alpha * w * err, x0 - self.level)
                self.profile[self._rows, idx] = np.where(p, upd, cur)
                self.seen[self._rows, idx] = was | p
        elif self._seasonal:
            # the profile never learns a new regime wholesale: an incident must not become "normal
            # at this time of day" for tomorrow
            new_prof = np.where(seen, prof + c.season_alpha * np.clip(x0 - self.level - prof, -k * sc_sea, k * sc_sea),
                                x0 - self.level)
            self.profile[self._rows, slot] = np.where(p, new_prof, self.profile[self._rows, slot])
            self.seen[self._rows, slot] = seen | p
        self.short_abs = np.where(p, burst_abs, self.short_abs)
        la = c.long_alpha
        self.long_scale = np.where(first, np.maximum(self.long_scale, np.abs(r_lvl)),
                                   np.where(p, (1 - la) * self.long_scale + la * np.abs(r_l), self.long_scale))


class StreamingDetector:
    """One series, one sample at a time: ``update(t, value) -> score in [0, 1]``; O(1) per sample."""

    def __init__(self, config: DetectorConfig | None = None, counter: bool | None = None,
                 period_s: float | None = None) -> None:
        self.config = config or DetectorConfig()
        flags = None if counter is None else [counter]
        self._state = DetectorState(1, self.config, flags, None if period_s is None else [period_s])
        self._x = np.empty(1)

    def update(self, t: float, value: float) -> float:
        """Score ``value`` observed at ``t`` (seconds since the epoch) using only what came before."""
        self._x[0] = value
        return float(self._state.step(t, self._x)[0])

    def begin_episode(self) -> None:
        """A flagged episode starts (see :meth:`DetectorState.begin_episode`)."""
        self._state.begin_episode()

    def end_episode(self) -> None:
        """The episode ended: re-arm (see :meth:`DetectorState.end_episode`)."""
        self._state.end_episode()


def score_arrays(t: np.ndarray, values: np.ndarray, config: DetectorConfig | None = None, *,
                 counters: Sequence[bool] | None = None, periods: Sequence[float] | None = None,
                 progress: bool = False) -> np.ndarray:
    """Scores for ``values`` of shape ``(T, n)``: n series sampled at ``t`` (shape ``(T,)`` or ``(T, n)``)."""
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    tt = np.asarray(t, dtype=float)
    if tt.shape[0] != v.shape[0]:
        raise InputError(f"{tt.shape[0]} timestamps for {v.shape[0]} samples")
    state = DetectorState(v.shape[1], config, counters, periods)
    out = np.empty_like(v)
    rows = range(v.shape[0])
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc=f"detect {v.shape[1]} series", unit="step", leave=False)
    for i in rows:
        out[i] = state.step(tt[i], v[i])
    return out


def score_frame(wide: pd.DataFrame, config: DetectorConfig | None = None, *,
                counters: Sequence[bool] | None = None, periods: Sequence[float] | None = None,
                progress: bool = True) -> pd.DataFrame:
    """Scores for every column of a wide frame (``frames.to_wide()``); same index and columns."""
    import pandas as pd

    if not isinstance(wide.index, pd.DatetimeIndex):
        raise InputError("score_frame needs a wide frame with a DatetimeIndex",
                         hint="build it with promv5_lab.frames.to_wide()")
    t = wide.index.as_unit("ns").asi8.astype(float) / 1e9
    scores = score_arrays(t, wide.to_numpy(dtype=float), config, counters=counters, periods=periods,
                          progress=progress)
    return pd.DataFrame(scores, index=wide.index, columns=wide.columns)
