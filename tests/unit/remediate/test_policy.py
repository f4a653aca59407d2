"""Policies as data: validation errors name the file, policy, field and fix; variables are whole typed values."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from promv5_lab.errors import ConfigError
from promv5_lab.remediate.policy import (
    DemoAction,
    Policy,
    PolicyError,
    PromqlTrigger,
    Window,
    load_policies,
    parse_policies,
    parse_vars,
)

DEMO_POLICIES = Path(__file__).resolve().parents[3] / "promv5_lab" / "demo" / "policies.yaml"


def _pol(**over):
    base = {"name": "p1", "trigger": {"promql": "up == 0"}, "target": {"value": "checkout"},
            "actions": [{"type": "demo", "url": "http://127.0.0.1:1", "action": "restart"}]}
    base.update(over)
    return base


def test_demo_policies_load_and_cover_every_incident_type():
    from promv5_lab.demo.incidents import INCIDENT_TYPES

    ps = load_policies(DEMO_POLICIES, {"ADMIN_URL": "http://127.0.0.1:9464"}, environ={})
    assert {p.issue for p in ps} == set(INCIDENT_TYPES)
    assert all(a.url == "http://127.0.0.1:9464" for p in ps for a in p.actions)
    assert all(p.verify is not None for p in ps)


def test_missing_variable_says_how_to_set_it():
    with pytest.raises(PolicyError, match=r"ADMIN_URL.*not set") as ei:
        load_policies(DEMO_POLICIES, {}, environ={})
    assert "--var ADMIN_URL=VALUE" in ei.value.hint
    assert "policies.yaml" in ei.value.message and "db-pool-restart" in ei.value.message


def test_environment_supplies_variables_and_var_wins():
    env = {"ADMIN_URL": "http://env:1"}
    assert load_policies(DEMO_POLICIES, {}, environ=env).policies[0].actions[0].url == "http://env:1"
    assert load_policies(DEMO_POLICIES, {"ADMIN_URL": "http://cli:2"}, environ=env).policies[0].actions[0].url \
        == "http://cli:2"


def test_variables_are_whole_typed_values():
    raw = [_pol(guards={"max_runs_per_hour": "${RUNS}"})]
    ps = parse_policies(raw, variables={"RUNS": "7"}, environ={})
    assert ps.policies[0].guards.max_runs_per_hour == 7
    with pytest.raises(PolicyError, match="must be the whole value"):
        parse_policies([_pol(actions=[{"type": "demo", "url": "http://${HOST}/x", "action": "restart"}])],
                       variables={"HOST": "a"}, environ={})
    with pytest.raises(PolicyError, match="max_runs_per_hour"):
        parse_policies(raw, variables={"RUNS": "many"}, environ={})


def test_secret_variables_are_collected_for_masking():
    raw = [_pol(actions=[{"type": "webhook", "url": "${HOOK_URL}", "headers": {"Authorization": "${HOOK_TOKEN}"}}])]
    ps = parse_policies(raw, variables={"HOOK_URL": "http://h/x", "HOOK_TOKEN": "Bearer abc123456"}, environ={})
    assert ps.secrets == frozenset({"Bearer abc123456"})


@pytest.mark.parametrize("over, field", [
    ({"name": "Bad Name!"}, "name"),
    ({"trigger": {"promql": ""}}, "trigger"),
    ({"trigger": "up"}, "trigger"),
    ({"target": {"label": "service"}}, "allow-list"),
    ({"target": {"label": "service", "allowed": ["x; rm -rf /"]}}, "target"),
    ({"actions": []}, "actions"),
    ({"actions": [{"type": "teleport"}]}, "actions"),
    ({"actions": [{"type": "command", "argv": ["rm", "-rf", "/"]}]}, "absolute path"),
    ({"actions": [{"type": "silence", "url": "http://am"}]}, "matchers"),
    ({"actions": [{"type": "k8s_scale", "replicas": 3, "factor": 2}]}, "exactly one"),
    ({"approval": "maybe"}, "approval"),
    ({"guards": {"cooldown": "soon"}}, "cooldown"),
    ({"guards": {"maintenance_windows": [{"daily": "25:00-26:00"}]}}, "daily"),
    ({"verify": {"promql": "up", "expect": "sometimes"}}, "expect"),
    ({"colour": "red"}, "colour"),
])
def test_invalid_policies_name_policy_and_field(over, field):
    with pytest.raises(PolicyError) as ei:
        parse_policies([_pol(**over)], source="my.yaml", environ={})
    msg = ei.value.message
    assert "my.yaml" in msg and field in msg
    assert ei.value.hint
    assert isinstance(ei.value, ConfigError)


def test_duplicate_names_and_bad_files(tmp_path):
    with pytest.raises(PolicyError, match="used twice"):
        parse_policies([_pol(), _pol()], environ={})
    bad = tmp_path / "p.yaml"
    bad.write_text("policies: [\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policies(bad)
    with pytest.raises(PolicyError, match="Cannot read"):
        load_policies(tmp_path / "missing.yaml")
    bad.write_text("rules: []\n")
    with pytest.raises(PolicyError, match="top-level"):
        load_policies(bad)


def test_trigger_kinds_and_durations():
    p = Policy.model_validate(_pol(trigger={"promql": "up == 0", "for": "30s"}))
    assert isinstance(p.trigger, PromqlTrigger) and p.trigger.for_s == 30
    a = Policy.model_validate(_pol(trigger={"anomaly": "rate(x[1m])", "lookback": "1h"}))
    assert a.trigger.lookback_s == 3600
    d = Policy.model_validate(_pol(trigger={"diagnosis": True, "service": "checkout", "kind": "deploy"}))
    assert d.trigger.service == ["checkout"] and d.trigger.kind == ["deploy"]
    assert p.approval == "required"  # the safe default


def test_target_allow_list_is_exact():
    p = Policy.model_validate(_pol(target={"label": "service", "allowed": ["checkout", "cart"]}))
    assert p.target.resolve({"service": "cart"}) == "cart"
    for bad in ("Cart", "cart ", "cart;rm -rf /", "../cart", "cart\x00", "", "checkout\n"):
        assert p.target.resolve({"service": bad}) is None
    assert p.target.resolve({}) is None


def test_maintenance_windows():
    w = Window(daily="22:00-02:00", days=[])
    assert w.contains(datetime(2026, 11, 27, 23, 0, tzinfo=timezone.utc))
    assert w.contains(datetime(2026, 11, 27, 1, 59, tzinfo=timezone.utc))
    assert not w.contains(datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc))
    fri = Window(daily="00:00-23:59", days=["fri"])
    assert fri.contains(datetime(2026, 11, 27, 12, tzinfo=timezone.utc))  # a Friday
    assert not fri.contains(datetime(2026, 11, 28, 12, tzinfo=timezone.utc))
    ab = Window(start="2026-11-27T10:00:00Z", end="2026-11-27T11:00:00Z")
    assert ab.contains(datetime(2026, 11, 27, 10, 30, tzinfo=timezone.utc))


def test_demo_action_node_target_needs_service():
    with pytest.raises(ValueError, match="fixed service"):
        DemoAction(type="demo", url="http://x", action="clear_disk", target_as="node")


def test_parse_vars():
    assert parse_vars(["A=1", "B=x=y"]) == {"A": "1", "B": "x=y"}
    with pytest.raises(ConfigError, match="--var"):
        parse_vars(["nope"])
    with pytest.raises(ConfigError):
        parse_vars(["1A=2"])
