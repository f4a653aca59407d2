"""A small JSON-over-HTTP client for Loki, Tempo, Jaeger and Alertmanager, with the promv5 error mapping.

It reuses :mod:`promv5_lab.backends.http` (one ``requests`` session with auth/TLS, the response guard that
caps body size and read time) and maps failures itself, because these are not Prometheus APIs:

* cannot connect / timeout / 502-504 after retries  -> :class:`BackendUnavailable`
* 401 / 403                                         -> :class:`AuthError`
* 400 / 422 on a query                              -> :class:`QueryError` (``promql`` holds the LogQL/TraceQL)
* other non-2xx, or an answer that is not JSON      -> :class:`BackendError`

Secrets (bearer token, basic-auth password, headers, credentials in the URL) live only in the session;
no message, repr or log line here includes them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from ...errors import AuthError, BackendError, BackendUnavailable, QueryError, ResultTooLarge
from ..http import (
    DEFAULT_MAX_RESPONSE_BYTES,
    BodyTimeout,
    BodyTooLarge,
    HttpStatusError,
    ResponseGuard,
    build_session,
    redact_url,
    split_credentials,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_STATUSES = frozenset({502, 503, 504})


class JsonHttp:
    """One base URL, one session; ``get``/``post``/``delete`` return parsed JSON or raise promv5 errors."""

    OPTIONS = frozenset({"bearer_token", "basic_auth", "headers", "timeout_s", "retries", "tls_verify",
                         "tls_ca_file", "tls_client_cert", "tls_client_key", "max_response_bytes"})

    def __init__(self, url: str, *, what: str, bearer_token: Any = None, basic_auth: tuple[str, Any] | None = None,
                 headers: Mapping[str, Any] | None = None, timeout_s: float = 10.0, retries: int = 2,
                 tls_verify: bool = True, tls_ca_file: str | None = None, tls_client_cert: str | None = None,
                 tls_client_key: str | None = None, max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES) -> None:
        clean, user, password = split_credentials(url)
        if user is not None and basic_auth is None:
            basic_auth = (user, password or "")
        self.url = clean
        self.what = what
        self.timeout_s = float(timeout_s)
        self.retries = int(retries)
        self.session = build_session(
            bearer_token=_secret(bearer_token),
            basic_auth=(basic_auth[0], _secret(basic_auth[1]) or "") if basic_auth else None,
            headers={k: _secret(v) or "" for k, v in (headers or {}).items()},
            tls_verify=tls_verify, tls_ca_file=tls_ca_file, tls_client_cert=tls_client_cert,
            tls_client_key=tls_client_key)
        self.guard = ResponseGuard(max_response_bytes, self.timeout_s)
        self.session.hooks["response"].append(self.guard)

    def __repr__(self) -> str:
        return f"JsonHttp({self.what}, {self.url!r})"

    def close(self) -> None:
        self.session.close()

    # ---- calls ---------------------------------------------------------------------------------------------
    def get(self, path: str, params: Mapping[str, Any] | None = None, *, endpoint: str | None = None,
            query: str | None = None, missing_ok: bool = False) -> Any:
        """GET ``path`` -> parsed JSON (None on 404 when ``missing_ok``)."""
        return self.request("GET", path, params=params, endpoint=endpoint, query=query, missing_ok=missing_ok)

    def post(self, path: str, body: Any, *, endpoint: str | None = None) -> Any:
        return self.request("POST", path, json_body=body, endpoint=endpoint)

    def delete(self, path: str, *, endpoint: str | None = None) -> Any:
        return self.request("DELETE", path, endpoint=endpoint, expect_json=False)

    def text(self, path: str, *, endpoint: str | None = None, missing_ok: bool = False) -> str | None:
        return self.request("GET", path, endpoint=endpoint, missing_ok=missing_ok, expect_json=False)

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json_body: Any = None,
                endpoint: str | None = None, query: str | None = None, missing_ok: bool = False,
                expect_json: bool = True) -> Any:
        endpoint = endpoint or path
        full = self.url + path

        def once() -> Any:
            r = self.session.request(method, full, params=dict(params or {}), json=json_body,
                                     timeout=(min(self.timeout_s, 10.0), self.timeout_s))
            if not expect_json:
                return r.text
            if not r.content.strip():
                return None
            return r.json()

        try:
            return self._with_retries(once, endpoint, query)
        except _Missing:
            if missing_ok:
                return None
            raise BackendError(f"{self.url} has no {endpoint} (HTTP 404) - is this a {self.what}?", url=self.url,
                               hint=f"Check the URL points at the {self.what}'s base address") from None

    def _with_retries(self, fn: Callable[[], T], endpoint: str, query: str | None) -> T:
        import requests

        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            try:
                return fn()
            except HttpStatusError as exc:
                if exc.status == 404:
                    raise _Missing() from exc
                if exc.status in RETRY_STATUSES and self._may_retry(attempt, started):
                    continue
                raise self._map_status(exc, endpoint, query) from exc
            except BodyTooLarge as exc:
                raise ResultTooLarge(f"The answer of {self.url} to {endpoint} is larger than {exc.limit:,} bytes",
                                     points=0, limit=exc.limit, url=self.url,
                                     hint="Ask for less: a shorter range, a smaller limit, or one service") from exc
            except BodyTimeout as exc:
                raise BackendUnavailable(f"{self.url} did not finish answering {endpoint}: {exc}", url=self.url,
                                         hint="Ask for less, or raise timeout_s") from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if isinstance(exc, requests.exceptions.ConnectionError) and self._may_retry(attempt, started):
                    continue
                reason = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "cannot connect"
                raise BackendUnavailable(
                    f"Cannot reach the {self.what} at {self.url} ({reason}, {endpoint}) after {attempt} attempt(s)",
                    url=self.url, hint=f"Check the URL and that the {self.what} is running and reachable") from exc
            except requests.RequestException as exc:
                raise BackendError(f"Request to {self.url} ({endpoint}) failed: {type(exc).__name__}",
                                   url=self.url) from exc
            except ValueError as exc:  # r.json() on something that is not JSON
                raise BackendError(f"{self.url} answered {endpoint} with something that is not JSON",
                                   url=self.url, hint=f"Check the URL points at a {self.what}") from exc

    def _may_retry(self, attempt: int, started: float) -> bool:
        if attempt > self.retries:
            return False
        pause = 0.1 * (2 ** (attempt - 1))
        if time.monotonic() - started + pause >= self.timeout_s:
            return False
        time.sleep(pause)
        return True

    def _map_status(self, exc: HttpStatusError, endpoint: str, query: str | None) -> BackendError:
        errors = exc.payload.get("errors")  # Jaeger: {"errors": [{"code": 400, "msg": "..."}]}
        jaeger = errors[0].get("msg") if isinstance(errors, list) and errors and isinstance(errors[0], dict) else None
        message = str(exc.payload.get("message") or exc.payload.get("error") or jaeger or _json_string(exc.text)
                      or f"HTTP {exc.status}")
        message = message[:500]
        if exc.status in (401, 403):
            return AuthError(
                f"The {self.what} at {self.url} {'rejected the credentials' if exc.status == 401 else 'refused access'}"
                f" (HTTP {exc.status}) for {endpoint}", url=self.url, status=exc.status,
                hint="Pass a bearer token, basic auth or the tenant header this server accepts")
        if exc.status in (400, 422) and query is not None:
            return QueryError(f"The {self.what} at {self.url} rejected the query: {message}", promql=query,
                              error_type="bad_data", url=self.url, hint="Check the query and the time range")
        if exc.status >= 500:
            return BackendUnavailable(f"The {self.what} at {self.url} failed on {endpoint}: HTTP {exc.status} {message}",
                                      url=self.url, hint="The server is in trouble; try again or check its logs")
        return BackendError(f"The {self.what} at {self.url} answered {endpoint} with HTTP {exc.status}: {message}",
                            url=self.url)


class _Missing(Exception):
    """Internal: HTTP 404."""


def _json_string(text: str) -> str:
    """Alertmanager answers some errors with a bare JSON string ("silence not found"): unquote it."""
    import json

    try:
        got = json.loads(text)
    except ValueError:
        return text
    return got if isinstance(got, str) else text


def _secret(value: Any) -> str | None:
    """A plain string from a str or a pydantic ``SecretStr`` (None stays None)."""
    if value is None:
        return None
    getter = getattr(value, "get_secret_value", None)
    return str(getter() if getter else value)


__all__ = ["JsonHttp", "redact_url"]
