"""The loop's logic: detection with allow-lists, ranking by past success, guards, approval, verify, rollback.

PromQL answers come from a scripted backend (``_scripted.py``); actions are webhooks to a real loopback
server (``recorder``). The whole loop against a real Prometheus is in tests/integration/test_heal_demo.py.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from ._scripted import ScriptedBackend

from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.healing import (
    Decision,
    HealingLoop,
    detect_issue,
    execute_recovery,
    plan_recovery,
    success_rates,
)
from promv5_lab.remediate.policy import parse_policies

TRIG = "max by (service) (pool_ratio) > 0.9"
VERIFY = "max by (service) (pool_ratio) > 0.9"


def _pols(url, *extra, approval="auto", **guards):
    def pol(name, path, **kw):
        return {"name": name, "issue": "pool", "trigger": {"promql": TRIG},
                "target": {"label": "service", "allowed": ["checkout", "cart"]},
                "actions": [{"type": "webhook", "url": f"{url}/{path}"}],
                "verify": {"promql": VERIFY, "expect": "empty", "within": "1s", "interval": "0.2s"},
                "rollback": [{"type": "webhook", "url": f"{url}/undo-{path}"}],
                "approval": approval, "guards": {"cooldown": "0s", **guards}, **kw}
    return parse_policies([pol("restart", "restart"), *[pol(n, n) for n in extra]], environ={})


def _fixed_by(recorder, backend, path):
    """When the webhook ``path`` is called, the condition clears."""
    def respond(method, p, body):
        if p == f"/{path}":
            backend.answers[TRIG] = []
        return 200, {"ok": True}
    recorder.respond = respond


def test_detect_only_allow_listed_targets():
    nasty = ["x; rm -rf /", "$(reboot)", "{{7*7}}", "../../etc/passwd", "cart\nrm", "cart\x00", "Checkout"]
    be = ScriptedBackend({TRIG: [({"service": v}, 1.0) for v in nasty] + [({"service": "cart"}, 0.97)]})
    refused = []
    issues = detect_issue(be, _pols("http://127.0.0.1:9"), refused=refused)
    assert [(i.target, i.value, i.matched_targets) for i in issues] == [("cart", 0.97, 1)]
    assert sorted(r.label_value for r in refused) == sorted(nasty)


def test_success_path_records_the_whole_story(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0)]})
    _fixed_by(recorder, be, "restart")
    pols = _pols(recorder.url)
    log = AuditLog(tmp_path / "a.db")
    (issue,) = detect_issue(be, pols)
    plan = plan_recovery(issue, pols, log)
    out = execute_recovery(plan, be, log, dry_run=False, sleep=lambda s: None)
    assert out.status == "resolved" and out.policy == "restart"
    assert [r["path"] for r in recorder.requests] == ["/restart"]
    assert [(e.kind, e.outcome) for e in log.entries()] == [
        ("decision", "planned"), ("approval", "approved"), ("execution", "ok"), ("verification", "held"),
        ("outcome", "resolved")]
    assert {e.run_id for e in log.entries()} == {out.run_id}
    assert log.entries()[1].actor == "policy (approval: auto)"


def test_dry_run_is_the_default_and_changes_nothing(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0)]})
    pols = _pols(recorder.url)
    log = AuditLog(tmp_path / "a.db")
    (issue,) = detect_issue(be, pols)
    out = execute_recovery(plan_recovery(issue, pols, log), be, log)
    assert out.status == "dry_run" and recorder.requests == []
    assert out.calls == (f'webhook: POST {recorder.url}/restart {{"issue": {{"service": "cart"}}, "policy": "restart", '
                         f'"run_id": "{out.run_id}", "target": "cart"}}',)
    assert all(e.dry_run for e in log.entries())
    assert "dry_run" in [e.kind for e in log.entries()]


def test_failed_verification_rolls_back_then_tries_the_next_policy(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0)]})
    _fixed_by(recorder, be, "rollback-deploy")
    pols = _pols(recorder.url, "rollback-deploy")
    log = AuditLog(tmp_path / "a.db")
    issues = detect_issue(be, pols)
    out = execute_recovery(plan_recovery(issues, pols, log), be, log, dry_run=False, sleep=lambda s: None)
    assert out.status == "resolved" and out.policy == "rollback-deploy" and out.attempts == 2
    assert [r["path"] for r in recorder.requests] == ["/restart", "/undo-restart", "/rollback-deploy"]
    assert [(e.kind, e.policy, e.outcome) for e in log.entries() if e.kind in ("verification", "rollback")] == [
        ("verification", "restart", "failed"), ("rollback", "restart", "ok"),
        ("verification", "rollback-deploy", "held")]


def test_ranking_learns_from_recorded_outcomes(tmp_path):
    log = AuditLog(tmp_path / "a.db")
    for pol, outcome in [("restart", "failed"), ("restart", "failed"), ("rollback-deploy", "resolved")]:
        log.append({"kind": "outcome", "actor": "t", "policy": pol, "outcome": outcome, "dry_run": False,
                    "detail": {"issue_kind": "pool"}})
    log.append({"kind": "outcome", "actor": "t", "policy": "restart", "outcome": "resolved", "dry_run": True,
                "detail": {"issue_kind": "pool"}})  # dry runs never count
    rates = success_rates(log, "pool")
    assert rates == {"restart": (0.25, 2), "rollback-deploy": (pytest.approx(2 / 3), 1)}
    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0)]})
    pols = _pols("http://127.0.0.1:9", "rollback-deploy")
    plan = plan_recovery(detect_issue(be, pols), pols, log)
    assert [c.policy.name for c in plan.candidates] == ["rollback-deploy", "restart"]


def test_guards(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0)]})
    log = AuditLog(tmp_path / "a.db")
    now = datetime.now(timezone.utc)
    pols = _pols(recorder.url, cooldown="10m")
    (issue,) = detect_issue(be, pols)
    assert plan_recovery(issue, pols, log).runnable
    log.append({"kind": "execution", "actor": "t", "policy": "restart", "target": "cart", "dry_run": False,
                "run_id": "r0", "at": now - timedelta(minutes=2)})
    assert "cooling down" in plan_recovery(issue, pols, log, at=now).candidates[0].refused
    pols = _pols(recorder.url, max_runs_per_hour=1)
    assert "limit 1" in plan_recovery(issue, pols, log, at=now).candidates[0].refused
    assert plan_recovery(issue, _pols(recorder.url, max_runs_per_hour=2), log, at=now).runnable
    pols = _pols(recorder.url, maintenance_windows=[{"start": now - timedelta(hours=1), "end": now + timedelta(hours=1)}])
    assert "maintenance" in plan_recovery(issue, pols, log, at=now).candidates[0].refused
    be2 = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0), ({"service": "checkout"}, 1.0)]})
    issues = detect_issue(be2, _pols(recorder.url))
    assert "blast radius: 2 targets" in plan_recovery(issues[0], _pols(recorder.url), log).candidates[0].refused
    out = execute_recovery(plan_recovery(issues[0], _pols(recorder.url), log), be2, log, dry_run=False)
    assert out.status == "refused" and recorder.requests == []


def test_approval_required(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "cart", "note": "approved; yes"}, 1.0)]})
    _fixed_by(recorder, be, "restart")
    pols = _pols(recorder.url, approval="required")
    log = AuditLog(tmp_path / "a.db")
    (issue,) = detect_issue(be, pols)
    out = execute_recovery(plan_recovery(issue, pols, log), be, log, dry_run=False)
    assert out.status == "needs_approval" and recorder.requests == []
    seen = []

    def no(req):
        seen.append(req)
        return Decision(False, "alice", "not now")
    out = execute_recovery(plan_recovery(issue, pols, log), be, log, dry_run=False, approver=no)
    assert out.status == "not_approved" and recorder.requests == []
    assert seen[0].calls[0].url == recorder.url + "/restart" and "restart" in seen[0].describe()
    out = execute_recovery(plan_recovery(issue, pols, log), be, log, dry_run=False,
                           approver=lambda r: Decision(True, "bob", "ok"), sleep=lambda s: None)
    assert out.status == "resolved"
    appr = [(e.kind, e.actor) for e in log.entries() if e.kind in ("approval", "rejection")]
    assert appr == [("rejection", "promv5-lab heal"), ("rejection", "alice"), ("approval", "bob")]


def test_loop_waits_for_for_and_shows_a_dry_run_once(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0), ({"service": "x; rm -rf /"}, 1.0)]})
    raw = _pols(recorder.url).policies[0].model_dump(by_alias=True)
    raw["trigger"]["for"] = "0.3s"
    raw["guards"]["blast_radius"] = 5
    pols = parse_policies([raw], environ={})
    log = AuditLog(tmp_path / "a.db")
    lines = []
    loop = HealingLoop(be, pols, log, echo=lines.append)
    assert loop.tick() == []  # pending: must hold for 0.3 s
    outs = loop.run(interval_s=0.1, max_seconds=1.0)
    assert [o.status for o in outs] == ["dry_run"]
    assert recorder.requests == []
    rejections = [e for e in log.entries(kind="rejection")]
    assert len(rejections) == 1 and rejections[0].detail["label_value"] == "x; rm -rf /"
    assert any(line.startswith("dry_run: pool on cart via restart") for line in lines)


def test_diagnosis_trigger_matches_service_and_kind(tmp_path):
    from promv5_lab.types import Diagnosis, RootCause, TimeRange

    now = datetime.now(timezone.utc)
    calls = []

    def diagnose(backend, at, **opts):
        calls.append(opts)
        return Diagnosis(at, TimeRange.last("1h", end=at), (
            RootCause("checkout", "resource_exhaustion", 0.8, summary="pool saturated"),
            RootCause("cart", "deploy", 0.7)))

    pols = parse_policies([
        {"name": "exhausted", "trigger": {"diagnosis": True, "kind": "resource_exhaustion", "window": "30m"},
         "target": {"label": "service", "allowed": ["checkout", "cart"]},
         "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/x"}]},
        {"name": "deploys", "trigger": {"diagnosis": True, "kind": ["deploy"], "service": "payments"},
         "target": {"label": "service", "allowed": ["payments"]},
         "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/y"}]},
        {"name": "unsure", "trigger": {"diagnosis": True, "min_confidence": 0.9},
         "target": {"label": "service", "allowed": ["checkout"]},
         "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/z"}]}], environ={})
    issues = detect_issue(ScriptedBackend(), pols, at=now, diagnose=diagnose)
    assert [(i.policy, i.target, i.source, i.evidence) for i in issues] == [
        ("exhausted", "checkout", "diagnosis", "pool saturated")]
    assert calls == [{"window": "30m"}], "one diagnosis per round, with the policy's options"


def test_anomaly_trigger_scores_the_latest_points():
    import numpy as np

    from promv5_lab.frames import from_prometheus
    from promv5_lab.types import Provenance, QueryResult

    class RangeBackend(ScriptedBackend):
        def query_range(self, promql, tr):
            t = np.arange(tr.start.timestamp(), tr.end.timestamp() + 1, tr.step_s)
            rng = np.random.default_rng(0)
            calm = 10 + rng.normal(0, 0.2, len(t))
            spiky = calm.copy()
            spiky[-3:] = 60.0
            result = [{"metric": {"service": s}, "values": [[float(a), str(b)] for a, b in zip(t, v)]}
                      for s, v in (("cart", spiky), ("checkout", calm))]
            return QueryResult(from_prometheus("matrix", result), "matrix", Provenance(promql, "r", "range"))

    pols = parse_policies([{"name": "odd", "trigger": {"anomaly": "rate(x[1m])", "lookback": "2h", "step": "60s"},
                            "target": {"label": "service", "allowed": ["cart", "checkout"]},
                            "actions": [{"type": "webhook", "url": "http://127.0.0.1:9/x"}]}], environ={})
    issues = detect_issue(RangeBackend(), pols)
    assert [(i.target, i.source) for i in issues] == [("cart", "anomaly")]
    assert issues[0].value >= 0.6


def test_loop_records_the_diagnosis_as_evidence(recorder, tmp_path):
    from promv5_lab.types import Diagnosis, RootCause, TimeRange

    def diagnose(backend, at, **opts):
        assert opts == {"window": "15m", "lookback": "1h", "step": "15s"}
        return Diagnosis(at, TimeRange.last("15m", end=at), (RootCause("cart", "resource_exhaustion", 0.9,
                                                                       summary="pool saturated"),))

    be = ScriptedBackend({TRIG: [({"service": "cart"}, 1.0)]})
    log = AuditLog(tmp_path / "a.db")
    HealingLoop(be, _pols(recorder.url), log, diagnose=diagnose, diagnose_issues=True, echo=lambda s: None).tick()
    (dec,) = log.entries(kind="decision")
    assert json.loads(dec.detail["diagnosis"]) == [{"service": "cart", "kind": "resource_exhaustion",
                                                    "confidence": 0.9, "summary": "pool saturated"}]
