"""The guided tour behind ``promv5-lab demo``: the whole product on one demo incident, in the terminal.

Backend-agnostic: it needs a :class:`~promv5_lab.backends.base.MetricsBackend` holding the demo history
and the history's ``incidents.json``. For each of the incident's symptoms it runs a range query over the
incident with an hour of context either side, compares the incident window with the hour before, and
draws it (a terminal chart, and one PNG panel per query). Every number printed carries the PromQL and
range that produced it. :func:`run_demo` adds the other steps (:mod:`.tour_steps`): detection, forecast,
root cause, a dry-run remediation and the postmortem.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..backends.base import MetricsBackend
from ..errors import InputError, Promv5Error
from ..types import QueryResult, TimeRange
from .incidents import Incident, Symptom
from .termchart import fmt_value as _fmt

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


def _ratio(x: float) -> str:
    return "new" if math.isinf(x) else f"x{x:.2f}"


def incident_lines(inc: Incident) -> list[str]:
    return [f"Incident {inc.id}: {inc.description}",
            (f"  window {inc.start:%Y-%m-%d %H:%M} .. {inc.end:%H:%M} UTC ({inc.duration_s / 60:.0f} min), "
            f"seen at {inc.service}; affected: {', '.join(inc.affected_services)}")]


def symptom_lines(tour: TourResult, *, backend_name: str, charts: bool = True) -> list[str]:
    """Each symptom's PromQL with before/during means (and a terminal chart of the range it ran over)."""
    from .termchart import chart

    inc = tour.incident
    lines = [f"Evidence from {backend_name} (mean over the hour before vs during the incident):"]
    for c in tour.checks:
        arrow = "↑" if c.symptom.direction == "up" else "↓"
        lines += [
            (f"  {'✔' if c.visible else '✘'} {c.symptom.description} [{c.symptom.service}] "
            f"{arrow} {_fmt(c.before)} -> {_fmt(c.during)} ({_ratio(c.change)}, needs x{c.symptom.factor:g})"),
            f"      PromQL: {c.symptom.promql}",
        ]
        if charts:
            lines += chart(c.result.frame, window=(inc.start, inc.end), width=56, indent="      ")
    shown = sum(c.visible for c in tour.checks)
    lines.append(f"{shown}/{len(tour.checks)} symptoms clearly visible.")
    if tour.checks:
        r = tour.checks[0].result.provenance.range
        if r is not None:
            lines.append(f"Re-run any query by hand over start={r.start.isoformat()} end={r.end.isoformat()} "
                         f"step={r.step_s:g}s")
    if tour.chart is not None:
        lines.append(f"Chart: {tour.chart}")
    return lines


def render_text(tour: TourResult, *, backend_name: str) -> str:
    """The incident, each query with before/during and a terminal chart, the PNG chart, how to re-run."""
    inc = tour.incident
    lines = [*incident_lines(inc), "", *symptom_lines(tour, backend_name=backend_name),
             (f"Ground truth of the demo world: root cause {inc.root_cause_service} ({inc.type}); "
             f"the fix that ends it: {inc.remediation}.")]
    return "\n".join(lines)


def found_at(inc: Incident) -> datetime:
    """When the tour looks: the middle of the incident (where the root-cause benchmark measures too)."""
    return inc.start + (inc.end - inc.start) / 2


def _heading(n: int, title: str, seconds: float | None = None) -> str:
    text = f"{n}. {title}" + (f"  ({seconds:.1f} s)" if seconds is not None else "")
    return f"\n{text}\n" + "-" * len(text)


class _Laps:
    """Seconds since the previous lap (the time each section took, printed in its heading)."""

    def __init__(self) -> None:
        import time

        self._clock = time.monotonic
        self.start = self._last = self._clock()

    def lap(self) -> float:
        now = self._clock()
        took, self._last = now - self._last, now
        return took

    def total(self) -> float:
        return self._clock() - self.start


def run_demo(*, data: str | None, days: float, seed: int, incident_id: str | None, out: str,
             engine: str = "embedded", echo: Callable[[str], Any] | None = None, charts: bool = True) -> str:
    """``promv5-lab demo``: the whole product on the demo shop, in the terminal.

    A fresh history ending now (or ``data``), then: the incident the detector finds, the PromQL of its
    symptoms with terminal charts, the anomalies and a forecast, the ranked root cause with its evidence,
    the remediation it would propose (a dry run, audited, never executed) and the postmortem exported to
    HTML. Sections go to ``echo`` (default: stdout) as they are ready, each with the seconds it took;
    the closing lines (how to open the app and JupyterLab) are returned.
    """
    from ..backends import telemetry
    from ..config import load_settings
    from ..investigation import Investigation
    from ..report.forecast import data_end
    from . import tour_steps as steps
    from .incidents import load_incidents
    from .simulate import simulate

    say = echo or _print
    laps = _Laps()
    out_dir = Path(out)
    if data is None:
        data_dir = out_dir / "history"
        summary = simulate(data_dir, days=days, step_s=30.0, seed=seed, progress=True)
        say(f"Simulated {days:g} days of the demo shop (seed {seed}, {summary.series} series, "
            f"{len(summary.incidents)} incidents) ending {summary.end:%Y-%m-%d %H:%M} UTC in "
            f"{laps.lap():.1f} s: {data_dir}")
    else:
        data_dir = Path(data)
    incidents = load_incidents(data_dir / "incidents.json")
    incident = pick_incident(incidents, incident_id)
    which = "latest injected incident" if incident_id is None else "injected incident you picked"
    at = found_at(incident)
    settings = load_settings(data_dir=data_dir, data_engine=engine)
    logs, traces = _signals(data_dir)
    audit = out_dir / "audit.db"
    failed: list[str] = []

    def attempt(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[Any, list[str]]:
        """Run one step; a promv5-lab error is shown in its section and the tour goes on."""
        try:
            return fn(*args, **kwargs), []
        except Promv5Error as exc:
            failed.append(name)
            return None, [f"  This step failed: {exc.message}", *([f"  Hint: {exc.hint}"] if exc.hint else [])]

    try:
        with telemetry(settings) as backend:
            say(f"Opened it: metrics on {backend.name}, logs and traces in DuckDB ({laps.lap():.1f} s).")
            inv = Investigation.from_settings(backend, settings, now=at, use_embeddings=False)
            det, err = attempt("detection", steps.detect, inv, at)
            say("\n".join([_heading(1, "The incident it found", laps.lap()), *(err or steps.found_lines(det)),
                           f"  The demo's {which} (ground truth, shown for comparison):",
                           *("  " + ln for ln in incident_lines(incident))]))

            tour, err = attempt("symptom queries", run_tour, backend, incidents, incident_id=incident.id,
                                out_dir=out_dir if charts else None)
            say("\n".join([_heading(2, "The PromQL it ran, with charts", laps.lap()),
                           *(err or ("  " + ln for ln in symptom_lines(tour, backend_name=backend.name)))]))

            end = data_end(backend)  # None on a server: then the last log line marks the history's end
            if end is None and logs is not None:
                end = (logs.time_bounds() or (None, None))[1]
            fc, err = attempt("forecast", steps.forecast, inv, end or incident.end)
            found = steps.anomaly_lines(det, incident) if det is not None else ["  (no scan: see section 1)"]
            say("\n".join([_heading(3, "Anomalies and a forecast", laps.lap()), *found,
                           *(err or steps.forecast_lines(fc))]))

            diagnosis, err = attempt("diagnosis", steps.why, backend, at, logs, traces)
            say("\n".join([_heading(4, "Root cause, ranked, with the evidence", laps.lap()),
                           *(err or steps.why_lines(diagnosis, incident))]))

            proposal, err = (attempt("remediation", steps.propose, backend, diagnosis, at, audit)
                             if diagnosis is not None else (None, ["  Without a diagnosis there is nothing to propose."]))
            say("\n".join([_heading(5, "The remediation it would propose (dry run: never executed)", laps.lap()),
                           *(err or steps.proposal_lines(proposal, incident))]))

            written, err = attempt("postmortem", steps.postmortem, backend, incident, diagnosis, logs, traces,
                                   out_dir / f"postmortem-{incident.id}.html")
            say("\n".join([_heading(6, "The postmortem", laps.lap()), *(err or steps.postmortem_lines(*written))]))
    finally:
        for b in (logs, traces):
            if b is not None:
                b.close()
    trouble = f" ({len(failed)} step(s) failed: {', '.join(failed)})" if failed else ""
    return "\n".join([
        _heading(7, "Go on from here"),
        f"  The app:      promv5-lab serve --data {data_dir} --at {at:%Y-%m-%dT%H:%M:%SZ} --audit-log {audit}",
        "                then open http://127.0.0.1:5006 (Ask, Overview, Diagnose, Remediate, Reports)",
        f"  JupyterLab:   promv5-lab lab --data {data_dir}",
        "                the Ask sidebar and %%ask in notebooks/ (Jupyter prints the URL with its token)",
        f'  One question: promv5-lab ask --data {data_dir} "error ratio by service"',
        f"Done in {laps.total():.1f} s{trouble}.",
    ])


def _print(text: str) -> None:
    print(text, flush=True)


def _signals(folder: Path) -> tuple[Any, Any]:
    """The history's logs and traces stores (None when the folder has none)."""
    from ..backends.logs import open_logs
    from ..backends.traces import open_traces

    logs = open_logs(folder) if (folder / "logs.jsonl").is_file() else None
    traces = open_traces(folder) if (folder / "traces.jsonl").is_file() else None
    return logs, traces
