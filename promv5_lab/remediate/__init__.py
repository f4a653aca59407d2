"""Autonomous response: remediation policies (data), executors, the healing loop, and the audit log.

Public API (imported lazily, so ``import promv5_lab.remediate`` stays cheap)::

    from promv5_lab.remediate import AuditLog, load_policies, define_policy, execute_action, rollback
    from promv5_lab.remediate import detect_issue, plan_recovery, execute_recovery, HealingLoop

camelCase aliases (``definePolicy``, ``executeAction``, ``detectIssue``, ``planRecovery``,
``executeRecovery``) name the same functions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "AuditLog": "audit",
    "AuditEntry": "audit",
    "VerifyResult": "audit",
    "Policy": "policy",
    "PolicySet": "policy",
    "load_policies": "policy",
    "define_policy": "actions",
    "definePolicy": "actions",
    "execute_action": "actions",
    "executeAction": "actions",
    "rollback": "actions",
    "detect_issue": "healing",
    "detectIssue": "healing",
    "plan_recovery": "healing",
    "planRecovery": "healing",
    "execute_recovery": "healing",
    "executeRecovery": "healing",
    "HealingLoop": "healing",
    "Issue": "healing",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .actions import define_policy, definePolicy, execute_action, executeAction, rollback
    from .audit import AuditEntry, AuditLog, VerifyResult
    from .healing import (
        HealingLoop,
        Issue,
        detect_issue,
        detectIssue,
        execute_recovery,
        executeRecovery,
        plan_recovery,
        planRecovery,
    )
    from .policy import Policy, PolicySet, load_policies

__getattr__ = lazy_exports(__name__, _LAZY, globals())
