"""Logs backends: an embedded DuckDB store (demo ``logs.jsonl`` or OTLP/JSON exports) and a Loki client.

:func:`open_logs` turns what a user typed (a directory, a file, a URL) into a :class:`~..base.LogsBackend`::

    open_logs("out/demo")                      # LogStore over out/demo/logs.jsonl
    open_logs("export/otlp-logs.json")         # LogStore over an OTLP/JSON export
    open_logs("http://loki:3100", bearer_token=...)   # LokiLogs (also loki+http:// / loki+https://)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..base import LogsBackend
    from .loki import LokiLogs
    from .store import LogStore

__all__ = ["LOG_SCHEMES", "LogStore", "LokiLogs", "open_logs"]

LOG_SCHEMES = ("http", "https", "loki+http", "loki+https", "file")


def open_logs(source: str | os.PathLike[str], **options: Any) -> LogsBackend:
    """A logs backend for ``source``: a path (embedded store) or a Loki URL.

    ``options`` go to the Loki client (``bearer_token``, ``basic_auth``, ``headers``, ``tenant``,
    ``timeout_s``, ``tls_verify``, ``tls_ca_file``, ``service_label``...); a local store takes none.
    """
    from ..signals import sources

    kind, target = sources.classify(source, LOG_SCHEMES, what="logs")
    if kind == "path":
        if options:
            from ...errors import ConfigError

            raise ConfigError(f"Options {sorted(options)} only apply to a Loki URL, not a local path")
        from .store import LogStore

        return LogStore.open(Path(target))
    from .loki import LokiLogs

    return LokiLogs(target, **options)


def __getattr__(name: str) -> Any:
    if name == "LogStore":
        from .store import LogStore

        return LogStore
    if name == "LokiLogs":
        from .loki import LokiLogs

        return LokiLogs
    raise AttributeError(name)
