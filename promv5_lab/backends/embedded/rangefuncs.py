"""Functions over range vectors (``rate``, ``*_over_time``...), vectorised per series across steps.

Each takes the samples of one series ``(t, v)``, the per-step window bounds ``lo, hi`` (the window is
``t[lo:hi]``), the window end/start times, and returns ``(values, present)`` per step. Formulas follow
Prometheus 2.42's ``promql/functions.go`` (``extrapolatedRate``, ``instantValue``, ``linearRegression``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .values import EvalError

CHUNK_ELEMS = 2_000_000


def _gather(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> Iterator[tuple[slice, np.ndarray, np.ndarray, np.ndarray]]:
    """Yield (steps, W, M, idx): W[s, k] = v[lo[s] + k], M marks k < hi[s] - lo[s]; chunked by memory."""
    cnt = hi - lo
    width = int(cnt.max()) if len(cnt) else 0
    width = max(width, 1)
    per = max(1, CHUNK_ELEMS // width)
    ks = np.arange(width)
    for a in range(0, len(lo), per):
        sl = slice(a, a + per)
        idx = np.minimum(lo[sl, None] + ks[None, :], max(len(v) - 1, 0))
        m = ks[None, :] < cnt[sl, None]
        w = v[idx] if len(v) else np.zeros(idx.shape)
        yield sl, w, m, idx


def _reduce(v: np.ndarray, lo: np.ndarray, hi: np.ndarray, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.full(len(lo), np.nan)
    for sl, w, m, _ in _gather(v, lo, hi):
        out[sl] = fn(w, m)
    return out


def _sum(w: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.where(m, w, 0.0).sum(axis=1)


def _mean(w, m):
    return _sum(w, m) / np.maximum(m.sum(axis=1), 1)


def _var(w, m):
    n = np.maximum(m.sum(axis=1), 1)
    mean = _sum(w, m) / n
    d = np.where(m, w - mean[:, None], 0.0)
    return (d * d).sum(axis=1) / n


def _nanext(fn):
    def f(w, m):
        x = np.where(m, w, np.nan)
        with np.errstate(invalid="ignore"):
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                return fn(x, axis=1)
    return f


def quantile_sorted(sorted_vals: np.ndarray, n: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Prometheus ``quantile()`` on rows already sorted ascending (NaN first), ``n`` valid per row."""
    out = np.full(len(n), np.nan)
    ok = n > 0
    rank = q * (n - 1)
    with np.errstate(invalid="ignore"):
        lower = np.maximum(0, np.floor(rank))
        upper = np.minimum(n - 1, lower + 1)
        weight = rank - np.floor(rank)
    good = ok & np.isfinite(rank) & (q >= 0) & (q <= 1)
    li = np.where(good, lower, 0).astype(np.int64)
    ui = np.where(good, upper, 0).astype(np.int64)
    rows = np.arange(len(n))
    lv = sorted_vals[rows, li] if sorted_vals.size else np.zeros(len(n))
    uv = sorted_vals[rows, ui] if sorted_vals.size else np.zeros(len(n))
    with np.errstate(invalid="ignore"):
        res = lv * (1 - weight) + uv * weight
    out[good] = res[good]
    out[ok & (q < 0)] = -np.inf
    out[ok & (q > 1)] = np.inf
    return out


def sort_nan_first(w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Sort each row ascending with NaN first and masked entries last (Prometheus's vectorByValueHeap)."""
    key = np.where(m, np.where(np.isnan(w), -np.inf, w), np.nan)
    order = np.argsort(key, axis=1, kind="stable")
    x = np.where(m, w, np.nan)
    return np.take_along_axis(x, order, axis=1)


def quantile_over_time(v, lo, hi, q):
    out = np.full(len(lo), np.nan)
    for sl, w, m, _ in _gather(v, lo, hi):
        out[sl] = quantile_sorted(sort_nan_first(w, m), m.sum(axis=1), q[sl])
    return out


def extrapolated_rate(t, v, lo, hi, range_start, range_end, range_s, *, counter: bool, rate: bool):
    cnt = hi - lo
    ok = cnt >= 2
    first_i = np.where(ok, lo, 0)
    last_i = np.where(ok, hi - 1, 0)
    if not len(t):
        return np.full(len(lo), np.nan), np.zeros(len(lo), bool)
    first_v, last_v = v[first_i], v[last_i]
    first_t, last_t = t[first_i], t[last_i]
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        result = last_v - first_v
        if counter:
            drop = np.zeros(len(v))
            if len(v) > 1:
                drop[1:] = np.where(v[1:] < v[:-1], v[:-1], 0.0)
            # a reset adds the value before it (finite or +Inf): prefix sums of the finite part and a
            # count of the infinite ones, so an Inf elsewhere in the history cannot poison this window
            inf = np.isinf(drop)
            cs = np.concatenate([[0.0], np.cumsum(np.where(inf, 0.0, drop))])
            ci = np.concatenate([[0], np.cumsum(inf)])
            # counter resets at sample indices lo+1 .. hi-1
            a = np.minimum(lo + 1, len(v))
            b = np.maximum(hi, a)
            corr = (cs[b] - cs[a]) + np.where(ci[b] > ci[a], np.inf, 0.0)
            result = result + np.where(ok, corr, 0.0)
        dur_start = (first_t - range_start) / 1000.0
        dur_end = (range_end - last_t) / 1000.0
        sampled = (last_t - first_t) / 1000.0
        avg = sampled / np.maximum(cnt - 1, 1)
        if counter:
            zero = (result > 0) & (first_v >= 0)
            to_zero = sampled * (first_v / np.where(result == 0, 1, result))
            dur_start = np.where(zero & (to_zero < dur_start), to_zero, dur_start)
        thr = avg * 1.1
        ext = sampled + np.where(dur_start < thr, dur_start, avg / 2) + np.where(dur_end < thr, dur_end, avg / 2)
        factor = ext / np.where(sampled == 0, 1, sampled)
        if rate:
            factor = factor / range_s
        result = result * factor  # the factor first, like Prometheus 2.42 (bit-exact rounding)
    return result, ok


def instant_value(t, v, lo, hi, *, rate: bool):
    ok = (hi - lo) >= 2
    if not len(t):
        return np.full(len(lo), np.nan), ok
    li = np.where(ok, hi - 1, 0)
    pi = np.where(ok, hi - 2, 0)
    lv, pv = v[li], v[pi]
    dt = (t[li] - t[pi]) / 1000.0
    ok &= dt != 0
    with np.errstate(invalid="ignore", divide="ignore"):
        if rate:
            res = np.where(lv < pv, lv, lv - pv) / np.where(dt == 0, 1, dt)
        else:
            res = lv - pv
    return res, ok


def linear_regression(t, v, lo, hi, intercept_ms: np.ndarray):
    """(slope, intercept) per step, as Prometheus's linearRegression (x in seconds from intercept time)."""
    slope = np.full(len(lo), np.nan)
    icpt = np.full(len(lo), np.nan)
    tf = t.astype(np.float64)
    for sl, w, m, idx in _gather(v, lo, hi):
        tw = tf[idx] if len(tf) else np.zeros(idx.shape)
        x = np.where(m, (tw - intercept_ms[sl, None]) / 1e3, 0.0)
        y = np.where(m, w, 0.0)
        n = m.sum(axis=1).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            sx, sy = x.sum(1), y.sum(1)
            sxy, sx2 = (x * y).sum(1), (x * x).sum(1)
            cov = sxy - sx * sy / n
            varx = sx2 - sx * sx / n
            s = cov / varx
            i = sy / n - s * sx / n
        init = w[:, 0]
        const = np.all(~m | (w == init[:, None]), axis=1)
        s = np.where(const, np.where(np.isinf(init), np.nan, 0.0), s)
        i = np.where(const, np.where(np.isinf(init), np.nan, init), i)
        slope[sl], icpt[sl] = s, i
    return slope, icpt


def holt_winters(v, lo, hi, sf: np.ndarray, tf: np.ndarray):
    """Double exponential smoothing per window (2.42's funcHoltWinters), all windows in lockstep."""
    bad = ~((sf > 0) & (sf < 1))
    if bad.any():
        raise EvalError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {sf[np.argmax(bad)]:f}")
    bad = ~((tf > 0) & (tf < 1))
    if bad.any():
        raise EvalError(f"invalid trend factor. Expected: 0 < tf < 1, got: {tf[np.argmax(bad)]:f}")
    out = np.full(len(lo), np.nan)
    for sl, w, m, _ in _gather(v, lo, hi):
        cnt = m.sum(axis=1)
        s_f, t_f = sf[sl], tf[sl]
        s0 = np.zeros(len(cnt))
        s1 = w[:, 0].copy()
        b = (w[:, 1] - w[:, 0]) if w.shape[1] > 1 else np.zeros(len(cnt))
        for i in range(1, w.shape[1]):
            live = i < cnt
            x = s_f * w[:, i]
            nb = b if i == 1 else t_f * (s1 - s0) + (1 - t_f) * b
            y = (1 - s_f) * (s1 + nb)
            s0 = np.where(live, s1, s0)
            s1 = np.where(live, x + y, s1)
            b = np.where(live, nb, b)
        out[sl] = s1
    return out


def changes_resets(v, lo, hi, *, resets: bool):
    if len(v) > 1:
        if resets:
            ev = v[1:] < v[:-1]
        else:
            ev = (v[1:] != v[:-1]) & ~(np.isnan(v[1:]) & np.isnan(v[:-1]))
    else:
        ev = np.zeros(0, dtype=bool)
    cs = np.concatenate([[0, 0], np.cumsum(ev)])[: len(v) + 1]  # cs[j] = events at indices 1..j-1
    a = np.minimum(lo + 1, len(cs) - 1)
    # events at indices lo+1 .. hi-1
    return (cs[np.maximum(hi, a)] - cs[a]).astype(np.float64)


SIMPLE: dict[str, Callable] = {
    "sum_over_time": _sum,
    "avg_over_time": _mean,
    "min_over_time": _nanext(np.nanmin),
    "max_over_time": _nanext(np.nanmax),
    "stdvar_over_time": _var,
    "stddev_over_time": lambda w, m: np.sqrt(_var(w, m)),
}

RANGE_FUNCS = {
    "rate", "increase", "delta", "irate", "idelta", "deriv", "predict_linear", "resets", "changes",
    "count_over_time", "present_over_time", "last_over_time", "quantile_over_time", "absent_over_time",
    "holt_winters",
    *SIMPLE,
}


def evaluate(name: str, t: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray, ends: np.ndarray,
             range_ms: int, step_times: np.ndarray, args: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One range function over one series: returns (values, present) per step."""
    a, b = int(lo.min()), int(hi.max())
    if a > 0 or b < len(t):  # work on the samples the windows touch, not the whole history
        t, v, lo, hi = t[a:b], v[a:b], lo - a, hi - a
    cnt = hi - lo
    present = cnt > 0
    if name in SIMPLE:
        return _reduce(v, lo, hi, SIMPLE[name]), present
    if name == "count_over_time":
        return cnt.astype(np.float64), present
    if name == "present_over_time":
        return np.ones(len(lo)), present
    if name == "last_over_time":
        return v[np.maximum(hi - 1, 0)] if len(v) else np.zeros(len(lo)), present
    if name == "quantile_over_time":
        return quantile_over_time(v, lo, hi, args[0]), present
    if name in ("rate", "increase", "delta"):
        return extrapolated_rate(t, v, lo, hi, ends - range_ms, ends, range_ms / 1000.0,
                                 counter=name != "delta", rate=name == "rate")
    if name in ("irate", "idelta"):
        return instant_value(t, v, lo, hi, rate=name == "irate")
    if name == "holt_winters":
        return holt_winters(v, lo, hi, args[0], args[1]), cnt >= 2
    if name in ("resets", "changes"):
        return changes_resets(v, lo, hi, resets=name == "resets"), present
    if name == "deriv":
        ok = cnt >= 2
        first_t = t[np.where(ok, lo, 0)] if len(t) else np.zeros(len(lo), np.int64)
        slope, _ = linear_regression(t, v, lo, hi, first_t)
        return slope, ok
    if name == "predict_linear":
        ok = cnt >= 2
        slope, icpt = linear_regression(t, v, lo, hi, step_times)
        return slope * args[0] + icpt, ok
    raise EvalError(f"the embedded engine does not support the function {name}() yet", "bad_data")
