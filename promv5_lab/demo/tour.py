"""The guided tour behind ``promv5-lab demo``: investigate one demo incident through PromQL.

Backend-agnostic: it needs a :class:`~promv5_lab.backends.base.MetricsBackend` holding the demo history
and the history's ``incidents.json``. For each of the incident's symptoms it runs a range query over the
incident with an hour of context either side, compares the incident window with the hour before, and
draws one chart panel per query. Every number printed carries the PromQL and range that produced it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from ..backends.base import MetricsBackend
from ..errors import InputError
from ..types import QueryResult, TimeRange
from .incidents import Incident, Symptom

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SymptomCheck:
    """One symptom's query and what it showed: the mean before the incident and during it."""

    symptom: Symptom
    result: QueryResult
    before: float
    during: float

    @property
    def change(self) -> float:
        """during / before (inf when it rose from zero or appeared from nothing)."""
        if self.before == 0 or (math.isnan(self.before) and self.during > 0):
            return math.inf if self.during > 0 else 1.0
        return self.during / self.before

    @property
    def visible(self) -> bool:
        s = self.symptom
        if math.isnan(self.during):
            return False
        if math.isnan(self.before):  # the series did not exist before: it appeared (e.g. a new version)
            return s.direction == "up" and self.during > 0
        if s.direction == "up":
            return self.during >= s.factor * self.before and self.during > 0
        return self.during <= self.before / s.factor


@dataclass(frozen=True)
class TourResult:
    incident: Incident
    checks: tuple[SymptomCheck, ...]
    chart: Path | None


def pick_incident(incidents: Sequence[Incident], incident_id: str | None = None) -> Incident:
    """The incident named by id, else the most recent one."""
    if not incidents:
        raise InputError("The history holds no incidents", hint="Simulate at least a day: --days 3")
    if incident_id is None:
        return max(incidents, key=lambda i: i.start)
    for inc in incidents:
        if inc.id == incident_id:
            return inc
    raise InputError(f"No incident {incident_id!r}", hint="Known ids: " + ", ".join(i.id for i in incidents))


def _mean(result: QueryResult, lo, hi) -> float:
    f = result.frame
    if f.empty:
        return math.nan
    sel = f[(f["timestamp"] >= lo) & (f["timestamp"] < hi)]["value"]
    sel = sel[sel.apply(math.isfinite)]
    return float(sel.mean()) if len(sel) else math.nan


def check_symptoms(backend: MetricsBackend, incident: Incident, *, step_s: float = 60.0) -> tuple[SymptomCheck, ...]:
    """Run each symptom's PromQL over the incident (+1 h either side) and compare during vs before."""
    window = TimeRange(incident.start - timedelta(hours=1), incident.end + timedelta(hours=1), step_s)
    checks = []
    for s in incident.symptoms:
        res = backend.query_range(s.promql, window)
        before = _mean(res, incident.start - timedelta(hours=1), incident.start)
        # Rates over [5m] lag the onset; skip the first 5 minutes of the window, as the simulator documents.
        during = _mean(res, incident.start + timedelta(minutes=5), incident.end)
        checks.append(SymptomCheck(s, res, before, during))
    return tuple(checks)


def draw(incident: Incident, checks: Sequence[SymptomCheck], path: Path) -> Path:
    """One panel per symptom, the incident window shaded. Needs matplotlib (the ``analysis`` extra)."""
    from .._deps import require

    mpl = require("matplotlib")
    mpl.use("Agg")
    plt = require("matplotlib.pyplot")
    n = len(checks)
    fig, axes = plt.subplots(n, 1, figsize=(10, 2.2 * n + 0.6), sharex=True, squeeze=False)
    for ax, c in zip(axes[:, 0], checks):
        f = c.result.frame
        ax.plot(f["timestamp"], f["value"], lw=1.2, color="#1f77b4")
        ax.axvspan(incident.start, incident.end, color="#d62728", alpha=0.12, lw=0)
        mark = "visible" if c.visible else "not visible"
        ax.set_title(f"{c.symptom.description} ({c.symptom.service}): {_ratio(c.change)}, {mark}", fontsize=9,
                     loc="left")
        ax.grid(alpha=0.3)
    fig.suptitle(f"{incident.id}: {incident.description}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def run_tour(backend: MetricsBackend, incidents: Sequence[Incident], *, incident_id: str | None = None,
             out_dir: Path | None = None, step_s: float = 60.0) -> TourResult:
    incident = pick_incident(incidents, incident_id)
    checks = check_symptoms(backend, incident, step_s=step_s)
    chart = draw(incident, checks, out_dir / f"{incident.id}.png") if out_dir is not None and checks else None
    return TourResult(incident, checks, chart)


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "n/a"
    a = abs(x)
    if a and (a >= 1e5 or a < 1e-3):
        return f"{x:.3g}"
    return f"{x:.4g}"


def _ratio(x: float) -> str:
    return "new" if math.isinf(x) else f"x{x:.2f}"


def render_text(tour: TourResult, *, backend_name: str) -> str:
    """What the tour prints: the incident, each query with before/during, the chart, how to re-run."""
    inc = tour.incident
    lines = [
        f"Incident {inc.id}: {inc.description}",
        f"  window {inc.start:%Y-%m-%d %H:%M} .. {inc.end:%H:%M} UTC ({inc.duration_s / 60:.0f} min), "
        f"seen at {inc.service}; affected: {', '.join(inc.affected_services)}",
        "",
        f"Evidence from {backend_name} (mean over the hour before vs during the incident):",
    ]
    for c in tour.checks:
        arrow = "↑" if c.symptom.direction == "up" else "↓"
        lines += [
            f"  {'✔' if c.visible else '✘'} {c.symptom.description} [{c.symptom.service}] "
            f"{arrow} {_fmt(c.before)} -> {_fmt(c.during)} ({_ratio(c.change)}, needs x{c.symptom.factor:g})",
            f"      PromQL: {c.symptom.promql}",
        ]
    shown = sum(c.visible for c in tour.checks)
    lines += [
        "",
        f"{shown}/{len(tour.checks)} symptoms clearly visible.",
        f"Ground truth of the demo world: root cause {inc.root_cause_service} ({inc.type}); "
        f"the fix that ends it: {inc.remediation}.",
    ]
    if tour.chart is not None:
        lines.append(f"Chart: {tour.chart}")
    lines.append("Next: ask follow-up questions with `promv5-lab ask \"error ratio by service\"`, or open "
                 "notebooks/02-ask-an-incident.ipynb in JupyterLab for %%ask with charts.")
    if tour.checks:
        r = tour.checks[0].result.provenance.range
        if r is not None:
            lines.append(f"Re-run any query by hand over start={r.start.isoformat()} end={r.end.isoformat()} "
                         f"step={r.step_s:g}s")
    return "\n".join(lines)


def run_demo(*, data: str | None, days: float, seed: int, incident_id: str | None, out: str,
             engine: str = "embedded") -> str:
    """``promv5-lab demo``: a fresh history ending now (or ``data``), a backend over it, the tour's text."""
    import time

    from ..backends import telemetry
    from ..config import load_settings
    from .incidents import load_incidents
    from .simulate import simulate

    out_dir = Path(out)
    if data is None:
        data_dir = out_dir / "history"
        t0 = time.monotonic()
        summary = simulate(data_dir, days=days, step_s=30.0, seed=seed, progress=True)
        log.info("simulated %s series in %.1fs", summary.series, time.monotonic() - t0)
    else:
        data_dir = Path(data)
    incidents = load_incidents(data_dir / "incidents.json")
    settings = load_settings(data_dir=data_dir, data_engine=engine)
    with telemetry(settings) as backend:
        tour = run_tour(backend, incidents, incident_id=incident_id, out_dir=out_dir)
        return render_text(tour, backend_name=backend.name)
