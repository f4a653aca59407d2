from promv5_lab.nl.catalogue import Catalogue, catalogue_for, tokens
from promv5_lab.types import MetricMetadata


def test_tokens_split_names_camel_case_and_digits():
    assert tokens("node_memory_MemAvailable_bytes") == ["node", "memory", "mem", "available", "bytes"]
    assert tokens("node_load1") == ["node", "load", "1"]


def test_build_without_metadata_uses_naming_conventions():
    names = ["req_total", "lat_bucket", "lat_sum", "lat_count", "rpc_sum", "rpc_count", "rpc", "temp_celsius",
             "jobs_sum", "jobs_count"]
    labels = {n: ("job",) for n in names}
    labels["lat_bucket"] = ("job", "le")
    labels["rpc"] = ("job", "quantile")
    cat = Catalogue.build(names, {}, labels, {"job": ("a",)})
    kinds = {n: m.type for n, m in cat.metrics.items()}
    assert kinds == {"req_total": "counter", "lat": "histogram", "rpc": "summary", "temp_celsius": "unknown",
                     "jobs_sum": "unknown", "jobs_count": "unknown"}
    assert cat.metrics["lat"].labels == ("job",)


def test_build_with_metadata_keyed_by_family():
    meta = {"req": MetricMetadata("req", "counter", "Requests served."),
            "lat": MetricMetadata("lat", "histogram", "Request latency.")}
    cat = Catalogue.build(["req_total", "lat_bucket", "lat_sum", "lat_count"], meta,
                          {"req_total": ("code",), "lat_bucket": ("le",)}, {})
    assert cat.metrics["req_total"].help == "Requests served." and cat.metrics["lat"].help == "Request latency."
    assert "requests served" in cat.metrics["req_total"].text.lower()


def test_catalogue_for_caches_until_refresh(exporters_backend):
    a = catalogue_for(exporters_backend)
    assert catalogue_for(exporters_backend) is a
    b = catalogue_for(exporters_backend, refresh=True)
    assert b is not a and b.key == a.key
    assert b.metrics["pg_stat_activity_count"].has_value("state", "idle")
    assert not b.metrics["pg_stat_activity_count"].has_value("state", "waiting")


def test_planner_modules_import_without_torch_or_pandas():
    import subprocess
    import sys

    code = ("import sys, promv5_lab.nl.planner, promv5_lab.nl.render, promv5_lab.investigation, promv5_lab.nl.cli; "
            "print(sorted(m for m in ('torch', 'transformers', 'pandas', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"
