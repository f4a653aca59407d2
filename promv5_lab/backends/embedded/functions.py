"""PromQL function calls: range functions (via :mod:`.rangefuncs`), math, time, labels, histograms.

Name handling follows Prometheus 2.42: every function drops ``__name__`` except ``last_over_time``,
``sort``, ``sort_desc``, ``label_replace`` and ``label_join``.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import numpy as np

from . import rangefuncs
from .values import NAME, EvalError, Ranges, Scalar, Str, Vec, dedupe, drop_name, get, make_labels

if TYPE_CHECKING:  # pragma: no cover
    from .evaluator import Evaluator

_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

MATH = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "sqrt": np.sqrt, "ln": np.log,
    "log2": np.log2, "log10": np.log10, "sgn": np.sign, "acos": np.arccos, "acosh": np.arccosh,
    "asin": np.arcsin, "asinh": np.arcsinh, "atan": np.arctan, "atanh": np.arctanh, "cos": np.cos,
    "cosh": np.cosh, "sin": np.sin, "sinh": np.sinh, "tan": np.tan, "tanh": np.tanh,
    "deg": np.degrees, "rad": np.radians,
}
TIME_FUNCS = {"day_of_month", "day_of_week", "day_of_year", "days_in_month", "hour", "minute", "month", "year"}


def _unwrap(node: Any) -> Any:
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    return node


def _scalar_arg(ev: Evaluator, node: Any) -> np.ndarray:
    val = ev.eval(node)
    if not isinstance(val, Scalar):
        raise EvalError("expected a scalar argument", "bad_data")
    return val.vals


def _vec_arg(ev: Evaluator, node: Any) -> Vec:
    val = ev.eval(node)
    if not isinstance(val, Vec):
        raise EvalError("expected an instant vector argument", "bad_data")
    return val


def _map(v: Vec, values: np.ndarray, mask: np.ndarray | None = None, keep_name: bool = False) -> Vec:
    labels = v.labels if keep_name else [drop_name(lab) for lab in v.labels]
    return dedupe(Vec(list(labels), values, v.mask.copy() if mask is None else mask))


def call(ev: Evaluator, node: Any) -> Any:
    name = node.func.name
    args = list(node.args)
    with np.errstate(all="ignore"):
        if name in rangefuncs.RANGE_FUNCS:
            return _range_call(ev, name, args)
        if name in MATH:
            v = _vec_arg(ev, args[0])
            return _map(v, MATH[name](v.vals))
        handler = _HANDLERS.get(name)
        if handler is None:
            raise EvalError(f"the embedded engine does not support the function {name}() yet", "bad_data")
        return handler(ev, args)


def _range_call(ev: Evaluator, name: str, args: list[Any]) -> Vec:
    mat_i = 1 if name in ("quantile_over_time",) else 0
    rng = ev.eval_sliding_at(_unwrap(args[mat_i])) if name == "predict_linear" else ev.eval(args[mat_i])
    if not isinstance(rng, Ranges):
        raise EvalError(f"expected a range vector in call to {name}()", "bad_data")
    others = [_scalar_arg(ev, a) for i, a in enumerate(args) if i != mat_i]
    bounds = rng.bounds()
    if name == "absent_over_time":
        any_present = np.zeros(ev.n, dtype=bool)
        for lo, hi in bounds:
            any_present |= hi > lo
        return _absent(args[0], ~any_present, ev.n)
    # all series at once: concatenate the samples the windows touch and flatten (series, step)
    keep = [i for i, (lo, hi) in enumerate(bounds) if (hi > lo).any()]
    if not keep:
        return Vec.empty(ev.n)
    ts_parts, v_parts, lo_parts, hi_parts = [], [], [], []
    off = 0
    for i in keep:
        lo, hi = bounds[i]
        a, b = int(lo.min()), int(hi.max())
        ts_parts.append(rng.ts[i][a:b])
        v_parts.append(rng.vals[i][a:b])
        lo_parts.append(lo - a + off)
        hi_parts.append(hi - a + off)
        off += b - a
    flat_lo, flat_hi = np.concatenate(lo_parts), np.concatenate(hi_parts)
    reps = len(keep)
    res, ok = rangefuncs.evaluate(
        name, np.concatenate(ts_parts), np.concatenate(v_parts), flat_lo, flat_hi, np.tile(rng.ends, reps),
        rng.range_ms, np.tile(ev.times, reps), [np.tile(x, reps) for x in others])
    shape = (reps, ev.n)
    mask = (ok & (flat_hi > flat_lo)).reshape(shape)
    labels = [rng.labels[i] if name == "last_over_time" else drop_name(rng.labels[i]) for i in keep]
    return dedupe(Vec(labels, np.asarray(res, dtype=np.float64).reshape(shape), mask))


def _absent_labels(node: Any) -> dict[str, str]:
    kind = type(node).__name__
    if kind == "MatrixSelector":
        node = node.vector_selector
    elif kind != "VectorSelector":
        return {}
    out: dict[str, str] = {}
    drop = set()
    ops = [(m.name, str(m.op).rsplit(".", 1)[-1], m.value) for m in node.matchers.matchers]
    for lname, op, value in ops:
        if lname == NAME:
            continue
        if op == "Equal" and lname not in out:
            out[lname] = value
        else:
            drop.add(lname)
    return {k: v for k, v in out.items() if k not in drop}


def _absent(node: Any, mask: np.ndarray, n: int) -> Vec:
    if not mask.any():
        return Vec.empty(n)
    return Vec([make_labels(_absent_labels(node))], np.ones((1, n)), mask[None, :].copy())


def _absent_fn(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    return _absent(args[0], ~v.mask.any(axis=0), ev.n)


def _time(ev: Evaluator, args: list[Any]) -> Scalar:
    return Scalar(ev.times / 1000.0)


def _vector(ev: Evaluator, args: list[Any]) -> Vec:
    s = _scalar_arg(ev, args[0])
    return Vec([()], s[None, :].copy(), np.ones((1, ev.n), dtype=bool))


def _scalar(ev: Evaluator, args: list[Any]) -> Scalar:
    v = _vec_arg(ev, args[0])
    count = v.mask.sum(axis=0)
    out = np.full(ev.n, np.nan)
    if len(v):
        first = np.argmax(v.mask, axis=0)
        vals = v.vals[first, np.arange(ev.n)]
        out = np.where(count == 1, vals, np.nan)
    return Scalar(out)


def _timestamp(ev: Evaluator, args: list[Any]) -> Vec:
    target = _unwrap(args[0])
    if type(target).__name__ == "VectorSelector":
        v = ev._eval_VectorSelector(target, keep_ts=True)
        return _map(v, v.sample_ts / 1000.0 if v.sample_ts is not None else v.vals)
    v = _vec_arg(ev, args[0])
    return _map(v, np.broadcast_to(ev.times / 1000.0, v.vals.shape).copy())


def _clamp(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    lo, hi = _scalar_arg(ev, args[1]), _scalar_arg(ev, args[2])
    vals = np.maximum(lo[None, :], np.minimum(hi[None, :], v.vals))
    return _map(v, vals, v.mask & ~(hi < lo)[None, :])


def _clamp_min(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    return _map(v, np.maximum(_scalar_arg(ev, args[1])[None, :], v.vals))


def _clamp_max(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    return _map(v, np.minimum(_scalar_arg(ev, args[1])[None, :], v.vals))


def _round(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    to = _scalar_arg(ev, args[1]) if len(args) > 1 else np.ones(ev.n)
    inv = 1.0 / to
    return _map(v, np.floor(v.vals * inv[None, :] + 0.5) / inv[None, :])


def _pi(ev: Evaluator, args: list[Any]) -> Scalar:
    return Scalar(np.full(ev.n, np.pi))


def _time_fn(name: str):
    def fn(ev: Evaluator, args: list[Any]) -> Vec:
        if args:
            v = _vec_arg(ev, args[0])
        else:
            v = Vec([()], (ev.times / 1000.0)[None, :], np.ones((1, ev.n), dtype=bool))
        secs = v.vals
        finite = np.isfinite(secs)
        dt = np.where(finite, secs, 0).astype(np.int64).astype("datetime64[s]")
        y = dt.astype("datetime64[Y]")
        mo = dt.astype("datetime64[M]")
        day = dt.astype("datetime64[D]")
        if name == "year":
            out = y.astype(np.int64) + 1970
        elif name == "month":
            out = mo.astype(np.int64) % 12 + 1
        elif name == "day_of_month":
            out = (day - mo.astype("datetime64[D]")).astype(np.int64) + 1
        elif name == "day_of_year":
            out = (day - y.astype("datetime64[D]")).astype(np.int64) + 1
        elif name == "day_of_week":
            out = (day.astype(np.int64) + 4) % 7
        elif name == "days_in_month":
            out = ((mo + 1).astype("datetime64[D]") - mo.astype("datetime64[D]")).astype(np.int64)
        elif name == "hour":
            out = (dt - day.astype("datetime64[s]")).astype(np.int64) // 3600
        else:  # minute
            out = (dt - day.astype("datetime64[s]")).astype(np.int64) // 60 % 60
        return _map(v, np.where(finite, out.astype(np.float64), np.nan))
    return fn


def _sort(ev: Evaluator, args: list[Any]) -> Vec:
    return _vec_arg(ev, args[0])


def _go_expand(template: str, m: re.Match[str]) -> str:
    """Go regexp.Expand: $1, ${1}, $name, ${name}, $$; unknown groups expand to ''."""
    out, i = [], 0
    groups = m.groupdict()
    while i < len(template):
        c = template[i]
        if c != "$" or i + 1 >= len(template):
            out.append(c)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
            continue
        if nxt == "{":
            j = template.find("}", i + 2)
            if j < 0:
                out.append(c)
                i += 1
                continue
            name, i = template[i + 2: j], j + 1
        else:
            mm = re.match(r"[a-zA-Z0-9_]+", template[i + 1:])
            if not mm:
                out.append(c)
                i += 1
                continue
            name, i = mm.group(0), i + 1 + mm.end()
        if name.isdigit():
            k = int(name)
            out.append((m.group(k) or "") if k <= (m.re.groups) else "")
        else:
            out.append(groups.get(name) or "")
    return "".join(out)


def _str_args(ev: Evaluator, args: list[Any]) -> list[str]:
    out = []
    for a in args:
        val = ev.eval(a)
        if not isinstance(val, Str):
            raise EvalError("expected a string argument", "bad_data")
        out.append(val.val)
    return out


def _label_replace(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    dst, repl, src, regex = _str_args(ev, args[1:5])
    try:
        rx = re.compile(f"(?:{regex})")
    except re.error as exc:
        raise EvalError(f"invalid regular expression in label_replace(): {regex}", "execution") from exc
    if not _LABEL_NAME.fullmatch(dst):
        raise EvalError(f"invalid destination label name in label_replace(): {dst}", "execution")
    labels = []
    for lab in v.labels:
        m = rx.fullmatch(get(lab, src))
        if m is None:
            labels.append(lab)
            continue
        d = dict(lab)
        d[dst] = _go_expand(repl, m)
        labels.append(make_labels(d))
    return dedupe(Vec(labels, v.vals.copy(), v.mask.copy()))


def _label_join(ev: Evaluator, args: list[Any]) -> Vec:
    v = _vec_arg(ev, args[0])
    strs = _str_args(ev, args[1:])
    dst, sep, srcs = strs[0], strs[1], strs[2:]
    if not _LABEL_NAME.fullmatch(dst):
        raise EvalError(f"invalid destination label name in label_join(): {dst}", "execution")
    labels = []
    for lab in v.labels:
        d = dict(lab)
        d[dst] = sep.join(get(lab, s) for s in srcs)
        labels.append(make_labels(d))
    return dedupe(Vec(labels, v.vals.copy(), v.mask.copy()))


def _native_histogram_only(ev: Evaluator, args: list[Any]) -> Vec:
    """histogram_count/sum/fraction read native histogram samples only; the store holds floats."""
    for a in args:
        ev.eval(a)
    return Vec.empty(ev.n)


def _histogram_quantile(ev: Evaluator, args: list[Any]) -> Vec:
    from .histograms import histogram_quantile

    q = _scalar_arg(ev, args[0])
    return histogram_quantile(q, _vec_arg(ev, args[1]))


_HANDLERS = {
    "time": _time, "vector": _vector, "scalar": _scalar, "timestamp": _timestamp, "absent": _absent_fn,
    "clamp": _clamp, "clamp_min": _clamp_min, "clamp_max": _clamp_max, "round": _round, "pi": _pi,
    "sort": _sort, "sort_desc": _sort, "label_replace": _label_replace, "label_join": _label_join,
    "histogram_quantile": _histogram_quantile, "histogram_count": _native_histogram_only,
    "histogram_sum": _native_histogram_only, "histogram_fraction": _native_histogram_only,
    **{n: _time_fn(n) for n in TIME_FUNCS},
}
