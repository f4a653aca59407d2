"""PromQL evaluation with Prometheus 2.42 semantics, vectorised across the steps of a query.

``Engine.instant(promql, t)`` and ``Engine.range(promql, start, end, step)`` parse with the
``promql-parser`` package and walk its AST. Every node evaluates at an array of step timestamps (ms)
and yields a :class:`Vec`, :class:`Scalar`, :class:`Str` or (selectors/subqueries) :class:`Ranges`.
Semantics follow Prometheus 2.42: instant selection looks back 5 minutes (``[t-5m, t]``, both ends
closed); range windows are ``[t-range, t]``; ``@`` pins the reference time (``start()``/``end()`` are the
query's); subqueries evaluate on absolute multiples of their step. Unsupported constructs raise an
:class:`EvalError` naming them.

2.42 quirks matched on purpose (each found by the differential test): ``atan2`` keeps ``__name__``;
topk/bottomk replay Go's heap (ties, and a NaN head is always replaced); ``sort``/``sort_desc`` put
NaN last; ``predict_linear(x[r] @ t)`` in a range query slides its window with the step and only sees
samples loaded for the pinned window; rate multiplies by one factor (same rounding); stddev/stdvar
aggregate Welford-style (a lone NaN gives 0). Not supported: negative ``@`` times, native histograms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from .storage import Store, is_stale
from .values import NAME, EvalError, Ranges, Scalar, Str, Vec

log = logging.getLogger(__name__)

LOOKBACK_MS = 300_000
MAX_POINTS = 11_000
TOO_MANY_POINTS = ("exceeded maximum resolution of 11,000 points per timeseries. "
                   "Try decreasing the query resolution (?step=XX)")


def ms(td: timedelta | None) -> int:
    if td is None:
        return 0
    return int(round(td / timedelta(milliseconds=1)))


@dataclass
class Result:
    """What a query returns: ``kind`` is Prometheus's resultType; ``series`` hold (labels, ts_ms, values)."""

    kind: str  # vector | matrix | scalar | string
    series: list[tuple[tuple[tuple[str, str], ...], np.ndarray, np.ndarray]]
    scalar: tuple[int, float | str] | None = None


# Prometheus 2.42's functions and aggregations: promql-parser knows newer ones (mad_over_time,
# limitk...), which 2.42 rejects as unknown, and lacks holt_winters (renamed in 3.0), registered here.
FUNCTIONS_242 = frozenset(["abs", "absent", "absent_over_time", "acos", "acosh", "asin", "asinh", "atan", "atanh", "avg_over_time", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "cos", "cosh", "count_over_time", "days_in_month", "day_of_month", "day_of_week", "day_of_year", "deg", "delta", "deriv", "exp", "floor", "histogram_count", "histogram_fraction", "histogram_quantile", "histogram_sum", "holt_winters", "hour", "idelta", "increase", "irate", "label_replace", "label_join", "last_over_time", "ln", "log10", "log2", "max_over_time", "min_over_time", "minute", "month", "pi", "predict_linear", "present_over_time", "quantile_over_time", "rad", "rate", "resets", "round", "scalar", "sgn", "sin", "sinh", "sort", "sort_desc", "sqrt", "stddev_over_time", "stdvar_over_time", "sum_over_time", "tan", "tanh", "time", "timestamp", "vector", "year"])
AGGREGATIONS_242 = frozenset(["sum", "avg", "count", "min", "max", "group", "stddev", "stdvar", "topk", "bottomk", "count_values", "quantile"])
_registered = False


def _register_242(pp: Any) -> None:
    global _registered
    if _registered:
        return
    vt = pp.ValueType
    try:
        pp.register_extra_functions([pp.Function("holt_winters", [vt.Matrix, vt.Scalar, vt.Scalar], vt.Vector)])
    except ValueError:  # already known (a newer parser, or registered by someone else)
        pass
    _registered = True


def _check_242(promql: str, node: Any) -> None:
    """Reject what Prometheus 2.42 does not know, with its parse error."""
    stack = [node]
    while stack:
        n = stack.pop()
        kind = type(n).__name__
        if kind == "Call":
            if n.func.name not in FUNCTIONS_242:
                col = promql.find(n.func.name + "(") + 1 or 1
                raise EvalError(f'1:{col}: parse error: unknown function with name "{n.func.name}"', "bad_data")
            stack.extend(n.args)
        elif kind == "AggregateExpr":
            if str(n.op) not in AGGREGATIONS_242:
                col = promql.find(str(n.op)) + 1 or 1
                raise EvalError(f'1:{col}: parse error: unknown function with name "{n.op}"', "bad_data")
            stack.append(n.expr)
        elif kind == "BinaryExpr":
            stack += [n.lhs, n.rhs]
        elif kind in ("ParenExpr", "UnaryExpr", "SubqueryExpr"):
            stack.append(n.expr)


def parse(promql: str) -> Any:
    from ..._deps import require

    pp = require("promql_parser", "engine")
    _register_242(pp)
    import re

    if re.search(r"@\s*-\s*[0-9.]", promql):  # the parser binding panics reading a negative @ time
        raise EvalError("the embedded engine does not support negative @ timestamps (before 1970)", "bad_data")
    if not promql.strip():
        raise EvalError("1:1: parse error: no expression found in input", "bad_data")
    try:
        node = pp.parse(promql)
    except BaseException as exc:  # the Rust binding raises ValueError, or a PanicException (BaseException)
        if isinstance(exc, (KeyboardInterrupt, SystemExit)):
            raise
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise EvalError(f"{_position(promql, msg)}: parse error: {_prometheus_wording(msg)}", "bad_data") from None
    _check_242(promql, node)
    return node


def _prometheus_wording(msg: str) -> str:
    """promql-parser's messages in Prometheus's words (quotes and documented type names)."""
    import re

    msg = re.sub(r"'([^']*)'(?=(,|$| ))", r'"\1"', msg) if "function" in msg else msg
    for ours, theirs in (("type matrix", "type range vector"), ("got vector", "got instant vector"),
                         ("type vector", "type instant vector"), ("got matrix", "got range vector")):
        msg = msg.replace(ours, theirs)
    return msg


def _position(text: str, msg: str) -> str:
    """Best-effort 'line:col' for a parse error (promql-parser does not report positions); matches
    Prometheus for end-of-input errors, stray ')' , unknown functions and argument type errors."""
    import re

    col = len(text) + 1
    if "unexpected right parenthesis" in msg:
        col = text.find(")") + 2 if ")" in text else col
    elif "unknown function" in msg:
        m = re.search(r"name ['\"]?([A-Za-z_:][\w:]*)", msg)
        if m and m.group(1) in text:
            col = text.find(m.group(1)) + 1
    elif "in call to function" in msg:
        m = re.search(r"function ['\"]?([A-Za-z_][\w]*)", msg)
        if m and m.group(1) + "(" in text:
            col = text.find(m.group(1) + "(") + len(m.group(1)) + 2
    line = text.count("\n", 0, max(col - 1, 0)) + 1
    return f"{line}:{col}"


class Engine:
    """Evaluates PromQL over a :class:`Store`."""

    def __init__(self, store: Store, *, lookback_ms: int = LOOKBACK_MS, default_subquery_step_ms: int = 60_000):
        self.store = store
        self.lookback_ms = lookback_ms
        self.default_subquery_step_ms = default_subquery_step_ms

    def instant(self, promql: str, t_ms: int) -> Result:
        node = parse(promql)
        ev = Evaluator(self, np.array([t_ms], dtype=np.int64), t_ms, t_ms)
        val = ev.eval(node)
        if isinstance(val, Ranges):
            return Result("matrix", _ranges_samples(val, 0))
        if isinstance(val, Scalar):
            return Result("scalar", [], (t_ms, float(val.vals[0])))
        if isinstance(val, Str):
            return Result("string", [], (t_ms, val.val))
        order = _instant_order(node, val)
        tarr = np.array([t_ms], dtype=np.int64)
        return Result("vector", [(val.labels[i], tarr, val.vals[i, :1]) for i in order])

    def range(self, promql: str, start_ms: int, end_ms: int, step_ms: int) -> Result:
        if step_ms <= 0:
            raise EvalError("zero or negative query resolution step widths are not accepted. "
                            "Try a positive integer", "bad_data")
        if end_ms < start_ms:
            raise EvalError("end timestamp must not be before start time", "bad_data")
        if (end_ms - start_ms) // step_ms > MAX_POINTS:
            raise EvalError(TOO_MANY_POINTS, "bad_data")
        node = parse(promql)
        kind = _static_type(node)
        if kind not in ("vector", "scalar"):
            raise EvalError(f'invalid expression type "{"range vector" if kind == "matrix" else kind}" '
                            "for range query, must be Scalar or instant Vector", "bad_data")
        times = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        val = Evaluator(self, times, start_ms, end_ms).eval(node)
        if isinstance(val, Scalar):
            return Result("matrix", [((), times, val.vals.copy())])
        out = []
        for i in sorted(range(len(val)), key=lambda j: val.labels[j]):
            m = val.mask[i]
            if m.any():
                out.append((val.labels[i], times[m], val.vals[i][m]))
        return Result("matrix", out)


def _static_type(node: Any) -> str:
    name = type(node).__name__
    if name in ("MatrixSelector", "SubqueryExpr"):
        return "matrix"
    if name == "StringLiteral":
        return "string"
    if name == "NumberLiteral":
        return "scalar"
    if name in ("ParenExpr",):
        return _static_type(node.expr)
    if name == "UnaryExpr":
        return _static_type(node.expr)
    if name == "Call":
        return {"Matrix": "matrix", "Scalar": "scalar", "String": "string"}.get(
            str(node.func.return_type).rsplit(".", 1)[-1], "vector")
    if name == "BinaryExpr":
        kinds = {_static_type(node.lhs), _static_type(node.rhs)}
        return "scalar" if kinds == {"scalar"} else "vector"
    return "vector"


def _instant_order(node: Any, val: Vec) -> list[int]:
    while type(node).__name__ == "ParenExpr":
        node = node.expr
    present = [i for i in range(len(val)) if val.mask[i, 0]]
    if type(node).__name__ == "Call" and node.func.name in ("sort", "sort_desc"):
        desc = node.func.name == "sort_desc"
        # Prometheus 2.42 puts NaN last in both directions (it reverses a NaN-first sort)
        return sorted(present, key=lambda i: (bool(np.isnan(val.vals[i, 0])),
                                              -val.vals[i, 0] if desc else val.vals[i, 0]))
    return sorted(present, key=lambda i: val.labels[i])


def _ranges_samples(r: Ranges, step: int) -> list:
    out = []
    lo_hi = r.bounds()
    for i in sorted(range(len(r.labels)), key=lambda j: r.labels[j]):
        lo, hi = lo_hi[i][0][step], lo_hi[i][1][step]
        if hi > lo:
            out.append((r.labels[i], r.ts[i][lo:hi], r.vals[i][lo:hi]))
    return out


class Evaluator:
    """Evaluates AST nodes at the step timestamps ``times`` (int64 ms) of one query."""

    def __init__(self, engine: Engine, times: np.ndarray, start_ms: int, end_ms: int) -> None:
        self.engine = engine
        self.store = engine.store
        self.times = times
        self.start_ms = start_ms
        self.end_ms = end_ms
        # Prometheus 2.42 quirk: an @ selector directly under predict_linear (an "@-unsafe" function
        # with a range argument) slides with the step: its reference is @ + (t - query start).
        self.at_slides = False

    @property
    def n(self) -> int:
        return len(self.times)

    def child(self, times: np.ndarray) -> Evaluator:
        return Evaluator(self.engine, times, self.start_ms, self.end_ms)

    def eval_sliding_at(self, node: Any) -> Any:
        """Evaluate a range argument of predict_linear with Prometheus's sliding-@ behaviour."""
        self.at_slides = True
        try:
            return self.eval(node)
        finally:
            self.at_slides = False

    def eval(self, node: Any) -> Vec | Scalar | Str | Ranges:
        kind = type(node).__name__
        method = getattr(self, f"_eval_{kind}", None)
        if method is None:
            raise EvalError(f"the embedded engine does not support {kind} expressions yet", "bad_data")
        return method(node)

    # ---- leaves -------------------------------------------------------------------------------
    def _eval_NumberLiteral(self, node: Any) -> Scalar:
        return Scalar(np.full(self.n, float(node.val)))

    def _eval_StringLiteral(self, node: Any) -> Str:
        return Str(node.val)

    def _eval_ParenExpr(self, node: Any) -> Any:
        return self.eval(node.expr)

    def _eval_UnaryExpr(self, node: Any) -> Any:
        val = self.eval(node.expr)
        if isinstance(val, Scalar):
            return Scalar(-val.vals)
        if isinstance(val, Vec):
            from .values import dedupe, drop_name

            return dedupe(Vec([drop_name(lab) for lab in val.labels], -val.vals, val.mask.copy()))
        raise EvalError("unary minus applies to scalars and instant vectors only", "bad_data")

    # ---- selectors ----------------------------------------------------------------------------
    def matchers(self, vs: Any) -> list[tuple[str, str, str]]:
        ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
        ms_ = vs.matchers
        if ms_.or_matchers:
            raise EvalError("the embedded engine does not support 'or' inside label matchers", "bad_data")
        out = [(NAME, "=", vs.name)] if vs.name else []
        for m in ms_.matchers:
            out.append((m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value))
        return out

    def ref_times(self, node: Any, times: np.ndarray | None = None) -> np.ndarray:
        """The reference times of a selector or subquery: ``@`` (if any) or the step time, minus offset."""
        times = self.times if times is None else times
        off = ms(node.offset)
        at = node.at
        if at is None:
            return times - off
        kind = str(at.type).rsplit(".", 1)[-1]
        if kind == "Start":
            t = self.start_ms
        elif kind == "End":
            t = self.end_ms
        else:
            try:
                t = int(round(at.at.timestamp() * 1000))
            except BaseException as exc:  # the binding panics on negative @ timestamps
                if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                    raise
                raise EvalError("the embedded engine does not support negative @ timestamps", "bad_data") from None
        if self.at_slides:
            return (t - off) + (times - self.start_ms)
        return np.full(len(times), t - off, dtype=np.int64)

    def _eval_VectorSelector(self, node: Any, *, keep_ts: bool = False) -> Vec:
        ids = self.store.select(self.matchers(node))
        ref = self.ref_times(node)
        lb = self.engine.lookback_ms
        labels, vals, masks, tss = [], [], [], []
        if len(ref) == 1:  # instant queries: scalar lookups, no per-series array temporaries
            r = int(ref[0])
            for i in ids:
                t = self.store.ts[i]
                k = int(t.searchsorted(r, "right")) - 1
                if k < 0 or t[k] < r - lb:
                    continue
                x = self.store.vals[i][k]
                if x != x and is_stale(np.array([x]))[0]:
                    continue
                labels.append(self.store.labels[i])
                vals.append(x)
                tss.append(t[k])
            if not labels:
                return Vec.empty(1)
            return Vec(labels, np.array(vals, dtype=np.float64)[:, None], np.ones((len(labels), 1), dtype=bool),
                       np.array(tss, dtype=np.int64)[:, None] if keep_ts else None)
        for i in ids:
            t, v = self.store.ts[i], self.store.vals[i]
            if not len(t):
                continue
            idx = np.searchsorted(t, ref, "right") - 1
            ok = idx >= 0
            j = np.where(ok, idx, 0)
            st = t[j]
            ok &= st >= ref - lb
            x = v[j]
            ok &= ~is_stale(x)
            if not ok.any():
                continue
            labels.append(self.store.labels[i])
            vals.append(x)
            masks.append(ok)
            tss.append(st)
        if not labels:
            return Vec.empty(self.n)
        return Vec(labels, np.stack(vals), np.stack(masks), np.stack(tss) if keep_ts else None)

    def _eval_MatrixSelector(self, node: Any) -> Ranges:
        vs = node.vector_selector
        ids = self.store.select(self.matchers(vs))
        rng = ms(node.range)
        ts = [self.store.range_ts[i] for i in ids]
        vals = [self.store.range_vals[i] for i in ids]
        ends = self.ref_times(vs)
        if self.at_slides and vs.at is not None:
            # the sliding window only sees the samples Prometheus loaded for the pinned window
            static = int(ends[0] - (self.times[0] - self.start_ms))
            cut = [(np.searchsorted(t, static - rng, "left"), np.searchsorted(t, static, "right")) for t in ts]
            ts = [t[a:b] for t, (a, b) in zip(ts, cut)]
            vals = [v[a:b] for v, (a, b) in zip(vals, cut)]
        return Ranges([self.store.labels[i] for i in ids], ts, vals, ends, rng)

    def _eval_SubqueryExpr(self, node: Any) -> Ranges:
        if self.at_slides and node.at is not None and self.n > 1:
            raise EvalError("the embedded engine does not support predict_linear over a subquery with @ "
                            "in range queries", "bad_data")
        step = ms(node.step) or self.engine.default_subquery_step_ms
        rng = ms(node.range)
        ref = self.ref_times(node)
        lo, hi = int(ref.min()) - rng, int(ref.max())
        first = -(-lo // step) * step  # first multiple of step >= lo
        inner_times = np.arange(first, hi + 1, step, dtype=np.int64)
        if len(inner_times) == 0:
            return Ranges([], [], [], ref, rng)
        inner = self.child(inner_times).eval(node.expr)
        if isinstance(inner, Scalar):
            raise EvalError("subqueries over scalars are not supported by the embedded engine", "bad_data")
        if not isinstance(inner, Vec):
            raise EvalError("subquery is only allowed on instant vector", "bad_data")
        ts = [inner_times[m] for m in inner.mask]
        vals = [inner.vals[i][m] for i, m in enumerate(inner.mask)]
        return Ranges(list(inner.labels), ts, vals, ref, rng)

    # ---- compound nodes -----------------------------------------------------------------------
    def _eval_Call(self, node: Any) -> Any:
        from .functions import call

        return call(self, node)

    def _eval_AggregateExpr(self, node: Any) -> Vec:
        from .aggregations import aggregate

        return aggregate(self, node)

    def _eval_BinaryExpr(self, node: Any) -> Any:
        from .binops import binary

        return binary(self, node)

    def _eval_StepInvariantExpr(self, node: Any) -> Any:  # pragma: no cover - not produced by promql-parser
        return self.eval(node.expr)
