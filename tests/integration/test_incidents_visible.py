"""Every incident in the demo history is visible through PromQL on a real Prometheus.

Two layers, both against the backfilled Prometheus (``prometheus_demo``):

1. Our own checks, per incident type (``CHECKS`` below): the PromQL an SRE would put on a dashboard for that
   kind of trouble, and a threshold they would accept as "clearly visible". A window is compared with the
   hour before the incident::

       up:    during >= min_ratio * baseline   and   during - baseline >= Z * sigma(baseline)
       down:  during <= baseline / min_ratio   and   baseline - during >= Z * sigma(baseline)

   ``sigma`` is floored at 1 % of the baseline, so a synthetic flat line cannot turn a tiny change into
   "many standard deviations". ``during`` is the mean over the incident (or its max/min where the signal is
   a climb or a fall). The window starts 5 minutes in, so ``rate(...[5m])`` sees only incident data.
2. The simulator's own ``symptoms`` from ``incidents.json``: each must move in its stated direction by its
   stated factor, with the same Z-score rule, so the ground truth later features rely on is true.

"Every incident": a test asserts each incident's type has checks here, and each type test walks all the
incidents of that type in the history.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from promv5_lab.backends.prometheus import PrometheusBackend
from promv5_lab.types import TimeRange, as_utc

Z = 5.0  # standard deviations of the baseline hour
BASELINE = timedelta(hours=1)
RATE_SETTLE = timedelta(minutes=5)


def _err_ratio(service: str) -> str:
    return (f'sum(rate(http_requests_total{{service="{service}",code=~"5.."}}[5m])) / '
            f'sum(rate(http_requests_total{{service="{service}"}}[5m]))')


def _quantile(q: float, service: str) -> str:
    return (f"histogram_quantile({q}, sum by (le) "
            f'(rate(http_request_duration_seconds_bucket{{service="{service}"}}[5m])))')


@dataclass(frozen=True)
class Check:
    """One PromQL signal, its expected move, and how much counts as clearly visible."""

    what: str
    promql: str
    direction: str  # "up" | "down" | "appears" (baseline zero, then positive)
    min_ratio: float = 3.0
    during: str = "mean"  # "mean" | "max" | "min" over the incident window
    min_abs: float = 0.0  # "during" must also reach this absolute level (e.g. 1 % errors)


def _checks(inc: dict) -> list[Check]:
    kind, svc, culprit, node = inc["type"], inc["service"], inc["root_cause_service"], inc.get("node")
    if kind == "bad_deploy":
        return [
            Check(f"{culprit} p99 latency", _quantile(0.99, culprit), "up", 1.25),
            Check(f"{culprit} mean latency",
                  f'sum(rate(http_request_duration_seconds_sum{{service="{culprit}"}}[5m])) / '
                  f'sum(rate(http_request_duration_seconds_count{{service="{culprit}"}}[5m]))', "up", 1.25),
        ]
    if kind == "memory_leak":
        return [
            Check(f"{culprit} resident memory climbs", f'max(process_resident_memory_bytes{{service="{culprit}"}})',
                  "up", 1.5, during="max"),
            Check(f"{culprit} restarts (OOM kills)",
                  f'sum(increase(kube_pod_container_status_restarts_total{{service="{culprit}"}}[15m]))',
                  "appears", during="max"),
        ]
    if kind == "disk_fill":
        return [
            Check(f"free space on {node}",
                  f'min(node_filesystem_avail_bytes{{instance=~"{node}:.*"}} / '
                  f'node_filesystem_size_bytes{{instance=~"{node}:.*"}})', "down", 2.0, during="min"),
            *([Check(f"{svc} error ratio", _err_ratio(svc), "up", 3.0, min_abs=0.01)] if svc != culprit else []),
        ]
    if kind == "db_pool_exhaustion":
        return [
            Check(f"{culprit} DB pool use",
                  f'max(db_connections_in_use{{service="{culprit}"}} / db_connections_max{{service="{culprit}"}})',
                  "up", 3.0),
            Check(f"{culprit} error ratio", _err_ratio(culprit), "up", 3.0, min_abs=0.05),
            Check("frontend error ratio (cascade)", _err_ratio("frontend"), "up", 3.0, min_abs=0.05),
        ]
    if kind == "cache_failure":
        miss, hit = "sum(rate(cache_misses_total[5m]))", "sum(rate(cache_hits_total[5m]))"
        return [
            Check("cache miss ratio", f"{miss} / ({miss} + {hit})", "up", 3.0),
            Check("database query rate", "sum(rate(db_queries_total[5m]))", "up", 2.0),
            Check(f"{svc} p99 latency", _quantile(0.99, svc), "up", 1.5),
        ]
    if kind == "traffic_surge":
        return [
            Check("frontend request rate", 'sum(rate(http_requests_total{service="frontend"}[5m]))', "up", 2.0),
            Check("frontend error ratio (shed 503s)", _err_ratio("frontend"), "up", 3.0, min_abs=0.01),
            Check("frontend p99 latency", _quantile(0.99, "frontend"), "up", 1.5),
        ]
    raise AssertionError(f"no visibility checks for incident type {kind!r}")


KNOWN_TYPES = ("bad_deploy", "memory_leak", "disk_fill", "db_pool_exhaustion", "cache_failure", "traffic_surge")


@pytest.fixture(scope="module")
def incidents(demo_history) -> list[dict]:
    return json.loads((Path(demo_history.out_dir) / "incidents.json").read_text())


@pytest.fixture(scope="module")
def prom(prometheus_demo) -> PrometheusBackend:
    return PrometheusBackend(prometheus_demo.url, timeout_s=30)


def _values(prom: PrometheusBackend, promql: str, start: datetime, end: datetime, step_s: float) -> np.ndarray:
    frame = prom.query_range(promql, TimeRange(start, end, step_s)).frame
    labels = [c for c in frame.columns if c not in ("timestamp", "value")]
    assert not labels or len(frame[labels].drop_duplicates()) <= 1, f"{promql} returned several series"
    vals = frame["value"].to_numpy(dtype=float)
    return vals[np.isfinite(vals)]


@dataclass(frozen=True)
class Measured:
    baseline: float
    sigma: float
    during: float
    n_base: int
    n_during: int

    def __str__(self) -> str:
        ratio = self.during / self.baseline if self.baseline else math.inf
        return (f"baseline {self.baseline:.4g} (sd {self.sigma:.3g}, n={self.n_base}) -> during {self.during:.4g}"
                f" (n={self.n_during}), x{ratio:.3g}")


def _measure(prom: PrometheusBackend, promql: str, inc: dict, step_s: float, during: str = "mean") -> Measured:
    start, end = as_utc(inc["start"]), as_utc(inc["end"])
    base = _values(prom, promql, start - BASELINE, start - timedelta(seconds=step_s), step_s)
    settle = RATE_SETTLE if (end - start) > 3 * RATE_SETTLE else timedelta(0)
    win = _values(prom, promql, start + settle, end, step_s)
    agg: Callable[[np.ndarray], float] = {"mean": np.mean, "max": np.max, "min": np.min}[during]
    return Measured(
        baseline=float(np.mean(base)) if base.size else 0.0,
        sigma=float(np.std(base)) if base.size else 0.0,
        during=float(agg(win)) if win.size else math.nan,
        n_base=int(base.size), n_during=int(win.size),
    )


def _clearly(m: Measured, direction: str, min_ratio: float, min_abs: float = 0.0) -> bool:
    if not math.isfinite(m.during) or m.n_during == 0:
        return False
    if direction == "appears":
        return m.baseline == 0.0 and m.during > 0.0
    sigma = max(m.sigma, 0.01 * abs(m.baseline))
    if direction == "up":
        if m.baseline == 0.0:
            return m.during > max(min_abs, 0.0)
        return m.during >= min_ratio * m.baseline and m.during - m.baseline >= Z * sigma and m.during >= min_abs
    return m.during <= m.baseline / min_ratio and m.baseline - m.during >= Z * sigma


def test_every_incident_has_checks(incidents):
    assert incidents, "the demo history has no incidents"
    unknown = sorted({i["type"] for i in incidents} - set(KNOWN_TYPES))
    assert not unknown, f"incident types without visibility checks in this test: {unknown}"
    assert {i["type"] for i in incidents} == set(KNOWN_TYPES), "3 demo days should hold every incident type"


@pytest.mark.parametrize("kind", KNOWN_TYPES)
def test_incident_clearly_visible(kind, incidents, prom, demo_history):
    """Our own SRE-style checks: each signal moves clearly (ratio AND several baseline SDs)."""
    mine = [i for i in incidents if i["type"] == kind]
    assert mine, f"no {kind} incident in the demo history"
    failures = []
    for inc in mine:
        for check in _checks(inc):
            m = _measure(prom, check.promql, inc, demo_history.step_s, check.during)
            ok = _clearly(m, check.direction, check.min_ratio, check.min_abs)
            if not ok:
                failures.append(f"{inc['id']}: {check.what} not clearly {check.direction} "
                                f"(need x{check.min_ratio}): {m}\n    {check.promql}")
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("kind", KNOWN_TYPES)
def test_incident_symptoms_hold(kind, incidents, prom, demo_history):
    """The simulator's own ``symptoms`` move as incidents.json says, by at least their factor."""
    mine = [i for i in incidents if i["type"] == kind]
    assert mine
    failures = []
    for inc in mine:
        assert inc.get("symptoms"), f"{inc['id']} lists no symptoms"
        for sym in inc["symptoms"]:
            m = _measure(prom, sym["promql"], inc, demo_history.step_s)
            ok = _clearly(m, sym["direction"], float(sym["factor"]))
            if not ok:
                failures.append(f"{inc['id']}: symptom '{sym['description']}' not {sym['direction']} by "
                                f"x{sym['factor']}: {m}\n    {sym['promql']}")
    assert not failures, "\n".join(failures)


def _quiet_copy(inc: dict, incidents: list[dict], history_start: datetime, history_end: datetime) -> dict | None:
    """The same incident moved to a stretch of the history with no incident near it (or None)."""
    start, end = as_utc(inc["start"]), as_utc(inc["end"])
    margin = timedelta(hours=1)
    for hours in (-5, 5, -8, 8, -11, 11, -14, 14):
        s, e = start + timedelta(hours=hours), end + timedelta(hours=hours)
        if s - BASELINE - margin < history_start or e + margin > history_end:
            continue
        if all(e + margin < as_utc(o["start"]) or s - BASELINE - margin > as_utc(o["end"]) for o in incidents):
            return {**inc, "start": s.isoformat(), "end": e.isoformat()}
    return None


def test_quiet_windows_are_not_flagged(incidents, prom, demo_history):
    """The checks discriminate: the same windows moved to incident-free hours are (almost) never flagged."""
    flagged, total = [], 0
    for inc in incidents:
        quiet = _quiet_copy(inc, incidents, demo_history.start, demo_history.end)
        if quiet is None:
            continue
        for check in _checks(quiet):
            total += 1
            m = _measure(prom, check.promql, quiet, demo_history.step_s, check.during)
            if _clearly(m, check.direction, check.min_ratio, check.min_abs):
                flagged.append(f"{inc['id']} moved to {quiet['start']}: {check.what}: {m}")
    assert total >= 10, f"only {total} quiet checks could be placed"
    assert len(flagged) <= total // 10, "\n".join(flagged)
