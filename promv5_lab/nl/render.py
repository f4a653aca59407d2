"""QueryPlan -> PromQL, as a pure function (no backend, no catalogue, no clock)."""

from __future__ import annotations

from ..types import LabelMatcher, QueryPlan

__all__ = ["render", "render_duration", "render_selector"]

_UNITS = (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))


def render_duration(seconds: float) -> str:
    """Seconds -> the shortest exact Prometheus duration (``300`` -> ``5m``, ``5400`` -> ``1h30m``)."""
    ms = round(seconds * 1000)
    if ms <= 0:
        raise ValueError(f"duration must be positive, got {seconds!r}")
    if ms % 1000:
        return f"{ms}ms"
    secs, out = ms // 1000, ""
    for unit, size in _UNITS:
        if secs >= size:
            n, secs = divmod(secs, size)
            out += f"{n}{unit}"
    return out


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def render_selector(metric: str, matchers: tuple[LabelMatcher, ...] = (), offset_s: float | None = None,
                    window_s: float | None = None) -> str:
    """``metric{label="value",...}[window] offset 1w`` with matchers sorted for a stable text."""
    inner = ",".join(f"{m.label}{m.op}{_quote(m.value)}" for m in sorted(matchers, key=lambda m: (m.label, m.op)))
    sel = f"{metric}{{{inner}}}" if inner else metric
    if window_s:
        sel += f"[{render_duration(window_s)}]"
    return f"{sel} offset {render_duration(offset_s)}" if offset_s else sel


def _agg(op: str, by: tuple[str, ...], expr: str) -> str:
    return f"{op} by ({', '.join(by)}) ({expr})" if by else f"{op}({expr})"


def _fmt(v: float) -> str:
    return repr(float(v)) if v != int(v) or abs(v) >= 1e15 else str(int(v))


def _side(plan: QueryPlan, metric: str, matchers: tuple[LabelMatcher, ...], offset_s: float | None) -> str:
    """One side of the plan: selector -> transform -> aggregation (no ratio/topk/comparison)."""
    w = plan.window_s
    if plan.transform == "quantile":
        q = 0.95 if plan.quantile is None else plan.quantile
        if plan.metric_type == "summary":
            sel = render_selector(metric, (*matchers, LabelMatcher("quantile", "=", _fmt(q))), offset_s)
            return _agg(plan.aggregation or "max", plan.by, sel) if plan.by or plan.aggregation else sel
        inner = f"rate({render_selector(metric + '_bucket', matchers, offset_s, w)})"
        return f"histogram_quantile({_fmt(q)}, {_agg('sum', ('le', *plan.by), inner)})"
    if plan.transform == "mean":
        s = f"rate({render_selector(metric + '_sum', matchers, offset_s, w)})"
        c = f"rate({render_selector(metric + '_count', matchers, offset_s, w)})"
        return f"{_agg('sum', plan.by, s)} / {_agg('sum', plan.by, c)}"
    if plan.transform in ("rate", "increase"):
        sel = f"{plan.transform}({render_selector(metric, matchers, offset_s, w)})"
    else:
        sel = render_selector(metric, matchers, offset_s)
    if plan.aggregation:
        return _agg(plan.aggregation, plan.by, sel)
    return sel


def _value(plan: QueryPlan, offset_s: float | None) -> str:
    if plan.ratio is None:
        return _side(plan, plan.metric, plan.matchers, offset_s)
    r = plan.ratio
    num = _side(plan, plan.metric, (*plan.matchers, *r.numerator_matchers), offset_s)
    den = _side(plan, r.denominator_metric or plan.metric, (*plan.matchers, *r.denominator_matchers), offset_s)
    if r.denominator_plus:
        den = f"({num} + {_side(plan, r.denominator_plus, plan.matchers, offset_s)})"
    if plan.transform == "mean":
        num, den = f"({num})", f"({den})"
    expr = f"{num} / {den}"
    return f"1 - {expr}" if r.complement else expr


def _group(expr: str) -> str:
    """``expr`` in parentheses when it is a binary expression (one more operator must not bind into it)."""
    return f"({expr})" if any(op in expr for op in (" / ", " - ", " + ", " * ")) else expr


def render(plan: QueryPlan) -> str:
    """The PromQL for ``plan``. Pure: same plan, same text.

    A ``count`` aggregation with a comparison counts the series that pass it (``count(up == 0)``: how many
    targets are down); every other comparison filters the final value."""
    if plan.aggregation == "count" and plan.comparison is not None and plan.ratio is None \
            and plan.transform == "value" and not plan.compare_offset_s and plan.timestamp is None \
            and plan.scale == 1.0:
        sel = render_selector(plan.metric, plan.matchers, plan.offset_s)
        return _agg("count", plan.by, f"{sel} {plan.comparison.op} {_fmt(plan.comparison.value)}")
    expr = _value(plan, plan.offset_s)
    if plan.compare_offset_s:
        base = _value(plan, (plan.offset_s or 0) + plan.compare_offset_s)
        expr = f"({expr}) - ({base})"
    if plan.timestamp == "until":  # a Unix time: the seconds from now until it
        expr = f"{_group(expr)} - time()"
    elif plan.timestamp == "since":
        expr = f"time() - {_group(expr)}"
    if plan.scale != 1.0:  # a unit change reads better as a division ("/ 1000000000" for GB, "/ 60000" ms -> min)
        inv = round(1.0 / plan.scale)
        nice = plan.scale < 1 and abs(1.0 / plan.scale - inv) < 1e-6 * inv and (
            inv & (inv - 1) == 0 or inv % 60 == 0 or str(inv).rstrip("0") == "1")
        expr = f"{_group(expr)} / {inv}" if nice else f"{_group(expr)} * {_fmt(plan.scale)}"
    if plan.topk:
        expr = f"topk({plan.topk}, {expr})"
    elif plan.bottomk:
        expr = f"bottomk({plan.bottomk}, {expr})"
    if plan.comparison is not None:
        lhs = f"({expr})" if any(op in expr for op in (" / ", " - ", " * ")) and not expr.startswith(("topk", "bottomk")) \
            else expr
        expr = f"{lhs} {plan.comparison.op} {_fmt(plan.comparison.value)}"
    return expr
