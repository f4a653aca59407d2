"""The audit log as report data: runs, approvals, verification, outcomes; secrets redacted; a real AuditLog."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.errors import InputError
from promv5_lab.report.actions import action_runs, audit_rows
from promv5_lab.report.remediation import build_remediation_report
from promv5_lab.report.render import render_html, render_markdown

T0 = datetime(2026, 11, 26, 20, 0, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Entry:
    """The AuditEntry fields the remediation helper documents (constructed here, no log needed)."""

    seq: int
    at: datetime
    actor: str
    kind: str
    policy: str = ""
    target: str = ""
    action: str = ""
    dry_run: bool = False
    outcome: str = ""
    detail: dict = field(default_factory=dict)
    run_id: str = ""
    hash: str = ""


def _run(seq0: int, run_id: str, outcome: str, *, verify: str = "held", approver: str = "alice", dry: bool = False):
    t = T0 + timedelta(minutes=seq0)
    kinds = [("decision", "restart", "planned", "heal"), ("approval", "", "approved", approver),
             ("execution", "demo", "ok", "heal"), ("verification", "verify", verify, "heal"),
             ("outcome", "", outcome, "heal")]
    if dry:
        kinds = [("decision", "restart", "planned", "heal"), ("dry_run", "demo", "would run", "heal"),
                 ("outcome", "", "dry_run", "heal")]
    return [Entry(seq0 + i, t + timedelta(seconds=10 * i), actor, kind, "restart-pool", "checkout", action, dry, out,
                  {"token": "s3cr3t", "why": "pool saturated"}, run_id)
            for i, (kind, action, out, actor) in enumerate(kinds)]


def test_runs_group_by_run_id_with_approval_verification_and_outcome():
    rows = audit_rows(_run(1, "run-a", "resolved") + _run(10, "run-b", "failed", verify="failed")
                      + _run(20, "run-c", "dry_run", dry=True))
    runs = action_runs(rows)
    assert [r.outcome for r in runs] == ["resolved", "failed", "dry_run"]
    assert [r.worked for r in runs] == [True, False, None]
    assert runs[0].approval.startswith("approved by alice at 20:01:10")
    assert runs[0].verification.startswith("held at")
    assert runs[2].dry_run and runs[2].approval == "no approval recorded"
    assert runs[0].at == T0 + timedelta(minutes=1, seconds=20)  # the execution's time


def test_runs_without_run_id_split_at_each_decision():
    entries = [e.__class__(**{**e.__dict__, "run_id": ""}) for e in _run(1, "", "resolved") + _run(10, "", "failed")]
    runs = action_runs(audit_rows(entries))
    assert [r.outcome for r in runs] == ["resolved", "failed"]


def test_secret_detail_is_redacted_and_period_filters():
    rows = audit_rows([e.__dict__ for e in _run(1, "r", "resolved")], start=T0 + timedelta(minutes=1, seconds=15))
    assert [r.kind for r in rows] == ["execution", "verification", "outcome"]
    assert dict(rows[0].detail)["token"] == "[redacted]" and dict(rows[0].detail)["why"] == "pool saturated"
    with pytest.raises(InputError, match="no readable time"):
        audit_rows([{"kind": "decision", "at": "yesterday-ish"}])


def test_remediation_report_over_a_real_audit_log(tmp_path):
    from promv5_lab.remediate.audit import AuditLog

    log = AuditLog(tmp_path / "audit.db")
    for e in _run(1, "run-a", "resolved", approver="<img src=x onerror=alert(1)>") + _run(10, "run-b", "failed"):
        log.append({k: v for k, v in e.__dict__.items() if k not in ("seq", "hash")})
    rep = build_remediation_report(log)
    assert rep.chain.startswith("audit log OK: 10 entries")
    assert dict(rep.outcomes) == {"failed": 1, "worked": 1}
    html = render_html(rep)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "s3cr3t" not in html and "s3cr3t" not in render_markdown(rep)
    # a period that holds only the second run
    later = build_remediation_report(log, start=T0 + timedelta(minutes=9), end=T0 + timedelta(hours=1))
    assert [r.outcome for r in later.runs] == ["failed"] and len(later.rows) == 5


def test_tampering_shows_in_the_report(tmp_path):
    import sqlite3

    from promv5_lab.remediate.audit import AuditLog

    path = tmp_path / "audit.db"
    log = AuditLog(path)
    for e in _run(1, "run-a", "resolved"):
        log.append({k: v for k, v in e.__dict__.items() if k not in ("seq", "hash")})
    log.close()
    con = sqlite3.connect(path)
    tables = [r[0] for r in con.execute("select name from sqlite_master where type='trigger'")]
    for t in tables:
        con.execute(f'drop trigger "{t}"')
    table = con.execute("select name from sqlite_master where type='table' and sql like '%outcome%'").fetchone()[0]
    con.execute(f'update "{table}" set outcome = ? where kind = ?', ("failed", "outcome"))
    con.commit()
    con.close()
    rep = build_remediation_report(str(path))
    assert "TAMPER" in rep.chain
