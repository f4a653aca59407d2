"""The online ensemble behind ``promv5-lab detect``: strictly causal scores tuned for NAB's rules.

Each row's score uses only that row and the rows before it (``tests/unit/analysis/test_online.py``
changes future values and checks that no earlier score moves). Five online scorers, learned from the
series itself:

* **surprise** (``DetectorState.last_surprise`` of :mod:`.detect`, with the settings pinned in
  :data:`SURPRISE_CONFIG`): robust EWMA level and daily profile, in robust standard deviations;
* **level**: robust z-score of the value against the median and MAD of the previous
  ``level_window`` rows (the scale floored at ``level_floor`` times their range);
* **novelty**: the value's coarse level (``novelty_levels`` equal bins over the range of the first
  ``novelty_init`` rows; values outside it get bins of their own) and a *level never visited
  before*: "never seen this value range", in the spirit of the contextual detectors at the top of
  NAB's scoreboard (CAD OSE). (Until this round it was a new *transition* between two levels, with 5
  levels; a new level, with 8, scores higher on the tuning half of NAB and no worse on the other.)
* **weekly** (:mod:`.online_weekly`): the value minus the median of the same time in the previous
  weeks, averaged over a few rows and scored as a robust z against its own past, only where the
  weekly model explains the series clearly better than a daily one (a holiday, a snowed-in city:
  each value is normal for *some* time of the week, the day as a whole is not).
* **density** (:mod:`.online_density`): how often the series spikes (rows at 3 sigmas or more in the
  last 24) against its own earlier rate, as ``-log10`` of a binomial tail, scored against a record of
  its own and silent after a report until the rate is back to normal (a load balancer that starts to
  spike, a CPU whose noise turns into bursts: no single value is new, their number is). Round 7:
  NAB 73.07 -> 76.08; see ``benchmarks/nab_score.py`` for the trials and how the settings were chosen.
  Its score joins the others' max before the hold.

The first two are combined (max) and divided by the largest surprise of the recent past (decaying by
``record_decay`` per row; one row raises it at most ``record_growth`` times; never below
``record_floor``): ``r / (1 + r)``, so a flag needs a new record. Deviations beyond ``z_knee`` sigmas are
compressed logarithmically (:func:`compress`) before the record: in a series flat between spikes the
surprise's scale shrinks towards its floor, so each spike of the same height was a larger z than the
last, a new record and a false positive (NAB's ``art_increase_spike_density``: 8 of them; a z of 5,000 or
20,000 is the same news). The score is ``max(novelty_weight * novelty, record_weight * r / (1 + r))``,
where a novelty only counts when the value is also somewhat unusual (``r / (1 + r) > novelty_gate``:
noise that just crosses into the next level, unremarkable for its size, is not news). The weekly z has a
record of its own (a faster-decaying peak that may grow faster, ``weekly_decay`` / ``weekly_growth``) and
counts as ``weekly_weight * r_w / (1 + r_w)`` in the same max.

**Rank discount** (old news): a record whose value the series has already reached ``rank_count`` times
(at least that many earlier values as extreme on its side, :func:`rank_tail_counts`: an empirical tail
count, free of scale) is multiplied by ``rank_factor``, but only where the deviation is one of *value*,
not of context: the level z is at least ``rank_share`` of the surprise (a value common in itself but
wrong for the time of day keeps its score). Bursty count series (Twitter mentions, request counts)
reach the same spike height again and again; each spike used to set a new record against a quiet
stretch's small scale and cost a false positive. (Chosen on NAB's tuning half A, ``rank_count`` 5 and
``rank_share`` 0.5: A 79.2 -> 81.4, held-out half B 61.7 -> 63.0.) A *report* is a score at or above
``report`` (the CLI's threshold); for the ``hold`` rows after a report (or ``hold_fraction`` of the
rows seen so far, if more: in a series watched for weeks an incident's aftermath lasts longer than
in one watched for hours), scores that are not higher than the report's are halved, because an operator (and NAB) gains nothing from a second alarm about
the same event and pays for each one; a stronger one breaks through and is a report of its own.

:data:`NAB_THRESHOLD` is the one corpus-wide threshold NAB's standard profile chooses for these scores
(``python benchmarks/nab_score.py`` prints it); ``promv5-lab detect`` flags with it by default.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from . import online_fast
from .detect import DetectorConfig, DetectorState
from .online_density import DensityConfig, density_scores
from .online_weekly import WeeklyConfig, weekly_residual_z

__all__ = ["NAB_THRESHOLD", "SURPRISE_CONFIG", "OnlineConfig", "compress", "novelty_scores", "rank_tail_counts",
           "score_matrix", "score_series"]

# The standard-profile corpus threshold of these scores, chosen by NAB's sweep over every distinct score
# of every scorable row of the 58 files:  python benchmarks/nab_score.py   (line "promv5-lab detect").
NAB_THRESHOLD = 0.427697

# The surprise scorer's settings, pinned so that a change of the fleet detector's defaults does not
# silently move the NAB figures.
SURPRISE_CONFIG = DetectorConfig(
    level_alpha=0.05, scale_alpha=0.02, season_s=86400.0, season_buckets=48, season_alpha=0.1, clip=4.0,
    accept=3, scale_floor=0.001, long_floor=0.25, long_alpha=0.002, cusum_k=0.5, cusum_h=math.inf,
    burst_alpha=0.2, burst_min=math.inf, warmup=120, record_decay=0.9985, peak_floor=1.0, peak_growth=2.0,
    peak_step=math.inf, models="best", flat_min=6, dropout_min=3, event_sigma=15.0, counter=False,
)


@dataclass(frozen=True)
class OnlineConfig:
    """Parameters of the online ensemble (defaults: the ones benchmarked on NAB)."""

    surprise: DetectorConfig = field(default_factory=lambda: SURPRISE_CONFIG)
    level_window: int = 1000        # rows of the level scorer's trailing median / MAD
    level_min: int = 30             # rows it needs before scoring
    level_floor: float = 0.02       # its scale is at least this fraction of the window's range
    record_decay: float = 0.9997    # per-row decay of the largest recent surprise
    record_growth: float = 1.5      # one row raises that peak at most this many times
    record_floor: float = 3.0       # the peak is never taken below this many sigmas
    warmup: int = 120               # rows before any non-zero record score
    novelty_levels: int = 8         # equal-width value levels over the first rows' range
    novelty_init: int = 300         # present rows whose range defines the levels
    novelty_warmup: int = 120       # further rows of learning visited levels before novelty scores
    novelty_weight: float = 0.6     # below strong records, so that they break through a novelty's hold
    novelty_gate: float = 0.1       # a novelty only counts where the record score r / (1 + r) exceeds this
    record_weight: float = 0.8
    z_knee: float = 200.0           # beyond this many sigmas the record's deviation grows only logarithmically
    rank_count: int = 5             # a record is discounted where at least this many earlier values were as
    rank_share: float = 0.5         # extreme (0: off), if its level z is at least this share of the surprise ...
    rank_factor: float = 0.5        # ... by this factor (a value the series has reached before is old news)
    hold: int = 100                 # rows after a report whose scores are halved ...
    hold_fraction: float = 0.06     # ... or this fraction of the rows seen so far, if more
    weekly: WeeklyConfig | None = field(default_factory=WeeklyConfig)  # weekly-residual scorer (None: off)
    weekly_weight: float = 0.8      # its record score r / (1 + r) is weighted like the others' ...
    weekly_decay: float = 0.999     # ... but its recent peak decays faster (its episodes last a day, not a row)
    weekly_growth: float = 3.0      # ... and may grow faster (a smoothed residual ramps up over rows)
    density: DensityConfig | None = field(default_factory=DensityConfig)  # spike-density scorer (None: off)

    def __post_init__(self) -> None:
        for name in ("level_window", "level_min", "novelty_levels", "novelty_init"):
            if getattr(self, name) < 1:
                raise InputError(f"OnlineConfig.{name} must be >= 1, got {getattr(self, name)}")
        for name in ("warmup", "novelty_warmup", "hold", "rank_count"):
            if getattr(self, name) < 0:
                raise InputError(f"OnlineConfig.{name} must be >= 0, got {getattr(self, name)}")
        if not 0.0 <= self.hold_fraction <= 1.0:
            raise InputError(f"OnlineConfig.hold_fraction must be in [0, 1], got {self.hold_fraction}")
        if not 0.0 < self.record_decay <= 1.0:
            raise InputError(f"OnlineConfig.record_decay must be in (0, 1], got {self.record_decay}")
        if self.record_growth < 1.0 or self.weekly_growth < 1.0 or self.record_floor <= 0.0:
            raise InputError("OnlineConfig.record_growth and weekly_growth must be >= 1, record_floor > 0")
        if not 0.0 < self.weekly_decay <= 1.0:
            raise InputError(f"OnlineConfig.weekly_decay must be in (0, 1], got {self.weekly_decay}")
        if not self.z_knee > 0.0:
            raise InputError(f"OnlineConfig.z_knee must be > 0 (math.inf: off), got {self.z_knee}")
        if self.rank_share < 0.0:
            raise InputError(f"OnlineConfig.rank_share must be >= 0, got {self.rank_share}")
        for name in ("novelty_weight", "novelty_gate", "record_weight", "weekly_weight", "rank_factor"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InputError(f"OnlineConfig.{name} must be in [0, 1], got {getattr(self, name)}")

    def with_season(self, season_s: float) -> OnlineConfig:
        """The same ensemble with the surprise scorer's seasonal period set to ``season_s`` (0: none)."""
        return dataclasses.replace(self, surprise=dataclasses.replace(self.surprise, season_s=float(season_s)))


def _increments(v: np.ndarray) -> np.ndarray:
    """A counter's increments (a decrease is a reset: the new value is the increment); NaN stays NaN."""
    out = np.full(v.shape, np.nan)
    for j in range(v.shape[1]):  # a plain loop: counters are few, and this runs once per series
        prev = math.nan
        col = v[:, j]
        for i, x in enumerate(col):
            if math.isnan(x):
                continue
            if not math.isnan(prev):
                d = x - prev
                out[i, j] = x if d < 0 else d
            prev = x
    return out


def _level_z(v: np.ndarray, c: OnlineConfig) -> np.ndarray:
    """Robust z of each row against the median / MAD of the ``level_window`` rows before it."""
    import pandas as pd

    df = pd.DataFrame(v)
    past = df.shift(1)
    roll = past.rolling(c.level_window, min_periods=c.level_min)
    med = roll.median()
    rng = roll.max() - roll.min()
    mad = (past - med).abs().rolling(c.level_window, min_periods=c.level_min).median()
    scale = np.maximum(1.4826 * mad.to_numpy(), c.level_floor * rng.to_numpy()) + 1e-9
    z = np.abs(df.to_numpy() - med.to_numpy()) / scale
    return np.nan_to_num(z, nan=0.0, posinf=0.0)


def compress(z: np.ndarray, knee: float) -> np.ndarray:
    """``z`` up to ``knee``; beyond it ``knee * (1 + ln(z / knee))`` (continuous, increasing, scale-free)."""
    if math.isinf(knee):
        return z
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(z > knee, knee * (1.0 + np.log(np.maximum(z, knee) / knee)), z)


def _surprise(t: np.ndarray, v: np.ndarray, c: OnlineConfig, counters: np.ndarray, progress: bool) -> np.ndarray:
    if v.shape[1] == 1 and online_fast.supports(c.surprise):
        # one series (the CLI): the same recursion on Python floats, ~50x cheaper than numpy on (1,) arrays
        tt = t[:, 0] if t.ndim == 2 else t
        return online_fast.surprise_1d(tt, v[:, 0], c.surprise, bool(counters[0]))[:, None]
    state = DetectorState(v.shape[1], c.surprise, counters)
    out = np.empty_like(v)
    rows = range(v.shape[0])
    if progress:
        from tqdm.auto import tqdm

        rows = tqdm(rows, desc=f"detect {v.shape[1]} series", unit="row", leave=False)
    for i in rows:
        state.step(t[i], v[i])
        out[i] = state.last_surprise
    return out


def novelty_scores(values: Sequence[float] | np.ndarray, levels: int = 8, init: int = 300,
                   warmup: int = 120) -> np.ndarray:
    """1.0 where the value falls in a level the series never visited before, else 0.

    Levels are ``levels`` equal bins over the range of the first ``init`` present values (outside
    values get bins beyond them, of the same width). Nothing scores before ``init + warmup`` present
    values (the levels visited until then are learned); missing values (NaN) score 0 and change nothing.
    """
    v = np.asarray(values, dtype=float)
    out = np.zeros(v.shape)
    present = np.flatnonzero(np.isfinite(v))
    if present.size <= init:
        return out
    head = v[present[:init]]
    lo, hi = float(head.min()), float(head.max())
    width = (hi - lo) / levels if hi > lo else max(abs(lo) * 1e-3, 1e-9)
    rel = (v[present] - lo) / width
    bins = np.floor(np.clip(rel, -2.0 ** 52, 2.0 ** 52)).astype(np.int64)
    seen = set(bins[:init + warmup].tolist())
    for k in range(init + warmup, present.size):
        b = int(bins[k])
        if b not in seen:
            out[present[k]] = 1.0
            seen.add(b)
    return out


def rank_tail_counts(values: Sequence[float] | np.ndarray, chunk: int = 2048) -> np.ndarray:
    """For each value, how many EARLIER values were at least as extreme on its side: ``min(#>=, #<=)``.

    0 for a new maximum or minimum; a value in the middle of everything seen so far counts the smaller
    of the two sides. Missing values (NaN) count 0 and are not remembered. The earlier values are kept
    sorted in blocks of about ``chunk`` (a block list: a binary search over the blocks' maxima, one
    inside a block, an insertion into one block), so a row costs O(log n + n / chunk), not O(n).
    """
    import bisect

    xs = np.asarray(values, dtype=float).tolist()
    blocks: list[list[float]] = []
    maxes: list[float] = []
    sizes: list[int] = []
    n = 0
    out = [0.0] * len(xs)
    for i, x in enumerate(xs):
        if math.isnan(x):
            continue
        if not blocks:
            blocks.append([x])
            maxes.append(x)
            sizes.append(1)
            n = 1
            continue
        # values < x: whole blocks whose maximum is < x, then a bisection inside the next block
        j = bisect.bisect_left(maxes, x)
        below = sum(sizes[:j]) + (bisect.bisect_left(blocks[j], x) if j < len(blocks) else 0)
        # values <= x: whole blocks whose maximum is <= x, then the next block
        k = bisect.bisect_right(maxes, x)
        upto = sum(sizes[:k]) + (bisect.bisect_right(blocks[k], x) if k < len(blocks) else 0)
        out[i] = float(min(n - below, upto))
        b = min(k, len(blocks) - 1)
        bisect.insort_right(blocks[b], x)
        maxes[b] = blocks[b][-1]
        sizes[b] += 1
        n += 1
        if sizes[b] > 2 * chunk:  # split a full block in two
            half = blocks[b][chunk:]
            del blocks[b][chunk:]
            blocks.insert(b + 1, half)
            maxes[b] = blocks[b][-1]
            maxes.insert(b + 1, half[-1])
            sizes[b] = chunk
            sizes.insert(b + 1, len(half))
    return np.asarray(out, dtype=float)


def _record(z: np.ndarray, c: OnlineConfig, decay: float | None = None, growth: float | None = None) -> np.ndarray:
    decay = c.record_decay if decay is None else decay
    growth = c.record_growth if growth is None else growth
    if z.shape[1] == 1:
        return online_fast.record_1d(z[:, 0], c.warmup, c.record_floor, decay, growth)[:, None]
    n = z.shape[1]
    peak = np.zeros(n)
    out = np.zeros_like(z)
    for i in range(c.warmup, z.shape[0]):
        base = np.maximum(peak, c.record_floor)
        r = z[i] / base
        out[i] = r / (1.0 + r)
        peak = np.maximum(peak * decay, np.minimum(z[i], base * growth))
    return out


def _hold(s: np.ndarray, report: float, hold: int, fraction: float) -> np.ndarray:
    if s.shape[1] == 1:
        return online_fast.hold_1d(s[:, 0], report, hold, fraction)[:, None]
    out = s.copy()
    last = np.full(s.shape[1], -(10 ** 12))
    level = np.zeros(s.shape[1])
    for i in range(s.shape[0]):
        held = ((i - last) <= max(hold, fraction * i)) & (s[i] <= level)
        out[i] = np.where(held, 0.5 * s[i], s[i])
        new = ~held & (s[i] >= report)
        last = np.where(new, i, last)
        level = np.where(new, s[i], level)
    return out


def score_matrix(t: np.ndarray, values: np.ndarray, config: OnlineConfig | None = None, *,
                 counters: Sequence[bool] | None = None, report: float = NAB_THRESHOLD,
                 progress: bool = False) -> np.ndarray:
    """Scores in [0, 1] for ``values`` of shape ``(T, n)`` (n independent series, rows in time order).

    ``t`` holds the rows' Unix seconds, shape ``(T,)`` or ``(T, n)``. NaN values are missing samples.
    A series that ends early may be padded with NaN: padding never changes an earlier row's score.
    """
    c = config or OnlineConfig()
    v = np.asarray(values, dtype=float)
    if v.ndim == 1:
        v = v[:, None]
    tt = np.asarray(t, dtype=float)
    if v.ndim != 2 or tt.shape[0] != v.shape[0]:
        raise InputError(f"{tt.shape[0]} timestamps for {v.shape[0]} rows")
    if not 0.0 <= report <= 1.0:
        raise InputError(f"report level must be in [0, 1], got {report}")
    flags = np.zeros(v.shape[1], dtype=bool) if counters is None else np.asarray(counters, dtype=bool)
    if flags.shape != (v.shape[1],):
        raise InputError(f"counters has {flags.size} flags for {v.shape[1]} series")
    if v.shape[0] == 0:
        return np.zeros_like(v)
    surprise = _surprise(tt, v, c, flags, progress)
    gauge = np.where(flags[None, :], _increments(v), v) if flags.any() else v
    level = _level_z(gauge, c)
    z = compress(np.maximum(surprise, level), c.z_knee)
    rec = _record(z, c)
    nov = np.column_stack([novelty_scores(gauge[:, j], c.novelty_levels, c.novelty_init, c.novelty_warmup)
                           for j in range(v.shape[1])])
    weighted = c.record_weight * rec
    if c.rank_count > 0:
        tails = np.column_stack([rank_tail_counts(gauge[:, j]) for j in range(v.shape[1])])
        seen_before = (tails >= c.rank_count) & (level >= c.rank_share * surprise)
        weighted = np.where(seen_before, c.rank_factor * weighted, weighted)
    s = np.maximum(c.novelty_weight * nov * (rec > c.novelty_gate), weighted)
    if c.weekly is not None:
        wz = np.column_stack([weekly_residual_z(tt[:, j] if tt.ndim == 2 else tt, gauge[:, j], c.weekly)
                              for j in range(v.shape[1])])
        s = np.maximum(s, c.weekly_weight * _record(wz, c, c.weekly_decay, c.weekly_growth))
    if c.density is not None:
        present = np.isfinite(gauge)
        dens = np.column_stack([density_scores(z[:, j], present[:, j], c.density, warmup=c.warmup, report=report)
                                for j in range(v.shape[1])])
        s = np.maximum(s, dens)
    return _hold(s, report, c.hold, c.hold_fraction)


def score_series(t: Sequence[float] | np.ndarray, values: Sequence[float] | np.ndarray,
                 config: OnlineConfig | None = None, *, counter: bool = False,
                 report: float = NAB_THRESHOLD) -> np.ndarray:
    """Scores of one series (see :func:`score_matrix`)."""
    return score_matrix(np.asarray(t, dtype=float), np.asarray(values, dtype=float)[:, None], config,
                        counters=[counter], report=report)[:, 0]
