"""promv5-lab: an AI-native investigation environment for Prometheus.

``import promv5_lab`` is kept fast: heavy and optional dependencies load on first use.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from ._lazy import lazy_exports

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

# public name -> module that defines it (imported on first attribute access)
_LAZY = {
    "Settings": "config",
    "load_settings": "config",
    "TimeRange": "types",
    "QueryResult": "types",
    "Provenance": "types",
    "to_wide": "frames",
    "open_backend": "backends",
    "PrometheusBackend": "backends.prometheus",
    "Promv5Error": "errors",
}

__all__ = ["__version__", "load_ipython_extension", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from .backends import open_backend
    from .backends.prometheus import PrometheusBackend
    from .config import Settings, load_settings
    from .errors import Promv5Error
    from .frames import to_wide
    from .types import Provenance, QueryResult, TimeRange


__getattr__ = lazy_exports(__name__, _LAZY, globals())


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext promv5_lab``: registers ``%ask``, ``%%ask``, ``%promv5``, ``%report``, ``%voice``, ``%screenshot``."""
    import importlib
    import logging as _logging

    from .errors import Promv5Error
    from .ui.magics import load_ipython_extension as _load

    _load(ipython)
    # the other surfaces' magics (%report, %voice, %screenshot): one failing part does not break the rest
    for name in ("report_magic", "voice_magic", "vision_magic"):
        try:
            importlib.import_module(f".ui.{name}", __name__).register_magics(ipython)
        except (ImportError, AttributeError, Promv5Error) as exc:  # reported, as in the capability table
            _logging.getLogger(__name__).warning("%%%s magics not available: %s", name.split("_")[0], exc)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """The Jupyter server extension (``/promv5/*`` endpoints); jupyter_server loads only when Jupyter calls this."""
    from .server import _jupyter_server_extension_points as _points

    return _points()


def __dir__() -> list[str]:
    return sorted(__all__)
