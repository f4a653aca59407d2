import pytest

from promv5_lab.nl.render import render, render_duration
from promv5_lab.types import Comparison, LabelMatcher, QueryPlan, Ratio

M = LabelMatcher


@pytest.mark.parametrize("secs,text", [(300, "5m"), (5400, "1h30m"), (86400, "1d"), (604800, "1w"), (0.25, "250ms")])
def test_render_duration(secs, text):
    assert render_duration(secs) == text


@pytest.mark.parametrize("plan,promql", [
    (QueryPlan("up"), "up"),
    (QueryPlan("up", comparison=Comparison("==", 0)), "up == 0"),
    (QueryPlan("x_total", "counter", "rate", (M("svc", "=", "a"),), aggregation="sum"), 'sum(rate(x_total{svc="a"}[5m]))'),
    (QueryPlan("x_total", "counter", "increase", window_s=3600, aggregation="sum", by=("svc",)),
     "sum by (svc) (increase(x_total[1h]))"),
    (QueryPlan("lat", "histogram", "quantile", quantile=0.99, by=("route",)),
     "histogram_quantile(0.99, sum by (le, route) (rate(lat_bucket[5m])))"),
    (QueryPlan("lat", "histogram", "mean"), "sum(rate(lat_sum[5m])) / sum(rate(lat_count[5m]))"),
    (QueryPlan("lat", "summary", "quantile", quantile=0.5), 'lat{quantile="0.5"}'),
    (QueryPlan("r_total", "counter", "rate", aggregation="sum", ratio=Ratio((M("code", "=~", "5.."),))),
     'sum(rate(r_total{code=~"5.."}[5m])) / sum(rate(r_total[5m]))'),
    (QueryPlan("free", "gauge", ratio=Ratio(denominator_metric="size", complement=True), comparison=Comparison(">", 0.8)),
     "(1 - free / size) > 0.8"),
    (QueryPlan("h_total", "counter", "rate", aggregation="sum", ratio=Ratio(denominator_plus="m_total")),
     "sum(rate(h_total[5m])) / (sum(rate(h_total[5m])) + sum(rate(m_total[5m])))"),
    (QueryPlan("x_total", "counter", "rate", aggregation="sum", by=("route",), topk=3),
     "topk(3, sum by (route) (rate(x_total[5m])))"),
    (QueryPlan("x_total", "counter", "rate", aggregation="sum", compare_offset_s=86400),
     "(sum(rate(x_total[5m]))) - (sum(rate(x_total[5m] offset 1d)))"),
    (QueryPlan("g", matchers=(M("path", "=", 'a"b\\c'),)), 'g{path="a\\"b\\\\c"}'),
])
def test_render(plan, promql):
    assert render(plan) == promql


def test_render_is_parseable_promql():
    import promql_parser

    plan = QueryPlan("r_total", "counter", "rate", (M("svc", "=", "x"),), aggregation="sum", by=("route",),
                     ratio=Ratio((M("code", "=~", "5.."),)), topk=2, comparison=Comparison(">", 0.05),
                     compare_offset_s=604800)
    promql_parser.parse(render(plan))


def test_plan_validates():
    from promv5_lab.errors import InputError

    with pytest.raises(InputError):
        QueryPlan("x", confidence=1.5)
    with pytest.raises(InputError):
        QueryPlan("x", kind="range")
