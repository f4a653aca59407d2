"""Chaos runs on the live demo world: inject incidents, let the healing loop fix them, measure.

Used by ``benchmarks/chaos_heal.py`` and the integration test. The world (:class:`~promv5_lab.demo.server.DemoServer`)
is scraped every second by a real Prometheus (:class:`DemoScrapeHarness`: both ``/metrics`` and
``/metrics/node``, ``honor_labels: true``); the loop (:class:`~.healing.HealingLoop`, ``--execute``,
approvals ``auto``) runs in a thread; faults go in through ``POST /admin/faults``.

An incident counts as *autonomously resolved* when the fault left the world through one of the loop's
actions and the loop's own verification held (an ``outcome: resolved`` entry in the audit log for it).
Time to recovery runs from the injection to that outcome. A *false action* is an executed action while
no fault was active.
"""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from ..backends.harness import PrometheusHarness, _yaml_list
from .audit import AuditLog

log = logging.getLogger(__name__)

POLICIES = Path(__file__).resolve().parent.parent / "demo" / "policies.yaml"
VICTIMS = {"db_pool_exhaustion": ["checkout", "cart", "catalog"], "memory_leak": ["cart", "catalog", "checkout"],
           "disk_fill": ["postgres"], "cache_failure": ["redis"], "traffic_surge": ["frontend"],
           "bad_deploy": ["catalog", "cart", "checkout", "payments"]}


class DemoScrapeHarness(PrometheusHarness):
    """A Prometheus scraping the live demo world's two pages every ``scrape_interval``, keeping its labels."""

    def config_text(self) -> str:
        targets = _yaml_list(t.split("://", 1)[-1].rstrip("/") for t in self.scrape_targets)
        return (f"global:\n  scrape_interval: {self.scrape_interval}\n  evaluation_interval: {self.evaluation_interval}\n"
                "scrape_configs:\n"
                f"  - job_name: shop\n    honor_labels: true\n    static_configs: [{{targets: {targets}}}]\n"
                "  - job_name: node\n    honor_labels: true\n    metrics_path: /metrics/node\n"
                f"    static_configs: [{{targets: {targets}}}]\n")


@dataclass
class IncidentResult:
    type: str
    service: str
    injected: str
    resolved_by_heal: bool
    verified: bool
    mttr_s: float | None
    policy: str = ""
    note: str = ""
    actions: int = 0  # actions heal executed from the injection until the next one


@dataclass
class ChaosReport:
    incidents: list[IncidentResult] = field(default_factory=list)
    false_actions: int = 0
    healthy_seconds: float = 0.0
    executions: int = 0
    audit_ok: bool = False
    seconds: float = 0.0

    @property
    def resolution_rate(self) -> float:
        return sum(i.resolved_by_heal and i.verified for i in self.incidents) / max(1, len(self.incidents))

    @property
    def mean_ttr_s(self) -> float | None:
        xs = [i.mttr_s for i in self.incidents if i.mttr_s is not None and i.verified]
        return sum(xs) / len(xs) if xs else None

    def to_json(self) -> dict:
        return {"resolution_rate": self.resolution_rate, "mean_time_to_recovery_s": self.mean_ttr_s,
                "false_actions": self.false_actions, "healthy_seconds": round(self.healthy_seconds, 1),
                "executions": self.executions, "audit_chain_ok": self.audit_ok, "seconds": round(self.seconds, 1),
                "incidents": [asdict(i) for i in self.incidents]}


def _state(requests, url: str) -> dict:
    return requests.get(url + "/admin/state", timeout=10).json()


def run_chaos(plan: list[tuple[str, str]], *, audit_path: str | Path, seed: int = 1, time_scale: float = 1.0,
              warmup_s: float = 75.0, healthy_gap_s: float = 20.0, timeout_s: float = 90.0, interval_s: float = 1.0,
              policies: str | Path = POLICIES, via_cli: bool = True, echo=print) -> ChaosReport:
    """Inject each (type, service) of ``plan`` in turn, waiting for heal to fix it (or ``timeout_s``).

    ``via_cli`` runs ``promv5-lab heal --execute --approve auto`` as a child process (stopped by its pid);
    otherwise the same loop runs in a thread.
    """
    import requests

    from ..backends.prometheus import PrometheusBackend
    from ..demo.server import DemoServer
    from .healing import HealingLoop
    from .policy import load_policies

    report = ChaosReport()
    t_start = time.monotonic()
    healthy: list[tuple[datetime, datetime]] = []
    with DemoServer(port=0, seed=seed, time_scale=time_scale) as srv, \
            DemoScrapeHarness(scrape_targets=[srv.url], scrape_interval="1s", evaluation_interval="1s") as prom:
        prom.start()
        pols = load_policies(policies, {"ADMIN_URL": srv.url})
        audit = AuditLog(audit_path, secrets=pols.secrets)
        stop = threading.Event()
        with PrometheusBackend(prom.url) as backend:
            if via_cli:
                argv = [sys.executable, "-m", "promv5_lab.remediate.cli", "heal", "--backend", prom.url,
                        "--policies", str(policies), "--var", f"ADMIN_URL={srv.url}", "--approve", "auto",
                        "--execute", "--interval", str(interval_s), "--log", str(audit_path)]
                heal_log = open(Path(audit_path).with_suffix(".heal.log"), "w")  # noqa: SIM115 - closed below
                proc = subprocess.Popen(argv, stdout=heal_log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
                worker = None
            else:
                loop = HealingLoop(backend, pols, audit, dry_run=False, approver=None,
                                   echo=lambda s: log.info("%s", s))
                worker = threading.Thread(target=loop.run, kwargs={"interval_s": interval_s, "stop": stop.is_set},
                                          name="heal", daemon=True)
                worker.start()
            try:
                t0 = datetime.now(timezone.utc)
                time.sleep(warmup_s)
                healthy.append((t0, datetime.now(timezone.utc)))
                for n, (kind, svc) in enumerate(plan, 1):
                    t_inj = datetime.now(timezone.utc)
                    res = _one(requests, srv.url, audit, kind, svc, timeout_s)
                    report.incidents.append(res)
                    echo(f"[{n}/{len(plan)}] {kind} on {svc}: "
                         + (f"healed by {res.policy} in {res.mttr_s:.1f}s" if res.verified and res.resolved_by_heal
                            else f"NOT healed ({res.note})"))
                    h0 = datetime.now(timezone.utc)
                    time.sleep(healthy_gap_s)
                    if not _state(requests, srv.url)["active_faults"]:
                        healthy.append((h0, datetime.now(timezone.utc)))
                    res.actions = sum(not e.dry_run for e in audit.entries(t_inj, kind="execution"))
            finally:
                stop.set()
                if worker is not None:
                    worker.join(timeout=120)
                else:
                    proc.terminate()
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait(timeout=30)
                    heal_log.close()
        execs = [e for e in audit.entries(kind="execution") if not e.dry_run]
        report.executions = len(execs)
        report.false_actions = sum(any(a <= e.at <= b for a, b in healthy) for e in execs)
        report.healthy_seconds = sum((b - a).total_seconds() for a, b in healthy)
        report.audit_ok = audit.verify().ok
        audit.close()
    report.seconds = time.monotonic() - t_start
    return report


def _one(requests, url: str, audit: AuditLog, kind: str, svc: str, timeout_s: float) -> IncidentResult:
    if kind == "traffic_surge":  # a fresh surge needs the usual capacity (an earlier scale-out may remain)
        requests.post(url + "/admin/actions", json={"action": "scale", "service": "frontend",
                                                    "params": {"replicas": 2}}, timeout=10)
    r = requests.post(url + "/admin/faults", json={"type": kind, "service": svc}, timeout=10)
    r.raise_for_status()
    fid = r.json()["id"]
    t_inj = datetime.now(timezone.utc)
    m0 = time.monotonic()
    res = IncidentResult(kind, svc, t_inj.isoformat(), False, False, None)
    while time.monotonic() - m0 < timeout_s:
        time.sleep(0.5)
        outcomes = [e for e in audit.entries(t_inj, kind="outcome") if not e.dry_run and e.outcome == "resolved"]
        st = _state(requests, url)
        gone = fid not in {f["id"] for f in st["active_faults"]}
        if gone:
            by_heal = any(fid in a.get("resolved", []) for a in st["recent_actions"])
            res.resolved_by_heal = by_heal
            if outcomes:
                o = outcomes[0]
                res.verified, res.policy = True, o.policy
                res.mttr_s = round((o.at - t_inj).total_seconds(), 1)
                return res
            # resolved in the world: wait for heal's verification to land
            if time.monotonic() - m0 > timeout_s - 1:
                break
    st = _state(requests, url)
    if fid in {f["id"] for f in st["active_faults"]}:
        requests.delete(f"{url}/admin/faults/{fid}", timeout=10)
        res.note = "fault still active at the timeout (cleared by the benchmark)"
    else:
        res.note = "fault cleared but no verified outcome recorded"
    fails = [e for e in audit.entries(t_inj, kind="outcome") if not e.dry_run]
    if fails:
        res.note += f"; outcomes: {json.dumps([(e.policy, e.outcome) for e in fails])}"
    return res


def chaos_plan(repeats: int, rng: random.Random, types: list[str] | None = None) -> list[tuple[str, str]]:
    """Each incident type ``repeats`` times, shuffled, each on a random allowed victim."""
    kinds = [k for k in (types or list(VICTIMS)) for _ in range(repeats)]
    rng.shuffle(kinds)
    return [(k, rng.choice(VICTIMS[k])) for k in kinds]
