"""A client for Alertmanager's v2 API: firing alerts, silences (create/expire), status.

::

    am = AlertmanagerClient("http://127.0.0.1:9093")
    for alert in am.alerts(filter={"severity": "page"}):
        print(alert.name, alert.service, alert.starts_at)
    sid = am.create_silence({"alertname": "CheckoutErrors", "service": "checkout"}, duration="30m",
                            created_by="promv5-lab", comment="remediation in progress")
    am.expire_silence(sid)

API reference: https://github.com/prometheus/alertmanager/blob/main/api/v2/openapi.yaml (``/api/v2/alerts``,
``/api/v2/silences``, ``/api/v2/silence/{id}``, ``/api/v2/status``). Matchers are validated here first
(label name syntax, regexes compile, at least one matcher that does not match the empty string, as
Alertmanager itself requires), so a bad silence fails with a message that says which matcher is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..errors import BackendError, InputError
from ..types import AlertInfo, TimelineEvent, as_utc, parse_duration
from ._client import RemoteClient

MatchOp = Literal["=", "!=", "=~", "!~"]
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.DOTALL)
_SILENCE_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")


def parse_time(value: Any) -> datetime | None:
    """An RFC 3339 time from Alertmanager (nanosecond fractions allowed) -> aware UTC; zero/empty -> None."""
    if not value:
        return None
    text = str(value).strip().replace("Z", "+00:00")
    m = re.match(r"^(.*?\.\d{6})\d+(.*)$", text)  # keep microseconds
    if m:
        text = m.group(1) + m.group(2)
    try:
        dt = as_utc(datetime.fromisoformat(text))
    except ValueError as exc:
        raise InputError(f"Cannot read time {str(value)[:60]!r}", hint="Alertmanager times are RFC 3339") from exc
    return None if dt.year <= 1 else dt


def format_time(dt: datetime) -> str:
    return as_utc(dt).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Matcher:
    """One label matcher of a silence or an alert filter."""

    name: str
    value: str
    op: MatchOp = "="

    def __post_init__(self) -> None:
        if not _LABEL.match(self.name):
            raise InputError(f"Matcher label {self.name[:80]!r} is not a valid label name",
                             hint="Label names are letters, digits and _ (not starting with a digit)")
        if self.op not in ("=", "!=", "=~", "!~"):
            raise InputError(f"Matcher operator {self.op!r} is not one of = != =~ !~")
        if self.is_regex:
            try:
                re.compile(self.value)
            except re.error as exc:
                raise InputError(f"Matcher {self.name}{self.op}{self.value[:80]!r} has a bad regex: {exc}") from exc

    @property
    def is_regex(self) -> bool:
        return self.op in ("=~", "!~")

    @property
    def is_equal(self) -> bool:
        return self.op in ("=", "=~")

    def matches_empty(self) -> bool:
        """Does this matcher match an alert that lacks the label (the empty string)?"""
        if self.is_regex:
            hit = re.fullmatch(self.value, "") is not None
        else:
            hit = self.value == ""
        return hit if self.is_equal else not hit

    def render(self) -> str:
        """``name="value"`` with the value quoted and escaped (for the ``filter`` parameter)."""
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'{self.name}{self.op}"{escaped}"'

    def to_api(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "isRegex": self.is_regex, "isEqual": self.is_equal}

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """``service="checkout"``, ``code=~"5.."``, ``env!=prod`` (quotes optional) -> a Matcher."""
        m = _MATCHER.match(str(text))
        if not m:
            raise InputError(f"Cannot read matcher {str(text)[:80]!r}", hint='Write matchers like service="checkout"')
        name, op, value = m.groups()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = re.sub(r'\\(.)', lambda g: "\n" if g.group(1) == "n" else g.group(1), value[1:-1])
        return cls(name, value, op)  # type: ignore[arg-type]


def matchers_of(spec: Mapping[str, str] | Iterable[Matcher | str] | str) -> tuple[Matcher, ...]:
    """Matchers from a mapping (equality), matcher objects, or strings like ``'service="checkout"'``."""
    if isinstance(spec, str):
        spec = [spec]
    if isinstance(spec, Mapping):
        return tuple(Matcher(str(k), str(v)) for k, v in spec.items())
    return tuple(m if isinstance(m, Matcher) else Matcher.parse(m) for m in spec)


@dataclass(frozen=True)
class Alert:
    """An alert from Alertmanager: ``state`` is active/suppressed/unprocessed (API) or firing/resolved (webhook)."""

    name: str
    state: str
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    fingerprint: str = ""
    generator_url: str = ""
    receivers: tuple[str, ...] = ()
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()

    @property
    def firing(self) -> bool:
        return self.state in ("active", "firing")

    @property
    def service(self) -> str | None:
        return self.labels.get("service") or self.labels.get("job") or None

    @property
    def summary(self) -> str:
        return self.annotations.get("summary") or self.annotations.get("description") or self.name

    def info(self) -> AlertInfo:
        """The alert as the package's :class:`~promv5_lab.types.AlertInfo` (what ``diagnose(alerts=...)`` takes)."""
        return AlertInfo(name=self.name, state="firing" if self.firing else self.state, labels=dict(self.labels),
                         annotations=dict(self.annotations), active_at=self.starts_at)

    def timeline_event(self) -> TimelineEvent:
        """The alert as an event on a diagnosis timeline (at its start)."""
        at = self.starts_at or datetime.now(timezone.utc)
        return TimelineEvent(at=at, kind="alert", service=self.service, summary=f"{self.name}: {self.summary}")

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state, "labels": dict(self.labels),
                "annotations": dict(self.annotations),
                "starts_at": format_time(self.starts_at) if self.starts_at else None,
                "ends_at": format_time(self.ends_at) if self.ends_at else None, "fingerprint": self.fingerprint,
                "generator_url": self.generator_url, "receivers": list(self.receivers),
                "silenced_by": list(self.silenced_by), "inhibited_by": list(self.inhibited_by)}

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Alert:
        """From a ``gettableAlert`` (``/api/v2/alerts``) or a webhook payload's alert."""
        labels = _str_map(obj.get("labels"), "labels")
        status = obj.get("status")
        if isinstance(status, Mapping):  # API: {"state": ..., "silencedBy": [...], "inhibitedBy": [...]}
            state = str(status.get("state", "unprocessed"))
            silenced, inhibited = tuple(status.get("silencedBy") or ()), tuple(status.get("inhibitedBy") or ())
        else:  # webhook: "firing" / "resolved"
            state, silenced, inhibited = str(status or "firing"), (), ()
        return cls(name=labels.get("alertname", ""), state=state, labels=labels,
                   annotations=_str_map(obj.get("annotations"), "annotations"),
                   starts_at=parse_time(obj.get("startsAt")), ends_at=parse_time(obj.get("endsAt")),
                   fingerprint=str(obj.get("fingerprint") or ""), generator_url=str(obj.get("generatorURL") or ""),
                   receivers=tuple(str(r.get("name", "")) for r in obj.get("receivers") or () if isinstance(r, Mapping)),
                   silenced_by=tuple(map(str, silenced)), inhibited_by=tuple(map(str, inhibited)))


@dataclass(frozen=True)
class Silence:
    """A silence: ``state`` is active/pending/expired."""

    id: str
    state: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime | None
    ends_at: datetime | None
    created_by: str = ""
    comment: str = ""

    @property
    def active(self) -> bool:
        return self.state == "active"

    @classmethod
    def from_api(cls, obj: Mapping[str, Any]) -> Silence:
        ms = []
        for m in obj.get("matchers") or ():
            regex, equal = bool(m.get("isRegex")), m.get("isEqual", True) is not False
            op = ("=~" if equal else "!~") if regex else ("=" if equal else "!=")
            ms.append(Matcher(str(m.get("name")), str(m.get("value", "")), op))  # type: ignore[arg-type]
        return cls(id=str(obj.get("id", "")), state=str((obj.get("status") or {}).get("state", "")),
                   matchers=tuple(ms), starts_at=parse_time(obj.get("startsAt")), ends_at=parse_time(obj.get("endsAt")),
                   created_by=str(obj.get("createdBy", "")), comment=str(obj.get("comment", "")))


@dataclass(frozen=True)
class AlertmanagerStatus:
    version: str
    cluster_status: str
    uptime: datetime | None
    config_yaml: str


class AlertmanagerClient(RemoteClient):
    """Alertmanager's v2 HTTP API. Auth (bearer token, basic auth, headers), TLS, error mapping and closing are
    the shared :class:`~._client.RemoteClient`'s (``tenant=`` sets ``X-Scope-OrgID``, as Mimir's Alertmanager
    wants)."""

    WHAT = "Alertmanager"

    def alerts(self, active: bool = True, filter: Mapping[str, str] | Iterable[Matcher | str] | str = (),
               *, silenced: bool = True, inhibited: bool = True, unprocessed: bool = True,
               receiver: str | None = None) -> list[Alert]:
        """Alerts Alertmanager holds. ``active=True`` keeps active ones; the flags include suppressed ones."""
        params: dict[str, Any] = {"active": _b(active), "silenced": _b(silenced), "inhibited": _b(inhibited),
                                  "unprocessed": _b(unprocessed)}
        ms = matchers_of(filter) if filter else ()
        if ms:
            params["filter"] = [m.render() for m in ms]
        if receiver:
            params["receiver"] = receiver
        got = self.http.get("/api/v2/alerts", params, endpoint="/api/v2/alerts",
                            query=" ".join(params.get("filter", [])) or None)
        if not isinstance(got, list):
            raise BackendError(f"{self.url}/api/v2/alerts did not answer a list", url=self.url)
        return sorted((Alert.from_api(a) for a in got if isinstance(a, Mapping)),
                      key=lambda a: (a.starts_at or datetime.min.replace(tzinfo=timezone.utc), a.name))

    def silences(self, *, active_only: bool = False) -> list[Silence]:
        got = self.http.get("/api/v2/silences", endpoint="/api/v2/silences")
        out = [Silence.from_api(s) for s in got or () if isinstance(s, Mapping)]
        return [s for s in out if s.active] if active_only else out

    def silence(self, silence_id: str) -> Silence | None:
        got = self.http.get(f"/api/v2/silence/{_check_id(silence_id)}", endpoint="/api/v2/silence/{id}",
                            missing_ok=True)
        return Silence.from_api(got) if isinstance(got, Mapping) else None

    def create_silence(self, matchers: Mapping[str, str] | Sequence[Matcher | str] | str,
                       starts: datetime | str | None = None, ends: datetime | str | None = None,
                       created_by: str = "promv5-lab", comment: str = "silenced by promv5-lab", *,
                       duration: str | float | timedelta | None = None) -> str:
        """Create a silence and return its id. ``ends`` defaults to ``starts + duration`` (default 1h)."""
        ms = matchers_of(matchers)
        if not ms:
            raise InputError("A silence needs at least one matcher", hint='e.g. {"alertname": "CheckoutErrors"}')
        if all(m.matches_empty() for m in ms):
            raise InputError("Every matcher of this silence also matches alerts without the label",
                             hint="Alertmanager needs at least one matcher that does not match the empty string")
        start = as_utc(starts) if starts is not None else datetime.now(timezone.utc)
        if ends is not None and duration is not None:
            raise InputError("Pass ends or duration, not both")
        end = as_utc(ends) if ends is not None else start + timedelta(seconds=parse_duration(duration or "1h"))
        if end <= start:
            raise InputError(f"The silence ends ({end.isoformat()}) before it starts ({start.isoformat()})")
        if end <= datetime.now(timezone.utc):
            raise InputError("The silence would already be over", hint="Pick an end in the future")
        if not str(created_by).strip() or not str(comment).strip():
            raise InputError("Alertmanager needs a non-empty created_by and comment for a silence")
        body = {"matchers": [m.to_api() for m in ms], "startsAt": format_time(start), "endsAt": format_time(end),
                "createdBy": str(created_by), "comment": str(comment)}
        got = self.http.post("/api/v2/silences", body, endpoint="/api/v2/silences")
        sid = (got or {}).get("silenceID") if isinstance(got, Mapping) else None
        if not sid:
            raise BackendError(f"{self.url} did not return a silence id", url=self.url)
        return str(sid)

    def expire_silence(self, silence_id: str) -> None:
        """Expire (delete) a silence. Unknown ids raise :class:`InputError`; expiring twice is a no-op."""
        sid = _check_id(silence_id)
        try:
            got = self.http.request("DELETE", f"/api/v2/silence/{sid}", endpoint="/api/v2/silence/{id}",
                                    expect_json=False, missing_ok=True)
        except BackendError as exc:
            if "already expired" in exc.message:
                return
            if "not found" in exc.message:  # Alertmanager 0.25 answers 500 "silence not found"
                raise InputError(f"Alertmanager has no silence {sid}", hint="List them with silences()") from exc
            raise
        if got is None:
            raise InputError(f"Alertmanager has no silence {sid}", hint="List them with silences()")

    def status(self) -> AlertmanagerStatus:
        got = self.http.get("/api/v2/status", endpoint="/api/v2/status") or {}
        return AlertmanagerStatus(version=str((got.get("versionInfo") or {}).get("version", "")),
                                  cluster_status=str((got.get("cluster") or {}).get("status", "")),
                                  uptime=parse_time(got.get("uptime")),
                                  config_yaml=str((got.get("config") or {}).get("original", "")))


def _b(v: bool) -> str:
    return "true" if v else "false"


def _check_id(silence_id: str) -> str:
    sid = str(silence_id).strip()
    if not _SILENCE_ID.match(sid):
        raise InputError(f"{sid[:80]!r} is not a silence id", hint="Silence ids look like 9c7f6b9e-...")
    return sid


def _str_map(obj: Any, what: str) -> dict[str, str]:
    if obj is None:
        return {}
    if not isinstance(obj, Mapping):
        raise InputError(f"Alert {what} must be an object of strings")
    return {str(k): str(v) for k, v in obj.items()}
