"""Units read from PromQL (Prometheus naming conventions through the expression) and numbers written with them."""

import math

import pytest

from promv5_lab.units import Unit, axis_scale, format_duration, format_value, infer_unit

HQ = 'histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{service="checkout"}[5m])))'
ERR = ('sum by (service) (rate(http_requests_total{code=~"5.."}[5m])) / '
       'sum by (service) (rate(http_requests_total[5m]))')


@pytest.mark.parametrize("promql,base,per_second,label", [
    (HQ, "seconds", False, "s"),
    ("sum by (service) (rate(http_requests_total[5m]))", "requests", True, "req/s"),
    (ERR, "ratio", False, "%"),
    ("1 - node_filesystem_avail_bytes / node_filesystem_size_bytes", "ratio", False, "%"),
    ("db_connections_in_use / db_connections_max", "ratio", False, "%"),
    ("(" + ERR + ") * 100", "percent", False, "%"),
    ("node_memory_MemAvailable_bytes", "bytes", False, "B"),
    ("avg_over_time(process_resident_memory_bytes[5m:1m])", "bytes", False, "B"),
    ("rate(node_network_receive_bytes_total[5m])", "bytes", True, "B/s"),
    ("sum(rate(x_seconds_sum[5m])) / sum(rate(x_seconds_count[5m]))", "seconds", False, "s"),
    ('sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m]))', "seconds", True, "cores"),
    ("rate(db_queries_total[5m])", "count", True, "/s"),
    ("topk(5, sum by (route) (rate(http_requests_total[5m])))", "requests", True, "req/s"),
    ("(rate(http_requests_total[5m])) - (rate(http_requests_total[5m] offset 1d))", "requests", True, "req/s"),
    ("quantile_over_time(0.9, probe_duration_seconds[1h])", "seconds", False, "s"),
    ("predict_linear(node_filesystem_avail_bytes[6h], 4 * 3600) < 0", "bytes", False, "B"),
    ("max by (service) (x_ratio) > 0.8", "ratio", False, "%"),
    ("increase(kube_pod_container_status_restarts_total[1h])", "count", False, ""),
    ("up", "", False, ""), ("count(up)", "", False, ""), ("probe_duration_seconds > bool 1", "", False, ""),
    ("node_hwmon_temp_celsius", "celsius", False, "°C"),
    ("garbage {{{ (", "", False, ""), ("", "", False, ""),
])
def test_infer_unit(promql, base, per_second, label):
    u = infer_unit(promql)
    assert (u.base, u.per_second, u.label) == (base, per_second, label)


@pytest.mark.parametrize("value,unit,text", [
    (0.2345, "x_seconds", "235 ms"),  # rounded half up on the decimal text, not 234 from binary floats
    (1.5, "x_seconds", "1.5 s"), (90, "x_seconds", "1.5 min"), (7200, "x_seconds", "2 h"),
    (3.2 * 86400, "x_seconds", "3.2 d"), (0.00012, "x_seconds", "120 µs"),
    (1.2 * 2**30, "node_memory_MemAvailable_bytes", "1.2 GiB"), (512, "x_bytes", "512 B"),
    (1234567, "rate(a_bytes_total[1m])", "1.18 MiB/s"), (12.345, "rate(http_requests_total[5m])", "12.3 req/s"),
    (0.0534, ERR, "5.34%"), (1.0, "db_connections_in_use / db_connections_max", "100%"),
    (42.5, "x_percent", "42.5%"), (0.25, "rate(process_cpu_seconds_total[5m])", "0.25 cores"),
    (1500, "x_milliseconds", "1.5 s"), (12345678, "up", "12.3M"), (3.14159, "up", "3.142"), (0, "x_bytes", "0 B"),
])
def test_format_value(value, unit, text):
    assert format_value(value, unit) == text


def test_format_value_passes_odd_input_through():
    assert format_value(math.nan, "x_seconds") == "nan" and format_value(math.inf, "x_bytes") == "inf"
    assert format_value("n/a", Unit("bytes")) == "n/a"  # type: ignore[arg-type]
    assert format_duration(-90) == "-1.5 min"


@pytest.mark.parametrize("unit,max_abs,factor,label", [
    (HQ, 0.4, 1000.0, "ms"), (HQ, 5.0, 1.0, "s"), (HQ, 600.0, 1 / 60, "min"),
    (ERR, 0.1, 100.0, "%"), ("node_memory_MemAvailable_bytes", 5e9, 1 / 2**30, "GiB"),
    ("rate(a_bytes_total[1m])", 5e3, 1 / 2**10, "KiB/s"), ("rate(http_requests_total[5m])", 30, 1.0, "req/s"),
    ("up", 1.0, 1.0, ""), ("x_milliseconds", 300.0, 1.0, "ms"), (HQ, math.nan, 1000.0, "ms"),
])
def test_axis_scale(unit, max_abs, factor, label):
    f, lab = axis_scale(unit, max_abs)
    assert lab == label and f == pytest.approx(factor)


@pytest.mark.parametrize("promql,raw", [
    (ERR, "ratio (0-1)"), (HQ, "s"), ("x_milliseconds", "ms"), ("rate(http_requests_total[5m])", "req/s"),
    ("node_memory_MemAvailable_bytes", "B"), ("up", ""),
])
def test_raw_label_for_unscaled_axes(promql, raw):
    """Report charts draw values as they are: their axis says the base unit (a ratio is not in %)."""
    assert infer_unit(promql).raw_label == raw


def test_report_charts_label_their_y_axis_from_the_promql():
    import pandas as pd

    from promv5_lab.report.gather import chart_from_result
    from promv5_lab.types import Provenance, QueryResult

    frame = pd.DataFrame({"timestamp": pd.date_range("2026-11-20", periods=3, freq="min", tz="UTC"),
                          "value": [0.1, 0.2, 0.3]})
    res = QueryResult(frame, "matrix", Provenance(promql=HQ, backend="test", kind="range"))
    assert chart_from_result(res, "c", "t").y_label == "s"
    assert chart_from_result(res, "c", "t", y_label="latency").y_label == "latency"  # an explicit label wins
