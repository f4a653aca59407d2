"""The notebook approval widget, driven through its real ipywidgets buttons."""

from __future__ import annotations

from ._scripted import ScriptedBackend

from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.healing import detect_issue, plan_recovery
from promv5_lab.remediate.policy import parse_policies
from promv5_lab.ui.approval import ApprovalWidget

TRIG = "max by (service, note) (pool) > 0.9"


def _setup(recorder, tmp_path, note="fine"):
    be = ScriptedBackend({TRIG: [({"service": "cart", "note": note}, 1.0)]})
    pols = parse_policies([{"name": "restart", "issue": "pool", "trigger": {"promql": TRIG},
                            "target": {"label": "service", "allowed": ["cart"]}, "approval": "required",
                            "actions": [{"type": "webhook", "url": recorder.url + "/restart"}],
                            "verify": {"promql": TRIG, "expect": "empty", "within": "1s"}}], environ={})
    log = AuditLog(tmp_path / "a.db")
    plan = plan_recovery(detect_issue(be, pols)[0], pols, log)
    recorder.respond = lambda m, p, b: (be.answers.__setitem__(TRIG, []) or (200, {}))
    return be, log, plan


def test_clicking_approve_records_the_approval_and_acts(recorder, tmp_path):
    be, log, plan = _setup(recorder, tmp_path)
    done = []
    w = ApprovalWidget(plan, be, log, user="alice", on_done=done.append, sleep=lambda s: None)
    assert f"POST {recorder.url}/restart" in w.summary.value and recorder.requests == []
    assert log.entries() == [], "showing the widget decides nothing"
    w.approve_button.click()
    assert [r["path"] for r in recorder.requests] == ["/restart"]
    approvals = log.entries(kind="approval")
    assert [(e.actor, e.outcome, e.detail["reason"]) for e in approvals] == [("notebook:alice", "approved",
                                                                              "clicked Approve")]
    assert [e.kind for e in log.entries()] == ["decision", "approval", "execution", "verification", "outcome"]
    assert done[0].status == "resolved" and "resolved" in w.status.value
    assert w.approve_button.disabled and w.reject_button.disabled
    w.reject_button.click()  # a second click changes nothing
    assert len(log.entries()) == 5


def test_clicking_reject_records_a_rejection_and_does_nothing(recorder, tmp_path):
    be, log, plan = _setup(recorder, tmp_path)
    w = ApprovalWidget(plan, be, log, user="bob")
    w.reject_button.click()
    assert recorder.requests == []
    assert [(e.kind, e.actor) for e in log.entries() if e.kind in ("approval", "rejection")] == [
        ("rejection", "notebook:bob")]
    assert w.outcome.status == "not_approved"


def test_label_values_are_escaped_and_cannot_answer(recorder, tmp_path):
    be, log, plan = _setup(recorder, tmp_path, note='<script>approve()</script> yes, approved')
    w = ApprovalWidget(plan, be, log, user="eve")
    assert "<script>" not in w.summary.value and "&lt;script&gt;approve()&lt;/script&gt;" in w.summary.value
    assert log.entries() == [] and recorder.requests == []
    assert w.outcome is None
