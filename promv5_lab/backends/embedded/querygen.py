"""Generate a broad PromQL query set from a metric catalogue, for differential tests and benchmarks.

Every function, aggregation, operator and modifier the engine claims is exercised over the metrics
that exist, with several range widths, offsets, ``@`` and subqueries. Deterministic for a catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Catalogue:
    counters: Sequence[str]  # *_total series names
    gauges: Sequence[str]
    histograms: Sequence[str]  # base names with _bucket/_sum/_count
    labels: Mapping[str, Sequence[str]]  # metric -> label names (no __name__, no le)
    values: Mapping[str, Sequence[str]]  # label -> some values


def queries(cat: Catalogue, at_ms: int | None = None) -> list[str]:
    """A deterministic list of PromQL strings covering the engine's surface."""
    q: list[str] = []
    windows = ("1m", "5m", "15m", "1h")
    for i, c in enumerate(cat.counters):
        w = windows[i % len(windows)]
        lab = cat.labels[c][0] if cat.labels[c] else "job"
        q += [f"rate({c}[{w}])", f"increase({c}[5m])", f"irate({c}[5m])", f"resets({c}[1h])",
              f"sum by ({lab}) (rate({c}[5m]))", f"rate({c}[5m] offset 10m)", f"delta({c}[10m])",
              f"sum without ({lab}) (increase({c}[1h]))", f"{c}", f"idelta({c}[2m])"]
    for i, g in enumerate(cat.gauges):
        w = windows[(i + 1) % len(windows)]
        lab = cat.labels[g][0] if cat.labels[g] else "instance"
        q += [f"{g}", f"avg_over_time({g}[{w}])", f"min_over_time({g}[10m])", f"max_over_time({g}[10m])",
              f"sum_over_time({g}[5m])", f"count_over_time({g}[{w}])", f"last_over_time({g}[5m])",
              f"present_over_time({g}[5m])", f"stddev_over_time({g}[30m])", f"stdvar_over_time({g}[30m])",
              f"quantile_over_time(0.9, {g}[15m])", f"quantile_over_time(0.25, {g}[1h])",
              f"changes({g}[15m])", f"deriv({g}[10m])", f"predict_linear({g}[30m], 3600)",
              f"delta({g}[15m])", f"idelta({g}[5m])", f"abs({g})", f"sgn({g})", f"round({g}, 0.5)",
              f"clamp({g}, 0.2, 0.6)", f"clamp_min({g}, 1)", f"clamp_max({g}, 0.5)", f"timestamp({g})",
              f"{g} offset 5m", f"avg by ({lab}) ({g})", f"max without ({lab}) ({g})",
              f"stddev({g})", f"stdvar by ({lab}) ({g})", f"quantile(0.75, {g})", f"topk(2, {g})",
              f"bottomk(1, {g})", f"count({g})", f"group by ({lab}) ({g})", f"min({g})",
              f"-{g}", f"{g} * 2 + 1", f"{g} > 0.5", f"{g} < bool 0.3", f"2 ^ {g}", f"{g} % 3",
              f"exp({g} / 1e9)", f"ln({g})", f"log2({g})", f"log10({g})", f"sqrt({g})", f"ceil({g})",
              f"floor({g})", f"max_over_time({g}[30m:1m])", f"avg_over_time(rate({g}[5m])[30m:5m])",
              f"absent_over_time({g}[1m])", f"{g} @ end()", f"avg_over_time({g}[10m] @ start())"]
    for h in cat.histograms:
        lab = cat.labels[h + "_bucket"][0]
        q += [f'histogram_quantile(0.5, {h}_bucket{{le!="+Inf"}})', f"histogram_quantile(0.75, {h}_bucket * 0)",
              f'histogram_quantile(0.5, {h}_bucket{{le=~"0.1|\\\\+Inf"}})']
        q += [f"histogram_quantile(0.9, sum by (le) (rate({h}_bucket[5m])))",
              f"histogram_quantile(0.5, sum by (le, {lab}) (rate({h}_bucket[10m])))",
              f"histogram_quantile(0.99, rate({h}_bucket[1h]))",
              f"histogram_quantile(0, {h}_bucket)", f"histogram_quantile(1.5, {h}_bucket)",
              f"rate({h}_sum[5m]) / rate({h}_count[5m])",
              f"sum by ({lab}) (rate({h}_sum[5m])) / sum by ({lab}) (rate({h}_count[5m]))",
              f"count_values(\"le\", {h}_bucket)", f"{h}_count > bool 1000"]
    q += _cross(cat)
    q += _edges(cat, at_ms)
    if at_ms is not None:
        secs = at_ms / 1000
        for m in list(cat.gauges)[:2] + list(cat.counters)[:2]:
            q += [f"{m} @ {secs:.3f}", f"sum_over_time({m}[10m] @ {secs:.3f})"]
    return list(dict.fromkeys(q))


def _cross(cat: Catalogue) -> list[str]:
    q: list[str] = []
    cs, gs = list(cat.counters), list(cat.gauges)
    c0 = max(cs, key=lambda c: (len(cat.labels[c]), c)) if cs else gs[0]
    g0, g1 = gs[0], gs[min(1, len(gs) - 1)]
    lab = cat.labels[c0][0] if cat.labels[c0] else "job"
    vals = list(cat.values.get(lab, ["x"]))
    v0 = vals[0]
    q += [
        "time()", "vector(1)", "vector(time())", "pi()", "scalar(sum(rate(%s[5m])))" % c0, "1 + 2 * 3",
        "2 > bool 1", "hour()", "minute()", "day_of_week()", "day_of_month()", "day_of_year()",
        "days_in_month()", "month()", "year()", "hour(timestamp(%s))" % g0,
        f"absent({c0})", 'absent(nonexistent_metric{job="x",a=~"b"})', f"absent(sum({c0}))",
        'absent_over_time(nonexistent{job="y"}[5m])',
        f'{c0}{{{lab}="{v0}"}}', f'{c0}{{{lab}!="{v0}"}}', f'{c0}{{{lab}=~"{v0[:2]}.*"}}',
        f'{c0}{{{lab}!~"{v0}|zzz"}}', f'{{__name__=~"{c0[:4]}.*"}}', 'count by (__name__) ({__name__=~".+"})',
        f'rate({{__name__="{c0}", {lab}=~".+"}}[5m])',
        f"sort(sum by ({lab}) (rate({c0}[5m])))", f"sort_desc(sum by ({lab}) (rate({c0}[5m])))",
        f"topk(3, rate({c0}[5m]))", f"bottomk(2, sum by ({lab}) (rate({c0}[5m])))",
        f"topk by ({lab}) (1, rate({c0}[5m]))", f"quantile by ({lab}) (0.5, rate({c0}[5m]))",
        f"count_values(\"value\", round(rate({c0}[5m])))", f"count without ({lab}) ({c0})",
        f'label_replace({c0}, "short", "$1", "{lab}", "(..).*")',
        f'label_replace(rate({c0}[5m]), "{lab}", "x-${{1}}", "{lab}", "(.*)")',
        f'label_replace({c0}, "nomatch", "$1", "{lab}", "zzz(.*)")',
        f'label_join({c0}, "combo", "/", "{lab}", "__name__")',
        f"rate({c0}[5m]) * on () group_left scalar(count({g0}))",
        f"{g0} + {g1}", f"{g0} + ignoring(job) {g1}", f"{g0} / on(instance) group_left {g1}",
        f"sum by ({lab}) (rate({c0}[5m])) / on ({lab}) group_right sum by ({lab}, instance) (rate({c0}[5m]))"
        if "instance" in cat.labels[c0] else f"sum(rate({c0}[5m]))",
        f"sum by ({lab}, instance) (rate({c0}[5m])) / on ({lab}) group_left sum by ({lab}) (rate({c0}[5m]))"
        if "instance" in cat.labels[c0] else f"avg(rate({c0}[5m]))",
        f"rate({c0}[5m]) > on(instance, {lab}, code) group_left rate({c0}[5m] offset 1h)"
        if "code" in cat.labels[c0] else f"max(rate({c0}[5m]))",
        f"{c0} and {c0}{{{lab}=\"{v0}\"}}", f"{c0} unless {c0}{{{lab}=\"{v0}\"}}",
        f"{c0}{{{lab}=\"{v0}\"}} or {g0}", f"{g0} and on(instance) {g1}", f"{g0} or on(instance) {g1}",
        f"{g0} unless ignoring(job) {g1}", f"rate({c0}[5m]) == bool rate({c0}[5m])",
        f"{g0} >= {g1}", f"{g0} != bool {g1}", f"atan2({g0}, {g1})" if False else f"{g0} atan2 {g1}",
        f"sum(rate({c0}[5m])) by ({lab})", f"max_over_time(sum by ({lab}) (rate({c0}[5m]))[1h:5m])",
        f"min_over_time(rate({c0}[1m])[20m:30s] offset 5m)", f"rate({c0}[5m:1m])",
        f"sum(rate({c0}[5m])) - sum(rate({c0}[5m] offset 30m))",
        f"deriv(sum(rate({c0}[5m]))[30m:1m])", f"changes(sum({g0})[30m:2m])",
        f"{g0} @ start()", f"rate({c0}[5m] @ end())", f"group({c0}) by ({lab})",
        f"avg(avg_over_time({g0}[5m])) without (instance)", f"stddev by ({lab}) (rate({c0}[5m]))",
        f"sum by ({lab}) ({c0} offset 1h)", f"increase({c0}[1h] offset -10m)" ,
        f"clamp({g0}, 10, 1)", f"{g0} / 0", f"-{g0} / 0", f"0 / ({g0} - {g0})",
        f"vector(1) + on() group_left {g0}" if False else f"{g0} + on() group_left vector(1)",
    ]
    return q


def _edges(cat: Catalogue, at_ms: int | None) -> list[str]:
    """Corners where engines differ: @ with step-dependent functions, odd subquery steps, NaN/Inf."""
    c0 = max(cat.counters, key=lambda c: (len(cat.labels[c]), c)) if cat.counters else list(cat.gauges)[0]
    g0 = list(cat.gauges)[0]
    lab = cat.labels[c0][0] if cat.labels[c0] else "job"
    at = f"{at_ms / 1000:.3f}" if at_ms is not None else "end()"
    other = next((x for x in cat.labels[c0] if x != lab), "nonexistent")
    q = [
        f"predict_linear({g0}[10m] @ {at}, 600)", f"timestamp({g0} @ {at})", f"time() - timestamp({g0})",
        f"max_over_time({g0}[10m:1m] @ {at})", f"max_over_time(rate({c0}[5m])[30m:5m] offset 1h)",
        f"avg_over_time({g0}[7m:45s])", f"sum_over_time(rate({c0}[2m])[13m:17s])", f"rate({c0}[1m])",
        f"irate({c0}[1m])", f"absent({g0} == -12345)", f"topk(scalar(count({g0})) - 1, {g0})",
        f"sort_desc({g0} / 0)", f"sort({g0} - {g0} + 0 / 0)", f"{g0} > bool on(instance) group_left {g0}"
        if "instance" in cat.labels[g0] else f"{g0} > bool {g0}",
        f"{g0} offset 1h @ start()", f"sum({g0}) without ()", f"sum by () ({g0})",
        "stddev_over_time(vector(1)[10m:1m])", "deriv(vector(3)[10m:1m])", f"exp({g0} * 1000)",
        f"-{g0} % 0", f"ln({g0} * 0)", f"vector(1) and on() {g0}", f"{g0} or vector(0)",
        f"scalar({g0}) * {g0}", f"round(-{g0} / 7)", "round(vector(-2.5))", "round(vector(2.5))",
        f"count_values(\"x\", {g0} / 3)", f"quantile(-0.5, {g0})", f"quantile(2, {g0})",
        f"quantile_over_time(1.5, {g0}[5m])", "histogram_quantile(0.5, vector(1))",
        f"label_replace({g0}, \"dst\", \"$name\", \"{lab}\", \"(?P<name>.+)\")",
        f"label_replace({g0}, \"dst\", \"$1x\", \"{lab}\", \"(.+)\")",
        f"count({c0}) by (__name__)",
        f"changes({g0}[1h]) > 2", f"resets({c0}[2h])", f"increase({c0}[90s])",
        f"clamp_min({g0}, scalar(min({g0})))", f"{g0} == bool scalar(max({g0}))",
        f"minute({g0})", "days_in_month(vector(1706745600))", "day_of_week(vector(-86400))",
        "year(vector(4102444800))", f"{c0} unless on({lab}) {c0}", f"{c0} / on({lab}) group_left sum by ({lab}) ({c0})",
        f"max by ({lab}) ({c0}) / ignoring(nonexistent) group_left max by ({lab}) ({c0})",
        f"sum by ({lab}) ({c0}) * on({lab}) group_right {c0}", f"{g0} <= 0.5", f"{g0} <= bool {g0}",
        f"deg({g0})", f"rad({g0})", f"sin({g0})", f"cos({g0})", f"tan({g0})", f"asin(clamp({g0}, -1, 1))",
        f"acos(clamp({g0}, -1, 1))", f"atan({g0})", f"sinh(clamp({g0}, -5, 5))", f"cosh(clamp({g0}, -5, 5))",
        f"tanh({g0})", f"asinh({g0})", f"acosh({g0} + 1)", f"atanh(clamp({g0}, -0.5, 0.5))",
        f"holt_winters({g0}[10m], 0.5, 0.3)", f"holt_winters(rate({c0}[5m])[1h:2m], 0.1, 0.9)",
        f"histogram_count({g0})", f"histogram_sum({g0})", f"histogram_fraction(0, 1, {g0})",
        f"max_over_time(max_over_time(rate({c0}[5m])[20m:2m])[1h:10m])", f"avg_over_time({g0}[30m:1m] @ end())",
        f"sum_over_time(({g0} @ start())[20m:3m])", f"rate({c0}[5m] @ start() offset 10m)",
        f"{c0} * on({lab}) group_left({other}) topk by ({lab}) (1, {c0})",
        f"{g0} or on() vector(0)", f"{g0} and ignoring(instance) {g0}", f"sort({g0} / 0)",
        f"count_values by ({lab}) (\"v\", {c0} > 0)", f"count_values without (instance) (\"v\", ceil({g0}))",
        f"timestamp(sum({g0}))", f"timestamp(rate({c0}[5m]))", f"absent_over_time({g0}{{{lab}=\"zz\"}}[10m])",
    ]
    return q


def instant_only(cat: Catalogue) -> list[str]:
    """Queries whose range results are not deterministic in Prometheus itself: topk/bottomk ties over a
    computed input follow Go map order across steps (instant queries keep the input order)."""
    g0 = list(cat.gauges)[0]
    return [f"bottomk(2, {g0} * 0)", f"topk(1, -{g0} / 0)", f"topk(3, {g0} > bool 0)", f"topk(2, {g0} - {g0} + 0 / 0)",
            f"bottomk(1, ({g0} > 0.5) / 0)"]


def catalogue_from_store(store) -> Catalogue:
    """Build a catalogue from an embedded :class:`Store` (TYPE metadata decides counters/histograms)."""
    names = store.metric_names()
    typ = {m.name: m.type for m in store.metadata.values()}
    counters, gauges, hists = [], [], []
    for n in names:
        base = n.removesuffix("_total")
        if n.endswith("_total") and typ.get(base) == "counter":
            counters.append(n)
        elif n.endswith("_bucket") and typ.get(n[:-7]) == "histogram":
            hists.append(n[:-7])
        elif typ.get(n) == "gauge":
            gauges.append(n)
    labels = {}
    for n in names:
        ids = store.select([("__name__", "=", n)])
        labels[n] = [x for x in store.label_names(ids) if x not in ("__name__", "le")]
    values = {k: store.label_values(k)[:3] for k in store.label_names() if k != "__name__"}
    return Catalogue(counters, gauges, hists, labels, values)


def features(promql: str) -> set[str]:
    """What a query exercises: 'fn:rate', 'agg:sum', 'op:+', 'mod:offset', 'mod:@', 'mod:subquery'..."""
    from .evaluator import parse

    out: set[str] = set()

    def walk(n) -> None:
        kind = type(n).__name__
        if kind == "Call":
            out.add(f"fn:{n.func.name}")
            for a in n.args:
                walk(a)
        elif kind == "AggregateExpr":
            out.add(f"agg:{n.op}")
            if n.modifier is not None:
                out.add("mod:without" if str(n.modifier.type).endswith("Without") else "mod:by")
            walk(n.expr)
            if n.param is not None:
                walk(n.param)
        elif kind == "BinaryExpr":
            out.add(f"op:{n.op}")
            m = n.modifier
            if m is not None:
                if m.return_bool:
                    out.add("mod:bool")
                if m.matching is not None:
                    out.add("mod:on" if str(m.matching.type).endswith("Include") else "mod:ignoring")
                card = str(m.card).rsplit(".", 1)[-1]
                if card == "ManyToOne":
                    out.add("mod:group_left")
                elif card == "OneToMany":
                    out.add("mod:group_right")
            walk(n.lhs)
            walk(n.rhs)
        elif kind in ("ParenExpr", "UnaryExpr"):
            if kind == "UnaryExpr":
                out.add("op:unary-")
            walk(n.expr)
        elif kind == "SubqueryExpr":
            out.add("mod:subquery")
            _mods(n)
            walk(n.expr)
        elif kind == "MatrixSelector":
            out.add("sel:range")
            _mods(n.vector_selector)
        elif kind == "VectorSelector":
            out.add("sel:instant")
            _mods(n)

    def _mods(n) -> None:
        if n.offset is not None and n.offset.total_seconds() != 0:
            out.add("mod:offset")
        if n.at is not None:
            out.add("mod:@")

    walk(parse(promql))
    return out
