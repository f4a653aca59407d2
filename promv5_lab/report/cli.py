"""``promv5-lab report postmortem|forecast|remediation``: build a report and write it as HTML, Markdown or PDF."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer

from ..errors import InputError

BACKEND_HELP = "Prometheus-compatible base URL."
DATA_HELP = "A 'promv5-lab simulate' output (embedded engine). Neither: the bundled demo history."
INCIDENT_HELP = "An incident id from the demo world's incidents.json (in --data, or --incidents FILE)."
FORMAT_HELP = "html (one self-contained file), md (PNG charts beside it) or pdf (headless Chromium)."
TEMPLATES_HELP = "A folder of Jinja2 templates that override the built-in ones (e.g. postmortem.html.j2)."


def register(app: typer.Typer) -> None:
    """Add the ``report`` command group."""
    report = typer.Typer(help="Export reports (postmortem, forecast, remediation) as HTML, Markdown or PDF.",
                         no_args_is_help=True)
    app.add_typer(report, name="report")

    @report.command("postmortem")
    def postmortem_cmd(
        out: str = typer.Option(..., "--out", "-o", help="The file to write."),
        fmt: str = typer.Option(None, "--format", "-f", help=FORMAT_HELP + " Default: from --out's suffix."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        incident: str = typer.Option(None, "--incident", "-i", help=INCIDENT_HELP),
        at: str = typer.Option(None, "--at", help="A time in the incident (ISO 8601, Unix seconds or 'now')."),
        incidents: str = typer.Option(None, "--incidents", help="incidents.json to look --incident up in."),
        logs: str = typer.Option(None, "--logs", help="Logs for the diagnosis (URL or file/dir; default: --data)."),
        traces: str = typer.Option(None, "--traces", help="Traces for the diagnosis (URL or file/dir; default: --data)."),
        audit: str = typer.Option(None, "--audit", help="The remediation audit log, for 'what was done'."),
        slo: float = typer.Option(0.999, "--slo", help="Availability SLO target for the error budget (0.999 = 99.9 %)."),
        no_capacity: bool = typer.Option(False, "--no-capacity", help="Skip the capacity forecasts in follow-ups."),
        templates: str = typer.Option(None, "--templates", help=TEMPLATES_HELP),
    ) -> None:
        """A postmortem: summary, impact, timeline, root cause with evidence, actions, follow-ups, appendix."""
        from .postmortem import build_postmortem

        out, audit_path = Path(out), Path(audit) if audit else None
        _check_out(out, fmt)
        with _context(backend, data, incident, at, incidents) as (be, settings, inc, data_dir):
            lg, tr = _signals(logs or (str(data_dir) if data_dir else None), traces or (str(data_dir) if data_dir else None))
            pm = build_postmortem(be, at=at, incident=inc, logs=lg, traces=tr, audit=_audit(audit_path), slo=slo,
                                  capacity=not no_capacity, progress=True)
        _write(pm, out, fmt, templates, settings)

    @report.command("forecast")
    def forecast_cmd(
        out: str = typer.Option(..., "--out", "-o", help="The file to write."),
        fmt: str = typer.Option(None, "--format", "-f", help=FORMAT_HELP + " Default: from --out's suffix."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP),
        data: str = typer.Option(None, "--data", "-d", help=DATA_HELP),
        incident: str = typer.Option(None, "--incident", "-i", help=INCIDENT_HELP + " Forecasts from its start."),
        at: str = typer.Option(None, "--at", help="Forecast from this time (default: the end of the data)."),
        incidents: str = typer.Option(None, "--incidents", help="incidents.json to look --incident up in."),
        history: str = typer.Option("1d", "--history", help="History to fit on (e.g. 1d, 3d)."),
        horizon: str = typer.Option("1d", "--horizon", help="How far ahead (e.g. 1d, 7d)."),
        step: str = typer.Option("5m", "--step", help="Resolution of the range queries."),
        level: float = typer.Option(0.8, "--level", help="Coverage of the intervals (0.8 = 80 %)."),
        templates: str = typer.Option(None, "--templates", help=TEMPLATES_HELP),
    ) -> None:
        """Capacity forecast: per resource the forecast, its interval, the time to the limit, a recommendation."""
        from .forecast import build_forecast_report

        out = Path(out)
        _check_out(out, fmt)
        with _context(backend, data, incident, at, incidents, need_time=False) as (be, settings, inc, _):
            when = inc.start if inc is not None else at
            fr = build_forecast_report(be, at=when, history=history, horizon=horizon, step=step, level=level)
        _write(fr, out, fmt, templates, settings)

    @report.command("remediation")
    def remediation_cmd(
        out: str = typer.Option(..., "--out", "-o", help="The file to write."),
        audit: str = typer.Option(..., "--audit", help="The audit log that 'promv5-lab heal' writes."),
        fmt: str = typer.Option(None, "--format", "-f", help=FORMAT_HELP + " Default: from --out's suffix."),
        backend: str = typer.Option(None, "--backend", "-b", help=BACKEND_HELP + " (unused; accepted for symmetry)"),
        data: str = typer.Option(None, "--data", "-d", help="A simulate output holding incidents.json."),
        incident: str = typer.Option(None, "--incident", "-i", help=INCIDENT_HELP + " Period: its window +- 1 h."),
        at: str = typer.Option(None, "--at", help="Period: this time +- --around."),
        around: str = typer.Option("2h", "--around", help="Half-width of the period around --at."),
        incidents: str = typer.Option(None, "--incidents", help="incidents.json to look --incident up in."),
        templates: str = typer.Option(None, "--templates", help=TEMPLATES_HELP),
    ) -> None:
        """The audit trail of a period with the outcome of every remediation run."""
        from ..config import load_settings
        from ..types import as_utc, parse_duration
        from .remediation import build_remediation_report

        out = Path(out)
        _check_out(out, fmt)
        settings = load_settings(backend_url=backend, data_dir=data)
        start = end = None
        if incident is not None:
            inc = _find_incident(incident, Path(incidents) if incidents else
                                 (Path(data) / "incidents.json" if data else None))
            start, end = inc.start - timedelta(hours=1), inc.end + timedelta(hours=1)
        elif at is not None:
            t, half = as_utc(at), timedelta(seconds=parse_duration(around))
            start, end = t - half, t + half
        rr = build_remediation_report(audit, start=start, end=end)
        _write(rr, out, fmt, templates, settings)


def _check_out(out: Path, fmt: str | None) -> None:
    f = fmt or {"htm": "html", "markdown": "md"}.get(out.suffix.lower().lstrip("."), out.suffix.lower().lstrip("."))
    if f not in ("html", "md", "pdf"):
        raise InputError(f"Unknown report format {f or out.name!r}",
                         hint="Pass --format html|md|pdf, or an --out ending in .html, .md or .pdf")


def _find_incident(incident_id: str, path: Path | None) -> Any:
    from ..demo.incidents import load_incidents
    from ..demo.tour import pick_incident

    if path is None:
        raise InputError("--incident needs the demo world's incidents.json",
                         hint="Pass --data DIR (a simulate output) or --incidents FILE")
    return pick_incident(load_incidents(path), incident_id)


@contextlib.contextmanager
def _context(backend: str | None, data: str | None, incident: str | None, at: str | None,
             incidents: str | None, *, need_time: bool = True) -> Iterator[tuple[Any, Any, Any, Path | None]]:
    from ..backends import telemetry
    from ..config import load_settings

    if backend and data:
        raise InputError("Pass either --backend or --data, not both")
    if incident and at:
        raise InputError("Pass either --incident or --at, not both")
    if need_time and not (incident or at):
        raise InputError("Which incident?", hint="Pass --incident ID (demo world) or --at TIME")
    settings = load_settings(backend_url=backend, data_dir=data)
    data_dir = Path(data) if data else None
    if not backend and data is None:
        from ..demo.bundled import demo_history

        data_dir = demo_history(settings.cache_dir)
        settings = load_settings(data_dir=data_dir)
    inc = None
    if incident:
        inc = _find_incident(incident, Path(incidents) if incidents else
                             (data_dir / "incidents.json" if data_dir else None))
    with telemetry(settings) as be:
        yield be, settings, inc, data_dir


def _signals(logs: str | None, traces: str | None) -> tuple[Any, Any]:
    """Logs and traces backends when their modules are installed and the source holds them."""
    from ..errors import Promv5Error

    out = []
    for module, opener, src in (("logs", "open_logs", logs), ("traces", "open_traces", traces)):
        be = None
        if src:
            try:
                mod = __import__(f"promv5_lab.backends.{module}", fromlist=[opener])
                be = getattr(mod, opener)(src)
            except (ImportError, AttributeError, Promv5Error):
                be = None
        out.append(be)
    return out[0], out[1]


def _audit(path: Path | None) -> Any:
    if path is None:
        return None
    from .actions import open_audit

    return open_audit(path)


def _write(report: Any, out: Path, fmt: str | None, templates: str | None, settings: Any) -> None:
    from .render import export

    folder = templates or getattr(settings, "report_templates_dir", None)
    path = export(report, out, fmt, templates_dir=folder)  # type: ignore[arg-type]
    typer.echo(f"Wrote {path}")
    if path.suffix.lower() in (".md", ".markdown") and report.charts:
        typer.echo(f"Charts: {path.with_name(path.stem + '_files')}/ ({len(report.charts)} PNG)")
