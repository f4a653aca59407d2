"""The demo shop's topology as data: nodes, services, routes, the call graph and the metric catalogue.

Everything else in :mod:`promv5_lab.demo` (the simulator, the live server, tests, planners) reads the
shop from :data:`WORLD` instead of hard-coding names::

    frontend ─┬─> catalog ──> redis ──(miss)──> postgres
              ├─> cart ─────> redis, postgres
              └─> checkout ─┬> cart
                            ├> payments
                            └> postgres

Placement: node-1 runs frontend and catalog, node-2 cart, checkout and payments, node-3 postgres and
redis. Every service metric carries ``job`` (= the service), ``instance`` (= ``node:port``) and
``service``; node-exporter metrics carry ``job="node"`` and ``instance="node-N:9100"``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

MetricKind = Literal["counter", "gauge", "histogram"]

HTTP_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
DB_BUCKETS: tuple[float, ...] = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5)
HTTP_CODES: tuple[str, ...] = ("200", "500", "503")
CPU_MODES: tuple[str, ...] = ("idle", "user", "system", "iowait")
GIB = 1024**3
MIB = 1024**2


@dataclass(frozen=True)
class Filesystem:
    device: str
    mountpoint: str
    fstype: str
    size_bytes: int
    used_fraction: float  # baseline share of the size in use


@dataclass(frozen=True)
class Node:
    name: str
    cpus: int
    mem_bytes: int
    os_used_bytes: int  # kernel + page cache the services do not account for
    filesystems: tuple[Filesystem, ...]
    nic: str = "eth0"

    @property
    def instance(self) -> str:
        return f"{self.name}:9100"


@dataclass(frozen=True)
class Call:
    """One downstream call a route makes per request (``route`` is None for database/cache ops)."""

    service: str
    route: str | None
    count: float = 1.0
    write: bool = False  # database writes fail when the disk is full


@dataclass(frozen=True)
class Route:
    service: str
    route: str
    method: str
    latency_s: float  # own median latency, without downstream calls
    error_ratio: float  # own baseline error ratio
    calls: tuple[Call, ...] = ()
    share: float = 0.0  # share of user traffic (frontend routes only)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.route}"


@dataclass(frozen=True)
class Service:
    name: str
    node: str
    port: int
    kind: Literal["http", "database", "cache"]
    capacity_rps: float  # per replica: requests (or queries) per second before queueing blows up
    replicas: int
    rss_bytes: int
    rss_limit_bytes: int
    cpu_per_request_s: float
    cpu_idle_s: float  # CPU seconds per second when idle
    version: str
    db_pool_max: int = 0  # > 0: a client of postgres with a connection pool of this size
    cache_client: bool = False
    deployable: bool = True

    @property
    def instance(self) -> str:
        return f"{self.node}:{self.port}"

    @property
    def job(self) -> str:
        return self.name


@dataclass(frozen=True)
class MetricFamily:
    """A metric as PromQL sees it (``name``); ``family`` is the OpenMetrics family name."""

    name: str
    kind: MetricKind
    help: str
    labels: tuple[str, ...]
    unit: str = ""

    @property
    def family(self) -> str:
        if self.kind == "counter" and self.name.endswith("_total"):
            return self.name[: -len("_total")]
        return self.name


SVC_LABELS = ("job", "instance", "service")
NODE_LABELS = ("job", "instance")

METRICS: tuple[MetricFamily, ...] = (
    MetricFamily("http_requests_total", "counter", "HTTP requests served, by route, method and status code.",
                 (*SVC_LABELS, "route", "method", "code")),
    MetricFamily("http_request_duration_seconds", "histogram", "HTTP request latency, by route.",
                 (*SVC_LABELS, "route"), "seconds"),
    MetricFamily("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
                 SVC_LABELS, "seconds"),
    MetricFamily("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", SVC_LABELS, "bytes"),
    MetricFamily("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
                 SVC_LABELS, "seconds"),
    MetricFamily("shop_build_info", "gauge", "Build information of the running service (value 1).",
                 (*SVC_LABELS, "version")),
    MetricFamily("kube_pod_container_status_restarts_total", "counter",
                 "Container restarts (OOM kills and crashes; deploys start a new process without counting).",
                 SVC_LABELS),
    MetricFamily("up", "gauge", "1 if the target was scraped successfully, 0 otherwise.", NODE_LABELS),
    MetricFamily("db_connections_in_use", "gauge", "Database connections checked out of the client pool.",
                 SVC_LABELS),
    MetricFamily("db_connections_max", "gauge", "Size of the client's database connection pool.", SVC_LABELS),
    MetricFamily("db_queries_total", "counter", "Database queries issued by the client, by outcome.",
                 (*SVC_LABELS, "status")),
    MetricFamily("db_query_duration_seconds", "histogram", "Database query latency seen by the client.",
                 SVC_LABELS, "seconds"),
    MetricFamily("cache_hits_total", "counter", "Cache lookups that found the key.", SVC_LABELS),
    MetricFamily("cache_misses_total", "counter", "Cache lookups that missed (the client then asks the database).",
                 SVC_LABELS),
    MetricFamily("queue_depth", "gauge", "Messages waiting in the queue.", (*SVC_LABELS, "queue")),
    MetricFamily("node_cpu_seconds_total", "counter", "Seconds the CPUs spent in each mode.",
                 (*NODE_LABELS, "cpu", "mode"), "seconds"),
    MetricFamily("node_memory_MemTotal_bytes", "gauge", "Memory information field MemTotal_bytes.", NODE_LABELS,
                 "bytes"),
    MetricFamily("node_memory_MemAvailable_bytes", "gauge", "Memory information field MemAvailable_bytes.",
                 NODE_LABELS, "bytes"),
    MetricFamily("node_filesystem_size_bytes", "gauge", "Filesystem size in bytes.",
                 (*NODE_LABELS, "device", "mountpoint", "fstype"), "bytes"),
    MetricFamily("node_filesystem_avail_bytes", "gauge", "Filesystem space available to non-root users in bytes.",
                 (*NODE_LABELS, "device", "mountpoint", "fstype"), "bytes"),
    MetricFamily("node_network_receive_bytes_total", "counter", "Network device statistic receive_bytes.",
                 (*NODE_LABELS, "device"), "bytes"),
    MetricFamily("node_network_transmit_bytes_total", "counter", "Network device statistic transmit_bytes.",
                 (*NODE_LABELS, "device"), "bytes"),
)


@dataclass(frozen=True)
class World:
    nodes: tuple[Node, ...]
    services: tuple[Service, ...]
    routes: tuple[Route, ...]
    metrics: tuple[MetricFamily, ...] = METRICS
    queue: str = "order-fulfilment"
    queue_service: str = "checkout"
    _index: dict[str, Service] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({s.name: s for s in self.services})

    def service(self, name: str) -> Service:
        return self._index[name]

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    @property
    def service_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.services)

    @property
    def node_names(self) -> tuple[str, ...]:
        return tuple(n.name for n in self.nodes)

    def routes_of(self, service: str) -> tuple[Route, ...]:
        return tuple(r for r in self.routes if r.service == service)

    def route(self, service: str, route: str) -> Route:
        return next(r for r in self.routes if r.service == service and r.route == route)

    def services_on(self, node: str) -> tuple[Service, ...]:
        return tuple(s for s in self.services if s.node == node)

    def call_graph(self) -> dict[str, tuple[str, ...]]:
        """Service -> the services it calls (direct edges, sorted)."""
        graph: dict[str, set[str]] = {s.name: set() for s in self.services}
        for r in self.routes:
            graph[r.service].update(c.service for c in r.calls)
        for s in self.services:
            if s.cache_client:  # cache misses fall through to the database
                graph[s.name].add("postgres")
        return {k: tuple(sorted(v)) for k, v in graph.items()}

    def callers_of(self, service: str) -> tuple[str, ...]:
        return tuple(sorted(k for k, v in self.call_graph().items() if service in v))

    def upstream_of(self, service: str) -> tuple[str, ...]:
        """Every service whose requests (transitively) reach ``service``."""
        seen: set[str] = set()
        todo = [service]
        while todo:
            for caller in self.callers_of(todo.pop()):
                if caller not in seen:
                    seen.add(caller)
                    todo.append(caller)
        return tuple(sorted(seen))

    def metric(self, name: str) -> MetricFamily:
        return next(m for m in self.metrics if m.name == name)

    def http_services_bottom_up(self) -> tuple[str, ...]:
        """HTTP services, callees before callers (a depth-first post-order of the call graph)."""
        graph = self.call_graph()
        http = [s.name for s in self.services if s.kind == "http"]
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order or name not in http:
                return
            for callee in graph[name]:
                visit(callee)
            order.append(name)

        for name in http:
            visit(name)
        return tuple(order)

    def http_routes(self) -> tuple[Route, ...]:
        """Routes with HTTP metrics, callees before callers (the order latency and errors are computed in)."""
        return tuple(r for s in self.http_services_bottom_up() for r in self.routes_of(s))


_FS_ROOT = Filesystem("/dev/sda1", "/", "ext4", 80 * GIB, 0.35)
_PG = Call("postgres", None)

WORLD = World(
    nodes=(
        Node("node-1", 2, 8 * GIB, int(1.6 * GIB), (_FS_ROOT,)),
        Node("node-2", 2, 8 * GIB, int(1.5 * GIB), (_FS_ROOT,)),
        Node("node-3", 2, 16 * GIB, int(3.0 * GIB),
             (_FS_ROOT, Filesystem("/dev/sdb1", "/var/lib/postgresql", "ext4", 200 * GIB, 0.45))),
    ),
    services=(
        Service("frontend", "node-1", 8080, "http", 45.0, 2, 180 * MIB, 512 * MIB, 0.004, 0.01, "2.4.0"),
        Service("catalog", "node-1", 8081, "http", 60.0, 1, 240 * MIB, 512 * MIB, 0.003, 0.01, "1.9.0",
                db_pool_max=30, cache_client=True),
        Service("cart", "node-2", 8082, "http", 50.0, 1, 150 * MIB, 384 * MIB, 0.002, 0.01, "3.1.0",
                db_pool_max=20),
        Service("checkout", "node-2", 8083, "http", 20.0, 1, 210 * MIB, 512 * MIB, 0.008, 0.01, "1.12.0",
                db_pool_max=50),
        Service("payments", "node-2", 8084, "http", 15.0, 1, 160 * MIB, 384 * MIB, 0.006, 0.01, "0.8.0"),
        Service("postgres", "node-3", 9187, "database", 70.0, 1, 1200 * MIB, 4096 * MIB, 0.002, 0.03, "15.4",
                deployable=False),
        Service("redis", "node-3", 9121, "cache", 2000.0, 1, 300 * MIB, 1024 * MIB, 0.0001, 0.005, "7.2.1",
                deployable=False),
    ),
    routes=(
        Route("frontend", "/", "GET", 0.012, 0.0008,
              (Call("catalog", "/products"), Call("cart", "/cart")), share=0.44),
        Route("frontend", "/product/{id}", "GET", 0.010, 0.0008, (Call("catalog", "/products/{id}"),), share=0.35),
        Route("frontend", "/cart", "POST", 0.008, 0.0010, (Call("cart", "/cart/items"),), share=0.13),
        Route("frontend", "/checkout", "POST", 0.015, 0.0010, (Call("checkout", "/checkout"),), share=0.08),
        Route("catalog", "/products", "GET", 0.006, 0.0005, (Call("redis", None, 3.0),)),
        Route("catalog", "/products/{id}", "GET", 0.004, 0.0005, (Call("redis", None, 1.0),)),
        Route("cart", "/cart", "GET", 0.003, 0.0005, (Call("redis", None, 1.0),)),
        Route("cart", "/cart/items", "POST", 0.005, 0.0008, (Call("redis", None, 1.0), Call("postgres", None, 1.0,
                                                                                          write=True))),
        Route("checkout", "/checkout", "POST", 0.030, 0.0020,
              (Call("cart", "/cart"), Call("payments", "/charge"), Call("postgres", None, 3.0, write=True))),
        Route("payments", "/charge", "POST", 0.140, 0.0030),
    ),
)
