"""A live Prometheus-compatible server (Prometheus, VictoriaMetrics, Thanos, Mimir...) over its HTTP API.

Built on ``prometheus-api-client``'s ``PrometheusConnect`` for queries and labels; the endpoints it does not
cover well (metadata, targets, alerts, rules, build info) go straight to the documented HTTP API through the
same session. Either way, every exchange passes through :mod:`promv5_lab.backends.http`: one response guard
(byte cap, deadline) and one error mapping::

    from promv5_lab.backends.prometheus import PrometheusBackend
    prom = PrometheusBackend("http://localhost:9090", bearer_token="...")
    res = prom.query_range('sum by (service) (rate(http_requests_total[5m]))', TimeRange.last("1h"))
    res.frame            # tidy: timestamp, value, service
    res.provenance.describe()
"""

from __future__ import annotations

import logging
import re
import time as _time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from os import PathLike
from typing import TYPE_CHECKING, Any, cast

from ..errors import BackendError, ConfigError, InputError, ResultTooLarge
from ..types import AlertInfo, MetricMetadata, Provenance, QueryResult, RuleInfo, Target, TimeRange, as_utc
from .http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    CallContext,
    ResponseGuard,
    build_session,
    call_with_retries,
    format_step,
    no_urllib3_retries,
    split_credentials,
    suggest_step,
)

if TYPE_CHECKING:  # pragma: no cover
    from ..config import Settings

log = logging.getLogger(__name__)

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_METRIC_TYPES = {"counter", "gauge", "histogram", "summary", "gaugehistogram", "stateset", "info", "unknown"}


def _secret(value: Any) -> str | None:
    """Unwrap pydantic ``SecretStr`` (or take a plain str) without ever printing it."""
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value)


class PrometheusBackend:
    """MetricsBackend + MetricCatalogue + RuleSource for a server that speaks the Prometheus HTTP API."""

    def __init__(
        self,
        url: str,
        *,
        bearer_token: Any = None,
        basic_auth_user: str | None = None,
        basic_auth_password: Any = None,
        headers: Mapping[str, Any] | None = None,
        tls_verify: bool = True,
        tls_ca_file: str | PathLike[str] | None = None,
        tls_client_cert: str | PathLike[str] | None = None,
        tls_client_key: str | PathLike[str] | None = None,
        timeout_s: float = 10.0,
        retries: int = 2,
        max_points_per_series: int = 11_000,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        if not isinstance(url, str) or not url.strip():
            raise ConfigError("No backend URL given", hint="Pass the server's base URL, e.g. http://localhost:9090")
        clean, url_user, url_password = split_credentials(url.strip())
        user = basic_auth_user if basic_auth_user is not None else url_user
        password = _secret(basic_auth_password) if basic_auth_password is not None else url_password
        if password is not None and user is None:
            raise ConfigError("A basic-auth password is set without a user", hint="Set basic_auth_user too")
        if not (timeout_s > 0):
            raise ConfigError(f"timeout_s must be positive, got {timeout_s!r}")
        if retries < 0:
            raise ConfigError(f"retries must be >= 0, got {retries!r}")
        self.name = clean
        self.url = clean
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.max_points_per_series = int(max_points_per_series)
        self.max_response_bytes = int(max_response_bytes)
        self._session = build_session(
            bearer_token=_secret(bearer_token),
            basic_auth=(user, password or "") if user is not None else None,
            headers={str(k): _secret(v) or "" for k, v in (headers or {}).items()},
            tls_verify=tls_verify,
            tls_ca_file=str(tls_ca_file) if tls_ca_file is not None else None,
            tls_client_cert=str(tls_client_cert) if tls_client_cert is not None else None,
            tls_client_key=str(tls_client_key) if tls_client_key is not None else None,
        )
        self._guard = ResponseGuard(self.max_response_bytes, self.timeout_s)
        self._session.hooks["response"].append(self._guard)
        self._client_obj: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> PrometheusBackend:
        """The backend named by ``settings.backend_url`` with its auth, TLS, timeout and limits."""
        if not settings.backend_url:
            raise ConfigError("No backend URL configured",
                              hint="Pass --backend URL or set PROMV5_BACKEND_URL")
        return cls(
            settings.backend_url,
            bearer_token=settings.bearer_token,
            basic_auth_user=settings.basic_auth_user,
            basic_auth_password=settings.basic_auth_password,
            headers=settings.headers,
            tls_verify=settings.tls_verify,
            tls_ca_file=settings.tls_ca_file,
            tls_client_cert=settings.tls_client_cert,
            tls_client_key=settings.tls_client_key,
            timeout_s=settings.timeout_s,
            retries=settings.retries,
            max_points_per_series=settings.max_points_per_series,
            max_response_bytes=int(getattr(settings, "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES)),
        )

    def __repr__(self) -> str:
        return f"PrometheusBackend({self.name!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> PrometheusBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing --------------------------------------------------------------------------------------

    @property
    def _client(self) -> Any:
        if self._client_obj is None:
            from prometheus_api_client import PrometheusConnect

            # The session carries auth/TLS; urllib3 retries stay off (http.call_with_retries retries).
            self._client_obj = PrometheusConnect(
                url=self.url, session=self._session, retry=no_urllib3_retries(),
                timeout=cast(Any, self._timeouts()),
            )
        return self._client_obj

    def _timeouts(self) -> tuple[float, float]:
        return (self.timeout_s, self.timeout_s)

    def _call(self, fn: Any, ctx: CallContext) -> Any:
        self._guard.reset_warnings()
        return call_with_retries(fn, ctx, timeout_s=self.timeout_s, retries=self.retries)

    def _ctx(self, endpoint: str, **kw: Any) -> CallContext:
        return CallContext(url=self.url, endpoint=endpoint, max_points=self.max_points_per_series, **kw)

    def _api(self, path: str, params: Mapping[str, Any] | None = None, *, promql: str | None = None) -> Any:
        """GET ``/api/v1/<path>`` directly and return its ``data`` (for endpoints the client lacks)."""
        endpoint = f"/api/v1/{path}"

        def fetch() -> Any:
            r = self._session.get(self.url + endpoint, params=dict(params or {}), timeout=self._timeouts())
            body = r.json()
            if body.get("status") != "success":
                raise ValueError(f"status {body.get('status')!r}")
            return body["data"]

        return self._call(fetch, self._ctx(endpoint, promql=promql))

    def _frame(self, result_type: str, result: Any, promql: str) -> Any:
        """The tidy frame of a query's ``result``; a body that is not the documented shape is a BackendError."""
        from ..frames import from_prometheus

        try:
            return from_prometheus(result_type, result)
        except (TypeError, ValueError, KeyError, IndexError) as exc:
            raise BackendError(
                f"{self.url} answered {promql!r} with a {result_type} result that is not the Prometheus API's shape"
                f" ({type(exc).__name__}: {str(exc)[:200]})",
                url=self.url, hint="Check that backend_url points at a Prometheus-compatible /api/v1 (not a proxy"
                " page or another service)",
            ) from exc

    # -- MetricsBackend ----------------------------------------------------------------------------------

    def query(self, promql: str, time: datetime | float | str | None = None) -> QueryResult:
        """Evaluate ``promql`` at one instant (default: now, recorded in the provenance)."""
        from ..frames import from_prometheus

        promql = _check_promql(promql)
        at = as_utc(time) if time is not None else datetime.now(timezone.utc)
        result_type, result = self._call(
            lambda: _typed(self._client.custom_query(promql, params={"time": f"{at.timestamp():.3f}"})),
            self._ctx("/api/v1/query", promql=promql),
        )
        return QueryResult(
            frame=self._frame(result_type, result, promql),
            result_type=result_type,
            provenance=Provenance(promql=promql, backend=self.name, kind="instant", time=at),
            warnings=self._guard.warnings,
        )

    def query_range(self, promql: str, time_range: TimeRange) -> QueryResult:
        """Evaluate ``promql`` over a range; refuses before sending if a series would exceed the limit."""
        from ..frames import from_prometheus

        promql = _check_promql(promql)
        if not isinstance(time_range, TimeRange):
            raise InputError("query_range() needs a TimeRange", hint="e.g. TimeRange.last('1h', step='30s')")
        # PrometheusConnect sends whole seconds; the provenance records exactly what was sent.
        start = datetime.fromtimestamp(round(time_range.start.timestamp()), tz=timezone.utc)
        end = datetime.fromtimestamp(round(time_range.end.timestamp()), tz=timezone.utc)
        sent = TimeRange(start, end, time_range.step_s)
        points = sent.points()
        if points > self.max_points_per_series:
            step = suggest_step(sent.seconds, self.max_points_per_series)
            raise ResultTooLarge(
                f"A range of {format_step(sent.seconds)} at step {format_step(sent.step_s)} is"
                f" {points:,} points"
                f" per series, over the limit of {self.max_points_per_series:,}",
                points=points, limit=self.max_points_per_series, url=self.url,
                hint=f"Use step={format_step(step)} or coarser, or a shorter range",
            )
        ctx = self._ctx("/api/v1/query_range", promql=promql, points=points, range_s=sent.seconds)
        result = self._call(
            lambda: self._client.custom_query_range(promql, start, end, f"{sent.step_s:g}"),
            ctx,
        )
        return QueryResult(
            frame=self._frame("matrix", result, promql),
            result_type="matrix",
            provenance=Provenance(promql=promql, backend=self.name, kind="range", range=sent),
            warnings=self._guard.warnings,
        )

    # -- MetricCatalogue ---------------------------------------------------------------------------------

    def series(self, match: str | Sequence[str], start: datetime | float | str | None = None,
               end: datetime | float | str | None = None) -> list[dict[str, str]]:
        """Label sets of the series matching any selector in ``match`` (optionally within start..end)."""
        selectors = _selectors(match, required=True)
        params: dict[str, Any] = {"match[]": selectors}
        params.update(_window(start, end))
        data = self._api("series", params, promql=" or ".join(selectors))
        return sorted((dict(s) for s in data), key=lambda s: sorted(s.items()))

    def label_names(self, match: Sequence[str] = ()) -> list[str]:
        """Label names (optionally only on series matching ``match``)."""
        params = {"match[]": _selectors(match)} if match else {}
        data = self._call(lambda: self._client.get_label_names(params=params),
                          self._ctx("/api/v1/labels", promql=" or ".join(_selectors(match)) or None))
        return sorted(str(x) for x in data)

    def label_values(self, label: str, match: Sequence[str] = ()) -> list[str]:
        """Values of one label (``__name__`` lists metric names)."""
        if not isinstance(label, str) or not _LABEL_NAME.match(label):
            raise InputError(f"{label!r} is not a label name",
                             hint="Label names match [a-zA-Z_][a-zA-Z0-9_]*")
        params = {"match[]": _selectors(match)} if match else {}
        ctx = self._ctx(f"/api/v1/label/{label}/values", promql=" or ".join(_selectors(match)) or None)
        data = self._call(lambda: self._client.get_label_values(label, params=params), ctx)
        return sorted(str(x) for x in data)

    def metric_names(self) -> list[str]:
        return self.label_values("__name__")

    def metadata(self, metric: str | None = None) -> dict[str, MetricMetadata]:
        """TYPE/HELP/UNIT per metric family, as the server knows it.

        Prometheus learns metadata from scrapes only: a backfilled history has none until something with
        those metric names is scraped. VictoriaMetrics 1.79 answers with an empty map.
        """
        params = {"metric": metric} if metric else {}
        data = self._api("metadata", params) or {}
        out: dict[str, MetricMetadata] = {}
        for name, entries in sorted(data.items()):
            if not entries:
                continue
            first = entries[0]
            mtype = str(first.get("type") or "unknown").lower()
            out[name] = MetricMetadata(
                name=name,
                type=cast(Any, mtype if mtype in _METRIC_TYPES else "unknown"),
                help=str(first.get("help") or ""),
                unit=str(first.get("unit") or ""),
            )
        return out

    # -- RuleSource --------------------------------------------------------------------------------------

    def targets(self) -> list[Target]:
        """Active scrape targets with their health and last error."""
        data = self._api("targets", {"state": "active"}) or {}
        return [
            Target(
                scrape_url=str(t.get("scrapeUrl", "")),
                health=str(t.get("health", "unknown")),
                labels={str(k): str(v) for k, v in (t.get("labels") or {}).items()},
                last_error=str(t.get("lastError") or ""),
            )
            for t in data.get("activeTargets") or []
        ]

    def alerts(self) -> list[AlertInfo]:
        """Pending and firing alerts from the server's rule evaluation."""
        data = self._api("alerts") or {}
        out = []
        for a in data.get("alerts") or []:
            labels = {str(k): str(v) for k, v in (a.get("labels") or {}).items()}
            out.append(AlertInfo(
                name=labels.get("alertname", ""),
                state=str(a.get("state", "")),
                labels=labels,
                annotations={str(k): str(v) for k, v in (a.get("annotations") or {}).items()},
                active_at=_parse_time(a.get("activeAt")),
                value=_parse_float(a.get("value")),
            ))
        return out

    def rules(self) -> list[RuleInfo]:
        """Every alerting and recording rule, with its group and health."""
        data = self._api("rules") or {}
        out = []
        for group in data.get("groups") or []:
            for r in group.get("rules") or []:
                kind = "alerting" if r.get("type") == "alerting" else "recording"
                out.append(RuleInfo(
                    name=str(r.get("name", "")),
                    kind=kind,
                    query=str(r.get("query", "")),
                    group=str(group.get("name", "")),
                    health=str(r.get("health") or "unknown"),
                    labels={str(k): str(v) for k, v in (r.get("labels") or {}).items()},
                ))
        return out

    # -- status ------------------------------------------------------------------------------------------

    def buildinfo(self) -> dict[str, str]:
        """The server's ``/api/v1/status/buildinfo`` (version, revision...)."""
        data = self._api("status/buildinfo") or {}
        return {str(k): str(v) for k, v in data.items()}

    def ping(self) -> float:
        """Round-trip seconds of a trivial query; raises :class:`BackendUnavailable` / :class:`AuthError`."""
        t0 = _time.perf_counter()
        self._api("query", {"query": "1"}, promql="1")
        return _time.perf_counter() - t0


def _check_promql(promql: Any) -> str:
    if not isinstance(promql, str) or not promql.strip():
        raise InputError("Empty PromQL query", hint="e.g. up, or rate(http_requests_total[5m])")
    return promql.strip()


def _selectors(match: str | Sequence[str], *, required: bool = False) -> list[str]:
    items = [match] if isinstance(match, str) else list(match)
    items = [str(m).strip() for m in items if str(m).strip()]
    if required and not items:
        raise InputError("series() needs at least one selector", hint='e.g. series(\'{service="checkout"}\')')
    return items


def _window(start: Any, end: Any) -> dict[str, str]:
    out = {}
    if start is not None:
        out["start"] = f"{as_utc(start).timestamp():.3f}"
    if end is not None:
        out["end"] = f"{as_utc(end).timestamp():.3f}"
    return out


def _typed(result: Any) -> tuple[str, Any]:
    """``custom_query`` returns only ``data.result``: a list of samples (vector) or ``[t, v]`` (scalar)."""
    if isinstance(result, list) and (not result or isinstance(result[0], dict)):
        return "vector", result
    if isinstance(result, list) and len(result) == 2:
        try:
            float(result[1])
            return "scalar", result
        except (TypeError, ValueError):
            return "string", result
    raise ValueError("unexpected instant query result shape")


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        # Prometheus sends RFC 3339 with nanoseconds; fromisoformat takes at most microseconds.
        text = re.sub(r"(\.\d{6})\d+", r"\1", str(value))
        return as_utc(text)
    except InputError:
        return None


def _parse_float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
