"""Binary operators: arithmetic, comparisons (with ``bool``) and set operators, with vector matching
(``on``/``ignoring``, ``group_left``/``group_right``), vectorised across steps."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .values import (
    NAME,
    EvalError,
    Labels,
    Scalar,
    Vec,
    dedupe,
    drop_name,
    fmt_labels,
    get,
    merge_into,
    vec_from,
)

if TYPE_CHECKING:  # pragma: no cover
    from .evaluator import Evaluator

ARITH = {"+", "-", "*", "/", "%", "^", "atan2"}
COMPARE = {"==", "!=", ">", "<", ">=", "<="}
SETOPS = {"and", "or", "unless"}
# Prometheus 2.42 quirk: atan2 is arithmetic but keeps the metric name (shouldDropMetricName omits it)
DROPS_NAME = ARITH - {"atan2"}


def _arith(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if op == "/":
        return a / b
    if op == "%":
        return np.fmod(a, b)
    if op == "^":
        return np.power(a, b)
    return np.arctan2(a, b)


def _compare(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return {"==": np.equal, "!=": np.not_equal, ">": np.greater, "<": np.less,
            ">=": np.greater_equal, "<=": np.less_equal}[op](a, b)


def elem(op: str, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(value, keep) like Prometheus's vectorElemBinop: comparisons keep the left value when true."""
    if op in ARITH:
        return _arith(op, a, b), np.ones(np.broadcast(a, b).shape, dtype=bool)
    keep = _compare(op, a, b)
    return np.broadcast_to(a, keep.shape).astype(np.float64), keep


def binary(ev: Evaluator, node: Any) -> Any:
    op = str(node.op)
    mod = node.modifier
    return_bool = bool(mod is not None and mod.return_bool)
    lhs, rhs = ev.eval(node.lhs), ev.eval(node.rhs)
    with np.errstate(all="ignore"):
        if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
            val, keep = elem(op, lhs.vals, rhs.vals)
            if op in COMPARE:
                if not return_bool:
                    raise EvalError("comparisons between scalars must use BOOL modifier", "bad_data")
                val = keep.astype(np.float64)
            return Scalar(val)
        if isinstance(lhs, Vec) and isinstance(rhs, Scalar):
            return _vec_scalar(op, lhs, rhs.vals, swap=False, return_bool=return_bool)
        if isinstance(lhs, Scalar) and isinstance(rhs, Vec):
            return _vec_scalar(op, rhs, lhs.vals, swap=True, return_bool=return_bool)
        if isinstance(lhs, Vec) and isinstance(rhs, Vec):
            if op in SETOPS:
                return _setop(op, lhs, rhs, mod)
            return _vec_vec(op, lhs, rhs, mod, return_bool)
    raise EvalError(f"binary operator {op} is not defined between these operand types", "bad_data")


def _vec_scalar(op: str, v: Vec, s: np.ndarray, *, swap: bool, return_bool: bool) -> Vec:
    a, b = (s[None, :], v.vals) if swap else (v.vals, s[None, :])
    val, keep = elem(op, a, b)
    if op in COMPARE and swap:
        val = np.broadcast_to(v.vals, keep.shape).astype(np.float64)
    if return_bool:
        val, keep = keep.astype(np.float64), np.ones_like(keep)
    mask = v.mask & keep
    labels = v.labels
    if op in DROPS_NAME or return_bool:
        labels = [drop_name(lab) for lab in labels]
    return dedupe(Vec(list(labels), np.array(val, dtype=np.float64), mask))


def _matching(mod: Any) -> tuple[bool, list[str], str, list[str]]:
    """(on, matching labels, card, include labels) from a BinModifier (None = default matching)."""
    if mod is None:
        return False, [], "OneToOne", []
    on, labels = False, []
    if mod.matching is not None:
        on = str(mod.matching.type).endswith("Include")
        labels = list(mod.matching.labels)
    card = str(mod.card).rsplit(".", 1)[-1]
    return on, labels, card, list(mod.group_labels or [])


def _sig(lab: Labels, on: bool, names: list[str]) -> tuple:
    if on:
        return tuple(get(lab, n) for n in sorted(names))
    drop = set(names) | {NAME}
    return tuple(p for p in lab if p[0] not in drop)


def _setop(op: str, lhs: Vec, rhs: Vec, mod: Any) -> Vec:
    on, names, _, _ = _matching(mod)
    n = lhs.steps
    rsig: dict[tuple, np.ndarray] = {}
    for i, lab in enumerate(rhs.labels):
        s = _sig(lab, on, names)
        rsig[s] = rsig.get(s, np.zeros(n, dtype=bool)) | rhs.mask[i]
    none = np.zeros(n, dtype=bool)
    if op in ("and", "unless"):
        masks = []
        for i, lab in enumerate(lhs.labels):
            present = rsig.get(_sig(lab, on, names), none)
            masks.append(lhs.mask[i] & (present if op == "and" else ~present))
        return Vec(list(lhs.labels), lhs.vals.copy(), np.stack(masks) if masks else lhs.mask.copy())
    # or: all of lhs, plus rhs samples whose signature lhs lacks at that step
    lsig: dict[tuple, np.ndarray] = {}
    for i, lab in enumerate(lhs.labels):
        s = _sig(lab, on, names)
        lsig[s] = lsig.get(s, np.zeros(n, dtype=bool)) | lhs.mask[i]
    out: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
    for i, lab in enumerate(lhs.labels):
        merge_into(out, lab, lhs.vals[i], lhs.mask[i], "vector cannot contain metrics with the same labelset")
    for i, lab in enumerate(rhs.labels):
        m = rhs.mask[i] & ~lsig.get(_sig(lab, on, names), none)
        merge_into(out, lab, rhs.vals[i], m, "vector cannot contain metrics with the same labelset")
    return vec_from(out, n)


def _result_labels(many: Labels, one: Labels, op: str, on: bool, names: list[str], card: str,
                   include: list[str]) -> Labels:
    d = dict(many)
    if op in DROPS_NAME:
        d.pop(NAME, None)
    if card == "OneToOne":
        if on:
            d = {k: v for k, v in d.items() if k in names}
        else:
            for k in names:
                d.pop(k, None)
    for k in include:
        val = get(one, k)
        if val:
            d[k] = val
        else:
            d.pop(k, None)
    return tuple(sorted(d.items()))


def _vec_vec(op: str, lhs: Vec, rhs: Vec, mod: Any, return_bool: bool) -> Vec:
    on, names, card, include = _matching(mod)
    if card == "ManyToMany":
        raise EvalError("many-to-many matching is only allowed for set operators", "bad_data")
    swapped = card == "OneToMany"
    many, one = (rhs, lhs) if swapped else (lhs, rhs)
    n = lhs.steps
    one_side = "left" if swapped else "right"
    any_many = many.mask.any(axis=0)
    by_sig: dict[tuple, list[int]] = {}
    for j, lab in enumerate(one.labels):
        by_sig.setdefault(_sig(lab, on, names), []).append(j)
    for sig, js in by_sig.items():
        if len(js) > 1:
            dup = (one.mask[js].sum(axis=0) > 1) & any_many
            if dup.any():
                col = int(np.argmax(dup))
                a, b = [one.labels[j] for j in js if one.mask[j][col]][:2]
                if on:
                    group = tuple((k, get(a, k)) for k in sorted(names) if get(a, k))
                else:
                    group = tuple(p for p in a if p[0] not in set(names) | {NAME})
                raise EvalError(
                    f"found duplicate series for the match group {fmt_labels(group)} on the {one_side} "
                    f"hand-side of the operation: [{fmt_labels(b)}, {fmt_labels(a)}];"
                    "many-to-many matching not allowed: matching labels must be unique on one side")
    out: dict[Labels, tuple[np.ndarray, np.ndarray]] = {}
    matched: dict[tuple, np.ndarray] = {}
    for i, lab in enumerate(many.labels):
        sig = _sig(lab, on, names)
        for j in by_sig.get(sig, ()):
            m = many.mask[i] & one.mask[j]
            if not m.any():
                continue
            lv, rv = (one.vals[j], many.vals[i]) if swapped else (many.vals[i], one.vals[j])
            val, keep = elem(op, lv, rv)
            if return_bool:
                val, keep = keep.astype(np.float64), np.ones_like(keep)
            m = m & keep
            if not m.any():
                continue
            res = _result_labels(many.labels[i], one.labels[j], op, on, names, card, include)
            if return_bool:
                res = drop_name(res)
            if card == "OneToOne":
                prev = matched.setdefault(sig, np.zeros(n, dtype=bool))
                if np.any(prev & m):
                    raise EvalError("multiple matches for labels: many-to-one matching must be explicit "
                                    "(group_left/group_right)")
                prev |= m
            merge_into(out, res, val, m, "multiple matches for labels: grouping labels must ensure unique matches")
    return dedupe(vec_from(out, n))
