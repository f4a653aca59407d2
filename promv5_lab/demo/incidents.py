"""The incident catalogue, the ground-truth record of each injected incident, and its PromQL symptoms.

``incidents.json`` (written by :func:`promv5_lab.demo.simulate.simulate`) is a list of objects::

    {"id": "inc-003-db_pool_exhaustion", "type": "db_pool_exhaustion",
     "service": "checkout",            # where users/alerts see it first
     "root_cause_service": "checkout", # the culprit
     "start": "2026-11-25T10:00:00Z", "end": "2026-11-25T10:40:00Z",
     "remediation": "restart",         # the action that ends it (the live server's /admin/actions)
     "node": "node-2", "description": "...", "affected_services": ["checkout", "frontend"],
     "version": null,                  # bad_deploy: the bad version in shop_build_info
     "symptoms": [{"promql": "...", "direction": "up", "factor": 3.0, "description": "..."}]}

A symptom holds when the mean of ``promql`` (a range-query over ``[start, end]``, evaluated at the
simulation step) compared with its mean over the hour before ``start`` moved in ``direction`` by at
least ``factor`` (``up``: during >= factor * before, or before == 0 and during > 0; ``down``:
during <= before / factor). Ratios use ``rate(...[5m])`` so the first minutes of a window may lag.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from ..errors import InputError
from ..types import as_utc
from .world import WORLD, World

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class IncidentType:
    """One kind of incident the world knows how to inject (history and live)."""

    name: str
    default_service: str  # default root-cause target
    targets: tuple[str, ...]  # services it may be injected into
    remediation: str
    duration_s: tuple[float, float]  # history: min/max length
    description: str


CATALOGUE: dict[str, IncidentType] = {
    t.name: t
    for t in (
        IncidentType("bad_deploy", "checkout", ("catalog", "cart", "checkout", "payments", "frontend"), "rollback",
                     (1800, 3600), "a new version regresses latency (and a few errors) on the service"),
        IncidentType("memory_leak", "cart", ("catalog", "cart", "checkout", "payments", "frontend"), "restart",
                     (7200, 10800), "resident memory climbs until the container is OOM-killed, again and again"),
        IncidentType("disk_fill", "postgres", ("postgres", "redis", "frontend", "catalog", "cart", "checkout",
                                               "payments"),
                     "clear_disk", (5400, 9000), "a filesystem fills up; writes fail once it is nearly full"),
        IncidentType("db_pool_exhaustion", "checkout", ("checkout", "cart", "catalog"), "restart",
                     (1200, 2700), "leaked connections exhaust the client's database pool; requests time out"),
        IncidentType("cache_failure", "redis", ("redis",), "flush_cache",
                     (1200, 2400), "poisoned cache entries: misses spike and the database takes the load"),
        IncidentType("traffic_surge", "frontend", ("frontend",), "scale",
                     (1800, 3600), "user traffic far beyond capacity: queueing latency and shed requests (503)"),
    )
}
INCIDENT_TYPES: tuple[str, ...] = tuple(CATALOGUE)
ACTIONS: tuple[str, ...] = ("restart", "rollback", "scale", "clear_disk", "flush_cache")


@dataclass(frozen=True)
class Symptom:
    promql: str
    direction: Direction
    factor: float
    description: str
    service: str = ""


@dataclass(frozen=True)
class Incident:
    id: str
    type: str
    service: str
    root_cause_service: str
    start: datetime
    end: datetime
    remediation: str
    node: str | None = None
    description: str = ""
    affected_services: tuple[str, ...] = ()
    version: str | None = None
    symptoms: tuple[Symptom, ...] = field(default=())

    @property
    def duration_s(self) -> float:
        return (self.end - self.start).total_seconds()

    def contains(self, t: datetime) -> bool:
        return self.start <= t <= self.end

    def to_json(self) -> dict:
        d = asdict(self)
        d["start"] = iso(self.start)
        d["end"] = iso(self.end)
        d["affected_services"] = list(self.affected_services)
        d["symptoms"] = [asdict(s) for s in self.symptoms]
        return d


def iso(t: datetime) -> str:
    """ISO 8601 UTC with a Z, second resolution (millisecond when needed)."""
    t = as_utc(t)
    if t.microsecond:
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _route_sel(route: str | None) -> str:
    if not route:
        return ""
    return f',route=~"{route}"' if "|" in route else f',route="{route}"'


def _ratio_5xx(service: str, route: str | None = None) -> str:
    sel = f'service="{service}"' + _route_sel(route)
    return (f'sum(rate(http_requests_total{{{sel},code=~"5.."}}[5m])) / '
            f"sum(rate(http_requests_total{{{sel}}}[5m]))")


def _p90(service: str, route: str | None = None) -> str:
    sel = f'service="{service}"' + _route_sel(route)
    return f"histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket{{{sel}}}[5m])))"


def frontend_routes_reaching(service: str, world: World = WORLD) -> tuple[str, ...]:
    """Frontend routes whose call tree reaches ``service`` (directly or through other services)."""
    def reaches(svc: str, route: str | None) -> bool:
        if svc == service:
            return True
        if route is None:
            return svc == "redis" and service == "postgres"  # cache misses fall through to the database
        r = world.route(svc, route)
        return any(reaches(c.service, c.route) for c in r.calls)

    return tuple(r.route for r in world.routes_of("frontend") if reaches("frontend", r.route))


def frontend_route_for(service: str, world: World = WORLD) -> str | None:
    """The frontend route where ``service`` weighs most: the one reaching it through the fewest services."""
    def subtree(svc: str, route: str | None) -> set[str]:
        out = {svc}
        if route is not None:
            for c in world.route(svc, route).calls:
                out |= subtree(c.service, c.route)
        elif svc == "redis":
            out.add("postgres")
        return out

    best = [(len(subtree("frontend", r)), r) for r in frontend_routes_reaching(service, world)]
    return min(best)[1] if best else None


def user_facing(kind: str, culprit: str) -> str:
    """The HTTP service whose alerts fire first for this incident."""
    if kind in ("traffic_surge",):
        return "frontend"
    if kind == "cache_failure":
        return "catalog"
    if kind == "disk_fill":
        return "checkout" if culprit == "postgres" else ("catalog" if culprit == "redis" else culprit)
    return culprit


def symptoms_for(kind: str, culprit: str, version: str | None = None, world: World = WORLD) -> tuple[Symptom, ...]:
    """The PromQL-checkable expectations of an incident (see the module docstring for semantics)."""
    fr = "|".join(frontend_routes_reaching(culprit, world)) or None
    out: list[Symptom] = []
    if kind == "bad_deploy":
        out += [Symptom(_p90(culprit), "up", 2.0, f"p90 latency of {culprit} regresses", culprit)]
        if culprit != "frontend":
            route = frontend_route_for(culprit, world)
            out.append(Symptom(_p90("frontend", route), "up", 1.3, f"frontend {route} (which calls it) slows down",
                               "frontend"))
        out.append(Symptom(f'max(shop_build_info{{service="{culprit}",version="{version}"}})', "up", 1.0,
                           f"the bad version {version} is running", culprit))
    elif kind == "memory_leak":
        out += [
            Symptom(f'max(process_resident_memory_bytes{{service="{culprit}"}})', "up", 1.3,
                    "resident memory climbs", culprit),
            Symptom(f'max(increase(kube_pod_container_status_restarts_total{{service="{culprit}"}}[15m]))', "up",
                    1.0, "the container is OOM-killed and restarts", culprit),
        ]
    elif kind == "disk_fill":
        svc = world.service(culprit)
        node = world.node(svc.node)
        fs = node.filesystems[-1]
        sel = f'instance="{node.instance}",mountpoint="{fs.mountpoint}"'
        out.append(Symptom(f"min(node_filesystem_avail_bytes{{{sel}}} / node_filesystem_size_bytes{{{sel}}})",
                           "down", 1.8, f"{fs.mountpoint} on {node.name} fills up", culprit))
        if culprit == "postgres":
            out.append(Symptom(_ratio_5xx("checkout"), "up", 3.0, "checkout writes fail near the end",
                               "checkout"))
    elif kind == "db_pool_exhaustion":
        out += [
            Symptom(f'max(db_connections_in_use{{service="{culprit}"}} / db_connections_max{{service="{culprit}"}})',
                    "up", 3.0, "the connection pool saturates", culprit),
            Symptom(_ratio_5xx(culprit), "up", 5.0, f"{culprit} answers 5xx", culprit),
            Symptom(_ratio_5xx("frontend", fr), "up", 5.0, "the errors cascade to the frontend", "frontend"),
        ]
    elif kind == "cache_failure":
        miss = 'sum(rate(cache_misses_total{service="catalog"}[5m]))'
        hit = 'sum(rate(cache_hits_total{service="catalog"}[5m]))'
        out += [
            Symptom(f"{miss} / ({miss} + {hit})", "up", 3.0, "the cache miss ratio spikes", "catalog"),
            Symptom('sum(rate(db_queries_total{service="catalog"}[5m]))', "up", 3.0,
                    "cache misses turn into database queries", "postgres"),
            Symptom("sum(rate(db_query_duration_seconds_sum[5m])) / sum(rate(db_query_duration_seconds_count[5m]))",
                    "up", 1.5, "database latency rises under the load", "postgres"),
            Symptom(_p90("catalog"), "up", 1.5, "catalog slows down", "catalog"),
        ]
    elif kind == "traffic_surge":
        out += [
            Symptom('sum(rate(http_requests_total{service="frontend"}[5m]))', "up", 1.8, "request rate surges",
                    "frontend"),
            Symptom('sum(rate(http_requests_total{service="frontend",code="503"}[5m])) / '
                    'sum(rate(http_requests_total{service="frontend"}[5m]))', "up", 5.0,
                    "requests beyond capacity are shed with 503", "frontend"),
            Symptom(_p90("frontend"), "up", 2.0, "queueing latency at the frontend", "frontend"),
        ]
    return tuple(out)


def affected_services(kind: str, culprit: str, world: World = WORLD) -> tuple[str, ...]:
    if kind == "traffic_surge":
        return ("frontend", "catalog", "cart", "checkout")
    if kind == "cache_failure":
        return ("redis", "catalog", "postgres", "frontend")
    if kind == "disk_fill" and culprit == "postgres":
        return ("postgres", "checkout", "cart", "frontend")
    if kind == "disk_fill":
        return (culprit,)
    return (culprit, *world.upstream_of(culprit))


def make_incident(
    index: int, kind: str, culprit: str, start: datetime, end: datetime, *, version: str | None = None,
    world: World = WORLD,
) -> Incident:
    spec = CATALOGUE[kind]
    svc = world.service(culprit)
    desc = f"{kind.replace('_', ' ')} on {culprit}: {spec.description}"
    if version:
        desc += f" (version {version})"
    return Incident(
        id=f"inc-{index:03d}-{kind}", type=kind, service=user_facing(kind, culprit), root_cause_service=culprit,
        start=as_utc(start), end=as_utc(end), remediation=spec.remediation, node=svc.node, description=desc,
        affected_services=affected_services(kind, culprit, world), version=version,
        symptoms=symptoms_for(kind, culprit, version, world),
    )


def schedule(rng, start: datetime, end: datetime, *, quiet_tail_s: float = 7200.0, lead_s: float = 3600.0,
             world: World = WORLD) -> list[tuple[str, str, datetime, datetime]]:
    """Place incidents over ``[start + lead, end - quiet_tail]``: (type, culprit, start, end), sorted.

    About one per 12-24 h, at least one of each type when the span allows (>= 3 days), each in its own
    slot so they never overlap.
    """
    lo = start + timedelta(seconds=lead_s)
    hi = end - timedelta(seconds=quiet_tail_s)
    avail = (hi - lo).total_seconds()
    min_slot = 4.5 * 3600
    if avail < 2400:
        return []
    fit = int(avail // min_slot)
    nominal = int(round(avail / (rng.uniform(12, 24) * 3600)))
    n = max(nominal, min(len(CATALOGUE), fit), 1)
    kinds = list(rng.permutation(INCIDENT_TYPES))
    while len(kinds) < n:
        kinds.append(str(rng.choice(INCIDENT_TYPES)))
    kinds = [str(k) for k in kinds[:n]]
    if n > len(CATALOGUE):
        rng.shuffle(kinds)
    slot = avail / n
    out = []
    for i, kind in enumerate(kinds):
        spec = CATALOGUE[kind]
        dur = float(rng.uniform(*spec.duration_s))
        dur = min(dur, 0.8 * slot)
        offset = float(rng.uniform(0.05 * slot, max(0.05 * slot, slot - dur - 0.05 * slot)))
        s = lo + timedelta(seconds=i * slot + offset)
        s = s.replace(second=0, microsecond=0)
        culprit = _pick_culprit(rng, kind)
        out.append((kind, culprit, s, s + timedelta(seconds=round(dur / 60) * 60)))
    return out


def _pick_culprit(rng, kind: str) -> str:
    if kind == "bad_deploy":
        return str(rng.choice(["catalog", "cart", "checkout", "payments"]))
    if kind == "memory_leak":
        return str(rng.choice(["cart", "catalog", "checkout"]))
    return CATALOGUE[kind].default_service


def dump_incidents(incidents: list[Incident], path: str | Path) -> None:
    Path(path).write_text(json.dumps([i.to_json() for i in incidents], indent=2) + "\n")


def load_incidents(path: str | Path) -> list[Incident]:
    """Read ``incidents.json`` back into :class:`Incident` objects."""
    p = Path(path)
    if p.is_dir():
        p = p / "incidents.json"
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError as exc:
        raise InputError(f"No incidents file at {p}", hint="Run `promv5-lab simulate --out DIR` first") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{p} is not valid JSON: {exc}") from exc
    if not isinstance(raw, list):
        raise InputError(f"{p} must hold a JSON list of incidents")
    out = []
    for i, d in enumerate(raw):
        try:
            out.append(Incident(
                id=d["id"], type=d["type"], service=d["service"], root_cause_service=d["root_cause_service"],
                start=as_utc(d["start"]), end=as_utc(d["end"]), remediation=d["remediation"], node=d.get("node"),
                description=d.get("description", ""), affected_services=tuple(d.get("affected_services", ())),
                version=d.get("version"),
                symptoms=tuple(Symptom(**s) for s in d.get("symptoms", ())),
            ))
        except (KeyError, TypeError) as exc:
            raise InputError(f"Incident #{i} in {p} is malformed: {exc}") from exc
    return out
