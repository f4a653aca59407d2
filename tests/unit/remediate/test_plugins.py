"""Executors registered through the ``promv5_lab.executors`` entry-point group (a real dist-info on sys.path)."""

from __future__ import annotations

import sys

import pytest

from promv5_lab.remediate import executors
from promv5_lab.remediate.actions import execute_action
from promv5_lab.remediate.policy import PolicyError, parse_policies

PLUGIN = '''
from promv5_lab.remediate.executors import ExecResult, PlannedCall


class EchoExecutor:
    def plan(self, action, ctx):
        return PlannedCall("echo", ctx.target, argv=("echo", action.words, ctx.target))

    def run(self, call, ctx):
        return ExecResult(True, "done", " ".join(call.argv[1:]))
'''


@pytest.fixture
def plugin_site(tmp_path, monkeypatch):
    (tmp_path / "promv5_echo_plugin.py").write_text(PLUGIN)
    dist = tmp_path / "promv5_echo_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: promv5-echo-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[promv5_lab.executors]\necho = promv5_echo_plugin:EchoExecutor\n"
                                           "broken = promv5_no_such_module:Nope\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(executors, "_PLUGINS", None)
    monkeypatch.setattr(executors, "_PLUGIN_ERRORS", {})
    yield
    sys.modules.pop("promv5_echo_plugin", None)


def test_entry_point_executor_is_found_and_usable(plugin_site):
    pols = parse_policies([{"name": "p", "trigger": {"promql": "up"}, "target": {"value": "cart"},
                            "actions": [{"type": "echo", "words": "hello"}]}], environ={})
    act = pols.policies[0].actions[0]
    assert type(executors.executor_for("echo")).__name__ == "EchoExecutor"
    out = execute_action(act, "cart", dry_run=False)
    assert out.ok and out.result.output == "hello cart"
    status = {r["type"]: r for r in executors.executor_status()}
    assert status["echo"]["source"] == "entry point" and status["echo"]["status"] == "ok"
    assert status["broken"]["status"].startswith("failed: ModuleNotFoundError"), "a broken plugin is reported"
    assert status["webhook"]["status"] == "ok", "and the rest still works"


def test_unknown_action_types_are_refused_at_load(plugin_site):
    with pytest.raises(PolicyError, match="unknown action type 'webhok'"):
        parse_policies([{"name": "p", "trigger": {"promql": "up"}, "target": {"value": "cart"},
                         "actions": [{"type": "webhok", "url": "http://x"}]}], environ={})
