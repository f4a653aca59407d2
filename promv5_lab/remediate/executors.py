"""Executors: turn a policy's typed action into an exact call (``plan``), and make it (``run``).

Each executor is a small protocol of two methods. ``plan`` is pure: it shows exactly what would run (HTTP
method, URL, JSON body; or the argv list) and is all a dry run does. ``run`` performs a planned call.
Untrusted text (label values, log lines) only ever travels as JSON data in a body; URLs and argv come from
the policy (and its variables) alone, plus an allow-listed target as one whole argv element or JSON value.

Built-ins (``type`` in a policy): ``webhook``, ``command``, ``silence`` (Alertmanager v2 API), ``k8s_scale``,
``k8s_restart`` (the ``kubernetes`` client), ``demo`` (the demo world's ``/admin/actions``). Others register
through the ``promv5_lab.executors`` entry-point group (``name = "pkg.module:ExecutorClass"``); a plugin
that fails to load is reported by :func:`executor_status`, not raised.
"""

from __future__ import annotations

import json
import logging
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, runtime_checkable
from urllib.parse import quote

from ..errors import ActionError, ConfigError, Promv5Error
from .audit import scrub

__all__ = [
    "BUILTIN_EXECUTORS",
    "ENTRY_POINT_GROUP",
    "ActionContext",
    "ActionError",
    "ExecResult",
    "Executor",
    "PlannedCall",
    "executor_for",
    "executor_status",
]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "promv5_lab.executors"


@dataclass
class ActionContext:
    """What an executor may know about the run: the target (already allow-listed) and the issue as data."""

    target: str
    policy: str = ""
    run_id: str = ""
    issue: Mapping[str, str] = field(default_factory=dict)
    allowed_commands: frozenset[str] = frozenset()
    secrets: frozenset[str] = frozenset()
    k8s_client: Callable[[], Any] | None = None  # returns a kubernetes ApiClient
    state: dict[str, Any] = field(default_factory=dict)  # results of earlier actions in this run (rollback)
    timeout_s: float = 10.0


@dataclass(frozen=True)
class PlannedCall:
    """Exactly what would run. ``headers`` are never shown (they may hold tokens)."""

    executor: str
    target: str
    method: str = ""
    url: str = ""
    body: Any = None
    argv: tuple[str, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    timeout_s: float = 10.0
    extra: tuple[tuple[str, Any], ...] = ()

    def show(self, secrets: frozenset[str] | set[str] = frozenset()) -> str:
        """One line a person can read and re-run by hand, secrets masked."""
        if self.argv:
            return scrub(f"{self.executor}: exec argv={json.dumps(list(self.argv))}", secrets)
        body = "" if self.body is None else " " + json.dumps(self.body, sort_keys=True)
        hdr = f" (+{len(self.headers)} header(s), not shown)" if self.headers else ""
        return scrub(f"{self.executor}: {self.method} {self.url}{body}{hdr}", secrets)

    def detail(self) -> dict[str, str]:
        d = {"executor": self.executor, "call": self.show()}
        if self.argv:
            d["argv"] = json.dumps(list(self.argv))
        if self.method:
            d["method"], d["url"] = self.method, self.url
        if self.body is not None:
            d["body"] = json.dumps(self.body, sort_keys=True)
        return d


@dataclass(frozen=True)
class ExecResult:
    ok: bool
    status: str
    output: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Executor(Protocol):
    """Plans (pure) and runs one type of action."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall: ...

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult: ...


# --- HTTP helper ------------------------------------------------------------------------------------------

def _http(call: PlannedCall, ok_codes: tuple[int, ...] = (200, 201, 202, 204)) -> ExecResult:
    import requests

    try:
        r = requests.request(call.method, call.url, json=call.body, headers=dict(call.headers),
                             timeout=call.timeout_s, allow_redirects=False)
    except requests.RequestException as exc:
        return ExecResult(False, f"error {type(exc).__name__}", str(exc)[:300])
    text = r.text[:2000]
    data: dict[str, Any] = {}
    try:
        parsed = r.json()
        if isinstance(parsed, dict):
            data = parsed
    except ValueError:
        pass
    return ExecResult(r.status_code in ok_codes, str(r.status_code), text, data)


# --- built-ins --------------------------------------------------------------------------------------------

class WebhookExecutor:
    """POST (PUT/PATCH) a JSON document: the policy's static body plus the issue as data."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall:
        body = {**action.body, "policy": ctx.policy, "target": ctx.target, "run_id": ctx.run_id,
                "issue": dict(ctx.issue)}
        return PlannedCall("webhook", ctx.target, action.method, action.url, body,
                           headers=tuple(action.headers.items()), timeout_s=action.timeout_s)

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult:
        return _http(call)


class CommandExecutor:
    """Run an argv list (never a shell) whose program is on the allow-list."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall:
        argv = [*action.argv, *([ctx.target] if action.target_arg else [])]
        return PlannedCall("command", ctx.target, argv=tuple(argv), timeout_s=action.timeout_s)

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult:
        if call.argv[0] not in ctx.allowed_commands:
            raise ActionError(f"{call.argv[0]} is not on the command allow-list",
                              hint=f"Allow it explicitly: promv5-lab heal --allow-command {call.argv[0]}")
        try:
            done = subprocess.run(list(call.argv), shell=False, capture_output=True, text=True,
                                  timeout=call.timeout_s, stdin=subprocess.DEVNULL, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return ExecResult(False, f"error {type(exc).__name__}", str(exc)[:300])
        return ExecResult(done.returncode == 0, f"exit {done.returncode}", (done.stdout + done.stderr)[-2000:])


def _iso(t: datetime) -> str:
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class SilenceExecutor:
    """Create a silence through Alertmanager's v2 API (``backends.alertmanager``); its rollback expires it."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall:
        now = datetime.now(timezone.utc)
        matchers = [{"name": m.name, "value": m.value, "isRegex": m.regex, "isEqual": m.equal}
                    for m in action.matchers]
        if action.match_target:
            matchers.append({"name": action.match_target, "value": ctx.target, "isRegex": False, "isEqual": True})
        body = {"matchers": matchers, "startsAt": _iso(now), "endsAt": _iso(now + timedelta(seconds=action.duration_s)),
                "createdBy": action.created_by, "comment": f"{action.comment} (policy {ctx.policy}, run {ctx.run_id})"}
        base = action.url.rstrip("/")
        return PlannedCall("silence", ctx.target, "POST", base + "/api/v2/silences", body, extra=(("base", base),))

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult:
        from ..backends.alertmanager import AlertmanagerClient, Matcher

        base = dict(call.extra)["base"]
        ops = {(False, True): "=", (False, False): "!=", (True, True): "=~", (True, False): "!~"}
        try:
            with AlertmanagerClient(base, timeout_s=call.timeout_s) as am:
                if call.method == "DELETE":
                    am.expire_silence(dict(call.extra)["silence_id"])
                    return ExecResult(True, "200", "silence expired")
                b = call.body
                ms = [Matcher(m["name"], m["value"], ops[(m["isRegex"], m["isEqual"])]) for m in b["matchers"]]
                sid = am.create_silence(ms, starts=b["startsAt"], ends=b["endsAt"], created_by=b["createdBy"],
                                        comment=b["comment"])
        except Promv5Error as exc:
            return ExecResult(False, f"error {type(exc).__name__}", exc.message[:500])
        ctx.state.setdefault("silences", []).append((base, sid))
        return ExecResult(True, "200", f"silence {sid}", {"silenceID": sid})

    @staticmethod
    def expire_call(base_url: str, silence_id: str, target: str) -> PlannedCall:
        return PlannedCall("silence", target, "DELETE", f"{base_url}/api/v2/silence/{quote(silence_id, safe='')}",
                           extra=(("base", base_url), ("silence_id", silence_id)))


class _K8s:
    def _api(self, ctx: ActionContext) -> Any:
        from .._deps import require

        client = require("kubernetes.client", "remediate")
        if ctx.k8s_client is not None:
            return client.AppsV1Api(ctx.k8s_client())
        config = require("kubernetes.config", "remediate")
        try:
            config.load_incluster_config()
        except config.ConfigException:
            try:
                config.load_kube_config()
            except (config.ConfigException, OSError) as exc:
                raise ActionError("No Kubernetes configuration found",
                                  hint="Set KUBECONFIG or run inside a cluster") from exc
        return client.AppsV1Api()

    @staticmethod
    def _path(ns: str, name: str, sub: str = "") -> str:
        return f"/apis/apps/v1/namespaces/{quote(ns, safe='')}/deployments/{quote(name, safe='')}{sub}"


class KubernetesScaleExecutor(_K8s):
    """Set a Deployment's replicas (``factor`` reads the current scale first); remembers the old count."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall:
        name = action.deployment or ctx.target
        body = {"spec": {"replicas": action.replicas}} if action.replicas is not None else {
            "spec": {"replicas": f"current x {action.factor:g}"}}
        return PlannedCall("k8s_scale", ctx.target, "PATCH", self._path(action.namespace, name, "/scale"), body,
                           extra=(("namespace", action.namespace), ("name", name), ("factor", action.factor),
                                  ("replicas", action.replicas)))

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult:
        x = dict(call.extra)
        api = self._api(ctx)
        try:
            current = api.read_namespaced_deployment_scale(x["name"], x["namespace"]).spec.replicas
            want = x["replicas"] if x["replicas"] is not None else max(1, round(current * x["factor"]))
            api.patch_namespaced_deployment_scale(x["name"], x["namespace"], {"spec": {"replicas": want}})
        except Exception as exc:  # the kubernetes client raises ApiException/urllib3 errors: report as data
            return ExecResult(False, f"error {type(exc).__name__}", str(exc)[:500])
        ctx.state.setdefault("k8s_scaled", []).append((x["namespace"], x["name"], current))
        return ExecResult(True, "200", f"replicas {current} -> {want}", {"previous": current, "replicas": want})


class KubernetesRestartExecutor(_K8s):
    """``kubectl rollout restart``: patch the pod template's restartedAt annotation."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall:
        name = action.deployment or ctx.target
        body = {"spec": {"template": {"metadata": {"annotations": {
            "kubectl.kubernetes.io/restartedAt": _iso(datetime.now(timezone.utc))}}}}}
        return PlannedCall("k8s_restart", ctx.target, "PATCH", self._path(action.namespace, name), body,
                           extra=(("namespace", action.namespace), ("name", name)))

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult:
        x = dict(call.extra)
        try:
            self._api(ctx).patch_namespaced_deployment(x["name"], x["namespace"], call.body)
        except Exception as exc:  # ApiException and transport errors, as data
            return ExecResult(False, f"error {type(exc).__name__}", str(exc)[:500])
        return ExecResult(True, "200", f"restarted deployment {x['namespace']}/{x['name']}")


class DemoExecutor:
    """The demo world's ``POST /admin/actions``; succeeds when the world performed the action."""

    def plan(self, action: Any, ctx: ActionContext) -> PlannedCall:
        params = dict(action.params)
        if action.target_as == "node":
            params["node"] = ctx.target
        body = {"action": action.action, "service": action.service or ctx.target, "params": params}
        return PlannedCall("demo", ctx.target, "POST", action.url.rstrip("/") + "/admin/actions", body)

    def run(self, call: PlannedCall, ctx: ActionContext) -> ExecResult:
        return _http(call, ok_codes=(200,))


BUILTIN_EXECUTORS: dict[str, type] = {
    "webhook": WebhookExecutor, "command": CommandExecutor, "silence": SilenceExecutor,
    "k8s_scale": KubernetesScaleExecutor, "k8s_restart": KubernetesRestartExecutor, "demo": DemoExecutor,
}
_PLUGINS: dict[str, Any] | None = None
_PLUGIN_ERRORS: dict[str, str] = {}


def _plugins() -> dict[str, Any]:
    global _PLUGINS
    if _PLUGINS is None:
        from importlib.metadata import entry_points

        _PLUGINS = {}
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            try:
                _PLUGINS[ep.name] = ep.load()
            except Exception as exc:  # a broken plugin is reported in the status table, never fatal
                _PLUGIN_ERRORS[ep.name] = f"{type(exc).__name__}: {exc}"
                log.warning("executor plugin %s failed to load: %s", ep.name, exc)
    return _PLUGINS


def executor_for(kind: str) -> Executor:
    """The executor for an action type: entry points first (so a plugin may replace one), then built-ins."""
    cls = _plugins().get(kind) or BUILTIN_EXECUTORS.get(kind)
    if cls is None:
        raise ConfigError(f"No executor for action type {kind!r}",
                          hint=f"Types: {', '.join(sorted({*BUILTIN_EXECUTORS, *_plugins()}))}")
    return cls()


def executor_status() -> list[dict[str, str]]:
    """A capability table: each executor, where it came from, and whether it loaded."""
    rows = [{"type": k, "source": "entry point" if k in _plugins() else "built-in", "status": "ok"}
            for k in sorted({*BUILTIN_EXECUTORS, *_plugins()})]
    rows += [{"type": k, "source": "entry point", "status": f"failed: {v}"} for k, v in _PLUGIN_ERRORS.items()]
    return rows
