"""The Jupyter server extension: promv5-lab's REST API inside JupyterLab, under ``/promv5/``.

``GET /promv5/status`` (capability table), ``POST /promv5/ask`` {"question", "backend"?, "data"?, "at"?} (the
answer as ``Investigation.ask(q).to_json()`` gives it; follow-ups keep their context per backend),
``POST /promv5/reset`` (forget a conversation), ``POST /promv5/transcribe`` (audio -> transcript),
``POST /promv5/screenshot`` (image -> panel findings). Every endpoint needs Jupyter's token (and XSRF for
browser cookies); errors are JSON: 400 bad input, 404 unknown endpoint, 409 a conversation already busy,
413 a body too large, 502 the backend failed, 503 an optional dependency is missing.

Enabled by ``jupyter-config/server-config/promv5_lab.json`` (installed into ``etc/jupyter``); this module
stays light: jupyter_server and tornado load in :mod:`.app` and :mod:`.handlers`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points"]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import Promv5LabApp

    return [{"module": "promv5_lab.server", "app": Promv5LabApp}]
