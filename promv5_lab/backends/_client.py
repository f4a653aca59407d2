"""What the Loki, Tempo, Jaeger and Alertmanager clients share: one :class:`~.signals.http.JsonHttp` session
(auth, TLS, retries, byte caps, HTTP errors mapped into the package's error tree), an optional tenant header,
and closing it (``close()`` or ``with``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .signals.http import JsonHttp

__all__ = ["RemoteClient"]


class RemoteClient:
    """A client of one HTTP JSON service. Subclasses set ``WHAT`` (for messages) and ``TENANT_HEADER``."""

    WHAT = "the server"
    TENANT_HEADER = "X-Scope-OrgID"  # Grafana Loki/Tempo/Mimir's tenant header

    def __init__(self, url: str, *, tenant: str | None = None, headers: Mapping[str, Any] | None = None,
                 **http_options: Any) -> None:
        hdrs = dict(headers or {})
        if tenant:
            hdrs[self.TENANT_HEADER] = tenant
        self.http = JsonHttp(url, what=self.WHAT, headers=hdrs, **http_options)
        self.url = self.name = self.http.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    def close(self) -> None:
        self.http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
