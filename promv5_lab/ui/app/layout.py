"""The Panel app's page: a conversation, the fleet overview, and the backend selector with its status.

Callbacks are called on Panel's event loop in the order the browser sent its events. A slow one is a job of the
page (``work.PageJobs``): the handler reads its inputs, the work runs on the app's worker threads, and its progress
line, result or error reach the page through the page's one FIFO of changes (``work.PageUpdates``), in order.
Every error is a message in the page (``pn.pane.Alert``), never a dead page: a ``Promv5Error`` shows its message
and hint; anything else is logged and shown as a short internal error.
Text from the backend (label values, answers) goes into Markdown panes escaped.
"""

from __future__ import annotations

import html
import logging
from typing import Any

from ..._deps import require
from ...errors import Promv5Error
from .state import AppContext, Overview, SessionState, capabilities
from .work import PageJobs, PageUpdates

__all__ = ["create_page"]

log = logging.getLogger(__name__)

QUESTION_NAME = "promv5-question"  # the question box's CSS class: tests find it by this stable name


def md_escape(text: str) -> str:
    """Escape Markdown and HTML metacharacters in untrusted text (label values, log lines, questions)."""
    out = html.escape(str(text), quote=True)
    for ch in "\\`*_{}[]()#+!|~>":
        out = out.replace(ch, "\\" + ch)
    return out


def error_pane(exc: BaseException) -> Any:
    pn = require("panel", "app")
    if isinstance(exc, Promv5Error):
        text = f"**{md_escape(exc.message)}**" + (f"<br>Hint: {md_escape(exc.hint)}" if exc.hint else "")
    else:
        log.exception("internal error in the app", exc_info=exc)
        text = f"**Something went wrong inside promv5-lab** ({type(exc).__name__}). The server log has details."
    return pn.pane.Alert(text, alert_type="danger", css_classes=["promv5-error"])


def busy_line(text: str, css: str = "promv5-busy") -> Any:
    """A job's progress: a spinner and what it is doing (shown until its result or error replaces it)."""
    pn = require("panel", "app")
    return pn.Row(pn.indicators.LoadingSpinner(value=True, size=24, margin=(5, 10)),
                  pn.pane.Markdown(md_escape(text), css_classes=[css]), sizing_mode="stretch_width")


def answer_view(ans: Any) -> Any:
    """One answer: the sentence, the PromQL (copyable), the chart, clarification candidates."""
    pn = require("panel", "app")
    parts: list[Any] = [pn.pane.Markdown(md_escape(ans.answer), css_classes=["promv5-answer"])]
    if ans.clarification is not None and ans.clarification.candidates:
        parts.append(pn.pane.Markdown("Did you mean: " + ", ".join(
            f"`{html.escape(c)}`" for c in ans.clarification.candidates)))
    if ans.promql:
        parts.append(pn.pane.Markdown(f"```promql\n{ans.promql}\n```", css_classes=["promv5-promql"]))
    if ans.details:  # a routed answer's findings and provenance (every backend string escaped)
        from ..magics import render_details

        try:
            extra = render_details(ans.details)
        except Exception as exc:  # details are extra: the answer above stands without them (the log has why)
            log.warning("could not show the answer's details: %s: %s", type(exc).__name__, exc, exc_info=True)
            extra = "*(details could not be shown; the server log says why)*"
        if extra:
            parts.append(pn.pane.Markdown(extra, css_classes=["promv5-details"], sizing_mode="stretch_width"))
    if ans.charts or (ans.result is not None and not ans.result.frame.empty):
        try:
            from ..charts import answer_chart

            c = answer_chart(ans, height=280)
            if c is not None:
                parts.append(pn.pane.HoloViews(c if ans.charts else c.opts(responsive=True, height=320),
                                               sizing_mode="stretch_width", css_classes=["promv5-chart"]))
        except Exception as exc:  # a chart is optional: the answer above stands without it
            log.info("no chart: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
    return pn.Column(*parts, sizing_mode="stretch_width")


def heatmap(ov: Overview) -> Any:
    """Services x time, coloured by the max anomaly score in each bucket."""
    pn = require("panel", "app")
    hv = require("holoviews", "app")
    require("holoviews.plotting.bokeh", "app")
    import pandas as pd

    if not ov.cells:
        return pn.pane.Markdown("No series to score. " + " ".join(md_escape(n) for n in ov.notes))
    df = pd.DataFrame(ov.cells, columns=["series", "time", "score"])
    df["time"] = pd.to_datetime(df["time"], utc=True).dt.tz_localize(None)
    hm = hv.HeatMap(df, ["time", "series"], "score").opts(
        cmap="Reds", clim=(0.0, 1.0), colorbar=True, responsive=True, height=max(220, 22 * df.series.nunique()),
        tools=["hover"], xlabel="time (UTC)", ylabel="signal/series", title="Anomaly score (0-1), last hours")
    return pn.pane.HoloViews(hm, sizing_mode="stretch_width", css_classes=["promv5-heatmap"])


def overview_view(ctx: AppContext, session: SessionState, refresh: bool = False) -> Any:
    pn = require("panel", "app")
    ov = ctx.overview(refresh=refresh) if session.backend_label == "default" else _session_overview(session)
    rows = [heatmap(ov)]
    if ov.anomalies:
        table = "| series | from | to | peak score |\n|---|---|---|---|\n" + "\n".join(
            f"| {md_escape(r)} | {a:%Y-%m-%d %H:%M} | {b:%H:%M} | {s:.2f} |" for r, a, b, s in ov.anomalies[-30:])
        rows.append(pn.pane.Markdown("### Anomalies\n" + table, css_classes=["promv5-anomalies"]))
    else:
        rows.append(pn.pane.Markdown("### Anomalies\nNone above the learned thresholds in this window.",
                                    css_classes=["promv5-anomalies"]))
    rows.append(_alerts_view(session.backend))
    rows.append(pn.pane.Markdown("<details><summary>Queries and model</summary>\n\n" + "\n".join(
        f"- {md_escape(sig)}: `{q}`" for sig, q in ov.queries) + "\n\n- detector: promv5_lab.analysis.learn.detect "
        f"(per-series learned thresholds); scanned in {ov.elapsed_s:.1f} s\n" +
        "".join(f"- note: {md_escape(n)}\n" for n in ov.notes) + "\n</details>"))
    return pn.Column(*rows, sizing_mode="stretch_width")


def _session_overview(session: SessionState) -> Overview:
    from .state import scan_overview

    return scan_overview(session.backend, now=session.ctx.now, cache_dir=session.ctx.settings.cache_dir)


def _alerts_view(backend: Any) -> Any:
    pn = require("panel", "app")
    if not hasattr(backend, "alerts"):
        return pn.pane.Markdown("### Active alerts\nThis backend has no alerting rules (the embedded engine).")
    try:
        alerts = backend.alerts()
    except Promv5Error as exc:
        return error_pane(exc)
    if not alerts:
        return pn.pane.Markdown("### Active alerts\nNone.")
    return pn.pane.Markdown("### Active alerts\n| alert | state | labels |\n|---|---|---|\n" + "\n".join(
        f"| {md_escape(a.name)} | {md_escape(a.state)} | {md_escape(', '.join(f'{k}={v}' for k, v in a.labels.items()))} |"
        for a in alerts[:50]))


def status_view(session: SessionState) -> Any:
    pn = require("panel", "app")
    try:
        rows = capabilities(session.backend)
    except Promv5Error as exc:
        return error_pane(exc)
    table = "| capability | state | detail |\n|---|---|---|\n" + "\n".join(
        f"| {md_escape(a)} | {md_escape(b)} | {md_escape(c)} |" for a, b, c in rows)
    return pn.pane.Markdown(table, css_classes=["promv5-status"])


_INTAKE: tuple[type, type] | None = None


def intake_classes() -> tuple[type, type]:
    """``(QuestionBox, SendButton)``: Panel's chat input and button that hand a question over the moment its
    message arrives from the browser (classes built on first use: Panel is imported lazily).

    Panel runs a browser event either at once or, when a typed value's update is still pending, on a later
    tick; a question sent after another could so be taken first (a follow-up answered before the one asked
    before it). Bokeh calls a model's own event handlers while it applies the message, and it applies one
    page's messages one after the other in the order the browser sent them, so questions taken there keep the
    order they were sent in. ``on_send(text)`` must be quick and thread-safe (it queues; see :func:`chat_box`).
    """
    global _INTAKE
    if _INTAKE is None:
        pn = require("panel", "app")

        class QuestionBox(pn.chat.ChatAreaInput):
            """The question box: Enter sends the text (the browser's event carries it, not a separate value)."""

            def __init__(self, on_send: Any = None, **params: Any) -> None:
                super().__init__(**params)
                self._on_send = on_send
                self._served: list[Any] = []  # its Bokeh models in served pages (a click reads the typed text there)

            def _get_model(self, doc: Any, root: Any = None, parent: Any = None, comm: Any = None) -> Any:
                model = super()._get_model(doc, root, parent, comm)
                if comm is None and doc is not None and doc.session_context is not None and self._on_send:
                    model.on_event("chat_message_event", lambda event: self._on_send(str(event.value or "")))
                    self._served.append(model)
                return model

            def take_typed(self, doc: Any) -> str:
                """The text typed in the page ``doc`` (its latest update has arrived: it was sent before the
                click that asks for it), and empty the box there."""
                for model in reversed(self._served):
                    if model.document is doc:
                        text = str(model.value_input or "")
                        model.value_input = ""
                        return text
                return ""

        class SendButton(pn.widgets.Button):
            """The Send button: a click is taken when it arrives, like an Enter in the box."""

            def __init__(self, on_click_arrived: Any = None, **params: Any) -> None:
                super().__init__(**params)
                self._on_arrived = on_click_arrived

            def _get_model(self, doc: Any, root: Any = None, parent: Any = None, comm: Any = None) -> Any:
                model = super()._get_model(doc, root, parent, comm)
                if comm is None and doc is not None and doc.session_context is not None and self._on_arrived:
                    model.on_event("button_click", lambda _event: self._on_arrived(doc))
                return model

        _INTAKE = (QuestionBox, SendButton)
    return _INTAKE


def chat_box(session: SessionState, page: PageUpdates | None = None) -> Any:
    """The conversation: a feed, a status line and the question box.

    Every question is shown and queued the moment it is sent, and answered in the order asked, one at a time
    (:class:`~promv5_lab.ui.app.queue.AskQueue`), also while an earlier answer is still running; the status line
    says what is being answered and how many wait. (Panel's ``ChatInterface`` dropped a question sent while
    its callback was busy.) The order is kept by construction, at each step:

    - taken: in the order the browser sent them, when each message arrives (:func:`intake_classes`);
    - queued: one FIFO with one worker; each question gets the next number;
    - shown: every change to the feed and the status line goes through the page's one FIFO of changes
      (:class:`~promv5_lab.ui.app.work.PageUpdates`), a question's own message before it is queued (so before
      its answer), and an answer is shown only after every answer numbered before it (held back otherwise,
      with an error in the log: that would be a bug).
    """
    pn = require("panel", "app")
    from .queue import Asked, AskQueue, QueueState

    QuestionBox, SendButton = intake_classes()
    doc = pn.state.curdoc
    page = page if page is not None else PageUpdates(doc)
    feed = pn.chat.ChatFeed(
        # a string message (the user's own question) is shown as text, never as HTML/Markdown that could run
        renderers=[lambda value: pn.pane.Markdown(md_escape(value)) if isinstance(value, str) else value],
        sizing_mode="stretch_both", min_height=450)
    status = pn.pane.Markdown("", visible=False, css_classes=["promv5-chat-status"], sizing_mode="stretch_width")
    shown = {"questions": 0, "answers": 0}
    held_back: dict[int, Any] = {}

    def show_question(question: str) -> None:  # a page change
        feed.send(question, user="You", respond=False, trigger_post_hook=False)
        shown["questions"] += 1
        show_answers()

    def show_answers() -> None:  # a page change: every answer whose turn has come
        while shown["answers"] + 1 in held_back and shown["answers"] < shown["questions"]:
            view = held_back.pop(shown["answers"] + 1)
            feed.send(view, user="promv5-lab", respond=False, trigger_post_hook=False)
            shown["answers"] += 1
        if held_back:
            log.error("answers %s wait for answer %d: the chat's answers arrived out of order",
                      sorted(held_back), shown["answers"] + 1)

    def work(question: str) -> Any:
        return answer_view(session.ask(question))

    def deliver(asked: Asked, result: Any) -> None:  # on the queue's worker, in the questions' order
        view = error_pane(result) if isinstance(result, BaseException) else result
        if asked.waited:  # other messages came in between: say which question this answers
            view = pn.Column(pn.pane.Markdown(f"Answer to: *{md_escape(asked.text)}*", css_classes=["promv5-answer-to"]),
                             view, sizing_mode="stretch_width")

        def show() -> None:
            held_back[asked.number] = view
            show_answers()

        page(show)

    def notify(state: QueueState) -> None:  # under the queue's lock: the states reach the page in their order
        text = state.describe()
        page(lambda: status.param.update(object=md_escape(text), visible=bool(text)))

    queue = AskQueue(work, deliver, notify, before=lambda asked: page(lambda: show_question(asked.text)))
    if doc is not None:
        pn.state.on_session_destroyed(lambda _ctx: queue.close())

    def take(question: str) -> None:  # in the order sent; quick: shown and queued, answered on the queue's worker
        if question:
            queue.submit(question)

    box = QuestionBox(on_send=take, placeholder="Ask, e.g. 'p95 latency by service'", css_classes=[QUESTION_NAME],
                      sizing_mode="stretch_width")
    send = SendButton(on_click_arrived=lambda page_doc: take(box.take_typed(page_doc)), label="Send", icon="send",
                      width=90, align="center")
    if page.served is False:  # no server (a notebook preview, a test): Panel's own events, in the caller's order
        box.param.watch(lambda event: take(str(event.new or "")), "value")

        def clicked(_event: Any) -> None:
            text = box.value_input or box.value
            box.param.update(value_input="")
            take(str(text or ""))

        send.on_click(clicked)
    return pn.Column(status, feed, pn.Row(box, send, sizing_mode="stretch_width"),
                     sizing_mode="stretch_both", css_classes=["promv5-chat"])


def page_jobs() -> PageJobs:
    """The served page's changes (one FIFO) and its slow jobs; call where the page is built (on its loop)."""
    pn = require("panel", "app")
    jobs = PageJobs(PageUpdates(pn.state.curdoc))
    if pn.state.curdoc is not None and jobs.page.served:
        pn.state.on_session_destroyed(lambda _ctx: jobs.close())
    return jobs


def backend_tab(ctx: AppContext, session: SessionState, jobs: PageJobs, show_overview: Any) -> Any:
    """The backend selector and its capability status. 'Connect' is a job of the "backend" lane (the overview's
    lane too: a scan never runs on a backend that a Connect is replacing)."""
    pn = require("panel", "app")
    target = pn.widgets.TextInput(label="Backend (Prometheus URL, data directory, or 'demo')",
                                  value=session.backend_label if session.backend_label != "default" else "demo",
                                  css_classes=["promv5-backend-target"])
    connect = pn.widgets.Button(label="Connect")
    backend_msg = pn.Column(sizing_mode="stretch_width")
    status_box = pn.Column(status_view(session), sizing_mode="stretch_width")

    def clicked(_e: Any) -> None:  # on the loop: the typed value that came before the click is applied
        url = str(target.value or "")

        def work() -> tuple[bool, Any, Any]:
            try:
                msg = session.connect(url)
                note = pn.pane.Alert(md_escape(msg), alert_type="success", css_classes=["promv5-connected"])
            except Exception as exc:  # noqa: BLE001 - the message for this URL; the status still refreshes
                return False, error_pane(exc), status_view(session)
            return True, note, status_view(session)

        def show(result: tuple[bool, Any, Any]) -> None:
            connected, note, status = result
            backend_msg.objects = [note]
            status_box.objects = [status]
            if connected:  # a failed Connect left the session's backend as it was: its overview stands
                show_overview(False)

        def fail(exc: BaseException) -> None:
            backend_msg.objects = [error_pane(exc)]

        jobs.run("backend", work, show, fail=fail, what="backend connect",
                 busy=lambda: setattr(backend_msg, "objects", [busy_line(f"Connecting to {url or 'demo'}...")]))

    connect.on_click(clicked)
    return pn.Column(pn.Row(target, connect), backend_msg, status_box, sizing_mode="stretch_width")


def create_page(ctx: AppContext) -> Any:
    """The whole page for one browser session."""
    pn = require("panel", "app")
    from .panes import diagnosis_tab, media_tab, report_tab
    from .remediation import remediation_tab

    session = SessionState(ctx)
    jobs = page_jobs()  # one FIFO of page changes: the chat's, every job's
    ask_box = chat_box(session, jobs.page)  # registers its queue's end first: no question answered on a closed session
    if pn.state.curdoc is not None:
        pn.state.on_session_destroyed(lambda _ctx: session.close())

    overview_box = pn.Column(pn.pane.Markdown("Scanning the fleet for anomalies..."), sizing_mode="stretch_width")
    refresh = pn.widgets.Button(label="Refresh overview")

    def show_overview(force: bool) -> None:  # a job of the "backend" lane (see backend_tab)
        def show(view: Any) -> None:
            overview_box.objects = [view]

        jobs.run("backend", lambda: overview_view(ctx, session, refresh=force), show, what="overview",
                 fail=lambda exc: setattr(overview_box, "objects", [error_pane(exc)]),
                 busy=lambda: setattr(overview_box, "objects", [busy_line("Scanning the fleet for anomalies...")]))

    refresh.on_click(lambda _e: show_overview(True))
    tabs = pn.Tabs(
        ("Ask", ask_box),
        ("Overview", pn.Column(refresh, overview_box, sizing_mode="stretch_width")),
        ("Diagnose", diagnosis_tab(session, jobs)),
        ("Remediate", remediation_tab(session, ctx.audit_path, jobs)),
        ("Reports", report_tab(session, jobs)),
        ("Voice & screenshots", media_tab(session, jobs)),
        ("Backend", backend_tab(ctx, session, jobs, show_overview)),
        dynamic=True, sizing_mode="stretch_both")  # only the open tab is rendered: a faster first render
    if jobs.page.served:
        pn.state.onload(lambda: show_overview(False))
    else:  # used outside a server (e.g. a notebook preview, the warm-up): the job runs at once
        show_overview(False)
    header = pn.pane.Markdown("## promv5-lab", margin=(0, 10))
    return pn.Column(header, tabs, sizing_mode="stretch_both")
