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
from .layout import busy_line, error_pane, page_jobs
from .work import PageJobs

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


def remediation_tab(session: Any, audit_path: str | Path, jobs: PageJobs | None = None) -> Any:
    """Policies checked, plans decided: both are jobs of the page's "remediate" lane (one at a time, in the order
    clicked, so the audit trail shown is the one after the last click)."""
    pn = require("panel", "app")
    jobs = jobs or page_jobs()
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

    def audit_html() -> str:
        try:
            a = audit()
            try:
                return audit_table(a)
            finally:
                a.close()
        except Exception as exc:  # noqa: BLE001 - an unreadable audit log is a message, not a dead tab
            return f"<b>Cannot read the audit log:</b> {_e(getattr(exc, 'message', exc))}"

    def decided(plan: Any, policies: Any, approved: bool, dry_run: bool, actor: str) -> tuple[str, str]:
        """On a worker: record the click, run the plan (a dry run unless told otherwise); the outcome and the
        audit trail after it, as HTML."""
        from ...remediate.healing import Decision, execute_recovery

        try:
            a = audit()
        except Exception as exc:  # noqa: BLE001
            return f"<b>failed:</b> {_e(getattr(exc, 'message', type(exc).__name__))}", audit_html()
        try:
            cand = plan.runnable[0] if plan.runnable else None
            action = ",".join(x.type for x in cand.policy.actions) if cand else ""
            if dry_run or not approved:
                # a dry run needs no approval to run, and a rejection runs nothing: the click itself is the record
                a.append({"actor": actor, "kind": "approval" if approved else "rejection",
                          "policy": cand.policy.name if cand else "", "target": plan.issue.target, "action": action,
                          "dry_run": bool(dry_run), "outcome": "approved" if approved else "rejected",
                          "detail": {"reason": "clicked Approve" if approved else "clicked Reject",
                                     "issue": plan.issue.kind, "evidence": plan.issue.evidence}})
            if not approved:
                outcome = "<b class='promv5-outcome'>rejected</b> (nothing ran)"
            else:
                out = execute_recovery(plan, session.backend, a, dry_run=dry_run,
                                       approver=lambda req: Decision(True, actor, "clicked Approve"),
                                       secrets=getattr(policies, "secrets", ()))
                outcome = (f"<b class='promv5-outcome'>{_e(out.status)}</b> ({_e(out.run_id)}) "
                           + "".join(f"<br><code>{_e(c)}</code>" for c in out.calls))
        except Exception as exc:  # noqa: BLE001 - a message in the page
            outcome = f"<b>failed:</b> {_e(getattr(exc, 'message', type(exc).__name__))}"
            log.warning("recovery from the app failed: %s", exc)
        finally:
            a.close()
        return outcome, audit_html()

    def decide(plan: Any, policies: Any, approved: bool, status: Any, buttons: list[Any]) -> None:
        dry_run, actor = bool(dry.value), _user()  # on the loop: the box as it was at the click, the signed-in user

        def busy() -> None:
            for b in buttons:
                b.disabled = True
            status.object = "<i class='promv5-busy'>Recording the decision...</i>"

        def show(result: tuple[str, str]) -> None:
            status.object, audit_box.object = result

        def fail(exc: BaseException) -> None:
            status.object = f"<b>failed:</b> {_e(getattr(exc, 'message', type(exc).__name__))}"

        jobs.run("remediate", lambda: decided(plan, policies, approved, dry_run, actor), show, fail=fail, busy=busy,
                 what="approval" if approved else "rejection")

    def checked(policies: Any, at: Any, plans: list[Any]) -> list[Any]:
        """On the loop: one card per plan, with its exact dry-run calls and Approve/Reject."""
        if not plans:
            return [pn.pane.Markdown(f"No policy's trigger fires at {at:%Y-%m-%d %H:%M:%S} UTC.",
                                     css_classes=["promv5-no-issue"])]
        cards = []
        for plan in plans:
            status = pn.pane.HTML("")
            approve = pn.widgets.Button(label="Approve", css_classes=["promv5-approve"], disabled=not plan.runnable)
            reject = pn.widgets.Button(label="Reject", css_classes=["promv5-reject"], disabled=not plan.runnable)
            buttons = [approve, reject]
            approve.on_click(lambda _e, p=plan, s=status, b=buttons: decide(p, policies, True, s, b))
            reject.on_click(lambda _e, p=plan, s=status, b=buttons: decide(p, policies, False, s, b))
            cards.append(pn.Column(pn.pane.HTML("<br>".join(plan_lines(plan, frozenset(policies.secrets))),
                                                css_classes=["promv5-plan"]),
                                   pn.Row(approve, reject), status, sizing_mode="stretch_width"))
        return cards

    def check_clicked(_e_: Any) -> None:  # on the loop: the file, variables and time typed before the click
        path, variables, at_text = str(policies_in.value or ""), str(vars_in.value or ""), str(when.value or "")

        def work() -> tuple[Any, Any, list[Any]]:
            from ...remediate.healing import detect_issue, plan_recovery
            from ...remediate.policy import load_policies
            from .panes import _at

            policies = load_policies(path, parse_vars(variables))
            at = _at(session, at_text)
            issues = detect_issue(session.backend, policies, at=at)
            if not issues:
                return policies, at, []
            a = audit()
            try:
                return policies, at, [plan_recovery(i, policies, a, at=at) for i in issues]
            finally:
                a.close()

        jobs.run("remediate", work, lambda r: setattr(plans_box, "objects", checked(*r)), what="policy check",
                 fail=lambda exc: setattr(plans_box, "objects", [error_pane(exc)]),
                 busy=lambda: setattr(plans_box, "objects", [busy_line("Checking the policies' triggers...")]))

    check.on_click(check_clicked)
    audit_box.object = audit_html()
    return pn.Column(pn.Row(policies_in, when), vars_in, pn.Row(dry, check), plans_box,
                     pn.pane.Markdown("### Audit trail (newest first)"), audit_box, sizing_mode="stretch_width")
