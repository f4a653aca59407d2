"""Untrusted text is data: it never changes what runs, where a request goes, or who approves. Secrets stay secret."""

from __future__ import annotations

import json
import sys

import pytest
from ._scripted import ScriptedBackend

from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.executors import KubernetesRestartExecutor, SilenceExecutor
from promv5_lab.remediate.healing import HealingLoop, detect_issue, execute_recovery, plan_recovery
from promv5_lab.remediate.policy import parse_policies

NASTY = ["x; rm -rf /", "$(reboot)", "`reboot`", "{{7*7}}", "${HOME}", "../../etc/passwd", "a\nb\r\nc", "nul\x00byte",
         "<script>alert(1)</script>", "%2e%2e%2f", "' OR 1=1 --"]
TRIG = "max by (service, message) (errors) > 0"
TOKEN = "Bearer sk-live-0123456789abcdef"


def _policy(actions, **kw):
    return parse_policies([{"name": "p", "trigger": {"promql": TRIG}, "approval": "auto",
                            "target": {"label": "service", "allowed": ["checkout"]}, "actions": actions, **kw}],
                          variables={"HOOK_TOKEN": TOKEN}, environ={})


@pytest.mark.parametrize("nasty", NASTY)
def test_label_values_travel_as_json_data_only(recorder, tmp_path, nasty):
    be = ScriptedBackend({TRIG: [({"service": "checkout", "message": nasty}, 1.0)]})
    pols = _policy([{"type": "webhook", "url": recorder.url + "/hook", "headers": {"Authorization": "${HOOK_TOKEN}"}}])
    log = AuditLog(tmp_path / "a.db", secrets=pols.secrets)
    (issue,) = detect_issue(be, pols)
    out = execute_recovery(plan_recovery(issue, pols, log), be, log, dry_run=False, secrets=pols.secrets,
                           sleep=lambda s: None)
    assert out.status == "resolved"
    (req,) = recorder.requests
    assert req["path"] == "/hook", "a label value changed the URL"
    assert req["body"]["issue"]["message"] == nasty, "the value must arrive byte for byte"
    assert req["body"]["target"] == "checkout"
    assert "49" not in json.dumps(req["body"]["issue"]), "no template was evaluated"
    assert log.verify().ok
    dumped = json.dumps([e.to_json() for e in log.entries()])
    assert TOKEN not in dumped and "sk-live" not in dumped
    assert any(nasty in e.detail.get("labels", "") or json.dumps(nasty)[1:-1] in e.detail.get("labels", "")
               for e in log.entries())


@pytest.mark.parametrize("nasty", NASTY)
def test_label_values_never_become_targets(recorder, tmp_path, nasty):
    be = ScriptedBackend({TRIG: [({"service": nasty, "message": "m"}, 1.0)]})
    pols = _policy([{"type": "webhook", "url": recorder.url + "/hook"}])
    log = AuditLog(tmp_path / "a.db")
    loop = HealingLoop(be, pols, log, dry_run=False, echo=lambda s: None)
    assert loop.tick() == []
    assert recorder.requests == []
    (rej,) = log.entries()
    assert rej.kind == "rejection" and rej.detail["label_value"] == nasty and rej.target == ""


def test_command_argv_is_exactly_the_policy(tmp_path):
    dump = tmp_path / "argv.json"
    script = tmp_path / "dump.py"
    script.write_text("import sys, json, os; open(sys.argv[1], 'w').write(json.dumps({'argv': sys.argv[1:], "
                      "'env': {k: v for k, v in os.environ.items() if 'reboot' in v or 'rm -rf' in v}}))\n")
    be = ScriptedBackend({TRIG: [({"service": "checkout", "message": n}, 1.0) for n in NASTY]})
    raw = {"name": "p", "trigger": {"promql": TRIG}, "approval": "auto", "guards": {"blast_radius": 1},
           "target": {"label": "service", "allowed": ["checkout"]},
           "actions": [{"type": "command", "argv": [sys.executable, str(script), str(dump), "restart"],
                        "target_arg": True}]}
    pols = parse_policies([raw], environ={})
    log = AuditLog(tmp_path / "a.db")
    (issue,) = detect_issue(be, pols)
    out = execute_recovery(plan_recovery(issue, pols, log), be, log, dry_run=False,
                           allowed_commands=[sys.executable], sleep=lambda s: None)
    assert out.status == "resolved"
    got = json.loads(dump.read_text())
    assert got == {"argv": [str(dump), "restart", "checkout"], "env": {}}


def test_urls_escape_every_path_segment():
    class A:
        namespace, deployment = "team/a", "../../etc/passwd"
    from promv5_lab.remediate.executors import ActionContext

    call = KubernetesRestartExecutor().plan(A(), ActionContext(target="x"))
    assert call.url == "/apis/apps/v1/namespaces/team%2Fa/deployments/..%2F..%2Fetc%2Fpasswd"
    exp = SilenceExecutor.expire_call("http://am:9093", "../x?y#z", "t")
    assert exp.url == "http://am:9093/api/v2/silence/..%2Fx%3Fy%23z"


def test_dry_run_output_and_audit_never_show_tokens(recorder, tmp_path):
    be = ScriptedBackend({TRIG: [({"service": "checkout", "message": "m"}, 1.0)]})
    pols = _policy([{"type": "webhook", "url": recorder.url + "/hook", "headers": {"Authorization": "${HOOK_TOKEN}"},
                     "body": {"note": "${HOOK_TOKEN}"}}])
    log = AuditLog(tmp_path / "a.db", secrets=pols.secrets)
    lines: list[str] = []
    HealingLoop(be, pols, log, echo=lines.append).tick()
    text = "\n".join(lines)
    assert "webhook: POST" in text and "[redacted]" in text
    assert "sk-live" not in text
    assert "sk-live" not in json.dumps([e.to_json() for e in log.entries()])
    raw = (tmp_path / "a.db").read_bytes() + (tmp_path / "a.db-wal").read_bytes()
    assert b"sk-live" not in raw


def test_policy_variables_cannot_splice_strings():
    with pytest.raises(Exception, match="whole value"):
        parse_policies([{"name": "p", "trigger": {"promql": "up{job=\"${JOB}\"}"}, "target": {"value": "x"},
                         "actions": [{"type": "webhook", "url": "http://h/x"}]}], variables={"JOB": "a"}, environ={})
