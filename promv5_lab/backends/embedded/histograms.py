"""``histogram_quantile`` over classic ``le`` buckets, as Prometheus 2.42's ``bucketQuantile``."""

from __future__ import annotations

import numpy as np

from .values import Labels, Vec, get, make_labels


def _parse_le(s: str) -> float | None:
    try:
        return float(s)
    except ValueError:
        return None


def histogram_quantile(q: np.ndarray, v: Vec) -> Vec:
    n = v.steps
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, lab in enumerate(v.labels):
        le = _parse_le(get(lab, "le"))
        if le is None:
            continue
        key = make_labels({k: val for k, val in lab if k not in ("le", "__name__")})
        groups.setdefault(key, []).append((le, i))
    labels, vals, masks = [], [], []
    for key, members in groups.items():
        members.sort()
        bounds = np.array([b for b, _ in members])
        rows = np.array([i for _, i in members])
        counts = np.where(v.mask[rows], v.vals[rows], 0.0)
        present = v.mask[rows]
        out = np.full(n, np.nan)
        any_present = present.any(axis=0)
        # group steps by which buckets are present, and compute each pattern vectorised
        patterns, inverse = np.unique(present.T, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for p_i, pattern in enumerate(patterns):
            if not pattern.any():
                continue
            cols = np.flatnonzero(inverse == p_i)
            out[cols] = _quantile(q[cols], bounds[pattern], counts[pattern][:, cols])
        labels.append(key)
        vals.append(out)
        masks.append(any_present)
    if not labels:
        return Vec.empty(n)
    return Vec(labels, np.stack(vals), np.stack(masks))


def _quantile(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """bucketQuantile for bucket upper ``bounds`` (sorted) and ``counts`` (buckets x steps)."""
    steps = counts.shape[1]
    out = np.full(steps, np.nan)
    if not np.isposinf(bounds[-1]):
        return _edge(q, out)
    # coalesce buckets with equal upper bounds
    ub, start = np.unique(bounds, return_index=True)
    if len(ub) != len(bounds):
        counts = np.add.reduceat(counts, start, axis=0)
        bounds = ub
    counts = np.fmax.accumulate(counts, axis=0)  # ensureMonotonic
    nb = len(bounds)
    if nb < 2:
        return _edge(q, out)
    obs = counts[-1]
    with np.errstate(all="ignore"):
        rank = q * obs
        ge = counts[:-1] >= rank[None, :]
        b = np.where(ge.any(axis=0), np.argmax(ge, axis=0), nb - 1)
        cols = np.arange(steps)
        end = bounds[b]
        cnt = counts[b, cols]
        prev_b = np.maximum(b - 1, 0)
        start_b = np.where(b > 0, bounds[prev_b], 0.0)
        prev_c = np.where(b > 0, counts[prev_b, cols], 0.0)
        res = start_b + (end - start_b) * ((rank - prev_c) / (cnt - prev_c))
    res = np.where(b == nb - 1, bounds[nb - 2], res)
    res = np.where((b == 0) & (bounds[0] <= 0), bounds[0], res)
    res = np.where(obs == 0, np.nan, res)
    out[:] = res
    return _edge(q, out)


def _edge(q: np.ndarray, out: np.ndarray) -> np.ndarray:
    out = out.copy()
    out[q < 0] = -np.inf
    out[q > 1] = np.inf
    out[np.isnan(q)] = np.nan
    return out
