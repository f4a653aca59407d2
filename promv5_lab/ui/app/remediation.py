"""The app's remediation tab: proposed recovery plans with their dry-run, approve/reject, the audit trail.

Policies come from a YAML file (default: the demo world's ``promv5_lab/demo/policies.yaml``) with
``NAME=VALUE`` variables typed in the page; triggers are evaluated on the session's backend at a chosen time.
Approve runs the plan through ``remediate.execute_recovery`` as a dry run unless "dry run only" is unticked;
either click is recorded in the audit log with the signed-in user. Nothing shown here (label values,
evidence) is interpreted: it is escaped text.
"""

from __future__ import annotations

import getpass
import html
import logging
from pathlib import Path
from typing import Any

from ..._deps import require
from ...errors import InputError
from .layout import error_pane
from .work import in_background

__all__ = ["DEFAULT_POLICIES", "remediation_tab"]

log = logging.getLogger(__name__)

DEFAULT_POLICIES = str(Path(__file__).resolve().parents[2] / "demo" / "policies.yaml")


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def parse_vars(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate((text or "").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if "=" not in line:
            raise InputError(f"Variable line {n} ({line[:40]!r}) has no '='", hint="One NAME=VALUE per line")
        k, v = line.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _user() -> str:
    pn = require("panel", "app")
    user = getattr(pn.state, "user", None)
    if user:
        return f"app:{user}"
    try:
        return f"app:{getpass.getuser()}"
    except (KeyError, OSError):
        return "app:unknown"


def audit_table(audit: Any, limit: int = 30) -> str:
    rows = audit.entries()[-limit:]
    if not rows:
        return "<i>The audit log is empty.</i>"
    body = "".join(
        f"<tr><td>{e.seq}</td><td>{e.at:%Y-%m-%d %H:%M:%S}</td><td>{_e(e.actor)}</td><td>{_e(e.kind)}</td>"
        f"<td>{_e(e.policy)}</td><td>{_e(e.target)}</td><td>{_e(e.action)}</td>"
        f"<td>{'yes' if e.dry_run else 'no'}</td><td>{_e(e.outcome)}</td></tr>" for e in reversed(rows))
    return ("<table class='promv5-audit'><tr><th>#</th><th>at (UTC)</th><th>who</th><th>what</th><th>policy</th>"
            f"<th>target</th><th>action</th><th>dry run</th><th>outcome</th></tr>{body}</table>")


def plan_lines(plan: Any, secrets: frozenset[str] = frozenset()) -> list[str]:
    """What would run, exactly: each action's planned call as the executor shows it (dry run)."""
    from ...remediate.executors import ActionContext, executor_for

    issue = plan.issue
    lines = [(f"<b>{_e(issue.kind)}</b> on <b>{_e(issue.target)}</b> ({_e(issue.source)}: "
              f"<code>{_e(issue.evidence)}</code>)")]
    if not plan.runnable:
        lines += [f"refused: {_e(c.policy.name)}: {_e(c.refused)}" for c in plan.candidates]
        return lines
    cand = plan.runnable[0]
    ctx = ActionContext(target=issue.target, policy=cand.policy.name, issue=dict(issue.labels))
    past = f"past success {cand.success_rate:.0%} of {cand.runs} runs" if cand.runs else "no past runs"
    lines.append(f"policy <b>{_e(cand.policy.name)}</b> (approval {_e(cand.policy.approval)}, {past}) would run:")
    lines += [f"<code class='promv5-dryrun'>{_e(executor_for(a.type).plan(a, ctx).show(secrets))}</code>"
              for a in cand.policy.actions]
    return lines


def remediation_tab(session: Any, audit_path: str | Path) -> Any:
    pn = require("panel", "app")
    policies_in = pn.widgets.TextInput(label="Policies (YAML file)", value=DEFAULT_POLICIES, width=520,
                                    css_classes=["promv5-policies"])
    vars_in = pn.widgets.TextAreaInput(label="Variables (NAME=VALUE per line)", value="ADMIN_URL=http://127.0.0.1:9464",
                                       height=70, css_classes=["promv5-vars"])
    when = pn.widgets.TextInput(label="At (ISO 8601 UTC, or 'now')", value="now", css_classes=["promv5-rem-at"])
    dry = pn.widgets.Checkbox(label="dry run only (show, record, do not act)", value=True)
    check = pn.widgets.Button(label="Check policies")
    plans_box = pn.Column(sizing_mode="stretch_width")
    audit_box = pn.pane.HTML("", sizing_mode="stretch_width", css_classes=["promv5-audit-box"])

    def audit() -> Any:
        from ...remediate.audit import AuditLog

        Path(audit_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return AuditLog(Path(audit_path).expanduser())

    def refresh_audit() -> None:
        a = audit()
        try:
            audit_box.object = audit_table(a)
        finally:
            a.close()

    def decide(plan: Any, policies: Any, approved: bool, status: Any, buttons: list[Any]) -> None:
        from ...remediate.healing import Decision, execute_recovery

        for b in buttons:
            b.disabled = True
        a = audit()
        try:
            actor = _user()
            cand = plan.runnable[0] if plan.runnable else None
            action = ",".join(x.type for x in cand.policy.actions) if cand else ""
            if dry.value or not approved:
                # a dry run needs no approval to run, and a rejection runs nothing: the click itself is the record
                a.append({"actor": actor, "kind": "approval" if approved else "rejection",
                          "policy": cand.policy.name if cand else "", "target": plan.issue.target, "action": action,
                          "dry_run": bool(dry.value), "outcome": "approved" if approved else "rejected",
                          "detail": {"reason": "clicked Approve" if approved else "clicked Reject",
                                     "issue": plan.issue.kind, "evidence": plan.issue.evidence}})
            if not approved:
                status.object = "<b class='promv5-outcome'>rejected</b> (nothing ran)"
                return
            out = execute_recovery(plan, session.backend, a, dry_run=dry.value,
                                   approver=lambda req: Decision(True, actor, "clicked Approve"),
                                   secrets=getattr(policies, "secrets", ()))
            status.object = (f"<b class='promv5-outcome'>{_e(out.status)}</b> ({_e(out.run_id)}) "
                             + "".join(f"<br><code>{_e(c)}</code>" for c in out.calls))
        except Exception as exc:  # noqa: BLE001 - a message in the page
            status.object = f"<b>failed:</b> {_e(getattr(exc, 'message', type(exc).__name__))}"
            log.warning("recovery from the app failed: %s", exc)
        finally:
            a.close()
            refresh_audit()

    def run_check(_e_: Any) -> None:
        plans_box.objects = []
        try:
            from ...remediate.healing import detect_issue, plan_recovery
            from ...remediate.policy import load_policies
            from .panes import _at

            policies = load_policies(policies_in.value, parse_vars(vars_in.value))
            at = _at(session, when.value)
            issues = detect_issue(session.backend, policies, at=at)
            if not issues:
                plans_box.objects = [pn.pane.Markdown(f"No policy's trigger fires at {at:%Y-%m-%d %H:%M:%S} UTC.",
                                                      css_classes=["promv5-no-issue"])]
                return
            a = audit()
            try:
                plans = [plan_recovery(i, policies, a, at=at) for i in issues]
            finally:
                a.close()
            cards = []
            for plan in plans:
                status = pn.pane.HTML("")
                approve = pn.widgets.Button(label="Approve", css_classes=["promv5-approve"],
                                            disabled=not plan.runnable)
                reject = pn.widgets.Button(label="Reject", css_classes=["promv5-reject"], disabled=not plan.runnable)
                buttons = [approve, reject]
                approve.on_click(in_background(lambda _e, p=plan, s=status, b=buttons: decide(p, policies, True, s, b),
                                               what="approval"))
                reject.on_click(in_background(lambda _e, p=plan, s=status, b=buttons: decide(p, policies, False, s, b),
                                              what="rejection"))
                cards.append(pn.Column(pn.pane.HTML("<br>".join(plan_lines(plan, frozenset(policies.secrets))),
                                                    css_classes=["promv5-plan"]),
                                       pn.Row(approve, reject), status, sizing_mode="stretch_width"))
            plans_box.objects = cards
        except Exception as exc:  # noqa: BLE001
            plans_box.objects = [error_pane(exc)]

    check.on_click(in_background(run_check, what="policy check"))
    try:
        refresh_audit()
    except Exception as exc:  # noqa: BLE001 - an unreadable audit log is a message, not a dead tab
        audit_box.object = f"<b>Cannot read the audit log:</b> {_e(getattr(exc, 'message', exc))}"
    return pn.Column(pn.Row(policies_in, when), vars_in, pn.Row(dry, check), plans_box,
                     pn.pane.Markdown("### Audit trail (newest first)"), audit_box, sizing_mode="stretch_width")
