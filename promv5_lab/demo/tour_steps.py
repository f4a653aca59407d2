"""The steps of ``promv5-lab demo`` after the symptom queries, each through the product's public APIs.

* :func:`detect` asks "anything unusual in the last hour?" (:class:`~promv5_lab.investigation.Investigation`,
  the anomaly route: streaming detector with learned thresholds) with the clock pinned inside the incident.
* :func:`forecast` asks for a forecast of the shop's request rate at the end of the history (ETS route).
* :func:`why` is :func:`promv5_lab.analysis.rootcause.diagnose`, rendered by ``diagnosis_to_text``.
* :func:`propose` evaluates ``tour_policies.yaml`` on that diagnosis with ``detect_issue`` ->
  ``plan_recovery`` -> ``execute_recovery(dry_run=True)``: the exact calls are shown and audited, never run.
* :func:`postmortem` is :func:`promv5_lab.report.postmortem.build_postmortem` exported as one HTML file.

Each returns its result and the lines to print; nothing here reads the demo's ground truth except to
say, next to a finding, whether it matches.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

POLICIES = Path(__file__).with_name("tour_policies.yaml")
LIVE_ADMIN_URL = "http://127.0.0.1:9464"  # where `promv5-lab simulate --serve` listens by default
DETECT_QUESTION = "anything unusual in the last hour?"
FORECAST_QUESTION = "forecast requests per second for the next 6 hours"
# incident type of the demo world -> the kind of cause the diagnosis should name (as in benchmarks/rootcause_eval.py)
EXPECTED_KIND = {"bad_deploy": "deploy", "memory_leak": "resource_exhaustion", "disk_fill": "resource_exhaustion",
                 "db_pool_exhaustion": "resource_exhaustion", "cache_failure": "dependency_failure",
                 "traffic_surge": "traffic"}
_PAIR = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def short_series(name: str, keep: tuple[str, ...] = ("service", "route", "code", "version", "mountpoint")) -> str:
    """``metric{a="x",service="y"}`` -> ``metric{service="y"}``: only the labels a reader needs."""
    i, j = name.find("{"), name.rfind("}")
    if i < 0 or j < i:
        return name
    pairs = _PAIR.findall(name[i:j + 1])
    if "service" in keep and not any(k == "service" for k, _ in pairs):
        keep = (*keep, "job")  # up{job="checkout"}: the job says whose it is
    kept = ",".join(f'{k}="{v}"' for k, v in pairs if k in keep)
    return name[:i] + (f"{{{kept}}}" if kept else "") + name[j + 1:]


@dataclass(frozen=True)
class Detection:
    answer: Any  # investigation.Answer
    anomalies: tuple[dict[str, Any], ...]
    at: datetime

    @property
    def first(self) -> dict[str, Any] | None:
        return min(self.anomalies, key=lambda a: a["start"]) if self.anomalies else None


def detect(inv: Any, at: datetime) -> Detection:
    inv.set_now(at)
    ans = inv.ask(DETECT_QUESTION)
    found = tuple((ans.details or {}).get("anomalies") or ())
    return Detection(ans, found, at)


def found_lines(d: Detection) -> list[str]:
    """What the scan found, in two or three lines (the incident's first sign and where)."""
    details = d.answer.details or {}
    series = {a["series"] for a in d.anomalies}
    lines = [f'  Asked "{DETECT_QUESTION}" with the clock at {d.at:%Y-%m-%d %H:%M} UTC:',
             (f"  {len(series)} of {details.get('scanned_series', '?')} series look unusual "
             f"({len(d.anomalies)} anomalous episodes).")]
    first = d.first
    if first is not None:
        services = sorted({m for a in d.anomalies for m in re.findall(r'service="([^"]+)"', a["series"])})
        hosts = sorted({m for a in d.anomalies for m in re.findall(r'instance="([^":]+)', a["series"])})
        where = f"services {', '.join(services)}" if services else f"hosts {', '.join(hosts) or '?'}"
        lines.append(f"  The first since {first['start'][11:16]} UTC: {short_series(first['series'])}; "
                     f"{where}.")
    return lines


def anomaly_lines(d: Detection, incident: Any, *, top: int = 4) -> list[str]:
    """The strongest anomalies with score and learned threshold, the model and its calibration."""
    details = d.answer.details or {}
    params = details.get("params") or {}
    lines = []
    for a in sorted(d.anomalies, key=lambda a: -a["peak_score"])[:top]:
        lines.append(f"  ! {short_series(a['series'])}  {a['start'][11:16]}..{a['end'][11:16]} UTC, "
                     f"score {a['peak_score']:.2f} > threshold {a['threshold']:.2f}")
    if not d.anomalies:
        lines.append("  ! nothing crossed its learned threshold in that hour")
    rng = details.get("range") or {}
    lines.append(f"  Model: {details.get('model', '?')}; calibration: {params.get('calibration', '?')}; "
                 f"range {rng.get('start', '?')} .. {rng.get('end', '?')} step {rng.get('step_s', '?')}s")
    first = d.first
    if first is not None:
        start = datetime.fromisoformat(first["start"])
        lag = (start - incident.start).total_seconds() / 60
        lines.append(f"  First flagged at {start:%H:%M} UTC, {lag:+.0f} min from the injected start "
                     f"({incident.start:%H:%M}, known to the demo only).")
    return lines


def forecast(inv: Any, end: datetime) -> Any:
    inv.set_now(end)
    return inv.ask(FORECAST_QUESTION)


def forecast_lines(ans: Any) -> list[str]:
    details = ans.details or {}
    rng = details.get("range") or {}
    lines = [f'  Asked "{FORECAST_QUESTION}" at the end of the history:', f"  {ans.answer}"]
    if ans.promql:
        lines.append(f"  PromQL: {ans.promql}  (range {rng.get('start', '?')} .. {rng.get('end', '?')}, "
                     f"step {rng.get('step_s', '?')}s)")
    for f in (details.get("forecast") or ())[:1]:
        pts = f.get("points") or []
        if pts:
            from .termchart import sparkline

            means = [p["mean"] if p["mean"] is not None else float("nan") for p in pts]
            lines.append(f"  {sparkline(means, 48)}   next {len(pts)} points, model {f['model']}")
    return lines


def why(backend: Any, at: datetime, logs: Any, traces: Any) -> Any:
    from ..analysis.rootcause import diagnose

    return diagnose(backend, at, logs=logs, traces=traces)


def why_lines(d: Any, incident: Any, *, causes: int = 3, evidence: int = 3, timeline: int = 6) -> list[str]:
    from ..analysis.rootcause.report import diagnosis_to_text

    text = diagnosis_to_text(replace(d, root_causes=d.root_causes[:causes], timeline=d.timeline[:timeline]),
                             evidence=evidence)
    lines = ["  " + ln for ln in text.splitlines()]
    top = d.top
    if top is not None:
        want = (incident.root_cause_service, EXPECTED_KIND.get(incident.type, "?"))
        verdict = "matches" if (top.service, top.kind) == want else "does NOT match"
        lines.append(f"  Top cause {top.service}/{top.kind} {verdict} the injected one ({want[0]}/{want[1]}, "
                     f"{incident.type}).")
    return lines


@dataclass(frozen=True)
class Proposal:
    issues: tuple[Any, ...]
    outcomes: tuple[Any, ...]
    audit_path: Path
    refused: tuple[Any, ...] = ()


def propose(backend: Any, diagnosis: Any, at: datetime, audit_path: Path, *,
            admin_url: str = LIVE_ADMIN_URL) -> Proposal:
    """What the tour policies would do about ``diagnosis``: dry-run recoveries, audited, never executed."""
    from ..remediate.audit import AuditLog
    from ..remediate.healing import Refusal, detect_issue, execute_recovery, plan_recovery
    from ..remediate.policy import load_policies

    policies = load_policies(POLICIES, {"ADMIN_URL": admin_url}, environ={})
    refused: list[Refusal] = []
    issues = detect_issue(backend, policies, at=at, diagnose=lambda *_a, **_k: diagnosis, refused=refused)
    outcomes = []
    with AuditLog(audit_path, secrets=policies.secrets) as audit:
        for issue in issues:
            plan = plan_recovery(issue, policies, audit, at=at)
            outcomes.append(execute_recovery(plan, backend, audit, dry_run=True, diagnosis=diagnosis,
                                             secrets=policies.secrets))
    return Proposal(tuple(issues), tuple(outcomes), audit_path, tuple(refused))


def proposal_lines(p: Proposal, incident: Any) -> list[str]:
    if not p.issues:
        return ["  No policy of tour_policies.yaml fires on this diagnosis: nothing to propose."]
    lines = []
    for issue, out in zip(p.issues, p.outcomes):
        conf = f"{issue.value:.0%}" if isinstance(issue.value, float) else "?"
        lines.append(f"  Policy {out.policy or issue.policy} fires for {issue.target} ({issue.kind}; diagnosis "
                     f"confidence {conf}); approval required. It would call:")
        lines += [f"    {c}" for c in out.calls]
        lines.append(f"  -> {out.status}: nothing was executed (run {out.run_id}).")
    lines.append(f"  Recorded as a dry run in the audit log {p.audit_path} "
                 f"(promv5-lab audit show --log {p.audit_path}).")
    lines.append(f"  The demo world's own fix for this incident: {incident.remediation} on "
                 f"{incident.root_cause_service}.")
    return lines


def postmortem(backend: Any, incident: Any, diagnosis: Any, logs: Any, traces: Any, path: Path) -> tuple[Any, Path]:
    from ..report.postmortem import build_postmortem
    from ..report.render import export

    pm = build_postmortem(backend, incident=incident, diagnosis=diagnosis, logs=logs, traces=traces, progress=True)
    return pm, export(pm, path, "html")


def postmortem_lines(pm: Any, path: Path) -> list[str]:
    first = pm.summary.split(". ")[0].rstrip(".") + "."
    return [f"  {first}",
            (f"  {len(pm.charts)} charts, {len(pm.timeline)} timeline entries, {len(pm.follow_ups)} follow-ups, "
            f"{len(pm.queries)} queries listed with their ranges."),
            f"  Postmortem (HTML, works offline): {path}"]
