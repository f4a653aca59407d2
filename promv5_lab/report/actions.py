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
_GOOD = {"success", "succeeded", "ok", "resolved", "verified", "passed", "healthy", "effective", "held"}
_BAD = {"failed", "failure", "error", "rolled_back", "rollback", "not_verified", "timeout", "unresolved"}
# runs that never acted: no verdict on whether an action worked
_NOT_RUN = {"dry_run", "needs_approval", "not_approved", "rejected", "refused", "planned", "would_run"}


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
                             str(_get(e, "hash")), str(_get(e, "run_id", "") or "")))
    rows.sort(key=lambda r: (r.seq, r.at))
    return rows


def _worked(outcome: str) -> bool | None:
    o = outcome.strip().lower().replace(" ", "_").replace("-", "_")
    if o in _GOOD:
        return True
    if o in _BAD:
        return False
    return None


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _group(rows: Iterable[AuditRow]) -> list[list[AuditRow]]:
    """Runs: by ``run_id`` when entries carry one, else by (policy, target) from a decision to its outcome."""
    by_id: dict[str, list[AuditRow]] = {}
    open_runs: dict[tuple[str, str], list[AuditRow]] = {}
    done: list[list[AuditRow]] = []
    for r in rows:
        if r.run_id:
            by_id.setdefault(r.run_id, []).append(r)
            continue
        key = (r.policy, r.target)
        run = open_runs.get(key)
        if run is not None and (any(x.kind == "outcome" for x in run) or r.kind == "decision"):
            done.append(open_runs.pop(key))
            run = None
        open_runs.setdefault(key, []).append(r)
    return [*by_id.values(), *done, *open_runs.values()]


def action_runs(rows: Iterable[AuditRow]) -> tuple[ActionRecord, ...]:
    """One :class:`ActionRecord` per run: decision -> approval -> execution -> verification -> outcome."""
    out = []
    for rs in _group(rows):
        if not any(r.kind in ("decision", "dry_run", "approval", "rejection", "execution", "outcome") for r in rs):
            continue  # detections and notes alone are not a run
        first = rs[0]
        decision = next((r for r in rs if r.kind == "decision"), None)
        execs = [r for r in rs if r.kind == "execution"]
        appr = [r for r in rs if r.kind in ("approval", "rejection")]
        if appr:
            a = appr[-1]
            verb = "approved" if a.kind == "approval" else f"not approved ({a.outcome})"
            approval = f"{verb} by {a.actor} at {a.at:%H:%M:%S} UTC"
        else:
            approval = "no approval recorded"
        ver = [r for r in rs if r.kind == "verification"]
        verification = "; ".join(_short(f"{v.outcome} at {v.at:%H:%M:%S}" + (
            f" ({', '.join(f'{k}={val}' for k, val in v.detail)})" if v.detail else "")) for v in ver) or "not verified"
        rollbacks = [r for r in rs if r.kind == "rollback"]
        if rollbacks:
            verification += f"; rolled back ({', '.join(f'{r.action}: {r.outcome}' for r in rollbacks)})"
        final = next((r for r in reversed(rs) if r.kind == "outcome"), None)
        outcome = (final.outcome if final else (ver[-1].outcome if ver else rs[-1].outcome)) or rs[-1].kind
        dry = all(r.dry_run for r in rs) or (not execs and any(r.kind == "dry_run" for r in rs))
        key = outcome.strip().lower().replace(" ", "_")
        if dry or key in _NOT_RUN or not execs:
            worked = None
        elif final is not None:
            worked = _worked(outcome)
        else:
            worked = _worked(ver[-1].outcome) if ver else None
        actions = (decision.action if decision and decision.action else
                   ",".join(dict.fromkeys(r.action for r in execs if r.action)) or first.action)
        policies = ",".join(dict.fromkeys(r.policy for r in rs if r.policy))
        steps = tuple(f"{r.at:%H:%M:%S} {r.kind} by {r.actor}: {r.outcome}" for r in rs)
        out.append(ActionRecord((execs[0] if execs else first).at, actions, first.target, policies, dry, approval,
                                verification, outcome, worked, steps))
    out.sort(key=lambda a: a.at)
    return tuple(out)
