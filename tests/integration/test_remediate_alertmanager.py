"""The silence executor against a real Alertmanager (Debian's prometheus-alertmanager): create, then roll back."""

from __future__ import annotations

import pytest

from promv5_lab.backends.alertmanager import AlertmanagerClient
from promv5_lab.backends.alertmanager_harness import AlertmanagerHarness
from promv5_lab.remediate.actions import define_policy, execute_action, rollback
from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.executors import ActionContext

pytestmark = pytest.mark.integration


def test_silence_created_and_expired_on_rollback(tmp_path):
    with AlertmanagerHarness() as am:
        am.start()
        pol = define_policy({
            "name": "mute-checkout", "trigger": {"promql": "up == 0"}, "target": {"value": "checkout"},
            "actions": [{"type": "silence", "url": "${AM_URL}", "match_target": "service", "duration": "20m",
                         "matchers": [{"name": "alertname", "value": "Checkout.*", "regex": True}]}],
            "approval": "auto"}, variables={"AM_URL": am.url}, environ={})
        log = AuditLog(tmp_path / "audit.db")
        client = AlertmanagerClient(am.url)
        dry = execute_action(pol.actions[0], "checkout", policy=pol.name, audit=log)
        assert dry.result is None and client.silences() == [], "a dry run must not create a silence"
        ctx = ActionContext(target="checkout", policy=pol.name, run_id="it-1")
        res = execute_action(pol.actions[0], "checkout", dry_run=False, policy=pol.name, audit=log, context=ctx)
        assert res.ok, res.result
        sid = res.result.data["silenceID"]
        (sil,) = client.silences(active_only=True)
        assert sil.id == sid
        assert {(m.name, m.value, m.op) for m in sil.matchers} == {("alertname", "Checkout.*", "=~"),
                                                                   ("service", "checkout", "=")}
        rollback(pol, "checkout", dry_run=False, audit=log, context=ctx)
        assert client.silences(active_only=True) == []
        assert client.silence(sid).state == "expired"
        assert [e.kind for e in log.entries()] == ["dry_run", "execution", "rollback"]
        assert log.verify().ok
        client.close()
