"""The live world's ``/metrics`` (shop services) and ``/metrics/node`` (node-exporter style) pages.

Both are Prometheus text exposition 0.0.4 and carry their own ``job``/``instance`` labels like a
federation endpoint: scrape them with ``honor_labels: true``. ``/metrics`` passes ``promtool check
metrics``; ``/metrics/node`` keeps node-exporter's real names (``node_memory_MemAvailable_bytes``),
which that linter flags as camelCase, so it is served apart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .openmetrics import le_str, prometheus_text
from .world import DB_BUCKETS, HTTP_BUCKETS

if TYPE_CHECKING:  # pragma: no cover
    from .live import LiveWorld


def render(lw: LiveWorld, which: str = "services") -> str:
    w = lw.world
    d = lw._last["step"]
    eff = lw._last["eff"]

    def lab(svc: str, **extra: str) -> dict[str, str]:
        s = w.service(svc)
        return {"job": s.job, "instance": s.instance, "service": svc, **extra}

    fams = []
    for fam in w.metrics:
        name = fam.name
        node_family = name.startswith("node_")
        if (which == "node") != node_family:
            continue
        out: list[tuple[str, dict[str, str], float]] = []
        if name == "http_requests_total":
            for r in w.http_routes():
                for code in ("200", "500", "503"):
                    out.append((name, lab(r.service, route=r.route, method=r.method, code=code),
                                lw.http[(r.service, r.route, code)]))
        elif name == "http_request_duration_seconds":
            for r in w.http_routes():
                h = lw.hist[(r.service, r.route)]
                base = lab(r.service, route=r.route)
                for j, b in enumerate((*HTTP_BUCKETS, float("inf"))):
                    out.append((name + "_bucket", {**base, "le": le_str(b)}, float(h[j])))
                out.append((name + "_sum", base, round(lw.hist_sum[(r.service, r.route)], 6)))
                out.append((name + "_count", base, float(h[-1])))
        elif name == "process_cpu_seconds_total":
            out = [(name, lab(s), round(v, 3)) for s, v in lw.cpu.items()]
        elif name == "process_resident_memory_bytes":
            out = [(name, lab(s.name), float(d.rss[s.name][0])) for s in w.services]
        elif name == "process_start_time_seconds":
            out = [(name, lab(s), float(round(v))) for s, v in lw.started.items()]
        elif name == "shop_build_info":
            out = [(name, lab(s, version=v), 1.0) for s, v in lw.version.items()]
        elif name == "kube_pod_container_status_restarts_total":
            out = [(name, lab(s), float(v)) for s, v in lw.restarts.items()]
        elif name == "up":
            for s in w.services:
                out.append((name, {"job": s.job, "instance": s.instance},
                            0.0 if lw.t <= lw.down_until.get(s.name, -1) else 1.0))
            out += [(name, {"job": "node", "instance": nd.instance}, 1.0) for nd in w.nodes]
        elif name == "db_connections_in_use":
            out = [(name, lab(c), float(v[0])) for c, v in d.pool_in_use.items()]
        elif name == "db_connections_max":
            out = [(name, lab(c), float(w.service(c).db_pool_max)) for c in d.pool_in_use]
        elif name == "db_queries_total":
            out = [(name, lab(c, status=st), v) for (c, st), v in lw.dbq.items()]
        elif name == "db_query_duration_seconds":
            for c, h in lw.dbh.items():
                for j, b in enumerate((*DB_BUCKETS, float("inf"))):
                    out.append((name + "_bucket", lab(c, le=le_str(b)), float(h[j])))
                out.append((name + "_sum", lab(c), round(lw.dbs[c], 6)))
                out.append((name + "_count", lab(c), float(h[-1])))
        elif name in ("cache_hits_total", "cache_misses_total"):
            key = "hits" if name == "cache_hits_total" else "misses"
            out = [(name, lab(s.name), lw.cache[key]) for s in w.services if s.cache_client]
        elif name == "queue_depth":
            out = [(name, lab(w.queue_service, queue=w.queue), float(round(lw.queue)))]
        elif name == "node_cpu_seconds_total":
            out = [(name, {"job": "node", "instance": w.node(n).instance, "cpu": c, "mode": m}, round(v, 3))
                   for (n, c, m), v in lw.node_cpu.items()]
        elif name in ("node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes"):
            for nd in w.nodes:
                v = nd.mem_bytes if "Total" in name else float(d.node_mem_avail[nd.name][0])
                out.append((name, {"job": "node", "instance": nd.instance}, float(v)))
        elif name in ("node_filesystem_size_bytes", "node_filesystem_avail_bytes"):
            for nd in w.nodes:
                for fs in nd.filesystems:
                    v = fs.size_bytes if "size" in name else float(d.fs_avail[(nd.name, fs.mountpoint)][0])
                    out.append((name, {"job": "node", "instance": nd.instance, "device": fs.device,
                                       "mountpoint": fs.mountpoint, "fstype": fs.fstype}, float(v)))
        elif name in ("node_network_receive_bytes_total", "node_network_transmit_bytes_total"):
            key = "rx" if "receive" in name else "tx"
            out = [(name, {"job": "node", "instance": nd.instance, "device": nd.nic}, lw.net[(nd.name, key)])
                   for nd in w.nodes]
        fams.append((fam, out))
    del eff
    return prometheus_text(fams)
