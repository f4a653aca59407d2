"""The evaluator on tiny hand-made series; expected values computed by hand from Prometheus 2.42's rules."""

from __future__ import annotations

import math

import pytest

from promv5_lab.backends.embedded.evaluator import Engine
from promv5_lab.backends.embedded.storage import Store
from promv5_lab.backends.embedded.values import EvalError

# times in seconds; OpenMetrics timestamps are seconds
OM = """# TYPE c counter
c_total{job="a"} 0 0
c_total{job="a"} 10 10
c_total{job="a"} 20 20
c_total{job="a"} 30 30
c_total{job="a"} 40 40
c_total{job="a"} 50 50
c_total{job="a"} 60 60
# TYPE d counter
d_total{job="a"} 5 100
d_total{job="a"} 6 110
# TYPE r counter
r_total{job="b"} 10 0
r_total{job="b"} 20 10
r_total{job="b"} 5 20
r_total{job="b"} 15 30
# TYPE g gauge
g{job="a",inst="1"} 1 0
g{job="a",inst="1"} 4 10
g{job="a",inst="1"} 2 20
g{job="b",inst="1"} 3 0
g{job="b",inst="1"} 3 10
g{job="b",inst="1"} 6 20
# TYPE h histogram
h_bucket{le="1"} 10 20
h_bucket{le="2"} 20 20
h_bucket{le="+Inf"} 20 20
# EOF
"""


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine(Store.from_text(OM))


def one(engine: Engine, q: str, t: float) -> dict:
    r = engine.instant(q, int(round(t * 1000)))
    if r.kind == "scalar":
        return {"scalar": r.scalar[1]}
    return {tuple(sorted(dict(lab).items())): float(v[0]) for lab, _, v in r.series}


def value(engine: Engine, q: str, t: float) -> float:
    res = one(engine, q, t)
    assert len(res) == 1, res
    return next(iter(res.values()))


@pytest.mark.parametrize(
    ("q", "t", "expected"),
    [
        ("rate(c_total[60s])", 60, 1.0),  # window [0, 60] closed: 7 samples, no extrapolation
        ("rate(c_total[30s])", 45, 1.0),  # samples 20..40, extrapolated 5 s each side
        ("increase(c_total[30s])", 45, 30.0),
        ("increase(d_total[60s])", 110, 1.5),  # far start: extrapolate half an interval only
        ("increase(r_total[30s])", 30, 25.0),  # 5 + the 20 lost at the reset
        ("resets(r_total[30s])", 30, 1.0),
        ("changes(r_total[30s])", 30, 3.0),
        ("irate(r_total[30s])", 30, 1.0),
        ("irate(r_total[30s])", 20, 0.5),  # after a reset irate uses the new value
        ('delta(g{job="a"}[20s])', 20, 1.0),
        ('idelta(g{job="a"}[20s])', 20, -2.0),
        ('deriv(g{job="a"}[20s])', 20, 0.05),
        ('predict_linear(g{job="a"}[20s], 10)', 20, 7 / 3 + 0.5 + 0.5),
        ('sum_over_time(g{job="a"}[20s])', 20, 7.0),
        ('avg_over_time(g{job="a"}[20s])', 20, 7 / 3),
        ('min_over_time(g{job="a"}[20s])', 20, 1.0),
        ('max_over_time(g{job="a"}[20s])', 20, 4.0),
        ('count_over_time(g{job="a"}[20s])', 20, 3.0),
        ('count_over_time(g{job="a"}[19s])', 20, 2.0),
        ('last_over_time(g{job="a"}[20s])', 20, 2.0),
        ('stddev_over_time(g{job="a"}[20s])', 20, math.sqrt(14 / 9)),
        ('quantile_over_time(0.5, g{job="a"}[20s])', 20, 2.0),
        ('quantile_over_time(0.25, g{job="a"}[20s])', 20, 1.5),
        ('g{job="a"}', 320, 2.0),  # lookback 5 m, inclusive
        ('g{job="a"} offset 10s', 20, 4.0),
        ('g{job="a"} @ 10', 1000, 4.0),
        ('g{job="a"} @ start()', 20, 2.0),
        ('max_over_time(g{job="a"}[20s:10s])', 20, 4.0),
        ('max_over_time(g{job="a"}[14s:10s])', 25, 2.0),  # subquery steps at multiples of 10 s: only 20
        ("histogram_quantile(0.5, h_bucket)", 20, 1.0),
        ("histogram_quantile(0.75, h_bucket)", 20, 1.5),
        ("histogram_quantile(1, h_bucket)", 20, 2.0),
        ("histogram_quantile(-1, h_bucket)", 20, -math.inf),
        ("sum(g)", 20, 8.0),
        ("avg(g)", 20, 4.0),
        ("max(g)", 20, 6.0),
        ("stddev(g)", 20, 2.0),
        ("quantile(0.5, g)", 20, 4.0),
        ("count(g)", 20, 2.0),
        ('timestamp(g{job="a"})', 100, 20.0),
        ('timestamp(-g{job="a"})', 100, 100.0),
        ('clamp(g{job="b"}, 0, 5)', 20, 5.0),
        ('round(g{job="a"} / 3, 0.5)', 20, 0.5),
        ('g{job="a"} + on(inst) group_left g{job="b"}', 20, 8.0),
    ],
)
def test_instant_values(engine, q, t, expected):
    got = value(engine, q, t)
    assert got == pytest.approx(expected, rel=1e-9), q


@pytest.mark.parametrize(
    ("q", "t", "expected"),
    [
        ('g{job="a"}', 320.001, {}),  # just past the lookback delta
        ("rate(d_total[5s])", 110, {}),  # a single sample: no rate
        ("g > 3", 20, {(("__name__", "g"), ("inst", "1"), ("job", "b")): 6.0}),
        ("g > bool 3", 20, {(("inst", "1"), ("job", "a")): 0.0, (("inst", "1"), ("job", "b")): 1.0}),
        ("sum by (job) (g)", 20, {(("job", "a"),): 2.0, (("job", "b"),): 6.0}),
        ("sum without (job) (g)", 20, {(("inst", "1"),): 8.0}),
        ("topk(1, g)", 20, {(("__name__", "g"), ("inst", "1"), ("job", "b")): 6.0}),
        ("bottomk(1, g)", 20, {(("__name__", "g"), ("inst", "1"), ("job", "a")): 2.0}),
        ('count_values("v", g)', 10, {(("v", "3"),): 1.0, (("v", "4"),): 1.0}),
        ('absent(nope{job="x", a=~"y"})', 20, {(("job", "x"),): 1.0}),
        ("absent(g)", 20, {}),
        ('label_replace(g{job="a"}, "j2", "$1-$1", "job", "(.*)")', 20,
         {(("__name__", "g"), ("inst", "1"), ("j2", "a-a"), ("job", "a")): 2.0}),
        ('label_join(g{job="a"}, "k", ":", "job", "inst")', 20,
         {(("__name__", "g"), ("inst", "1"), ("job", "a"), ("k", "a:1")): 2.0}),
        ('g and g{job="a"}', 20, {(("__name__", "g"), ("inst", "1"), ("job", "a")): 2.0}),
        ('g unless g{job="a"}', 20, {(("__name__", "g"), ("inst", "1"), ("job", "b")): 6.0}),
        ("-g", 20, {(("inst", "1"), ("job", "a")): -2.0, (("inst", "1"), ("job", "b")): -6.0}),
        ("scalar(g)", 20, {"scalar": float("nan")}),
        ("time()", 20, {"scalar": 20.0}),
        ("vector(2)", 20, {(): 2.0}),
    ],
)
def test_instant_vectors(engine, q, t, expected):
    got = one(engine, q, t)
    if "scalar" in expected and math.isnan(expected["scalar"]):
        assert math.isnan(got["scalar"])
    else:
        assert got == expected


def test_range_query_steps_and_points(engine):
    r = engine.range('g{job="a"}', 0, 30_000, 10_000)
    assert r.kind == "matrix"
    (lab, ts, vs), = r.series
    assert ts.tolist() == [0, 10_000, 20_000, 30_000]
    assert vs.tolist() == [1.0, 4.0, 2.0, 2.0]  # the last one comes from the lookback


def test_scalar_range_query_is_one_unlabelled_series(engine):
    r = engine.range("time()", 0, 20_000, 10_000)
    assert r.series[0][0] == () and r.series[0][2].tolist() == [0.0, 10.0, 20.0]


def test_instant_range_vector_returns_raw_samples(engine):
    r = engine.instant('g{job="a"}[15s]', 20_000)
    assert r.kind == "matrix"
    assert r.series[0][1].tolist() == [10_000, 20_000]


@pytest.mark.parametrize(
    ("q", "error_type", "fragment"),
    [
        ("sum(", "bad_data", "parse error"),
        ("rate(g)", "bad_data", "parse error"),
        ("nosuchfunc(g)", "bad_data", "unknown function"),
        ("g + on(inst) g", "execution", "many-to-many"),  # two series per side share inst
        ('g{job="a"} + ignoring(job) g', "execution", "duplicate series"),
        ('g + ignoring(job) g{job="a"}', "execution", "many-to-one matching must be explicit"),
    ],
)
def test_errors(engine, q, error_type, fragment):
    with pytest.raises(EvalError) as info:
        engine.instant(q, 20_000)
    assert info.value.error_type == error_type
    assert fragment in info.value.message


def test_parse_errors_carry_a_position(engine):
    with pytest.raises(EvalError, match=r"^1:\d+: parse error"):
        engine.instant("sum(rate(g[5m])", 0)


def test_range_query_limits(engine):
    with pytest.raises(EvalError, match="exceeded maximum resolution of 11,000 points") as info:
        engine.range("g", 0, 11_001_000, 1000)
    assert info.value.error_type == "bad_data"
    engine.range("g", 0, 11_000_000, 1000)  # exactly at the limit is allowed
    with pytest.raises(EvalError, match="invalid expression type"):
        engine.range("g[5m]", 0, 10_000, 1000)


NAN = float("nan")


@pytest.mark.parametrize(
    ("values", "k", "top", "expected"),
    [
        ([1, 5, 3, 4], 2, True, {1, 3}),
        ([1, 5, 3, 4], 2, False, {0, 2}),
        ([2, 2, 3, 2], 2, True, {2, 1}),  # ties: traced through Go's container/heap by hand
        ([NAN, NAN, NAN], 1, True, {2}),  # a NaN head is always replaced
        ([NAN] * 6, 2, True, {0, 5}),
        ([NAN] * 6, 3, True, {0, 1, 5}),
        ([NAN, 1, NAN], 1, False, {1}),  # a number head is not replaced by NaN
    ],
)
def test_topk_heap_matches_prometheus(values, k, top, expected):
    from promv5_lab.backends.embedded.aggregations import _heap_select

    assert set(_heap_select([float(v) for v in values], k, top)) == expected


def test_staleness_markers_end_a_series_and_are_skipped_in_ranges():
    import numpy as np

    from promv5_lab.backends.embedded.storage import STALE_NAN_BITS

    stale = np.array([STALE_NAN_BITS], dtype=np.uint64).view(np.float64)[0]
    store = Store.from_columns([{"__name__": "s"}], np.zeros(4, dtype=np.int64),
                               np.array([0, 10_000, 20_000, 30_000]), np.array([1.0, 2.0, stale, 4.0]))
    eng = Engine(store)
    assert eng.instant("s", 25_000).series == []  # the marker hides the older sample at once
    assert float(eng.instant("s", 15_000).series[0][2][0]) == 2.0
    assert float(eng.instant("count_over_time(s[1m])", 30_000).series[0][2][0]) == 3.0


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.1, "0.1"), (1.0, "1"), (-0.0, "-0"), (1e16, "10000000000000000"), (1.5e-7, "0.00000015"),
     (float("nan"), "NaN"), (float("inf"), "+Inf"), (float("-inf"), "-Inf")],
)
def test_values_render_like_go(value, text):
    from promv5_lab.backends.embedded.values import format_value

    assert format_value(value) == text


@pytest.mark.parametrize(("q", "expected"), [("sort(n)", [1.0, 3.0, "nan"]), ("sort_desc(n)", [3.0, 1.0, "nan"])])
def test_sort_puts_nan_last_like_prometheus_2_42(q, expected):
    eng = Engine(Store.from_text('n{a="x"} 1 10\nn{a="y"} NaN 10\nn{a="z"} 3 10\n# EOF\n'))
    got = [float(v[0]) for _, _, v in eng.instant(q, 10_000).series]
    assert [("nan" if math.isnan(v) else v) for v in got] == expected
