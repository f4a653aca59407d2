"""Exported reports: postmortem, forecast/capacity and remediation, as HTML, Markdown and PDF.

Builders gather a frozen report model from a backend (plus optional logs, traces, audit log);
renderers write it::

    from promv5_lab.report import build_postmortem, export
    pm = build_postmortem(backend, incident=incident)       # or at=..., diagnosis=...
    export(pm, "postmortem.html")                           # .md (PNGs beside it) or .pdf (Chromium)

Heavy dependencies (jinja2, matplotlib, statsmodels, playwright) load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "build_postmortem": "postmortem",
    "build_forecast_report": "forecast",
    "build_remediation_report": "remediation",
    "export": "render",
    "render_html": "render",
    "render_markdown": "render",
    "Postmortem": "models",
    "ForecastReport": "models",
    "RemediationReport": "models",
}

__all__ = ["ForecastReport", "Postmortem", "RemediationReport", "build_forecast_report", "build_postmortem",
           "build_remediation_report", "export", "render_html", "render_markdown"]

if TYPE_CHECKING:  # pragma: no cover
    from .forecast import build_forecast_report
    from .models import ForecastReport, Postmortem, RemediationReport
    from .postmortem import build_postmortem
    from .remediation import build_remediation_report
    from .render import export, render_html, render_markdown

__getattr__ = lazy_exports(__name__, _LAZY, globals())
