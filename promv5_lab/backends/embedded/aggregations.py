"""Aggregation operators (sum, avg, min, max, count, group, stddev, stdvar, quantile, topk, bottomk,
count_values) with ``by``/``without``, vectorised across steps per group."""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .rangefuncs import quantile_sorted, sort_nan_first
from .values import NAME, EvalError, Labels, Scalar, Str, Vec, format_value, make_labels, merge_into, vec_from

if TYPE_CHECKING:  # pragma: no cover
    from .evaluator import Evaluator


def _group_key(lab: Labels, labels: list[str], without: bool) -> Labels:
    if without:
        drop = set(labels) | {NAME}
        return tuple(p for p in lab if p[0] not in drop)
    keep = set(labels)
    return tuple(p for p in lab if p[0] in keep)


def aggregate(ev: Evaluator, node: Any) -> Vec:
    op = str(node.op)
    v = ev.eval(node.expr)
    if not isinstance(v, Vec):
        raise EvalError(f"expected an instant vector in aggregation {op}", "bad_data")
    mod = node.modifier
    without = mod is not None and str(mod.type).endswith("Without")
    by = list(mod.labels) if mod is not None else []
    param: Any = None
    if node.param is not None:
        p = ev.eval(node.param)
        param = p.val if isinstance(p, Str) else p.vals if isinstance(p, Scalar) else None
        if param is None:
            raise EvalError(f"expected a scalar or string parameter in aggregation {op}", "bad_data")
    if op == "count_values":
        return _count_values(v, param, by, without)
    groups: dict[Labels, list[int]] = {}
    for i, lab in enumerate(v.labels):
        groups.setdefault(_group_key(lab, by, without), []).append(i)
    n = v.steps
    if op in ("topk", "bottomk"):
        return _topk(v, groups, param, op == "topk")
    out_labels, out_vals, out_masks = [], [], []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for key, rows in groups.items():
            x, m = v.vals[rows], v.mask[rows]
            present = m.any(axis=0)
            if not present.any():
                continue
            cnt = m.sum(axis=0)
            s = np.where(m, x, 0.0).sum(axis=0)
            if op == "sum":
                res = s
            elif op == "avg":
                res = s / np.maximum(cnt, 1)
            elif op == "count":
                res = cnt.astype(np.float64)
            elif op == "group":
                res = np.ones(n)
            elif op == "min":
                res = np.nanmin(np.where(m, x, np.nan), axis=0)
            elif op == "max":
                res = np.nanmax(np.where(m, x, np.nan), axis=0)
            elif op in ("stddev", "stdvar"):
                res = _welford(x, m) / np.maximum(cnt, 1)
                if op == "stddev":
                    res = np.sqrt(res)
            elif op == "quantile":
                srt = sort_nan_first(x.T, m.T)
                res = quantile_sorted(srt, cnt, param)
            else:
                raise EvalError(f"the embedded engine does not support the aggregation {op} yet", "bad_data")
            out_labels.append(key)
            out_vals.append(res)
            out_masks.append(present)
    if not out_labels:
        return Vec.empty(n)
    return Vec(out_labels, np.stack(out_vals), np.stack(out_masks))


def _welford(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Sum of squared deviations per step, updated series by series as Prometheus does (the first
    sample only seeds the mean, so a lone NaN or Inf gives variance 0, not NaN)."""
    n = x.shape[1]
    count, mean, value = np.zeros(n), np.zeros(n), np.zeros(n)
    for row, present in zip(x, m):
        first = present & (count == 0)
        later = present & ~first
        count += present
        mean = np.where(first, row, mean)
        delta = row - mean
        new_mean = mean + delta / np.maximum(count, 1)
        value = np.where(later, value + delta * (row - new_mean), value)
        mean = np.where(later, new_mean, mean)
    return value


def _topk(v: Vec, groups: dict[Labels, list[int]], k: np.ndarray, top: bool) -> Vec:
    """Each group's k largest (smallest) samples per step, exactly as Prometheus's heap picks them
    from series in label order (this decides ties); a NaN at the heap head is always replaced."""
    n = v.steps
    bad = ~((k <= 9.223372036854775807e18) & (k >= -9.223372036854775808e18))
    if bad.any():
        raise EvalError(f"Scalar value {format_value(float(k[np.argmax(bad)]))} overflows int64")
    kk = np.trunc(k)
    keep = np.zeros_like(v.mask)
    for rows in groups.values():
        rows = sorted(rows, key=lambda i: v.labels[i])
        x, m = v.vals[rows], v.mask[rows]
        cnt = m.sum(axis=0)
        for j in np.flatnonzero(cnt > 0):
            kj = kk[j]
            if kj < 1:
                continue
            present = np.flatnonzero(m[:, j])
            if kj >= len(present):
                chosen = present
            else:
                chosen = present[_heap_select(x[present, j].tolist(), int(kj), top)]
            keep[np.asarray(rows)[chosen], j] = True
    out_rows = [i for i in range(len(v)) if keep[i].any()]
    if not out_rows:
        return Vec.empty(n)
    return Vec([v.labels[i] for i in out_rows], v.vals[out_rows].copy(), keep[out_rows])


def _heap_select(values: list[float], k: int, top: bool) -> list[int]:
    """Indices Prometheus 2.42's aggregation keeps for topk (top=True) or bottomk, fed ``values`` in
    order: the first sample seeds the heap; later ones enter while it is not full, or when they beat
    the head or the head is NaN (k == 1 replaces in place, else heap.Pop then heap.Push)."""
    isnan = math.isnan

    def less(a: int, b: int) -> bool:  # vectorByValueHeap / vectorByReverseValueHeap
        va, vb = values[heap[a]], values[heap[b]]
        if isnan(va):
            return True
        return va < vb if top else va > vb

    heap: list[int] = []

    def swap(a: int, b: int) -> None:
        heap[a], heap[b] = heap[b], heap[a]

    def up(j: int) -> None:
        while j > 0:
            i = (j - 1) // 2
            if not less(j, i):
                break
            swap(i, j)
            j = i

    def down(i0: int, n: int) -> None:
        i = i0
        while True:
            j1 = 2 * i + 1
            if j1 >= n:
                break
            j = j1
            if j1 + 1 < n and less(j1 + 1, j1):
                j = j1 + 1
            if not less(j, i):
                break
            swap(i, j)
            i = j

    for idx, val in enumerate(values):
        if not heap:
            heap.append(idx)
            continue
        head = values[heap[0]]
        if len(heap) < k or (head < val if top else head > val) or isnan(head):
            if len(heap) == k:
                if k == 1:
                    heap[0] = idx
                    continue
                n = len(heap) - 1  # heap.Pop
                swap(0, n)
                down(0, n)
                heap.pop()
            heap.append(idx)  # heap.Push
            up(len(heap) - 1)
    return heap


def _count_values(v: Vec, label: Any, by: list[str], without: bool) -> Vec:
    if not isinstance(label, str):
        raise EvalError("count_values needs a string label name", "bad_data")
    import re

    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", label):
        raise EvalError(f"invalid label name {label!r}", "execution")
    n = v.steps
    groups: dict[Labels, list[int]] = {}
    for i, lab in enumerate(v.labels):
        groups.setdefault(_group_key(lab, by, without), []).append(i)
    out: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
    for key, rows in groups.items():
        x, m = v.vals[rows], v.mask[rows]
        if not m.any():
            continue
        uniq, inverse = np.unique(x[m], return_inverse=True)
        counts = np.zeros((len(uniq), n))
        np.add.at(counts, (np.asarray(inverse).reshape(-1), np.nonzero(m)[1]), 1)
        base = dict(key)
        for u, row in zip(uniq.tolist(), counts):
            d = dict(base)
            d[label] = format_value(u)
            merge_into(out, make_labels(d), row, row > 0, "duplicate")
    return vec_from(out, n)
