"""A small catalogue of real exporters' metric names and HELP (node_exporter, kube-state-metrics, cAdvisor,
blackbox_exporter, postgres_exporter, a Go HTTP service), written as OpenMetrics and served by the
embedded engine; the planner never saw these names."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
T0 = int(NOW.timestamp()) - 3600

FAMILIES = [
    ("node_cpu_seconds", "counter", "Seconds the CPUs spent in each mode.",
     [{"instance": f"host{h}:9100", "job": "node", "cpu": "0", "mode": m} for h in (1, 2) for m in ("idle", "user", "system")]),
    ("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.",
     [{"instance": f"host{h}:9100", "job": "node"} for h in (1, 2)]),
    ("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.",
     [{"instance": f"host{h}:9100", "job": "node"} for h in (1, 2)]),
    ("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users in bytes.",
     [{"instance": f"host{h}:9100", "job": "node", "mountpoint": "/", "fstype": "ext4", "device": "/dev/sda1"} for h in (1, 2)]),
    ("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.",
     [{"instance": f"host{h}:9100", "job": "node", "mountpoint": "/", "fstype": "ext4", "device": "/dev/sda1"} for h in (1, 2)]),
    ("node_network_receive_bytes", "counter", "Network device statistic receive_bytes.",
     [{"instance": f"host{h}:9100", "job": "node", "device": "eth0"} for h in (1, 2)]),
    ("node_load1", "gauge", "1m load average.", [{"instance": f"host{h}:9100", "job": "node"} for h in (1, 2)]),
    ("kube_pod_container_status_restarts", "counter", "The number of container restarts per container.",
     [{"namespace": "shop", "pod": p, "container": p.split("-")[0]} for p in ("api-7d9f", "worker-5c2a")]),
    ("kube_deployment_status_replicas_available", "gauge", "The number of available replicas per deployment.",
     [{"namespace": "shop", "deployment": d} for d in ("api", "worker")]),
    ("container_memory_working_set_bytes", "gauge", "Current working set of the container in bytes",
     [{"namespace": "shop", "pod": p, "container": p.split("-")[0]} for p in ("api-7d9f", "worker-5c2a")]),
    ("container_cpu_usage_seconds", "counter", "Cumulative cpu time consumed by the container in seconds.",
     [{"namespace": "shop", "pod": p, "container": p.split("-")[0]} for p in ("api-7d9f", "worker-5c2a")]),
    ("probe_success", "gauge", "Displays whether or not the probe was a success",
     [{"instance": u, "job": "blackbox"} for u in ("https://shop.example.com", "https://api.example.com")]),
    ("probe_duration_seconds", "gauge", "Returns how long the probe took to complete in seconds",
     [{"instance": u, "job": "blackbox"} for u in ("https://shop.example.com", "https://api.example.com")]),
    ("pg_stat_database_deadlocks", "counter", "Number of deadlocks detected in this database",
     [{"datname": d, "instance": "db:9187"} for d in ("orders", "users")]),
    ("pg_stat_activity_count", "gauge", "number of connections in this state",
     [{"datname": "orders", "state": s, "instance": "db:9187"} for s in ("active", "idle")]),
    ("up", "gauge", "1 if the target was scraped successfully.",
     [{"instance": i, "job": j} for i, j in (("host1:9100", "node"), ("host2:9100", "node"), ("db:9187", "postgres"))]),
    ("http_requests", "counter", "Total number of HTTP requests by handler and status code.",
     [{"job": "api", "handler": h, "code": c} for h in ("/api/cart", "/api/orders") for c in ("200", "500")]),
]
HIST = ("http_request_duration_seconds", "Histogram of latencies for HTTP requests.",
        [{"job": "api", "handler": h} for h in ("/api/cart", "/api/orders")])


def _labels(d: dict) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in d.items()) + "}"


def write_exporters_om(path: Path) -> Path:
    lines: list[str] = []
    for fam, typ, help_, series in FAMILIES:
        lines += [f"# HELP {fam} {help_}", f"# TYPE {fam} {typ}"]
        name = f"{fam}_total" if typ == "counter" else fam
        for i, lab in enumerate(series):
            for k in range(61):
                v = (k * (i + 1) * 10.0) if typ == "counter" else float(1000 + i * 100 + (k % 7))
                if fam in ("up", "probe_success"):
                    v = 0.0 if (fam == "up" and lab["instance"] == "db:9187") else 1.0
                lines.append(f"{name}{_labels(lab)} {v} {T0 + 60 * k}")
    fam, help_, series = HIST
    lines += [f"# HELP {fam} {help_}", f"# TYPE {fam} histogram"]
    for lab in series:
        for le, frac in (("0.1", 0.5), ("0.5", 0.9), ("1", 0.99), ("+Inf", 1.0)):
            for k in range(61):
                lines.append(f"{fam}_bucket{_labels({**lab, 'le': le})} {k * 100 * frac} {T0 + 60 * k}")
        for suffix, mult in (("_sum", 12.0), ("_count", 100.0)):
            for k in range(61):
                lines.append(f"{fam}{suffix}{_labels(lab)} {k * mult} {T0 + 60 * k}")
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="session")
def exporters_backend(tmp_path_factory):
    from promv5_lab.backends.embedded import EmbeddedBackend

    om = write_exporters_om(tmp_path_factory.mktemp("exporters") / "metrics.om")
    return EmbeddedBackend.open(om)


@pytest.fixture(scope="session")
def exporters_planner(exporters_backend):
    from promv5_lab.nl.catalogue import Catalogue
    from promv5_lab.nl.planner import OfflinePlanner

    return OfflinePlanner(Catalogue.from_backend(exporters_backend), now=NOW)


@pytest.fixture(scope="module")
def planner(request):
    """The lexical planner over the test module's own small catalogue (its ``METRICS`` list, built with
    ``_catalogue_kit.metric``): one builder for every planner-class test module."""
    from ._catalogue_kit import lexical_planner

    metrics = getattr(request.module, "METRICS", None)
    assert metrics, f"{request.module.__name__} uses the planner fixture but defines no METRICS"
    return lexical_planner(metrics)
