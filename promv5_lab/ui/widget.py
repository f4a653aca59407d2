"""``InvestigationWidget``: the investigation as ipywidgets, for a notebook.

A question box with a time-range picker, a metric explorer that searches the backend's catalogue (names
and HELP), the answer with its PromQL and chart, an anomalies table over the last answer's series, and the
approve/reject buttons of a proposed recovery (``propose(plan, audit)``)::

    from promv5_lab.ui.widget import InvestigationWidget
    w = InvestigationWidget(backend)      # or InvestigationWidget.connect(data_dir=...)
    w                                     # shows it; w.ask("p95 latency by service") works from code too

Everything from the backend (label values, HELP text) is HTML-escaped before it is shown.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from .._deps import require
from ..errors import Promv5Error

__all__ = ["InvestigationWidget"]

log = logging.getLogger(__name__)

RANGES = {"as asked": None, "last hour": "over the last hour", "last 6 hours": "over the last 6 hours",
          "last 24 hours": "over the last 24 hours", "last 7 days": "over the last 7 days"}


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


class InvestigationWidget:
    """The widget over one backend; ``investigation`` keeps the conversation (follow-ups work)."""

    def __init__(self, backend: Any, *, investigation: Any = None, now: Any = None, use_embeddings: bool = True,
                 cache_dir: Any = None) -> None:
        widgets = require("ipywidgets", "notebook")
        from ..investigation import Investigation

        self.backend = backend
        self.investigation = investigation or Investigation(backend, now=now, use_embeddings=use_embeddings,
                                                            cache_dir=cache_dir)
        self.last: Any = None
        self.question = widgets.Text(placeholder="Ask, e.g. 'p95 latency by service'", description="Question",
                                     layout=widgets.Layout(width="70%"))
        self.range = widgets.Dropdown(options=list(RANGES), value="as asked", description="Range")
        self.ask_button = widgets.Button(description="Ask", button_style="primary", icon="search")
        self.search = widgets.Text(placeholder="search metrics (name or description)", description="Metrics")
        self.matches = widgets.Select(options=[], rows=6, layout=widgets.Layout(width="95%"))
        self.use_metric = widgets.Button(description="Use in question")
        self.answer = widgets.HTML("")
        self.chart = widgets.Output()
        self.anomalies_button = widgets.Button(description="Find anomalies", icon="bolt")
        self.anomalies = widgets.HTML("")
        self.actions = widgets.VBox([])
        self.ask_button.on_click(lambda _b: self.ask())
        self.search.observe(lambda ch: self.find_metrics(ch["new"]), names="value")
        self.use_metric.on_click(lambda _b: self._use_metric())
        self.anomalies_button.on_click(lambda _b: self.find_anomalies())
        explorer = widgets.VBox([self.search, self.matches, self.use_metric])
        self.widget = widgets.VBox([
            widgets.HBox([self.question, self.range, self.ask_button]),
            widgets.Accordion(children=[explorer], titles=("Metric explorer",)),
            self.answer, self.chart, self.anomalies_button, self.anomalies, self.actions])

    @classmethod
    def connect(cls, backend_url: str | None = None, data_dir: str | None = None, **kw: Any) -> InvestigationWidget:
        """Open a backend from settings (URL, data directory, or the bundled demo) and build the widget."""
        from ..backends import telemetry
        from ..config import load_settings

        settings = load_settings(backend_url=backend_url, data_dir=data_dir)
        cm = telemetry(settings)
        backend = cm.__enter__()  # kept open for the widget's life (a notebook's kernel)
        w = cls(backend, cache_dir=settings.cache_dir, **kw)
        w._cm = cm
        return w

    # --- actions (buttons call these; code can too) --------------------------------------------------------

    def ask(self, question: str | None = None) -> Any:
        q = (question if question is not None else self.question.value).strip()
        if question is not None:
            self.question.value = question
        suffix = RANGES.get(self.range.value)
        if suffix and " over " not in q and " last " not in q and " since " not in q:
            q = f"{q} {suffix}"
        self.anomalies.value = ""
        self.chart.clear_output()
        try:
            ans = self.investigation.ask(q)
        except Promv5Error as exc:
            self.answer.value = self._error(exc)
            return None
        except Exception as exc:  # a message in the widget, never a traceback wall
            log.warning("ask failed: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            self.answer.value = self._error(Promv5Error(f"promv5-lab failed on this question ({type(exc).__name__})",
                                                        hint="Rephrase it or narrow the range"))
            return None
        self.last = ans
        parts = [f"<p class='promv5-answer{' promv5-error' if ans.error else ''}'>{_e(ans.answer)}</p>"]
        if ans.promql:
            parts.append(f"<pre class='promv5-promql'>{_e(ans.promql)}</pre>")
        if ans.clarification is not None and ans.clarification.candidates:
            parts.append("Did you mean: " + ", ".join(f"<code>{_e(c)}</code>" for c in ans.clarification.candidates))
        self.answer.value = "".join(parts)
        self._draw(ans)
        return ans

    def find_metrics(self, text: str, limit: int = 30) -> list[str]:
        from ..nl.catalogue import catalogue_for

        text = (text or "").strip().lower()
        if len(text) < 2:
            self.matches.options = []
            return []
        try:
            cat = catalogue_for(self.backend)
        except Promv5Error as exc:
            self.answer.value = self._error(exc)
            return []
        words = text.split()
        hits = [m for m in sorted(cat.metrics.values(), key=lambda m: m.name)
                if all(w in m.name.lower() or w in (m.help or "").lower() for w in words)]
        self.matches.options = [(f"{m.name} ({m.type}) - {(m.help or '')[:60]}", m.name) for m in hits[:limit]]
        return [m.name for m in hits[:limit]]

    def find_anomalies(self) -> Any:
        """Score the last answer's series with the learned detector; a table of the episodes."""
        from ..analysis.learn import detect
        from ..frames import to_wide

        ans = self.last
        if ans is None or ans.result is None or ans.plan is None or ans.plan.kind != "range":
            self.anomalies.value = "<i>Ask a question over a time range first (e.g. '... over the last day').</i>"
            return None
        wide = to_wide(ans.result.frame)
        if len(wide) < 30:
            self.anomalies.value = f"<i>Too few points to learn from ({len(wide)}); widen the range.</i>"
            return None
        try:
            res = detect(wide, progress=False)
        except Promv5Error as exc:
            self.anomalies.value = self._error(exc)
            return None
        rows = "".join(f"<tr><td>{_e(a.series)}</td><td>{a.start:%Y-%m-%d %H:%M}</td><td>{a.end:%H:%M}</td>"
                       f"<td>{a.peak_score:.2f}</td></tr>" for a in res.anomalies[-50:])
        self.anomalies.value = (
            "<table class='promv5-anomalies'><tr><th>series</th><th>from (UTC)</th><th>to</th><th>peak score</th>"
            f"</tr>{rows}</table>" if rows else "<i>No anomalies above the learned thresholds.</i>")
        return res

    def propose(self, plan: Any, audit: Any, **kw: Any) -> Any:
        """Show approve/reject buttons for a recovery plan (``promv5_lab.remediate``); returns that widget."""
        from .approval import ApprovalWidget

        w = ApprovalWidget(plan, self.backend, audit, **kw)
        self.actions.children = (*self.actions.children, w.widget)
        return w

    # --- helpers --------------------------------------------------------------------------------------------

    def _use_metric(self) -> None:
        if self.matches.value:
            self.question.value = (self.question.value + " " + self.matches.value).strip()

    def _draw(self, ans: Any) -> None:
        """The answer's chart (a query's series, or a routed answer's panels) with its y-axis unit."""
        if not ans.charts and (ans.result is None or ans.result.frame.empty):
            return
        try:
            from .charts import answer_chart

            c = answer_chart(ans)
        except Exception as exc:  # a chart is optional: the answer above stands without it
            log.info("no chart: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            return
        if c is not None:
            with self.chart:
                from IPython.display import display

                display(c)

    @staticmethod
    def _error(exc: Promv5Error) -> str:
        return (f"<div class='promv5-error'><b>{_e(exc.message)}</b>"
                + (f"<br>Hint: {_e(exc.hint)}" if exc.hint else "") + "</div>")

    def _repr_mimebundle_(self, **kw: Any) -> Any:
        return self.widget._repr_mimebundle_(**kw)
