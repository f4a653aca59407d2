"""The healing loop: detect -> diagnose -> plan -> approve -> execute -> verify -> roll back on failure -> record.

* :func:`detect_issue` evaluates every policy's trigger against the backend and returns one
  :class:`Issue` per (policy, allowed target). Label values outside a policy's allow-list never become
  targets; they are returned as refusals (and audited by the loop).
* :func:`plan_recovery` gathers the policies that fired for the same kind of issue on the same target,
  ranks them by their past success rate for that kind (from the audit log's ``outcome`` entries,
  Laplace-smoothed), and applies the guards (maintenance windows, cooldown, runs per hour, blast radius).
* :func:`execute_recovery` runs the best candidate (dry run by default: it only records what would run),
  asks for approval when the policy requires it, verifies with PromQL, rolls back on failure and tries
  the next candidate, and records the outcome, which later ranking learns from.
* :class:`HealingLoop` repeats this every ``interval`` seconds (``promv5-lab heal``).

Nothing read from telemetry (label values, log lines) can approve or trigger an action: triggers are the
policies' own conditions, targets come from allow-lists, and approvals only from an :data:`Approver`
(a person at the CLI prompt or the notebook widget) or the policy's own ``approval: auto``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..errors import BackendError, Promv5Error
from .audit import AuditLog
from .executors import ActionContext, ActionError, PlannedCall, SilenceExecutor, executor_for
from .policy import AnomalyTrigger, DiagnosisTrigger, Policy, PolicySet

__all__ = [
    "ApprovalRequest",
    "Candidate",
    "Decision",
    "HealingLoop",
    "Issue",
    "RecoveryOutcome",
    "RecoveryPlan",
    "detectIssue",
    "detect_issue",
    "executeRecovery",
    "execute_recovery",
    "planRecovery",
    "plan_recovery",
]

log = logging.getLogger(__name__)
ACTOR = "promv5-lab heal"
_UNSET = object()
DIAGNOSE_OPTIONS = {"window": "15m", "lookback": "1h", "step": "15s"}  # a live loop looks at the last minutes


@dataclass(frozen=True)
class Issue:
    """A policy's trigger firing for one allowed target. ``labels`` are data from the backend."""

    policy: str
    kind: str
    target: str
    labels: Mapping[str, str]
    value: float | None
    source: Literal["promql", "anomaly", "diagnosis"]
    evidence: str
    detected_at: datetime
    matched_targets: int = 1


@dataclass(frozen=True)
class Refusal:
    policy: str
    label_value: str
    reason: str


@dataclass(frozen=True)
class Candidate:
    policy: Policy
    success_rate: float
    runs: int
    refused: str = ""  # a guard's reason when it may not run now


@dataclass(frozen=True)
class RecoveryPlan:
    issue: Issue
    candidates: tuple[Candidate, ...]

    @property
    def runnable(self) -> tuple[Candidate, ...]:
        return tuple(c for c in self.candidates if not c.refused)


@dataclass(frozen=True)
class RecoveryOutcome:
    status: Literal["resolved", "failed", "dry_run", "refused", "not_approved", "needs_approval"]
    run_id: str
    policy: str = ""
    attempts: int = 0
    seconds: float = 0.0
    calls: tuple[str, ...] = ()
    message: str = ""


@dataclass(frozen=True)
class ApprovalRequest:
    run_id: str
    policy: str
    target: str
    issue: Issue
    calls: tuple[PlannedCall, ...]

    def describe(self, secrets: Iterable[str] = ()) -> str:
        lines = [f"Policy {self.policy} wants to act on {self.target} ({self.issue.kind}):"]
        lines += [f"  {c.show(frozenset(secrets))}" for c in self.calls]
        return "\n".join(lines)


@dataclass(frozen=True)
class Decision:
    approved: bool
    actor: str
    reason: str = ""


Approver = Callable[[ApprovalRequest], Decision]


# --- detect ----------------------------------------------------------------------------------------------

def _labels(row: Mapping[str, Any], label_cols: Sequence[str]) -> dict[str, str]:
    return {c: str(row[c]) for c in label_cols if row.get(c) is not None and str(row[c]) != "nan"}


def _instant(backend: Any, promql: str, at: datetime | None) -> list[tuple[dict[str, str], float]]:
    from ..frames import label_columns

    res = backend.query(promql, at)
    frame = res.frame
    cols = label_columns(frame)
    return [(_labels(r, cols), float(r["value"])) for r in frame.to_dict("records")]


def _anomalous(backend: Any, trig: AnomalyTrigger, at: datetime) -> list[tuple[dict[str, str], float]]:
    import numpy as np

    from ..analysis.detect import score_arrays
    from ..frames import label_columns
    from ..types import TimeRange

    res = backend.query_range(trig.anomaly, TimeRange(at - timedelta(seconds=trig.lookback_s), at, trig.step_s))
    frame = res.frame
    if frame.empty:
        return []
    cols = label_columns(frame)
    out = []
    groups = frame.groupby(cols, dropna=False, sort=False) if cols else [((), frame)]
    for _key, g in groups:
        g = g.sort_values("timestamp")
        t = g["timestamp"].astype("int64").to_numpy() / 1e9
        scores = score_arrays(t, g["value"].to_numpy(dtype=float))
        last = float(np.nanmax(scores[-3:, 0])) if len(scores) else 0.0
        if last >= trig.threshold:
            out.append((_labels(g.iloc[-1].to_dict(), cols), last))
    return out


def detect_issue(backend: Any, policies: PolicySet | Iterable[Policy], *, at: datetime | None = None,
                 diagnose: Callable[[Any, datetime], Any] | None = None,
                 refused: list[Refusal] | None = None) -> list[Issue]:
    """Every (policy, target) whose trigger fires now. Label values not on the allow-list go to ``refused``."""
    now = at or datetime.now(timezone.utc)
    issues: list[Issue] = []
    diagnosis: Any = _UNSET
    for pol in policies:
        trig = pol.trigger
        if isinstance(trig, DiagnosisTrigger):
            if diagnosis is _UNSET:
                opts = {k: getattr(trig, k) for k in ("window", "lookback", "step") if getattr(trig, k)}
                diagnosis = _diagnose(backend, now, diagnose, opts)
            hits = [({"service": rc.service, "kind": rc.kind}, rc.confidence) for rc in
                    (diagnosis.root_causes if diagnosis else ())
                    if rc.confidence >= trig.min_confidence and (not trig.service or rc.service in trig.service)
                    and (not trig.kind or rc.kind in trig.kind)][:1]
            source, evidence = "diagnosis", (diagnosis.top.summary if diagnosis and diagnosis.top else "")
        elif isinstance(trig, AnomalyTrigger):
            hits, source, evidence = _anomalous(backend, trig, now), "anomaly", trig.anomaly
        else:
            hits, source, evidence = _instant(backend, trig.promql, None if at is None else now), "promql", trig.promql
        found: dict[str, tuple[dict[str, str], float]] = {}
        for labels, value in hits:
            target = pol.target.resolve(labels)
            if target is None:
                if refused is not None:
                    refused.append(Refusal(pol.name, labels.get(pol.target.label or "", ""),
                                           f"label {pol.target.label!r} value is not on the allow-list"))
                continue
            found.setdefault(target, (labels, value))
        for target, (labels, value) in found.items():
            issues.append(Issue(pol.name, pol.issue_kind, target, labels, value, source, evidence, now, len(found)))
    return issues


def _diagnose(backend: Any, at: datetime, fn: Callable[..., Any] | None, opts: Mapping[str, str]) -> Any:
    if fn is None:
        try:
            from ..analysis.rootcause import diagnose as fn  # type: ignore[no-redef]
        except ImportError:
            log.warning("diagnosis triggers need promv5_lab.analysis.rootcause, which is not available")
            return None
    try:
        return fn(backend, at, **opts)
    except Promv5Error as exc:
        log.warning("diagnosis failed: %s", exc.message)
        return None


# --- plan ------------------------------------------------------------------------------------------------

def success_rates(audit: AuditLog | None, kind: str) -> dict[str, tuple[float, int]]:
    """policy -> (Laplace-smoothed success rate, runs) for this kind of issue, from recorded outcomes."""
    if audit is None:
        return {}
    tally: dict[str, list[int]] = {}
    for e in audit.entries(kind="outcome"):
        if e.dry_run or e.detail.get("issue_kind") != kind or e.outcome not in ("resolved", "failed"):
            continue
        t = tally.setdefault(e.policy, [0, 0])
        t[0] += e.outcome == "resolved"
        t[1] += 1
    return {p: ((s + 1) / (n + 2), n) for p, (s, n) in tally.items()}


def _guard(pol: Policy, issue: Issue, audit: AuditLog | None, now: datetime) -> str:
    g = pol.guards
    for w in g.maintenance_windows:
        if w.contains(now):
            return "inside a maintenance window"
    if issue.matched_targets > g.blast_radius:
        return f"blast radius: {issue.matched_targets} targets fire at once (limit {g.blast_radius})"
    if audit is not None:
        runs = [e for e in audit.entries(now - timedelta(hours=1), None, kind="execution", policy=pol.name,
                                         target=issue.target) if not e.dry_run]
        run_ids = {e.run_id for e in runs}
        if len(run_ids) >= g.max_runs_per_hour:
            return f"ran {len(run_ids)} times on {issue.target} in the last hour (limit {g.max_runs_per_hour})"
        if runs and (now - runs[-1].at).total_seconds() < g.cooldown_s:
            return f"cooling down ({g.cooldown_s:g}s after the last run on {issue.target})"
    return ""


def plan_recovery(issue: Issue | Sequence[Issue], policies: PolicySet | Iterable[Policy],
                  audit: AuditLog | None = None, *, at: datetime | None = None) -> RecoveryPlan:
    """Candidate policies for the issue (all that fired for its kind and target), best past success first."""
    group = [issue] if isinstance(issue, Issue) else list(issue)
    lead = group[0]
    by_name = {p.name: p for p in policies}
    rates = success_rates(audit, lead.kind)
    now = at or datetime.now(timezone.utc)
    cands = []
    order = {p: i for i, p in enumerate(by_name)}
    for iss in sorted(group, key=lambda i: (-rates.get(i.policy, (0.5, 0))[0], order.get(i.policy, 0))):
        pol = by_name[iss.policy]
        rate, runs = rates.get(pol.name, (0.5, 0))
        cands.append(Candidate(pol, rate, runs, _guard(pol, iss, audit, now)))
    return RecoveryPlan(lead, tuple(cands))


# --- execute ---------------------------------------------------------------------------------------------

def _target_rows(backend: Any, promql: str, pol: Policy, target: str) -> list[tuple[dict[str, str], float]]:
    rows = _instant(backend, promql, None)
    if pol.target.label:
        rows = [r for r in rows if r[0].get(pol.target.label) == target]
    return rows


def verify_policy(backend: Any, pol: Policy, target: str, *, sleep: Callable[[float], None] = time.sleep,
                  clock: Callable[[], float] = time.monotonic) -> tuple[bool, str]:
    """Poll the verification query until it holds or ``within`` passes. Returns (held, evidence)."""
    v = pol.verify
    if v is None:
        return True, "no verification configured"
    if v.settle_s:
        sleep(v.settle_s)
    deadline = clock() + v.within_s
    last = ""
    while True:
        try:
            rows = _target_rows(backend, v.promql, pol, target)
            held = (not rows) if v.expect == "empty" else bool(rows)
            last = json.dumps([[lab, val] for lab, val in rows[:5]], sort_keys=True)
            if held:
                return True, last
        except BackendError as exc:
            last = f"query failed: {exc.message}"
        if clock() >= deadline:
            return False, last
        sleep(min(v.interval_s, max(0.0, deadline - clock())))


@dataclass
class _Env:
    backend: Any
    audit: AuditLog
    approver: Approver | None
    dry_run: bool
    allowed_commands: frozenset[str]
    secrets: frozenset[str]
    k8s_client: Callable[[], Any] | None
    sleep: Callable[[float], None] = time.sleep


def _record(env: _Env, kind: str, run_id: str, pol: Policy, target: str, action: str = "", outcome: str = "",
            dry_run: bool | None = None, actor: str = ACTOR, **detail: Any) -> None:
    env.audit.append({"kind": kind, "actor": actor, "policy": pol.name, "target": target, "action": action,
                      "outcome": outcome, "run_id": run_id, "dry_run": env.dry_run if dry_run is None else dry_run,
                      "detail": detail})


def _plan_calls(actions: Sequence[Any], ctx: ActionContext) -> list[tuple[Any, PlannedCall]]:
    return [(executor_for(a.type), executor_for(a.type).plan(a, ctx)) for a in actions]


def _rollback(env: _Env, pol: Policy, ctx: ActionContext, run_id: str) -> None:
    calls = _plan_calls(pol.rollback, ctx)
    for base, sid in ctx.state.get("silences", []):  # undo silences this run created
        calls.append((SilenceExecutor(), SilenceExecutor.expire_call(base, sid, ctx.target)))
    for ex, call in calls:
        try:
            res = ex.run(call, ctx)
            status, ok = res.status, res.ok
        except ActionError as exc:
            status, ok = exc.message, False
        _record(env, "rollback", run_id, pol, ctx.target, call.executor, "ok" if ok else "failed",
                call=call.show(env.secrets), status=status)


def _causes(diagnosis: Any) -> str:
    if diagnosis is None:
        return ""
    return json.dumps([{"service": rc.service, "kind": rc.kind, "confidence": round(rc.confidence, 3),
                        "summary": rc.summary} for rc in diagnosis.root_causes[:3]])


def _attempt(env: _Env, cand: Candidate, issue: Issue, run_id: str,
             diagnosis: Any = None) -> tuple[str, tuple[str, ...]]:
    pol = cand.policy
    ctx = ActionContext(target=issue.target, policy=pol.name, run_id=run_id, issue=dict(issue.labels),
                        allowed_commands=env.allowed_commands, secrets=env.secrets, k8s_client=env.k8s_client)
    calls = _plan_calls(pol.actions, ctx)
    shown = tuple(c.show(env.secrets) for _, c in calls)
    _record(env, "decision", run_id, pol, issue.target, ",".join(a.type for a in pol.actions), "planned",
            issue_kind=issue.kind, evidence=issue.evidence, value=issue.value, labels=dict(issue.labels),
            success_rate=f"{cand.success_rate:.3f}", past_runs=cand.runs, calls=list(shown),
            **({"diagnosis": _causes(diagnosis)} if diagnosis is not None else {}))
    if env.dry_run:
        for _, c in calls:
            _record(env, "dry_run", run_id, pol, issue.target, c.executor, "would run", **c.detail())
        return "dry_run", shown
    if pol.approval == "auto":
        _record(env, "approval", run_id, pol, issue.target, outcome="approved", actor="policy (approval: auto)")
    elif env.approver is None:
        _record(env, "rejection", run_id, pol, issue.target, outcome="needs approval",
                reason="approval: required and no one to ask (run with --approve prompt or use the notebook widget)")
        return "needs_approval", shown
    else:
        d = env.approver(ApprovalRequest(run_id, pol.name, issue.target, issue, tuple(c for _, c in calls)))
        _record(env, "approval" if d.approved else "rejection", run_id, pol, issue.target,
                outcome="approved" if d.approved else "rejected", actor=d.actor or "unknown", reason=d.reason)
        if not d.approved:
            return "not_approved", shown
    ok = True
    for ex, call in calls:
        try:
            res = ex.run(call, ctx)
            _record(env, "execution", run_id, pol, issue.target, call.executor, "ok" if res.ok else "failed",
                    status=res.status, response=res.output[:500], **call.detail())
        except ActionError as exc:
            res = None
            _record(env, "execution", run_id, pol, issue.target, call.executor, "refused", status=exc.message,
                    **call.detail())
        if res is None or not res.ok:
            ok = False
            break
    held, evidence = (False, "an action failed") if not ok else verify_policy(env.backend, pol, issue.target,
                                                                              sleep=env.sleep)
    if ok:
        _record(env, "verification", run_id, pol, issue.target, "verify", "held" if held else "failed",
                promql=pol.verify.promql if pol.verify else "", expect=pol.verify.expect if pol.verify else "",
                observed=evidence)
    if not held:
        _rollback(env, pol, ctx, run_id)
        return "failed", shown
    return "resolved", shown


def execute_recovery(plan: RecoveryPlan, backend: Any, audit: AuditLog, *, dry_run: bool = True,
                     approver: Approver | None = None, allowed_commands: Iterable[str] = (),
                     secrets: Iterable[str] = (), k8s_client: Callable[[], Any] | None = None,
                     max_attempts: int = 2, sleep: Callable[[float], None] = time.sleep,
                     diagnosis: Any = None) -> RecoveryOutcome:
    """Run the plan: the best runnable candidate, then the next if it fails (up to ``max_attempts``).

    ``diagnosis`` (a :class:`~promv5_lab.types.Diagnosis`, optional) is recorded with the decision as evidence.
    """
    issue = plan.issue
    run_id = f"run-{issue.detected_at.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:6]}"
    secrets_f = frozenset(s for s in secrets if s)
    audit.add_secrets(secrets_f)
    env = _Env(backend, audit, approver, dry_run, frozenset(allowed_commands), secrets_f, k8s_client, sleep)
    t0 = time.monotonic()
    runnable = plan.runnable[:max_attempts]
    if not runnable:
        why = "; ".join(f"{c.policy.name}: {c.refused}" for c in plan.candidates)
        return RecoveryOutcome("refused", run_id, message=why)
    status, shown, attempts, pol = "failed", (), 0, runnable[0].policy
    for cand in runnable:
        attempts += 1
        pol = cand.policy
        status, shown = _attempt(env, cand, issue, run_id, diagnosis)
        if status != "failed":
            break
    secs = (datetime.now(timezone.utc) - issue.detected_at).total_seconds()
    _record(env, "outcome", run_id, pol, issue.target, outcome=status, issue_kind=issue.kind,
            attempts=attempts, seconds_since_detection=f"{secs:.1f}")
    return RecoveryOutcome(status, run_id, pol.name, attempts, time.monotonic() - t0, shown)


# --- the loop --------------------------------------------------------------------------------------------

@dataclass
class HealingLoop:
    """detect -> plan -> execute every ``interval_s``; bounded by ``max_seconds`` / ``max_ticks`` for tests."""

    backend: Any
    policies: PolicySet
    audit: AuditLog
    dry_run: bool = True
    approver: Approver | None = None
    allowed_commands: Iterable[str] = ()
    k8s_client: Callable[[], Any] | None = None
    diagnose: Callable[..., Any] | None = None
    diagnose_issues: bool = False  # run the root-cause diagnosis for each round that acts, record it as evidence
    echo: Callable[[str], Any] = print
    _since: dict[tuple[str, str], datetime] = field(default_factory=dict)
    _noted: set[tuple[str, str, str]] = field(default_factory=set)
    outcomes: list[RecoveryOutcome] = field(default_factory=list)

    def tick(self) -> list[RecoveryOutcome]:
        refused: list[Refusal] = []
        try:
            issues = detect_issue(self.backend, self.policies, diagnose=self.diagnose, refused=refused)
        except BackendError as exc:
            self.echo(f"detection failed: {exc.message}")
            return []
        now = datetime.now(timezone.utc)
        by_pol = {p.name: p for p in self.policies}
        for r in refused:
            key = (r.policy, r.label_value, "refused")
            if key not in self._noted:
                self._noted.add(key)
                self.audit.append({"kind": "rejection", "actor": ACTOR, "policy": r.policy, "target": "",
                                   "outcome": "refused", "dry_run": self.dry_run,
                                   "detail": {"label_value": r.label_value, "reason": r.reason}})
        live = {(i.policy, i.target) for i in issues}
        for k in list(self._since):
            if k not in live:
                del self._since[k]
        self._noted = {n for n in self._noted if n[2] == "refused" or (n[0], n[1]) in live}
        ready: dict[tuple[str, str], list[Issue]] = {}
        for i in issues:
            first = self._since.setdefault((i.policy, i.target), i.detected_at)
            if (now - first).total_seconds() + 1e-6 >= by_pol[i.policy].trigger.for_s:
                ready.setdefault((i.kind, i.target), []).append(i)
        out = []
        diagnosis = _UNSET
        for (kind, target), group in ready.items():
            plan = plan_recovery(group, self.policies, self.audit, at=now)
            if not plan.runnable:
                for c in plan.candidates:
                    key = (c.policy.name, target, c.refused)
                    if key not in self._noted:
                        self._noted.add(key)
                        self.audit.append({"kind": "rejection", "actor": ACTOR, "policy": c.policy.name,
                                           "target": target, "outcome": "guard", "dry_run": self.dry_run,
                                           "detail": {"reason": c.refused, "issue_kind": kind}})
                continue
            if self.dry_run and any(n[:2] == (plan.runnable[0].policy.name, target) and n[2] == "dry"
                                    for n in self._noted):
                continue  # a dry run shows each firing once, not every tick
            if diagnosis is _UNSET:
                diagnosis = (_diagnose(self.backend, now, self.diagnose, DIAGNOSE_OPTIONS)
                             if self.diagnose_issues else None)
            res = execute_recovery(plan, self.backend, self.audit, dry_run=self.dry_run, approver=self.approver,
                                   allowed_commands=self.allowed_commands, secrets=self.policies.secrets,
                                   k8s_client=self.k8s_client, diagnosis=diagnosis)
            if self.dry_run:
                self._noted.add((plan.runnable[0].policy.name, target, "dry"))
            self.echo(f"{res.status}: {kind} on {target} via {res.policy} ({res.attempts} attempt(s), "
                      f"{res.seconds:.1f}s) {res.run_id}")
            for c in res.calls:
                self.echo(f"    {c}")
            out.append(res)
            self._since.pop((res.policy, target), None)
        self.outcomes += out
        return out

    def run(self, *, interval_s: float = 5.0, max_seconds: float | None = None, max_ticks: int | None = None,
            stop: Callable[[], bool] | None = None) -> list[RecoveryOutcome]:
        t0, ticks = time.monotonic(), 0
        while True:
            start = time.monotonic()
            self.tick()
            ticks += 1
            if (max_ticks is not None and ticks >= max_ticks) or (stop is not None and stop()):
                break
            left = None if max_seconds is None else max_seconds - (time.monotonic() - t0)
            if left is not None and left <= 0:
                break
            wait = max(0.0, interval_s - (time.monotonic() - start))
            time.sleep(wait if left is None else min(wait, left))
        return self.outcomes


detectIssue = detect_issue
planRecovery = plan_recovery
executeRecovery = execute_recovery
