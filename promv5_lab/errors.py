"""The whole exception tree of promv5-lab.

Every error the package raises on purpose derives from :class:`Promv5Error`. Foreign exceptions
(requests, pydantic, pyarrow...) are translated at the boundary with ``raise ... from exc``::

    Promv5Error
    ├── ConfigError                 a setting or argument is wrong (hint says which and how to fix)
    │   └── PolicyError             a remediation policy file or policy is invalid (file, policy, field)
    ├── MissingDependencyError      an optional package is absent (names the extra to install)
    ├── InputError                  user input (a duration, a time, a request body) cannot be understood
    ├── BackendError                something went wrong talking to a telemetry backend
    │   ├── BackendUnavailable      the URL cannot be reached within the timeout
    │   ├── AuthError               401/403 from the backend
    │   ├── QueryError              the backend rejected a query (carries PromQL and errorType)
    │   └── ResultTooLarge          a result would exceed the point limit (suggests a coarser step)
    ├── HarnessError                a local server (prometheus, promtool...) failed to start or backfill
    ├── ActionError                 a remediation action could not be planned or was refused
    ├── AuditError                  the remediation audit log holds an entry that cannot be read
    └── DemoError                   the demo world refused a request
        └── UnknownFault            no such fault type or fault id

Every error has a one-line ``message`` and an optional ``hint`` that tells the user what to do next.
Errors that belong to one part are defined here and re-exported where they are raised
(``promv5_lab.remediate.policy.PolicyError`` is this ``PolicyError``). Modules may keep private exception
classes for control flow (``backends.http.HttpStatusError``...) only when they are translated into this tree
before reaching a caller; ``tests/unit/test_errors_tree.py`` lists them.
"""

from __future__ import annotations

__all__ = [
    "Promv5Error",
    "ConfigError",
    "MissingDependencyError",
    "InputError",
    "BackendError",
    "BackendUnavailable",
    "AuthError",
    "QueryError",
    "ResultTooLarge",
    "HarnessError",
    "PolicyError",
    "ActionError",
    "AuditError",
    "DemoError",
    "UnknownFault",
]


class Promv5Error(Exception):
    """Root of every promv5-lab error: a short message plus an optional hint."""

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\nHint: {self.hint}"
        return self.message


class ConfigError(Promv5Error):
    """A setting, option or argument has a value that cannot work."""


class MissingDependencyError(Promv5Error):
    """An optional dependency is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"This feature needs the optional package '{module}', which is not installed.",
            hint=f'pip install "promv5-lab[{extra}]"',
        )
        self.module = module
        self.extra = extra


class InputError(Promv5Error):
    """Input from a user (duration, timestamp, request body, question) cannot be understood."""


class BackendError(Promv5Error):
    """Base class for failures talking to a telemetry backend."""

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.url = url


class BackendUnavailable(BackendError):
    """The backend cannot be reached (connection refused, DNS, timeout, 5xx after retries)."""


class AuthError(BackendError):
    """The backend answered 401 or 403."""

    def __init__(self, message: str, *, url: str | None = None, status: int, hint: str | None = None):
        super().__init__(message, url=url, hint=hint)
        self.status = status


class QueryError(BackendError):
    """The backend rejected a query; carries the PromQL and Prometheus's ``errorType``."""

    def __init__(
        self,
        message: str,
        *,
        promql: str,
        error_type: str = "bad_data",
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, url=url, hint=hint)
        self.promql = promql
        self.error_type = error_type


class ResultTooLarge(BackendError):
    """A query would return more points than allowed; a coarser step or shorter range fixes it."""

    def __init__(self, message: str, *, points: int, limit: int, url: str | None = None, hint: str | None = None):
        super().__init__(message, url=url, hint=hint)
        self.points = points
        self.limit = limit


class HarnessError(Promv5Error):
    """A locally started server or tool (prometheus, promtool, victoria-metrics) failed."""


class PolicyError(ConfigError):
    """A policy file or policy is invalid: names the file, the policy, the field and how to fix it."""


class ActionError(Promv5Error):
    """A remediation action could not be planned or was refused (not allow-listed, bad target...)."""


class AuditError(Promv5Error):
    """An entry of the remediation audit log cannot be read (edited by hand, or a different file)."""


class DemoError(Promv5Error):
    """The demo world refused a request (bad fault, bad action...)."""


class UnknownFault(DemoError):
    """No such fault type, or no active fault with that id."""
