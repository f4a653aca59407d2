"""HTTP plumbing shared by live backends: one session, one guard on responses, one error mapping.

* :func:`build_session` puts auth (bearer / basic / custom headers) and TLS options on a
  ``requests.Session`` once, so every call - through ``prometheus-api-client`` or directly - uses them.
* :class:`ResponseGuard` is a ``requests`` response hook. ``requests`` dispatches response hooks *before*
  it reads the body (when not streaming), so the guard can read the body itself with a byte cap and a
  deadline: a gigantic or trickling answer raises instead of filling the kernel's memory or hanging it.
  It also turns any non-2xx answer into an internal :class:`HttpStatusError` carrying the parsed
  Prometheus error payload.
* :func:`call_with_retries` is the one code path that maps failures to the promv5 error tree
  (:class:`BackendUnavailable`, :class:`AuthError`, :class:`QueryError`, :class:`ResultTooLarge`), retrying
  only connection failures and 502/503/504 (never 4xx/422, never a query the server timed out), with a
  small backoff and within the overall timeout.

Secrets live only in the session's headers/auth: no message, repr or log line here includes them.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

from ..errors import AuthError, BackendError, BackendUnavailable, ConfigError, QueryError, ResultTooLarge

if TYPE_CHECKING:  # pragma: no cover
    import requests

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_MAX_RESPONSE_BYTES = 200_000_000
ERROR_BODY_BYTES = 256_000  # error answers are short; never read more than this of one
RETRY_STATUSES = frozenset({502, 503, 504})
# errorTypes that are the server's verdict on the query itself: retrying cannot help.
QUERY_VERDICTS = frozenset({"timeout", "canceled", "execution", "bad_data", "not_acceptable"})
NICE_STEPS_S = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)

_TOO_MANY_POINTS = re.compile(r"maximum resolution|too many points|maxPointsPerTimeseries", re.I)
_TOO_MANY_SAMPLES = re.compile(r"too many samples|maxSamplesPerQuery|maxUniqueTimeseries|maxSeries", re.I)


def split_credentials(url: str) -> tuple[str, str | None, str | None]:
    """``http://u:p@host/x`` -> (``http://host/x``, ``u``, ``p``); the URL part is safe to print."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"Backend URL {redact_url(url)!r} is not an http(s) URL",
            hint="Use the server's base URL, e.g. http://localhost:9090",
        )
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    netloc = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    if parts.port:
        netloc += f":{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))
    return clean, user, password


def redact_url(url: str) -> str:
    """The URL with any ``user:password@`` removed (best effort; never raises)."""
    return re.sub(r"(://)[^/@]*@", r"\1", url)


def suggest_step(seconds: float, limit: int) -> float:
    """The smallest conventional step that keeps a range of ``seconds`` within ``limit`` points."""
    need = seconds / max(limit - 1, 1)
    for step in NICE_STEPS_S:
        if step >= need:
            return float(step)
    return float(math.ceil(need / 86400) * 86400)


def format_step(step_s: float) -> str:
    """A Prometheus duration for a step in seconds (``30s``, ``5m``, ``1h``, ``1.5s``)."""
    if step_s >= 86400 and step_s % 86400 == 0:
        return f"{int(step_s // 86400)}d"
    if step_s >= 3600 and step_s % 3600 == 0:
        return f"{int(step_s // 3600)}h"
    if step_s >= 60 and step_s % 60 == 0:
        return f"{int(step_s // 60)}m"
    return f"{step_s:g}s"


def build_session(
    *,
    bearer_token: str | None = None,
    basic_auth: tuple[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    tls_verify: bool = True,
    tls_ca_file: str | None = None,
    tls_client_cert: str | None = None,
    tls_client_key: str | None = None,
) -> requests.Session:
    """A session carrying auth and TLS options, with urllib3's own retries off (we retry ourselves)."""
    import requests
    from requests.adapters import HTTPAdapter

    if bearer_token and basic_auth:
        raise ConfigError(
            "Both a bearer token and basic auth are set; a request can carry only one Authorization",
            hint="Unset one of bearer_token / basic_auth_user+basic_auth_password",
        )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=no_urllib3_retries())
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    for key, value in (headers or {}).items():
        session.headers[str(key)] = str(value)
    if bearer_token:
        session.headers["Authorization"] = f"Bearer {bearer_token}"
    if basic_auth:
        session.auth = basic_auth
    if tls_ca_file is not None and tls_verify:
        session.verify = str(tls_ca_file)
    else:
        session.verify = bool(tls_verify)
    if tls_client_key and not tls_client_cert:
        raise ConfigError("tls_client_key is set without tls_client_cert", hint="Set both, or neither")
    if tls_client_cert:
        session.cert = (str(tls_client_cert), str(tls_client_key)) if tls_client_key else str(tls_client_cert)
    return session


def no_urllib3_retries():
    """urllib3 ``Retry`` that never retries (``requests``' default): retries happen in one place, here."""
    from urllib3.util.retry import Retry

    return Retry(0, read=False, raise_on_status=False)


class HttpStatusError(Exception):
    """Internal: a non-2xx answer, with the Prometheus error payload when there is one."""

    def __init__(self, status: int, url: str, body: bytes) -> None:
        self.status = status
        self.url = redact_url(url)
        self.text = body[:2000].decode("utf-8", "replace").strip()
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        self.payload: dict[str, Any] = payload if isinstance(payload, dict) else {}
        self.error_type = str(self.payload.get("errorType") or "")
        self.error = str(self.payload.get("error") or self.text or f"HTTP {status}")
        super().__init__(f"HTTP {status} from {self.url}: {self.error[:300]}")

    @property
    def retryable(self) -> bool:
        return self.status in RETRY_STATUSES and self.error_type not in QUERY_VERDICTS


class BodyTooLarge(Exception):
    """Internal: the answer exceeded the byte cap while being read."""

    def __init__(self, read: int, limit: int) -> None:
        super().__init__(f"response larger than {limit} bytes (read {read})")
        self.read = read
        self.limit = limit


class BodyTimeout(Exception):
    """Internal: the answer kept trickling in past the deadline."""


class ResponseGuard:
    """A response hook: reads bodies with a byte cap and a deadline, raises on non-2xx answers.

    It also remembers the ``warnings`` of the last answer in this thread (Prometheus sends them next
    to ``data``; the client library drops them).
    """

    def __init__(self, max_bytes: int, timeout_s: float) -> None:
        self.max_bytes = int(max_bytes)
        self.timeout_s = float(timeout_s)
        self._local = threading.local()

    def reset_warnings(self) -> None:
        self._local.warnings = []

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(getattr(self._local, "warnings", ()))

    def __call__(self, response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("stream"):
            return response
        import requests

        is_error = response.status_code >= 400
        limit = ERROR_BODY_BYTES if is_error else self.max_bytes
        declared = response.headers.get("Content-Length", "")
        if not is_error and declared.isdigit() and int(declared) > limit:
            response.close()
            raise BodyTooLarge(int(declared), limit)
        buf = bytearray()
        deadline = time.monotonic() + self.timeout_s
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                buf += chunk
                if len(buf) > limit:
                    if is_error:
                        break
                    response.close()
                    raise BodyTooLarge(len(buf), limit)
                if time.monotonic() > deadline:
                    response.close()
                    raise BodyTimeout(f"answer still arriving after {self.timeout_s:g}s ({len(buf)} bytes)")
        except requests.RequestException as exc:  # a read timeout or broken stream mid-body
            response.close()
            raise BodyTimeout(f"answer broken off after {len(buf)} bytes: {type(exc).__name__}") from exc
        response._content = bytes(buf)  # what requests itself does when it reads a body
        response._content_consumed = True
        if is_error:
            response.close()
            raise HttpStatusError(response.status_code, response.url, bytes(buf))
        if b'"warnings"' in buf[:200] or b'"warnings"' in buf[-4096:]:
            try:
                found = json.loads(bytes(buf)).get("warnings") or []
                getattr(self._local, "warnings", []).extend(str(w) for w in found)
            except (ValueError, AttributeError):
                pass
        return response


@dataclass(frozen=True)
class CallContext:
    """What a call is about, for error messages: the backend URL, the endpoint, the PromQL."""

    url: str
    endpoint: str
    promql: str | None = None
    points: int = 0
    range_s: float = 0.0
    max_points: int = 11_000


def call_with_retries(fn: Callable[[], T], ctx: CallContext, *, timeout_s: float, retries: int,
                      backoff_s: float = 0.1) -> T:
    """Run ``fn`` (one HTTP exchange + parsing); retry transient failures; map every failure."""
    import requests

    started = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except HttpStatusError as exc:
            if exc.retryable and _may_retry(attempt, retries, started, timeout_s, backoff_s):
                log.info("%s answered HTTP %d; retry %d/%d", ctx.url, exc.status, attempt, retries)
                continue
            raise map_status(exc, ctx) from exc
        except BodyTooLarge as exc:
            raise ResultTooLarge(
                f"The answer from {ctx.url} ({ctx.endpoint}) is larger than {exc.limit:,} bytes",
                points=ctx.points, limit=ctx.max_points, url=ctx.url,
                hint=_smaller_hint(ctx) + " (or raise max_response_bytes if you really need it all)",
            ) from exc
        except BodyTimeout as exc:
            raise BackendUnavailable(
                f"{ctx.url} did not finish answering {ctx.endpoint}: {exc}", url=ctx.url,
                hint="Ask for less (coarser step, shorter range, aggregate)"
                     " or raise timeout_s (PROMV5_TIMEOUT_S)",
            ) from exc
        except requests.exceptions.SSLError as exc:
            raise BackendUnavailable(
                f"TLS handshake with {ctx.url} failed: {_ssl_reason(exc)}", url=ctx.url,
                hint="If the server uses a private CA, set tls_ca_file (PROMV5_TLS_CA_FILE) to its"
                     " certificate;"
                     " tls_verify=false skips verification (testing only)",
            ) from exc
        except requests.exceptions.ConnectionError as exc:
            # ConnectTimeout is a ConnectionError too: both mean "could not reach it".
            if _may_retry(attempt, retries, started, timeout_s, backoff_s):
                log.info("cannot reach %s (%s); retry %d/%d", ctx.url, type(exc).__name__, attempt, retries)
                continue
            raise BackendUnavailable(
                f"Cannot reach {ctx.url} ({_conn_reason(exc)}) after {attempt} attempt(s)", url=ctx.url,
                hint="Check the URL and that the server is running and reachable from here"
                     " (--backend / PROMV5_BACKEND_URL)",
            ) from exc
        except requests.exceptions.Timeout as exc:
            raise BackendUnavailable(
                f"{ctx.url} did not answer {ctx.endpoint} within {timeout_s:g}s", url=ctx.url,
                hint="The server accepted the connection but sent nothing back: check it is a Prometheus API,"
                     " or raise timeout_s (PROMV5_TIMEOUT_S) for slow queries",
            ) from exc
        except requests.exceptions.InvalidJSONError as exc:
            raise _not_prometheus(ctx) from exc
        except requests.RequestException as exc:
            raise BackendError(f"Request to {ctx.url} ({ctx.endpoint}) failed: {type(exc).__name__}",
                               url=ctx.url) from exc
        except (ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:  # not the API's JSON
            raise _not_prometheus(ctx) from exc


def _not_prometheus(ctx: CallContext) -> BackendError:
    return BackendError(
        f"{ctx.url} answered {ctx.endpoint} with something that is not a Prometheus API response",
        url=ctx.url,
        hint="Use the server's base URL (e.g. http://host:9090, without /api/v1 or /graph)",
    )


def _may_retry(attempt: int, retries: int, started: float, timeout_s: float, backoff_s: float) -> bool:
    if attempt > retries:
        return False
    pause = backoff_s * (2 ** (attempt - 1))
    if time.monotonic() - started + pause >= timeout_s:
        return False
    time.sleep(pause)
    return True


def map_status(exc: HttpStatusError, ctx: CallContext) -> BackendError:
    """Translate a non-2xx answer into the promv5 error a user can act on."""
    status, url = exc.status, ctx.url
    if status in (401, 403):
        what = ("rejected the credentials (401 Unauthorized)" if status == 401
                else "refused access (403 Forbidden)")
        hint = ("Set a bearer token (PROMV5_BEARER_TOKEN) or basic auth (PROMV5_BASIC_AUTH_USER and"
                " PROMV5_BASIC_AUTH_PASSWORD) that this server accepts")
        if status == 403:
            hint = ("The credentials were read but are not allowed here: check the token's permissions or"
                    " tenant header (headers), or use another account")
        return AuthError(f"{url} {what} for {ctx.endpoint}", url=url, status=status, hint=hint)
    message = exc.error
    if _TOO_MANY_POINTS.search(message):
        # Use the server's own limit when it states one ("maximum resolution of 11,000 points").
        stated = re.search(r"resolution of ([\d,]+) points|maxPointsPerTimeseries=(\d+)", message)
        limit = int((stated.group(1) or stated.group(2)).replace(",", "")) if stated else ctx.max_points
        ctx = CallContext(ctx.url, ctx.endpoint, ctx.promql, ctx.points, ctx.range_s, limit)
        return ResultTooLarge(
            f"{url} refused the query: {message}", points=ctx.points, limit=limit, url=url,
            hint=_smaller_hint(ctx),
        )
    if _TOO_MANY_SAMPLES.search(message):
        return ResultTooLarge(
            f"{url} refused the query: {message}", points=ctx.points, limit=ctx.max_points, url=url,
            hint="Aggregate first (sum by (service) (...)), select fewer series, or shorten the range",
        )
    if ctx.promql is not None and (status in (400, 422) or exc.error_type in QUERY_VERDICTS):
        kind = exc.error_type or str(status)
        hints = {
            "bad_data": "Check the PromQL syntax and the parameters (time, step, range)",
            "execution": "The query is valid but failed while running: check label matching and types",
            "timeout": "Ask for less (shorter range, coarser step, aggregate)"
                       " or raise the server's query timeout",
            "canceled": "The server canceled the query (overload or shutdown); try again later",
        }
        return QueryError(
            f"{url} rejected the query ({kind}): {message}", promql=ctx.promql, error_type=kind, url=url,
            hint=hints.get(kind, "Check the PromQL and the time range"),
        )
    if status == 404:
        return BackendError(
            f"{url} has no {ctx.endpoint} endpoint (HTTP 404)", url=url,
            hint="Use the server's base URL (include any path prefix, but not /api/v1); not every"
                 " Prometheus-compatible server implements every endpoint",
        )
    if status >= 500:
        return BackendUnavailable(
            f"{url} failed on {ctx.endpoint}: HTTP {status} {message[:300]}", url=url,
            hint="The server (or a proxy in front of it) is in trouble; try again, or check its logs",
        )
    return BackendError(f"{url} answered {ctx.endpoint} with HTTP {status}: {message[:300]}", url=url)


def _smaller_hint(ctx: CallContext) -> str:
    if ctx.range_s > 0:
        step = suggest_step(ctx.range_s, ctx.max_points)
        return f"Use a coarser step (step={format_step(step)} or more) or a shorter range"
    return "Ask for less: aggregate (sum by ...), select fewer series, or shorten the range"


def _conn_reason(exc: Exception) -> str:
    text = str(exc)
    for needle, reason in (("Connection refused", "connection refused"), ("timed out", "connect timed out"),
                           ("Name or service not known", "unknown host"),
                           ("nodename nor servname", "unknown host"),
                           ("Temporary failure in name resolution", "unknown host"),
                           ("RemoteDisconnected", "closed the connection without answering"),
                           ("Connection reset", "connection reset")):
        if needle in text:
            return reason
    return type(exc).__name__


def _ssl_reason(exc: Exception) -> str:
    text = str(exc)
    m = re.search(r"certificate verify failed: ([^(')\]]+)", text)
    if m:
        return f"certificate verify failed ({m.group(1).strip()})"
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return "the server does not speak TLS on this port (use http://?)"
    return type(exc).__name__
