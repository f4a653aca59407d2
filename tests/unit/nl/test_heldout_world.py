"""The held-out world (catalogues of real exporters) loads as a catalogue with the exporters' types, and the
planner's code does not know any of its metric names (it must generalise, not memorise)."""

import re
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "benchmarks"))


def test_world_loads_with_the_exporters_types(tmp_path):
    from nl_heldout import CATALOGUE, write_world

    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.nl.catalogue import Catalogue

    cat = Catalogue.from_backend(EmbeddedBackend.open(write_world(tmp_path)))
    spec = yaml.safe_load(CATALOGUE.read_text())["metrics"]
    assert len(cat.metrics) == len(spec) == 81
    for m in spec:
        info = cat.metrics[m["name"]]
        assert info.type == m["type"] and info.help == m["help"], m["name"]
    assert cat.metrics["pg_stat_database_xact_commit"].type == "counter"  # a counter without _total
    assert not cat.metrics["jvm_gc_pause_seconds"].has_quantiles and cat.metrics["go_gc_duration_seconds"].has_quantiles
    assert set(cat.label_values["grpc_code"]) == {"OK", "Unavailable", "Internal", "InvalidArgument"}


def test_planner_code_does_not_name_the_held_out_metrics():
    from nl_heldout import SETS

    # a one-word name ("up") is an English word, not something the code could have memorised
    names = {m["name"] for cat, _ in SETS.values() for m in yaml.safe_load(cat.read_text())["metrics"]
             if "_" in m["name"]}
    assert len(names) > 290  # all three sets (set 3 added 145 names)
    code = "\n".join(p.read_text() for p in (ROOT / "promv5_lab" / "nl").glob("*.py"))
    leaked = sorted(n for n in names if re.search(rf"\b{re.escape(n)}\b", code))
    assert not leaked, leaked



@pytest.fixture(scope="module")
def heldout_planner(tmp_path_factory):
    from datetime import datetime, timezone

    from nl_heldout import write_world

    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.nl.catalogue import Catalogue
    from promv5_lab.nl.planner import OfflinePlanner

    cat = Catalogue.from_backend(EmbeddedBackend.open(write_world(tmp_path_factory.mktemp("heldout"))))
    return OfflinePlanner(cat, now=datetime(2026, 11, 20, 12, tzinfo=timezone.utc), use_embeddings=False)


@pytest.mark.parametrize("question,promql", [
    # the metric's own status values (200/404/500/503), not kube-state-metrics' status="false"
    ("5xx error ratio at the ingress for search", ('sum(rate(nginx_ingress_controller_requests{service="search",'
     'status=~"5.."}[5m])) / sum(rate(nginx_ingress_controller_requests{service="search"}[5m]))')),
    ("grpc error ratio", ('sum(rate(grpc_server_handled_total{grpc_code!="OK"}[5m])) / '
     'sum(rate(grpc_server_handled_total[5m]))')),  # gRPC codes: all but OK
    ("average GC pause in the JVM", "sum(rate(jvm_gc_pause_seconds_sum[5m])) / sum(rate(jvm_gc_pause_seconds_count[5m]))"),
    ("evictions per second", "sum(rate(redis_evicted_keys_total[5m]))"),  # evictions ~ evicted
    ("transactions committed by each database", "sum by (datname) (rate(pg_stat_database_xact_commit[5m]))"),
    ("live threads by every instance", "sum by (instance) (jvm_threads_live_threads)"),
])
def test_generic_rules_on_unseen_exporters(heldout_planner, question, promql):
    from promv5_lab.nl.render import render

    assert render(heldout_planner.plan(question)) == promql
