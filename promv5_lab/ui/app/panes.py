"""The app's diagnosis and report tabs: "why?" with the evidence, and reports to download.

Both run on the session's backend; for an embedded data directory that also holds the demo world's
``logs.jsonl`` / ``traces.jsonl`` those join the diagnosis. Text from the backend and the logs is escaped.
"""

from __future__ import annotations

import logging
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from ..._deps import require
from ...errors import InputError
from .layout import answer_view, busy_line, error_pane, md_escape, page_jobs
from .state import SessionState
from .work import PageJobs

__all__ = ["diagnosis_tab", "media_tab", "report_tab", "signals_for"]

log = logging.getLogger(__name__)


def data_dir_of(backend: Any) -> Path | None:
    name = str(getattr(backend, "name", ""))
    if name.startswith("embedded:"):
        return Path(name.split(":", 1)[1])
    return None


def signals_for(backend: Any) -> tuple[Any, Any]:
    """Logs and traces stores beside an embedded data directory, when it has them."""
    d = data_dir_of(backend)
    logs = traces = None
    if d is not None and (d / "logs.jsonl").exists():
        from ...backends.logs import open_logs

        logs = open_logs(d)
    if d is not None and (d / "traces.jsonl").exists():
        from ...backends.traces import open_traces

        traces = open_traces(d)
    return logs, traces


def _at(session: SessionState, text: str) -> Any:
    from ...types import as_utc

    text = (text or "").strip()
    if not text or text == "now":
        return session.investigation.now
    try:
        return as_utc(text)
    except InputError:
        raise
    except (ValueError, TypeError) as exc:
        raise InputError(f"Cannot read the time {text!r}", hint="ISO 8601, e.g. 2026-11-27T14:05:00Z, or 'now'") from exc


def evidence_charts(backend: Any, diag: Any, limit: int = 2) -> list[Any]:
    """Charts of the top cause's metric evidence over its own time range (the query shown beside it): the
    diagnosis answer's typed panels (:func:`promv5_lab.nl.insight_charts.evidence_panels`), drawn like every
    answer chart (:func:`promv5_lab.ui.charts.panel_chart`: units on the axis, the evidence window shaded)."""
    pn = require("panel", "app")
    from ...nl.insight_charts import evidence_panels, guarded
    from ..charts import panel_chart

    return [pn.pane.HoloViews(panel_chart(p, height=260), sizing_mode="stretch_width",
                              css_classes=["promv5-evidence-chart"])
            for p in guarded(evidence_panels, backend, diag, limit=limit)]


def diagnosis_view(diag: Any) -> Any:
    pn = require("panel", "app")
    if not diag.root_causes:
        return pn.pane.Markdown("No candidate cause stands out in this window.", css_classes=["promv5-diagnosis"])
    rows = "\n".join(f"| {i} | {md_escape(rc.service)} | {md_escape(rc.kind)} | {rc.confidence:.2f} | "
                     f"{md_escape(rc.summary)} |" for i, rc in enumerate(diag.root_causes[:5], 1))
    parts = [f"### Root causes at {diag.at:%Y-%m-%d %H:%M} UTC (diagnosed in {diag.elapsed_s:.1f} s)\n"
             "| # | service | kind | confidence | why |\n|---|---|---|---|---|\n" + rows]
    top = diag.top
    if top is not None and top.evidence:
        ev = []
        for e in top.evidence[:12]:
            line = f"- **{md_escape(e.kind)}**: {md_escape(e.summary)}"
            if e.promql:
                line += f"<br>`{html_code(e.promql)}`"
            ev.append(line)
        parts.append(f"### Evidence for {md_escape(top.service)}\n" + "\n".join(ev))
    if diag.timeline:
        parts.append("### Timeline\n" + "\n".join(
            f"- {t.at:%H:%M:%S} {md_escape(t.kind)} {md_escape(t.service or '')}: {md_escape(t.summary)}"
            for t in diag.timeline[:25]))
    return pn.pane.Markdown("\n\n".join(parts), css_classes=["promv5-diagnosis"], sizing_mode="stretch_width")


def html_code(text: str) -> str:
    """PromQL inside inline code: backticks cannot close the span early; HTML stays text."""
    import html

    return html.escape(text).replace("`", "'")


def diagnosis_tab(session: SessionState, jobs: PageJobs | None = None) -> Any:
    pn = require("panel", "app")
    jobs = jobs or page_jobs()
    when = pn.widgets.TextInput(label="At (ISO 8601 UTC, or 'now')", value="now", css_classes=["promv5-diag-at"])
    go = pn.widgets.Button(label="Diagnose")
    out = pn.Column(pn.pane.Markdown("Ask *why*: the ranked likely causes at a time, with their evidence."),
                    sizing_mode="stretch_width")

    def clicked(_e: Any) -> None:  # on the loop: read the time typed before the click, then queue the work
        at_text = str(when.value or "")

        def work() -> list[Any]:
            from ...analysis.rootcause import diagnose

            logs, traces = signals_for(session.backend)
            diag = diagnose(session.backend, _at(session, at_text), logs=logs, traces=traces)
            return [diagnosis_view(diag), *evidence_charts(session.backend, diag)]

        jobs.run("diagnose", work, lambda views: setattr(out, "objects", views), what="diagnosis",
                 fail=lambda exc: setattr(out, "objects", [error_pane(exc)]),
                 busy=lambda: setattr(out, "objects", [busy_line(f"Diagnosing at {at_text or 'now'}...")]))

    go.on_click(clicked)
    return pn.Column(pn.Row(when, go), out, sizing_mode="stretch_width")


KINDS = ("postmortem", "forecast")
FORMATS = ("html", "md", "pdf")


def build_report_file(session: SessionState, kind: str, fmt: str, at_text: str, out_dir: Path) -> Path:
    """Build one report and write it in ``fmt``; Markdown comes as a zip with its PNG charts."""
    if kind not in KINDS:
        raise InputError(f"Unknown report kind {kind!r}", hint=" or ".join(KINDS))
    if fmt not in FORMATS:
        raise InputError(f"Unknown format {fmt!r}", hint=", ".join(FORMATS))
    from ...report import build_forecast_report, build_postmortem, export

    at = _at(session, at_text)
    if kind == "postmortem":
        logs, traces = signals_for(session.backend)
        report = build_postmortem(session.backend, at=at, logs=logs, traces=traces,
                                  turns=[a for a in session.answers if getattr(a, "plan", None) is not None])
    else:
        report = build_forecast_report(session.backend, at=at)
    path = export(report, out_dir / f"{kind}.{fmt}", fmt)  # type: ignore[arg-type]
    if fmt != "md":
        return path
    bundle = out_dir / f"{kind}-md.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(out_dir.rglob("*")):
            if f.is_file() and f != bundle and not f.name.endswith(".zip"):
                z.write(f, f.relative_to(out_dir))
    return bundle


def report_tab(session: SessionState, jobs: PageJobs | None = None) -> Any:
    pn = require("panel", "app")
    jobs = jobs or page_jobs()
    kind = pn.widgets.Select(label="Report", options=list(KINDS), value="postmortem")
    fmt = pn.widgets.Select(label="Format", options=list(FORMATS), value="html", css_classes=["promv5-report-format"])
    when = pn.widgets.TextInput(label="At (ISO 8601 UTC, or 'now')", value="now", css_classes=["promv5-report-at"])
    msg = pn.Column(sizing_mode="stretch_width")
    build = pn.widgets.Button(label="Build report", button_type="primary", css_classes=["promv5-build-report"])

    def clicked(_event: Any = None) -> None:
        """Build the file, then offer it as a link that carries the file itself: the download is a plain click in
        the browser. (Panel's callback FileDownload built the file on the server and then had the browser click
        a link by itself; in some sessions that second step never came, and the built report was lost.)"""
        what, how, at_text = str(kind.value), str(fmt.value), str(when.value or "")

        def work() -> Path:
            return build_report_file(session, what, how, at_text, Path(tempfile.mkdtemp(prefix="promv5-report-")))

        def show(path: Path) -> None:
            size = f"{path.stat().st_size // 1024} KiB"
            link = pn.widgets.FileDownload(file=str(path), filename=path.name, embed=True, button_type="success",
                                           label=f"Download {path.name} ({size})", css_classes=["promv5-download"])
            msg.objects = [pn.pane.Alert(f"Built {md_escape(path.name)} ({size}).", alert_type="success",
                                         css_classes=["promv5-report-ok"]), link]

        jobs.run("report", work, show, what="report build", fail=lambda exc: setattr(msg, "objects", [error_pane(exc)]),
                 busy=lambda: setattr(msg, "objects", [busy_line(f"Building the {what} report ({how})...",
                                                                 "promv5-report-busy")]))

    build.on_click(clicked)
    return pn.Column(pn.Row(kind, fmt, when), build, msg, sizing_mode="stretch_width")


def voice_result(session: SessionState, audio: bytes) -> dict[str, Any]:
    """A spoken question (a WAV/AIFF/FLAC upload) through the session's conversation; never approves anything."""
    from ...voice import respond

    if not audio:
        raise InputError("The upload is empty", hint="Choose a WAV, AIFF or FLAC recording")
    return respond(audio, session.investigation)


def screenshot_result(session: SessionState, image: bytes) -> Any:
    from ...vision import analyze

    if not image:
        raise InputError("The upload is empty", hint="Choose a PNG or JPEG screenshot")
    return analyze(image, settings=session.ctx.settings)


def media_tab(session: SessionState, jobs: PageJobs | None = None) -> Any:
    """Upload a spoken question or a dashboard screenshot."""
    pn = require("panel", "app")
    jobs = jobs or page_jobs()
    audio_in = pn.widgets.FileInput(accept=".wav,.aiff,.aif,.flac", css_classes=["promv5-audio-in"])
    image_in = pn.widgets.FileInput(accept=".png,.jpg,.jpeg", css_classes=["promv5-image-in"])
    out = pn.Column(sizing_mode="stretch_width")

    def heard(audio: bytes) -> list[Any]:
        res = voice_result(session, audio)
        parts = [pn.pane.Markdown(f"Heard: *{md_escape(res.get('transcript', ''))}* "
                                  f"(intent **{md_escape(res.get('intent', ''))}**)",
                                  css_classes=["promv5-heard"])]
        if res.get("proposal"):
            parts.append(pn.pane.Markdown("Proposed only (voice never approves): "
                                          + md_escape(str(res["proposal"])[:500])))
        last = session.investigation.history[-1].answer if session.investigation.history else None
        if last is not None and res.get("answer"):
            session.answers.append(last)
            parts.append(answer_view(last))
        return parts

    def seen(image: bytes) -> list[Any]:
        rep = screenshot_result(session, image)
        panels = rep.to_json()["panels"]
        rows = "\n".join(f"| {i} | {md_escape(p.get('title') or '')} | {'yes' if p['anomalous'] else 'no'} | "
                         f"{md_escape(p.get('kind') or '')} | {p['confidence']:.2f} |"
                         for i, p in enumerate(panels, 1))
        return [pn.pane.Markdown("| panel | title | anomalous | kind | confidence |\n|---|---|---|---|---|\n" + rows,
                                 css_classes=["promv5-panels"]),
                pn.pane.PNG(rep.annotated_png(), sizing_mode="scale_width")]

    def uploaded(fn: Any, what: str, doing: str) -> Any:
        def changed(event: Any) -> None:  # on the loop, as the upload arrives; the work runs as a job
            data = event.new or b""
            jobs.run("media", lambda: fn(data), lambda views: setattr(out, "objects", views), what=what,
                     fail=lambda exc: setattr(out, "objects", [error_pane(exc)]),
                     busy=lambda: setattr(out, "objects", [busy_line(doing)]))

        return changed

    audio_in.param.watch(uploaded(heard, "spoken question", "Listening to the recording..."), "value")
    image_in.param.watch(uploaded(seen, "screenshot", "Looking at the screenshot..."), "value")
    return pn.Column(pn.pane.Markdown("Ask by voice (a recording), or find what looks wrong in a dashboard "
                                      "screenshot."), pn.Row(pn.pane.Markdown("Spoken question:"), audio_in),
                     pn.Row(pn.pane.Markdown("Screenshot:"), image_in), out, sizing_mode="stretch_width")
