"""The surprise recursion (and the record and hold steps of :mod:`.online`) of :class:`.detect.DetectorState` for ONE series in plain Python floats.

``promv5-lab detect`` scores one series; stepping ``DetectorState`` with numpy arrays of shape ``(1,)``
costs about 1 ms a row in numpy call overhead. This is the same recursion, operation for operation, on
Python floats (IEEE double, like numpy's float64): ``tests/unit/analysis/test_online_fast.py`` checks
that it gives exactly the same surprises as ``DetectorState.last_surprise`` on series with gaps,
spikes, flatlines, counters and a daily profile. Only what ``DetectorState.step`` does without
episodes is ported; :func:`supports` says whether a config is covered (otherwise use the numpy path).
"""

from __future__ import annotations

import math

import numpy as np

from .detect import DetectorConfig

__all__ = ["hold_1d", "record_1d", "supports", "surprise_1d"]


def supports(c: DetectorConfig) -> bool:
    """Whether :func:`surprise_1d` covers this config (no interpolated profile, no peak learnt in warm-up)."""
    return not c.season_interp and not c.learn_peak


def surprise_1d(t: np.ndarray, values: np.ndarray, c: DetectorConfig, counter: bool = False) -> np.ndarray:
    """``DetectorState(1, c, [counter]).last_surprise`` after each row, for one series."""
    if not supports(c):
        raise ValueError("surprise_1d does not cover season_interp or learn_peak configs")
    tt = np.asarray(t, dtype=float).tolist()
    xs = np.asarray(values, dtype=float).tolist()
    out = [0.0] * len(xs)
    nan, inf = math.nan, math.inf
    period = float(c.season_s)
    seasonal = period > 0
    nb = c.season_buckets if seasonal else 1
    profile = [0.0] * nb
    seen = [False] * nb
    count = 0
    prev_raw = prev = nan
    mean = scale = level = s_scale = err_lvl = err_sea = 0.0
    cus_pos = cus_neg = short_abs = long_scale = peak = 0.0
    exceed = run = max_run = gap = moves = 0
    quantum = inf
    k = c.clip
    cusum_scale = 3.0 / c.cusum_h
    for i, x in enumerate(xs):
        raw_present = not math.isnan(x)
        if counter:
            inc = x - prev_raw
            if inc < 0:
                inc = x
            if raw_present:
                prev_raw = x
            x = inc
        else:
            if raw_present:
                prev_raw = x
        present = not math.isnan(x)
        x0 = x if present else 0.0
        fresh = present and count == 0
        warm = count >= c.warmup
        gap = gap + 1 if not raw_present else 0
        dropout = c.event_sigma if (not raw_present and warm and gap >= c.dropout_min) else 0.0
        same = present and x0 == prev
        if present and not same and count <= 10 * c.warmup and run > max_run:
            max_run = run
        if same:
            run += 1
        elif present:
            run = 0
        flat_limit = max(max_run * 2 + 1, c.flat_min)
        moving = moves * 2 >= count
        flat = c.event_sigma if (present and warm and moving and run >= flat_limit) else 0.0
        step_size = abs(x0 - prev)
        moved = present and not math.isnan(prev) and step_size > 0
        if moved:
            moves += 1
        if present:
            prev = x0
        if fresh:
            mean = level = x0
        if seasonal:
            slot = int((tt[i] % period) * (c.season_buckets / period)) % c.season_buckets
        else:
            slot = 0
        was_seen = seen[slot]
        prof = profile[slot] if was_seen else 0.0
        tiny = 1e-9 + c.scale_floor * abs(mean)
        r_lvl = x0 - mean
        q = 0.5 * quantum if (quantum != inf and moves * 2 >= count) else 0.0
        tiny = max(tiny, c.long_floor * long_scale, q)
        sc_lvl = max(scale, tiny)
        r_sea = x0 - prof - level
        sc_sea = max(s_scale, tiny)
        use_sea = err_sea < 0.9 * err_lvl and period > 0
        z_signed = r_sea / sc_sea if use_sea else r_lvl / sc_lvl
        if c.models == "min" and seasonal:
            z_signed = r_sea / sc_sea if abs(r_sea) / sc_sea < abs(r_lvl) / sc_lvl else r_lvl / sc_lvl
        z_main = abs(z_signed)
        zs = min(max(z_signed, -k), k)
        if present:
            cus_pos = max(0.0, cus_pos + zs - c.cusum_k)
            cus_neg = max(0.0, cus_neg - zs - c.cusum_k)
        cusum = max(cus_pos, cus_neg) * cusum_scale
        burst_abs = (1 - c.burst_alpha) * short_abs + c.burst_alpha * min(z_main, 2 * k)
        burst = (burst_abs - 1.0) * 3.0 if burst_abs > c.burst_min else 0.0
        raw = max(z_main, cusum, burst)
        stat = raw if (present and warm) else 0.0
        stat = max(stat, flat, dropout)
        out[i] = stat
        base = max(peak, c.peak_floor)
        grown = min(stat, base * c.peak_growth, base + c.peak_step)
        if warm:
            peak = max(peak * c.record_decay, grown)
        if moved:
            quantum = min(quantum, step_size)
        # ---- learning (DetectorState._learn) from present, non-fresh samples
        if present and not fresh:
            exceed = exceed + 1 if z_main > k else 0
            accept = exceed >= c.accept
            lim_l = inf if accept else k * sc_lvl
            lim_s = inf if accept else k * sc_sea
            r_l = min(max(r_lvl, -lim_l), lim_l)
            r_s = min(max(r_sea, -lim_s), lim_s)
            a = 0.5 if accept else c.level_alpha
            s_a = c.scale_alpha
            first = count < 3
            mean = mean + a * r_l
            level = level + a * r_s
            scale = max(scale, abs(r_lvl)) if first else (1 - s_a) * scale + s_a * abs(r_l)
            s_scale = max(s_scale, abs(r_sea)) if first else (1 - s_a) * s_scale + s_a * abs(r_s)
            e_a = 0.01
            err_lvl = (1 - e_a) * err_lvl + e_a * min(abs(r_lvl), k * sc_lvl)
            err_sea = (1 - e_a) * err_sea + e_a * min(abs(r_sea), k * sc_sea)
            if seasonal:
                if was_seen:
                    profile[slot] = prof + c.season_alpha * min(max(x0 - level - prof, -k * sc_sea), k * sc_sea)
                else:
                    profile[slot] = x0 - level
                seen[slot] = True
            short_abs = burst_abs
            la = c.long_alpha
            long_scale = max(long_scale, abs(r_lvl)) if first else (1 - la) * long_scale + la * abs(r_l)
        if present:
            count += 1
    return np.asarray(out, dtype=float)


def record_1d(z: np.ndarray, warmup: int, floor: float, decay: float, growth: float) -> np.ndarray:
    """``online._record`` for one series: ``r / (1 + r)``, r = surprise / max(recent peak, floor)."""
    zs = np.asarray(z, dtype=float).tolist()
    out = [0.0] * len(zs)
    peak = 0.0
    for i in range(warmup, len(zs)):
        x = zs[i]
        base = max(peak, floor)
        r = x / base
        out[i] = r / (1.0 + r)
        peak = max(peak * decay, min(x, base * growth))
    return np.asarray(out, dtype=float)


def hold_1d(s: np.ndarray, report: float, hold: int, fraction: float) -> np.ndarray:
    """``online._hold`` for one series: after a report, scores not above it are halved for a while."""
    xs = np.asarray(s, dtype=float).tolist()
    out = list(xs)
    last = -(10 ** 12)
    level = 0.0
    for i, x in enumerate(xs):
        held = (i - last) <= max(hold, fraction * i) and x <= level
        if held:
            out[i] = 0.5 * x
        elif x >= report:
            last = i
            level = x
    return np.asarray(out, dtype=float)
