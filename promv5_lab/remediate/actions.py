"""The remediation API of issue 7: ``define_policy``, ``execute_action``, ``rollback`` (plus camelCase aliases).

Dry run is the default: ``execute_action`` only returns (and, given an audit log, records) the exact
call that would be made unless ``dry_run=False``::

    pol = define_policy({"name": "restart-pool", "trigger": {"promql": "..."}, "target": {"value": "checkout"},
                         "actions": [{"type": "demo", "url": "${ADMIN_URL}", "action": "restart"}],
                         "approval": "auto"}, variables={"ADMIN_URL": srv.url})
    res = execute_action(pol.actions[0], "checkout", policy=pol.name)          # dry run: res.call.show()
    res = execute_action(pol.actions[0], "checkout", dry_run=False, audit=log) # does it, records it
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .audit import AuditLog
from .executors import ActionContext, ActionError, ExecResult, PlannedCall, SilenceExecutor, executor_for
from .policy import Policy, parse_policies

__all__ = ["ActionOutcome", "definePolicy", "define_policy", "executeAction", "execute_action", "rollback"]

ACTOR = "promv5-lab api"


@dataclass(frozen=True)
class ActionOutcome:
    """The planned call, and the result when it was run (``None`` for a dry run)."""

    call: PlannedCall
    result: ExecResult | None
    dry_run: bool
    context: ActionContext

    @property
    def ok(self) -> bool:
        return self.result is not None and self.result.ok


def define_policy(spec: Mapping[str, Any] | str, *, variables: Mapping[str, str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Policy:
    """One validated :class:`Policy` from a mapping or a YAML string (same rules as a policy file)."""
    import yaml

    raw = yaml.safe_load(spec) if isinstance(spec, str) else dict(spec)
    return parse_policies([raw], variables=variables, environ=environ, source="define_policy").policies[0]


def execute_action(action: Any, target: str, *, dry_run: bool = True, policy: str = "", audit: AuditLog | None = None,
                   issue: Mapping[str, str] | None = None, allowed_commands: Iterable[str] = (),
                   secrets: Iterable[str] = (), k8s_client: Callable[[], Any] | None = None,
                   actor: str = ACTOR, run_id: str | None = None,
                   context: ActionContext | None = None) -> ActionOutcome:
    """Plan one typed action for ``target``; run it unless ``dry_run``; record both when given an audit log."""
    ctx = context or ActionContext(target=target, policy=policy, run_id=run_id or f"api-{uuid.uuid4().hex[:8]}",
                                   issue=dict(issue or {}), allowed_commands=frozenset(allowed_commands),
                                   secrets=frozenset(s for s in secrets if s), k8s_client=k8s_client)
    ex = executor_for(action.type)
    call = ex.plan(action, ctx)
    result = None
    if not dry_run:
        try:
            result = ex.run(call, ctx)
        except ActionError as exc:
            result = ExecResult(False, "refused", exc.message)
    if audit is not None:
        audit.add_secrets(ctx.secrets)
        audit.append({"kind": "dry_run" if dry_run else "execution", "actor": actor, "policy": policy,
                      "target": target, "action": call.executor, "dry_run": dry_run, "run_id": ctx.run_id,
                      "outcome": "would run" if dry_run else ("ok" if result.ok else "failed"),
                      "detail": {**call.detail(), **({} if result is None else
                                                     {"status": result.status, "response": result.output[:500]})}})
    return ActionOutcome(call, result, dry_run, ctx)


def rollback(policy: Policy, target: str, *, dry_run: bool = True, audit: AuditLog | None = None,
             context: ActionContext | None = None, **kw: Any) -> list[ActionOutcome]:
    """Run the policy's rollback actions for ``target`` (and expire silences ``context`` created)."""
    ctx = context or ActionContext(target=target, policy=policy.name, run_id=f"api-{uuid.uuid4().hex[:8]}")
    out = [execute_action(a, target, dry_run=dry_run, policy=policy.name, audit=audit, context=ctx, **kw)
           for a in policy.rollback]
    for base, sid in list(ctx.state.get("silences", [])):
        call = SilenceExecutor.expire_call(base, sid, target)
        res = None if dry_run else SilenceExecutor().run(call, ctx)
        if audit is not None:
            audit.append({"kind": "rollback", "actor": kw.get("actor", ACTOR), "policy": policy.name,
                          "target": target, "action": "silence", "dry_run": dry_run, "run_id": ctx.run_id,
                          "outcome": "would run" if res is None else ("ok" if res.ok else "failed"),
                          "detail": call.detail()})
        out.append(ActionOutcome(call, res, dry_run, ctx))
    return out


definePolicy = define_policy
executeAction = execute_action
