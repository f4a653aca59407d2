"""Remediation policies as data: YAML validated into pydantic models, with errors that say where and how to fix.

A policy file::

    policies:
      - name: restart-exhausted-db-pool
        issue: db_pool_exhaustion            # the kind of issue (past success is ranked per kind)
        trigger:
          promql: 'max by (service) (db_connections_in_use / db_connections_max) > 0.9'
          for: 3s                            # the condition must hold this long
        target: {label: service, allowed: [checkout, cart, catalog]}
        actions:
          - {type: demo, url: "${ADMIN_URL}", action: restart}
        verify: {promql: '...same condition...', expect: empty, within: 30s}
        rollback: []
        approval: auto                       # or required (a person approves each run)
        guards: {max_runs_per_hour: 3, cooldown: 60s, blast_radius: 1,
                 maintenance_windows: [{daily: "02:00-03:00"}]}

Triggers: ``promql`` (fires for each series of a non-empty result), ``anomaly`` (the detector's score
of a query's latest points), ``diagnosis`` (a root cause of the given service/kind).

Variables: a field whose whole value is ``${NAME}`` takes the value of ``--var NAME=VALUE`` or of the
environment variable ``NAME`` and is then validated as that field's type (``"5"`` for an int field
is 5). ``${...}`` anywhere else is refused, so a value is never pasted into a URL, a query or a command.
Variables come only from the command line and the environment, never from metric data. Values of
variables whose name says they are secret (``*TOKEN*``, ``*PASSWORD*``, ``*SECRET*``, ``*KEY*``) are
masked in dry-run output and in the audit log.

The target of an action is the policy's static ``target.value`` or the value of a label of the firing
series, which must be one of ``target.allowed`` exactly: a label value outside the list never acts.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from ..errors import ConfigError, InputError, PolicyError
from ..types import as_utc, parse_duration

__all__ = ["Action", "Policy", "PolicyError", "PolicySet", "Target", "load_policies", "parse_policies"]

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SECRET_NAME = re.compile(r"(TOKEN|PASSWORD|PASSWD|SECRET|KEY|CREDENTIAL)", re.IGNORECASE)
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.:/-]{1,128}$")


def _duration(v: Any) -> float:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        if v <= 0:
            raise ValueError("must be a positive duration")
        return float(v)
    if isinstance(v, str):
        try:
            return parse_duration(v)
        except InputError as exc:
            raise ValueError(f"{exc.message} (write 30s, 5m, 1h)") from None
    raise ValueError("must be a duration like 30s, 5m, 1h")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- triggers ----------------------------------------------------------------------------------------------

class PromqlTrigger(_Model):
    promql: str = Field(min_length=1)
    for_s: float = Field(0.0, alias="for", ge=0)

    @field_validator("for_s", mode="before")
    @classmethod
    def _for(cls, v: Any) -> float:
        return 0.0 if v in (0, "0", "0s", None) else _duration(v)


class AnomalyTrigger(_Model):
    anomaly: str = Field(min_length=1, description="the PromQL whose series are scored by the detector")
    threshold: float = Field(0.6, gt=0, lt=1)
    lookback_s: float = Field(1800.0, alias="lookback")
    step_s: float = Field(15.0, alias="step")
    for_s: float = Field(0.0, alias="for", ge=0)

    @field_validator("lookback_s", "step_s", mode="before")
    @classmethod
    def _d(cls, v: Any) -> float:
        return _duration(v)


class DiagnosisTrigger(_Model):
    diagnosis: Literal[True] = True
    service: list[str] = Field(default_factory=list, description="match these root-cause services (empty: any)")
    kind: list[Literal["deploy", "resource_exhaustion", "dependency_failure", "traffic", "unknown"]] = Field(
        default_factory=list)
    min_confidence: float = Field(0.5, ge=0, le=1)
    for_s: float = Field(0.0, alias="for", ge=0)
    window: str | None = Field(None, description="how far back trouble may have started (diagnose's window)")
    lookback: str | None = Field(None, description="the whole span diagnose queries")
    step: str | None = Field(None, description="diagnose's query resolution")

    @field_validator("service", "kind", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        return [v] if isinstance(v, str) else v


def _trigger_kind(v: Any) -> str:
    if isinstance(v, dict):
        for k in ("promql", "anomaly", "diagnosis"):
            if k in v:
                return k
    return "promql"


Trigger = Annotated[
    Annotated[PromqlTrigger, "promql"] | Annotated[AnomalyTrigger, "anomaly"]
    | Annotated[DiagnosisTrigger, "diagnosis"],
    Field(discriminator=None),
]


# --- actions ----------------------------------------------------------------------------------------------

class WebhookAction(_Model):
    type: Literal["webhook"]
    url: str
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    headers: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] = Field(default_factory=dict, description="static JSON; the issue is added as data")
    timeout_s: float = Field(10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"url must start with http:// or https://, got {v!r}")
        return v


class CommandAction(_Model):
    type: Literal["command"]
    argv: list[str] = Field(min_length=1, description="run as is, never through a shell")
    target_arg: bool = Field(False, description="append the (allow-listed) target as one more argument")
    timeout_s: float = Field(30.0, gt=0, le=600)

    @field_validator("argv")
    @classmethod
    def _argv(cls, v: list[str]) -> list[str]:
        if any("\x00" in a for a in v):
            raise ValueError("argv must not contain NUL bytes")
        if not os.path.isabs(v[0]):
            raise ValueError(f"argv[0] must be an absolute path (the allow-list matches paths), got {v[0]!r}")
        return v


class Matcher(_Model):
    name: str
    value: str
    regex: bool = False
    equal: bool = True


class SilenceAction(_Model):
    type: Literal["silence"]
    url: str = Field(description="Alertmanager base URL")
    matchers: list[Matcher] = Field(default_factory=list)
    match_target: str | None = Field(None, description="also match this label = the target")
    duration_s: float = Field(3600.0, alias="duration")
    comment: str = "silenced by promv5-lab remediation"
    created_by: str = "promv5-lab"

    @field_validator("duration_s", mode="before")
    @classmethod
    def _d(cls, v: Any) -> float:
        return _duration(v)

    @model_validator(mode="after")
    def _some(self) -> SilenceAction:
        if not self.matchers and not self.match_target:
            raise ValueError("a silence needs matchers or match_target (an empty silence would mute everything)")
        return self


class KubernetesScaleAction(_Model):
    type: Literal["k8s_scale"]
    namespace: str = "default"
    deployment: str | None = Field(None, description="default: the target")
    replicas: int | None = Field(None, ge=0, le=1000)
    factor: float | None = Field(None, gt=0, le=20, description="multiply the current replicas instead")

    @model_validator(mode="after")
    def _one(self) -> KubernetesScaleAction:
        if (self.replicas is None) == (self.factor is None):
            raise ValueError("give exactly one of replicas or factor")
        return self


class KubernetesRestartAction(_Model):
    type: Literal["k8s_restart"]
    namespace: str = "default"
    deployment: str | None = Field(None, description="default: the target")


class DemoAction(_Model):
    type: Literal["demo"]
    url: str = Field(description="the demo world's base URL (POST {url}/admin/actions)")
    action: Literal["restart", "rollback", "scale", "clear_disk", "flush_cache"]
    service: str | None = Field(None, description="default: the target")
    params: dict[str, Any] = Field(default_factory=dict)
    target_as: Literal["service", "node"] = Field(
        "service", description="send the target as the service (default) or as params.node (clear_disk)")

    @model_validator(mode="after")
    def _node(self) -> DemoAction:
        if self.target_as == "node" and not self.service:
            raise ValueError("target_as: node needs a fixed service (the world's API asks for one)")
        return self


class PluginAction(BaseModel):
    """An action for an executor registered through the ``promv5_lab.executors`` entry-point group."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str

    @field_validator("type")
    @classmethod
    def _registered(cls, v: str) -> str:
        from .executors import BUILTIN_EXECUTORS, _plugins

        if v in BUILTIN_EXECUTORS or v not in _plugins():
            known = sorted({*BUILTIN_EXECUTORS, *_plugins()})
            raise ValueError(f"unknown action type {v!r}; known: {', '.join(known)}")
        return v


BuiltinAction = Annotated[WebhookAction | CommandAction | SilenceAction | KubernetesScaleAction
                          | KubernetesRestartAction | DemoAction, Field(discriminator="type")]
_BUILTIN_TYPES = ("webhook", "command", "silence", "k8s_scale", "k8s_restart", "demo")


def _action_kind(v: Any) -> str:
    t = v.get("type") if isinstance(v, dict) else getattr(v, "type", None)
    return "builtin" if t in _BUILTIN_TYPES else "plugin"


Action = Annotated[Annotated[BuiltinAction, Tag("builtin")] | Annotated[PluginAction, Tag("plugin")],
                   Discriminator(_action_kind)]


# --- policy -----------------------------------------------------------------------------------------------

class Target(_Model):
    value: str | None = Field(None, description="a fixed target")
    label: str | None = Field(None, description="take the target from this label of the firing series")
    allowed: list[str] = Field(default_factory=list, description="the only label values that may be acted on")

    @model_validator(mode="after")
    def _check(self) -> Target:
        if (self.value is None) == (self.label is None):
            raise ValueError("give exactly one of value or label")
        if self.label is not None and not self.allowed:
            raise ValueError("a target taken from a label needs an allow-list (allowed: [a, b])")
        for v in [*self.allowed, *([self.value] if self.value else [])]:
            if not _SAFE_VALUE.match(v):
                raise ValueError(f"target {v!r} may only hold letters, digits and _ . : / -")
        return self

    def resolve(self, labels: Mapping[str, str]) -> str | None:
        """The target for a firing series, or None when its label value is not allowed (exact match only)."""
        if self.value is not None:
            return self.value
        got = labels.get(self.label or "")
        return got if isinstance(got, str) and got in self.allowed else None


class Verify(_Model):
    promql: str = Field(min_length=1)
    expect: Literal["empty", "nonempty"] = Field(
        "nonempty", description="holds when the result (restricted to the target's series) is empty/non-empty")
    within_s: float = Field(60.0, alias="within")
    interval_s: float = Field(2.0, alias="interval")
    settle_s: float = Field(0.0, alias="settle", ge=0, description="wait this long before the first check")

    @field_validator("within_s", "interval_s", mode="before")
    @classmethod
    def _d(cls, v: Any) -> float:
        return _duration(v)

    @field_validator("settle_s", mode="before")
    @classmethod
    def _s(cls, v: Any) -> float:
        return 0.0 if v in (0, "0", "0s") else _duration(v)


class Window(_Model):
    daily: str | None = Field(None, description='"HH:MM-HH:MM" UTC, every day (or on days)')
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _check(self) -> Window:
        if (self.daily is None) == (self.start is None):
            raise ValueError('give either daily: "HH:MM-HH:MM" or start/end')
        if self.daily is not None:
            m = re.fullmatch(r"(\d\d):(\d\d)-(\d\d):(\d\d)", self.daily)
            if not m or int(m[1]) > 23 or int(m[3]) > 23 or int(m[2]) > 59 or int(m[4]) > 59:
                raise ValueError(f'daily must look like "02:00-04:30", got {self.daily!r}')
        elif self.end is None or as_utc(self.end) <= as_utc(self.start):
            raise ValueError("an absolute window needs an end after its start")
        return self

    def contains(self, t: datetime) -> bool:
        t = as_utc(t)
        if self.start is not None:
            return as_utc(self.start) <= t < as_utc(self.end)
        a, b = self.daily.split("-")
        lo, hi = time.fromisoformat(a), time.fromisoformat(b)
        day = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[t.weekday()]
        if self.days and day not in self.days:
            return False
        now = t.time()
        return lo <= now < hi if lo <= hi else (now >= lo or now < hi)


class Guards(_Model):
    max_runs_per_hour: int = Field(3, ge=1, le=1000, description="per target")
    cooldown_s: float = Field(60.0, alias="cooldown", ge=0)
    blast_radius: int = Field(1, ge=1, le=1000, description="refuse when more targets than this fire at once")
    maintenance_windows: list[Window] = Field(default_factory=list)

    @field_validator("cooldown_s", mode="before")
    @classmethod
    def _d(cls, v: Any) -> float:
        return 0.0 if v in (0, "0", "0s") else _duration(v)


class Policy(_Model):
    name: str
    description: str = ""
    issue: str = Field("", description="the kind of issue it heals (ranking by past success is per kind)")
    trigger: PromqlTrigger | AnomalyTrigger | DiagnosisTrigger
    target: Target
    actions: list[Action] = Field(min_length=1)
    verify: Verify | None = None
    rollback: list[Action] = Field(default_factory=list)
    approval: Literal["auto", "required"] = "required"
    guards: Guards = Field(default_factory=Guards)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError("use lower-case letters, digits, '-', '_' or '.', at most 63 characters")
        return v

    @field_validator("trigger", mode="before")
    @classmethod
    def _trig(cls, v: Any) -> Any:
        if not isinstance(v, dict):
            raise ValueError("trigger must be a mapping with one of promql, anomaly or diagnosis")
        kind = _trigger_kind(v)
        model = {"promql": PromqlTrigger, "anomaly": AnomalyTrigger, "diagnosis": DiagnosisTrigger}[kind]
        return model.model_validate(v)

    @property
    def issue_kind(self) -> str:
        return self.issue or self.name


@dataclass(frozen=True)
class PolicySet:
    """The policies of one file, with the variables used and which of their values are secret."""

    policies: tuple[Policy, ...]
    source: str = "<memory>"
    secrets: frozenset[str] = field(default_factory=frozenset)

    def __iter__(self):
        return iter(self.policies)

    def __len__(self) -> int:
        return len(self.policies)

    def get(self, name: str) -> Policy:
        for p in self.policies:
            if p.name == name:
                return p
        raise PolicyError(f"No policy named {name!r} in {self.source}",
                          hint=f"Policies: {', '.join(p.name for p in self.policies)}")


def _substitute(obj: Any, values: Mapping[str, str], where: str, used: set[str]) -> Any:
    if isinstance(obj, str):
        m = _VAR.fullmatch(obj.strip())
        if m:
            name = m.group(1)
            if name not in values:
                raise PolicyError(f"{where}: variable ${{{name}}} is not set",
                                  hint=f"Pass --var {name}=VALUE or set the environment variable {name}")
            used.add(name)
            return values[name]
        if "${" in obj:
            raise PolicyError(f"{where}: ${{...}} must be the whole value, got {obj!r}",
                              hint="Put the full value (the whole URL, the whole token) in the variable")
        return obj
    if isinstance(obj, list):
        return [_substitute(x, values, f"{where}[{i}]", used) for i, x in enumerate(obj)]
    if isinstance(obj, dict):
        return {k: _substitute(v, values, f"{where}.{k}", used) for k, v in obj.items()}
    return obj


def parse_policies(raw: Any, *, variables: Mapping[str, str] | None = None, source: str = "<memory>",
                   environ: Mapping[str, str] | None = None) -> PolicySet:
    """Validate already-loaded YAML (``{"policies": [...]}`` or a list) into a :class:`PolicySet`."""
    from pydantic import ValidationError

    values = {**(os.environ if environ is None else environ), **(variables or {})}
    items = raw.get("policies") if isinstance(raw, dict) else raw
    if isinstance(raw, dict) and set(raw) - {"policies"}:
        raise PolicyError(f"{source}: unknown top-level key(s) {sorted(set(raw) - {'policies'})}",
                          hint="A policy file has one top-level key: policies")
    if not isinstance(items, list) or not items:
        raise PolicyError(f"{source}: no policies found", hint="Write a list under 'policies:'")
    out, used, seen = [], set(), set()
    for i, item in enumerate(items):
        name = item.get("name", f"#{i + 1}") if isinstance(item, dict) else f"#{i + 1}"
        where = f"{source}: policy {name!r}"
        if not isinstance(item, dict):
            raise PolicyError(f"{where} must be a mapping", hint="Each policy is a mapping with name, trigger...")
        subst = _substitute(item, values, where, used)
        try:
            pol = Policy.model_validate(subst)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'policy'}: {e['msg']}"
                                 for e in exc.errors()[:5])
            raise PolicyError(f"{where} is invalid: {problems}",
                              hint="See promv5_lab/demo/policies.yaml for a complete example") from None
        if pol.name in seen:
            raise PolicyError(f"{where}: the name is used twice", hint="Give every policy its own name")
        seen.add(pol.name)
        out.append(pol)
    secrets = frozenset(values[n] for n in used if _SECRET_NAME.search(n) and values.get(n))
    return PolicySet(tuple(out), source, secrets)


def load_policies(path: str | Path, variables: Mapping[str, str] | None = None, *,
                  environ: Mapping[str, str] | None = None) -> PolicySet:
    """Read and validate a YAML policy file; ``variables`` are ``--var`` values (they win over the environment)."""
    import yaml

    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise PolicyError(f"Cannot read the policy file {p}: {exc.strerror or exc}",
                          hint="Pass --policies FILE (promv5_lab/demo/policies.yaml is an example)") from exc
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{p} is not valid YAML: {exc}", hint="Check indentation and quoting") from exc
    return parse_policies(raw, variables=variables, source=str(p), environ=environ)


def parse_vars(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["A=1", "B=x"]`` (from ``--var``) -> ``{"A": "1", "B": "x"}`` with clear errors."""
    out: dict[str, str] = {}
    for it in items or ():
        name, sep, value = it.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"Bad --var {it.split('=')[0]!r}", hint="Write --var NAME=VALUE (NAME: letters, _)")
        out[name] = value
    return out


def now_utc() -> datetime:
    return datetime.now(timezone.utc)
