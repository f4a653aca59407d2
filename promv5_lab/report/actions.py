"""The audit log as report data: rows from any audit source, and remediation runs grouped from them.

The source is :class:`promv5_lab.remediate.audit.AuditLog` (``.entries(start, end)``), a path to one, or
any iterable of entries (objects or dicts with ``seq, at, actor, kind, policy, target, action, dry_run,
outcome, detail, hash``). Detail values under secret-looking keys are redacted; everything else is text
that renderers escape.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..types import as_utc
from .models import ActionRecord, AuditRow

__all__ = ["action_runs", "audit_rows", "open_audit"]

_SECRET = re.compile(r"token|password|passwd|secret|authorization|api[_-]?key|cookie", re.IGNORECASE)
_GOOD = {"success", "succeeded", "ok", "resolved", "verified", "passed", "healthy", "effective"}
_BAD = {"failed", "failure", "error", "rolled_back", "rollback", "rejected", "not_verified", "timeout", "unresolved"}


def open_audit(path: str | Path) -> Any:
    """The remediation audit log at ``path`` (needs :mod:`promv5_lab.remediate`)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"No audit log at {p}", hint="Pass the --audit file that 'promv5-lab heal' writes")
    try:
        from ..remediate.audit import AuditLog
    except ImportError as exc:
        raise InputError("Reading an audit log needs promv5_lab.remediate, which is not installed here",
                         hint="Update promv5-lab, or pass the audit entries from Python") from exc
    return AuditLog(p)


def _get(entry: Any, name: str, default: Any = "") -> Any:
    if isinstance(entry, dict):
        return entry.get(name, default)
    return getattr(entry, name, default)


def _detail(raw: Any) -> tuple[tuple[str, str], ...]:
    if raw is None:
        return ()
    items = raw.items() if isinstance(raw, dict) else raw
    out = []
    for k, v in items:
        out.append((str(k), "[redacted]" if _SECRET.search(str(k)) else str(v)))
    return tuple(out)


def audit_rows(source: Any, start: datetime | None = None, end: datetime | None = None) -> list[AuditRow]:
    """Normalise audit entries to :class:`AuditRow` (sorted by sequence), optionally within [start, end]."""
    if isinstance(source, (str, Path)):
        source = open_audit(source)
    if hasattr(source, "entries"):
        entries: Iterable[Any] = source.entries(start=start, end=end)
    else:
        entries = source
    rows = []
    for i, e in enumerate(entries):
        try:
            at = as_utc(_get(e, "at"))
        except InputError as exc:
            raise InputError(f"Audit entry #{i} has no readable time", hint="Each entry needs 'at'") from exc
        if (start and at < as_utc(start)) or (end and at > as_utc(end)):
            continue
        rows.append(AuditRow(int(_get(e, "seq", i) or i), at, str(_get(e, "actor")), str(_get(e, "kind")),
                             str(_get(e, "policy")), str(_get(e, "target")), str(_get(e, "action")),
                             bool(_get(e, "dry_run", False)), str(_get(e, "outcome")), _detail(_get(e, "detail", None)),
                             str(_get(e, "hash"))))
    rows.sort(key=lambda r: (r.seq, r.at))
    return rows


def _worked(outcome: str) -> bool | None:
    o = outcome.strip().lower().replace(" ", "_").replace("-", "_")
    if o in _GOOD:
        return True
    if o in _BAD:
        return False
    return None


def action_runs(rows: Iterable[AuditRow]) -> tuple[ActionRecord, ...]:
    """Group rows into runs per (policy, target, action): decision -> approval -> execution -> verify -> outcome."""
    open_runs: dict[tuple[str, str, str], dict[str, Any]] = {}
    done: list[dict[str, Any]] = []
    for r in rows:
        key = (r.policy, r.target, r.action)
        run = open_runs.get(key)
        if run is not None and (run["outcome"] is not None or (r.kind == "decision" and run["rows"])):
            done.append(open_runs.pop(key))
            run = None
        if run is None:
            run = open_runs[key] = {"rows": [], "outcome": None}
        run["rows"].append(r)
        if r.kind == "outcome":
            run["outcome"] = r
    done += open_runs.values()
    out = []
    for run in done:
        rs: list[AuditRow] = run["rows"]
        first = rs[0]
        execs = [r for r in rs if r.kind == "execution"]
        appr = [r for r in rs if r.kind in ("approval", "rejection")]
        if appr:
            a = appr[-1]
            approval = f"{'approved' if a.kind == 'approval' else 'rejected'} by {a.actor} at {a.at:%H:%M:%S} UTC"
        elif any(dict(r.detail).get("approval") == "auto" for r in rs):
            approval = "automatic (policy approval: auto)"
        else:
            approval = "no approval recorded"
        ver = [r for r in rs if r.kind == "verification"]
        verification = "; ".join(f"{v.outcome} at {v.at:%H:%M:%S}" + (
            f" ({', '.join(f'{k}={val}' for k, val in v.detail)})" if v.detail else "") for v in ver) or "not verified"
        if any(r.kind == "rollback" for r in rs):
            verification += "; rolled back"
        last = run["outcome"] or rs[-1]
        outcome = last.outcome or last.kind
        worked = _worked(outcome) if run["outcome"] is not None else (
            _worked(ver[-1].outcome) if ver else None)
        dry = all(r.dry_run for r in rs) or (not execs and any(r.kind == "dry_run" for r in rs))
        steps = tuple(f"{r.at:%H:%M:%S} {r.kind} by {r.actor}: {r.outcome}" for r in rs)
        out.append(ActionRecord((execs[0] if execs else first).at, first.action, first.target, first.policy, dry,
                                approval, verification, outcome, None if dry else worked, steps))
    out.sort(key=lambda a: a.at)
    return tuple(out)
