"""``%report postmortem|forecast|remediation --out FILE``: export a report from the notebook's investigation.

Uses the connection and conversation of ``%ask`` (the ``Session`` of :mod:`promv5_lab.ui.magics`, found
through the shell's magics registry), so the report covers the same backend and its appendix lists the
queries the notebook ran. ``register_magics(ipython)`` adds the magic; errors show as message + hint.
"""

from __future__ import annotations

import argparse
import logging
import shlex
from typing import Any

from .._deps import require
from ..errors import InputError, Promv5Error

__all__ = ["register_magics"]

log = logging.getLogger(__name__)

USAGE = ("%report postmortem|forecast|remediation --out FILE [--format html|md|pdf] [--at TIME | --incident ID] "
         "[--audit FILE] [--slo 0.999] [--templates DIR] [--no-capacity]")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%report", add_help=False, exit_on_error=False)
    p.add_argument("kind", choices=("postmortem", "forecast", "remediation"))
    p.add_argument("--out", "-o", required=True)
    p.add_argument("--format", "-f", dest="fmt", default=None, choices=("html", "md", "pdf"))
    p.add_argument("--at", default=None)
    p.add_argument("--incident", "-i", default=None)
    p.add_argument("--audit", default=None)
    p.add_argument("--slo", type=float, default=0.999)
    p.add_argument("--templates", default=None)
    p.add_argument("--no-capacity", action="store_true")
    return p


def find_session(shell: Any) -> Any:
    """The ``%ask`` session of this shell (None when ``%load_ext promv5_lab`` has not run)."""
    registry = getattr(getattr(shell, "magics_manager", None), "registry", {}) or {}
    magics = registry.get("Promv5Magics")
    return getattr(magics, "session", None)


def _context_time(session: Any, at: str | None) -> Any:
    from ..types import as_utc

    if at:
        return as_utc(at)
    if getattr(session, "now", None):
        return as_utc(session.now)
    inv = getattr(session, "investigation", None)
    plan = inv.last_plan() if inv is not None else None
    if plan is not None:
        if plan.kind == "range" and plan.range is not None:
            return plan.range.end
        if plan.time is not None:
            return plan.time
    raise InputError("Which time should the postmortem cover?",
                     hint="Pass --at TIME or --incident ID, or ask a question with %%ask --at TIME first")


def _incident(session: Any, incident_id: str) -> Any:
    from pathlib import Path

    from ..demo.incidents import load_incidents
    from ..demo.tour import pick_incident

    data = getattr(session, "data_dir", None)
    if data is None and getattr(session, "backend_url", None) is None:
        store = getattr(getattr(session, "backend", None), "name", "")
        data = store.split("embedded:", 1)[1] if str(store).startswith("embedded:") else None
    if data is None:
        raise InputError("--incident needs a demo history", hint="%promv5 connect --data DIR, then %report ...")
    return pick_incident(load_incidents(Path(data) / "incidents.json"), incident_id)


def run_report(shell: Any, line: str) -> Any:
    """Parse ``line``, build the report over the session's backend, write it; returns the path."""
    from ..config import load_settings
    from ..report.render import export

    try:
        args, extra = _parser().parse_known_args(shlex.split(line))
        if extra:
            raise ValueError(f"unknown options {' '.join(extra)}")
    except (argparse.ArgumentError, ValueError, SystemExit) as exc:
        raise InputError(f"Cannot read the options `{line}`: {exc}", hint=USAGE) from None
    session = find_session(shell)
    if session is None:
        raise InputError("The promv5 magics are not loaded", hint="%load_ext promv5_lab, then %%ask a question")
    if session.investigation is None:
        session.connect()  # like %%ask: the bundled demo when nothing is connected
    backend = session.backend
    settings = load_settings()
    if args.kind == "postmortem":
        from ..report.postmortem import build_postmortem

        inc = _incident(session, args.incident) if args.incident else None
        at = None if inc is not None else _context_time(session, args.at)
        turns = [t.answer for t in getattr(session.investigation, "history", [])]
        report = build_postmortem(backend, at=at, incident=inc, audit=_audit(args.audit), slo=args.slo,
                                  capacity=not args.no_capacity, turns=turns)
    elif args.kind == "forecast":
        from ..report.forecast import build_forecast_report

        inc = _incident(session, args.incident) if args.incident else None
        report = build_forecast_report(backend, at=inc.start if inc else (args.at or None))
    else:
        from ..report.remediation import build_remediation_report

        if not args.audit:
            raise InputError("The remediation report needs the audit log", hint="%report remediation --audit FILE --out FILE")
        report = build_remediation_report(args.audit)
    folder = args.templates or getattr(settings, "report_templates_dir", None)
    return export(report, args.out, args.fmt, templates_dir=folder), report


def _audit(path: str | None) -> Any:
    if not path:
        return None
    from ..report.actions import open_audit

    return open_audit(path)


def _make(ipython: Any) -> Any:
    magic = require("IPython.core.magic", "notebook")

    @magic.magics_class
    class ReportMagics(magic.Magics):
        @magic.line_magic
        def report(self, line: str) -> Any:
            """%report postmortem|forecast|remediation --out FILE [--format html|md|pdf] [--at TIME | --incident ID]"""
            from IPython.display import Markdown, display

            try:
                path, rep = run_report(self.shell, line)
            except Promv5Error as exc:
                display(Markdown(f"**Error:** {_md(exc.message)}" + (f"  \n*Hint:* {_md(exc.hint)}" if exc.hint else "")))
                return None
            summary = getattr(rep, "summary", "") or rep.title
            display(Markdown(f"Wrote `{path}`  \n{_md(summary)}"))
            return None

    return ReportMagics(ipython)


def _md(text: str) -> str:
    from ..report.render import md_escape

    return md_escape(text)


def register_magics(ipython: Any) -> None:
    """Register ``%report`` (call after ``%load_ext promv5_lab`` so it shares the ``%ask`` session)."""
    ipython.register_magics(_make(ipython))
