"""The remediation report: the audit trail of a period, grouped into runs with their outcomes."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..errors import Promv5Error
from ..types import as_utc
from .actions import action_runs, audit_rows, open_audit
from .models import RemediationReport

__all__ = ["build_remediation_report"]


def _chain(log: Any) -> str:
    verify = getattr(log, "verify", None)
    if verify is None:
        return "not checked (the source cannot verify its hash chain)"
    try:
        res = verify()
    except Promv5Error as exc:
        return f"verification failed: {exc.message}"
    ok = getattr(res, "ok", res if isinstance(res, bool) else None)
    describe = getattr(res, "describe", None)
    text = describe() if callable(describe) else ""
    if ok is True:
        return text or "hash chain verified"
    if ok is False:
        return f"TAMPERING DETECTED: {text or 'the hash chain does not verify'}".replace("\n", " ")
    return str(res)


def build_remediation_report(audit: Any, *, start: datetime | str | None = None, end: datetime | str | None = None,
                             title: str | None = None, source: str | None = None) -> RemediationReport:
    """``audit``: an AuditLog, a path to one, or an iterable of entries; the period is [start, end]."""
    s = as_utc(start) if start is not None else None
    e = as_utc(end) if end is not None else None
    log = open_audit(audit) if isinstance(audit, (str, Path)) else audit
    rows = audit_rows(log, s, e)
    runs = action_runs(rows)
    counts = Counter(("dry run" if r.dry_run else "worked" if r.worked else "failed" if r.worked is False
                      else "unknown") for r in runs)
    period = f"{s:%Y-%m-%d %H:%M} .. {e:%Y-%m-%d %H:%M} UTC" if s and e else "all entries"
    return RemediationReport(
        title=title or f"Remediation report: {period}", generated_at=datetime.now(timezone.utc),
        source=source or str(audit if isinstance(audit, (str, Path)) else getattr(log, "path", "audit entries")),
        start=s, end=e, rows=tuple(rows), runs=runs, outcomes=tuple(sorted(counts.items())),
        chain=_chain(log) if hasattr(log, "entries") else "not checked (entries passed directly)")
