"""Approve or reject a planned recovery in a notebook (ipywidgets).

::

    from promv5_lab.remediate import detect_issue, plan_recovery
    from promv5_lab.ui.approval import ApprovalWidget

    issue = detect_issue(backend, policies)[0]
    w = ApprovalWidget(plan_recovery(issue, policies, audit), backend, audit, user="alice")
    w            # shows exactly what would run, with Approve / Reject buttons

A click runs :func:`~promv5_lab.remediate.healing.execute_recovery` with ``dry_run=False`` and an approver
that answers with the click: the audit log records ``approval`` (or ``rejection``) by ``notebook:<user>``,
then the execution, verification and outcome. The plan's text (label values included) is HTML-escaped,
and only a click on the button approves: nothing in the issue's data is ever read as an answer.
"""

from __future__ import annotations

import getpass
import html
import json
from collections.abc import Callable, Iterable
from typing import Any

from .._deps import require

__all__ = ["ApprovalWidget"]


class ApprovalWidget:
    """Two buttons over a recovery plan; ``outcome`` holds the :class:`RecoveryOutcome` after a click."""

    def __init__(self, plan: Any, backend: Any, audit: Any, *, user: str | None = None,
                 secrets: Iterable[str] = (), on_done: Callable[[Any], None] | None = None,
                 **execute_kw: Any) -> None:
        from ..remediate.executors import executor_for

        widgets = require("ipywidgets", "notebook")
        self.plan, self.backend, self.audit = plan, backend, audit
        self.user = user or _user()
        self.secrets = frozenset(s for s in secrets if s)
        self.on_done = on_done
        self.execute_kw = execute_kw
        self.outcome: Any = None
        cand = plan.runnable[0] if plan.runnable else None
        issue = plan.issue
        name = _e(cand.policy.name) if cand else "(none runnable)"
        lines = [f"<b>{_e(issue.kind)}</b> on <b>{_e(issue.target)}</b> (policy {name}); "
                 f"evidence: <code>{_e(issue.evidence)}</code>",
                 f"series: <code>{_e(json.dumps(dict(issue.labels), sort_keys=True))}</code>"]
        if cand is not None:
            from ..remediate.executors import ActionContext

            ctx = ActionContext(target=issue.target, policy=cand.policy.name, issue=dict(issue.labels))
            for a in cand.policy.actions:
                lines.append(f"<code>{_e(executor_for(a.type).plan(a, ctx).show(self.secrets))}</code>")
        else:
            lines += [f"refused: {_e(c.refused)}" for c in plan.candidates]
        self.summary = widgets.HTML("<br>".join(lines))
        self.approve_button = widgets.Button(description="Approve", button_style="danger", icon="check",
                                             disabled=cand is None)
        self.reject_button = widgets.Button(description="Reject", icon="times", disabled=cand is None)
        self.status = widgets.HTML("")
        self.approve_button.on_click(lambda _b: self.decide(True))
        self.reject_button.on_click(lambda _b: self.decide(False))
        self.widget = widgets.VBox([self.summary, widgets.HBox([self.approve_button, self.reject_button]),
                                    self.status])

    def decide(self, approved: bool) -> Any:
        """What a click does: record the decision (through the recovery) and act on it. Only the first counts."""
        from ..remediate.healing import Decision, execute_recovery

        if self.outcome is not None:
            return self.outcome
        self.approve_button.disabled = self.reject_button.disabled = True
        actor = f"notebook:{self.user}"
        reason = "clicked Approve" if approved else "clicked Reject"
        self.status.value = "working..."
        self.outcome = execute_recovery(self.plan, self.backend, self.audit, dry_run=False,
                                        approver=lambda req: Decision(approved, actor, reason),
                                        secrets=self.secrets, **self.execute_kw)
        self.status.value = f"<b>{_e(self.outcome.status)}</b> ({_e(self.outcome.run_id)})"
        if self.on_done is not None:
            self.on_done(self.outcome)
        return self.outcome

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.widget._repr_mimebundle_(**kw)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
