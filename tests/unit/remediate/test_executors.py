"""Executors: dry run shows exactly what would run; real calls go to real loopback servers.

The Kubernetes executors are contract-tested: no cluster can run here, so the real ``kubernetes`` client
talks to a recording HTTP server that answers in the Kubernetes API's JSON (``autoscaling/v1`` Scale,
``apps/v1`` Deployment) and the test asserts the exact requests (method, path, content type, body).
"""

from __future__ import annotations

import json
import sys

import pytest

from promv5_lab.remediate.actions import define_policy, execute_action, rollback
from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.executors import BUILTIN_EXECUTORS, ActionContext, executor_for, executor_status
from promv5_lab.remediate.policy import Policy


def _action(spec: dict):
    return Policy.model_validate({"name": "t", "trigger": {"promql": "up"}, "target": {"value": "checkout"},
                                  "actions": [spec]}).actions[0]


def test_registry_has_every_builtin_and_a_status_table():
    for kind in ("webhook", "command", "silence", "k8s_scale", "k8s_restart", "demo"):
        assert type(executor_for(kind)) is BUILTIN_EXECUTORS[kind]
    assert {r["type"] for r in executor_status()} >= set(BUILTIN_EXECUTORS)
    with pytest.raises(Exception, match="No executor"):
        executor_for("teleport")


def test_webhook_dry_run_then_real_call(recorder, tmp_path):
    act = _action({"type": "webhook", "url": recorder.url + "/hooks/heal", "headers": {"Authorization": "Bearer t0ps3cret99"},
                   "body": {"team": "sre"}})
    log = AuditLog(tmp_path / "a.db", secrets=["Bearer t0ps3cret99"])
    dry = execute_action(act, "checkout", policy="t", audit=log, issue={"service": "checkout"})
    assert dry.result is None and recorder.requests == []
    shown = dry.call.show()
    assert shown.startswith(f"webhook: POST {recorder.url}/hooks/heal {{")
    assert '"team": "sre"' in shown and "t0ps3cret99" not in shown and "1 header(s), not shown" in shown
    real = execute_action(act, "checkout", policy="t", audit=log, dry_run=False, issue={"service": "checkout"})
    assert real.ok
    (req,) = recorder.requests
    assert req["method"] == "POST" and req["path"] == "/hooks/heal"
    assert req["headers"]["Authorization"] == "Bearer t0ps3cret99"
    assert req["body"] == {"team": "sre", "policy": "t", "target": "checkout", "run_id": real.context.run_id,
                           "issue": {"service": "checkout"}}
    kinds = [e.kind for e in log.entries()]
    assert kinds == ["dry_run", "execution"]
    assert all("t0ps3cret99" not in json.dumps(e.to_json()) for e in log.entries())


def test_webhook_failure_is_data(recorder):
    recorder.respond = lambda m, p, b: (503, {"error": "down"})
    res = execute_action(_action({"type": "webhook", "url": recorder.url + "/x"}), "checkout", dry_run=False)
    assert not res.ok and res.result.status == "503"
    res = execute_action(_action({"type": "webhook", "url": "http://127.0.0.1:9/x"}), "checkout", dry_run=False)
    assert not res.ok and res.result.status.startswith("error")


def test_command_runs_argv_only_when_allow_listed(tmp_path):
    out = tmp_path / "out.txt"
    script = tmp_path / "record.py"
    script.write_text("import sys, json; open(sys.argv[1], 'w').write(json.dumps(sys.argv[2:]))\n")
    act = _action({"type": "command", "argv": [sys.executable, str(script), str(out), "--restart"],
                   "target_arg": True})
    dry = execute_action(act, "checkout")
    assert json.loads(dry.call.show().split("argv=", 1)[1]) == [sys.executable, str(script), str(out), "--restart",
                                                                  "checkout"]
    refused = execute_action(act, "checkout", dry_run=False)
    assert not refused.ok and refused.result.status == "refused" and "allow-list" in refused.result.output
    assert not out.exists()
    ran = execute_action(act, "checkout", dry_run=False, allowed_commands=[sys.executable])
    assert ran.ok and ran.result.status == "exit 0"
    assert json.loads(out.read_text()) == ["--restart", "checkout"]


def test_demo_executor_against_the_live_world():
    from promv5_lab.demo.server import DemoServer

    with DemoServer(port=0, seed=2) as srv:
        import requests

        fid = requests.post(srv.url + "/admin/faults", json={"type": "db_pool_exhaustion", "service": "cart"}).json()["id"]
        act = _action({"type": "demo", "url": srv.url, "action": "restart"})
        dry = execute_action(act, "cart")
        assert dry.call.show() == (f'demo: POST {srv.url}/admin/actions {{"action": "restart", "params": {{}}, '
                                   f'"service": "cart"}}')
        assert requests.get(srv.url + "/admin/state").json()["active_faults"], "a dry run must not act"
        res = execute_action(act, "cart", dry_run=False)
        assert res.ok and res.result.data["resolved"] == [fid]
        node = _action({"type": "demo", "url": srv.url, "action": "clear_disk", "service": "postgres",
                        "target_as": "node"})
        assert execute_action(node, "node-3").call.body["params"] == {"node": "node-3"}
        bad = execute_action(_action({"type": "demo", "url": srv.url, "action": "restart"}), "nosuch", dry_run=False)
        assert not bad.ok and bad.result.status == "400"


def _k8s_client(url: str):
    from kubernetes import client

    cfg = client.Configuration()
    cfg.host = url
    return lambda: client.ApiClient(cfg)


def test_k8s_scale_contract(recorder):
    def respond(method, path, body):
        replicas = body["spec"]["replicas"] if body else 2
        return 200, {"kind": "Scale", "apiVersion": "autoscaling/v1",
                     "metadata": {"name": "checkout", "namespace": "shop"},
                     "spec": {"replicas": replicas}, "status": {"replicas": replicas}}

    recorder.respond = respond
    act = _action({"type": "k8s_scale", "namespace": "shop", "factor": 3})
    dry = execute_action(act, "checkout")
    assert dry.call.show() == ('k8s_scale: PATCH /apis/apps/v1/namespaces/shop/deployments/checkout/scale '
                               '{"spec": {"replicas": "current x 3"}}')
    assert recorder.requests == []
    res = execute_action(act, "checkout", dry_run=False, k8s_client=_k8s_client(recorder.url))
    assert res.ok and res.result.data == {"previous": 2, "replicas": 6}
    get, patch = recorder.requests
    assert (get["method"], get["path"]) == ("GET", "/apis/apps/v1/namespaces/shop/deployments/checkout/scale")
    assert (patch["method"], patch["path"]) == ("PATCH", "/apis/apps/v1/namespaces/shop/deployments/checkout/scale")
    assert patch["headers"]["Content-Type"] in ("application/strategic-merge-patch+json",
                                                "application/merge-patch+json")
    assert patch["body"] == {"spec": {"replicas": 6}}


def test_k8s_restart_contract_and_api_errors(recorder):
    deployment = {"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": "cart", "namespace": "default"},
                  "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "cart"}},
                           "template": {"metadata": {"labels": {"app": "cart"}},
                                        "spec": {"containers": [{"name": "cart", "image": "shop/cart:1.0"}]}}}}
    recorder.respond = lambda m, p, b: (200, deployment)
    act = _action({"type": "k8s_restart"})
    res = execute_action(act, "cart", dry_run=False, k8s_client=_k8s_client(recorder.url))
    assert res.ok, res.result
    (req,) = recorder.requests
    assert (req["method"], req["path"]) == ("PATCH", "/apis/apps/v1/namespaces/default/deployments/cart")
    ann = req["body"]["spec"]["template"]["metadata"]["annotations"]
    assert list(ann) == ["kubectl.kubernetes.io/restartedAt"] and ann["kubectl.kubernetes.io/restartedAt"].endswith("Z")
    recorder.respond = lambda m, p, b: (404, {"kind": "Status", "status": "Failure", "reason": "NotFound", "code": 404})
    bad = execute_action(act, "cart", dry_run=False, k8s_client=_k8s_client(recorder.url))
    assert not bad.ok and "NotFound" in bad.result.status and "(404)" in bad.result.output


def test_silence_plan_and_rollback_expires_it(recorder, tmp_path):
    recorder.respond = lambda m, p, b: (200, {"silenceID": "abc-123"}) if m == "POST" else (200, {})
    pol = define_policy({"name": "mute", "trigger": {"promql": "up"}, "target": {"value": "checkout"},
                         "actions": [{"type": "silence", "url": "${AM}", "match_target": "service",
                                      "matchers": [{"name": "alertname", "value": "HighLatency"}],
                                      "duration": "30m"}]}, variables={"AM": recorder.url}, environ={})
    log = AuditLog(tmp_path / "a.db")
    ctx = ActionContext(target="checkout", policy="mute", run_id="r1")
    res = execute_action(pol.actions[0], "checkout", dry_run=False, audit=log, context=ctx)
    assert res.ok
    body = recorder.requests[0]["body"]
    assert recorder.requests[0]["path"] == "/api/v2/silences"
    assert body["matchers"] == [{"name": "alertname", "value": "HighLatency", "isRegex": False, "isEqual": True},
                                {"name": "service", "value": "checkout", "isRegex": False, "isEqual": True}]
    assert body["endsAt"] > body["startsAt"]
    rollback(pol, "checkout", dry_run=False, audit=log, context=ctx)
    assert (recorder.requests[1]["method"], recorder.requests[1]["path"]) == ("DELETE", "/api/v2/silence/abc-123")
    assert [e.kind for e in log.entries()] == ["execution", "rollback"]
