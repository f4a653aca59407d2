"""Render reports: one self-contained HTML file, Markdown with PNG charts beside it, PDF via headless Chromium.

Templates are Jinja2 (``templates/{kind}.html.j2`` and ``{kind}.md.j2``, kind = postmortem | forecast |
remediation). A folder given as ``templates_dir`` (the ``report_templates_dir`` setting) is searched first,
so a team overrides one template, or the ``report.css`` it includes, by dropping a same-named file there.

Escaping: HTML autoescapes every value; Markdown escapes every value by default too (``finalize``), so
label values and log lines cannot inject markup, links, table cells or template syntax into either. The
HTML carries a Content-Security-Policy that only lets its own (nonce-tagged) script run and loads nothing
from the network; chart data travels as JSON in ``<script type="application/json">`` (``tojson``).
"""

from __future__ import annotations

import base64
import logging
import math
import re
import secrets
from pathlib import Path
from typing import Any, Literal, Protocol

from .._deps import require
from ..errors import ConfigError, InputError, Promv5Error
from .charts import chart_payload, png_bytes
from .models import Report

__all__ = ["Exporter", "Format", "export", "md_escape", "render_html", "render_markdown", "write_html",
           "write_markdown", "write_pdf"]

log = logging.getLogger(__name__)

Format = Literal["html", "md", "pdf"]
TEMPLATES = Path(__file__).parent / "templates"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


class Exporter(Protocol):
    """Writes a report to a path in one format."""

    def export(self, report: Report, path: Path) -> Path: ...


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]#|~<>])")


def md_escape(value: Any) -> str:
    """Untrusted text as inert Markdown: HTML entities for & < >, backslash for Markdown punctuation."""
    if value is None:
        return ""
    text = str(value).replace("\r", " ").replace("\n", " ").replace("\x00", "")
    text = text.replace("&", "&amp;")
    text = _MD_SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;"}.get(m.group(1), "\\" + m.group(1)), text)
    return text


def _env(kind: Literal["html", "md"], templates_dir: str | Path | None) -> Any:
    jinja2 = require("jinja2", "report")
    markupsafe = require("markupsafe", "report")
    loaders = []
    if templates_dir is not None:
        d = Path(templates_dir).expanduser()
        if not d.is_dir():
            raise ConfigError(f"Report templates folder {d} does not exist",
                              hint="Set report_templates_dir to a folder holding e.g. postmortem.html.j2")
        loaders.append(jinja2.FileSystemLoader(str(d)))
    loaders.append(jinja2.FileSystemLoader(str(TEMPLATES)))
    common: dict[str, Any] = {"loader": jinja2.ChoiceLoader(loaders), "undefined": jinja2.StrictUndefined,
                              "trim_blocks": True, "lstrip_blocks": True, "keep_trailing_newline": True}
    if kind == "html":
        env = jinja2.Environment(autoescape=True, **common)
    else:
        Markup = markupsafe.Markup

        def finalize(v: Any) -> Any:
            return v if isinstance(v, Markup) else md_escape(v)

        env = jinja2.Environment(autoescape=False, finalize=finalize, **common)

        def code(text: Any) -> Any:
            t = str(text or "").replace("\n", " ")
            fence = "`" * (max((len(r) for r in re.findall(r"`+", t)), default=0) + 1)
            pad = " " if t.startswith("`") or t.endswith("`") else ""
            return Markup(f"{fence}{pad}{t}{pad}{fence}")

        def codeblock(text: Any, lang: str = "") -> Any:
            t = str(text or "").replace("\x00", "")
            fence = "`" * max(3, max((len(r) for r in re.findall(r"`+", t)), default=0) + 1)
            return Markup(f"{fence}{lang}\n{t.rstrip()}\n{fence}")

        env.filters["code"] = code
        env.filters["codeblock"] = codeblock
        env.filters["raw"] = Markup
    env.filters["pct"] = _pct
    env.filters["num"] = _num
    env.filters["utc"] = _utc
    env.filters["ts"] = lambda t: "" if t is None else f"{t:%Y-%m-%d %H:%M}"
    env.filters["dur"] = _dur
    env.filters["ms"] = lambda v: "n/a" if v is None or not math.isfinite(v) else f"{v * 1000:.0f} ms"
    return env


def _pct(v: Any, digits: int = 1) -> str:
    return "n/a" if v is None else f"{v * 100:.{digits}f}%"


def _num(v: Any) -> str:
    if v is None:
        return "n/a"
    try:
        f = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(f):
        return "n/a"
    if abs(f) >= 1000:
        return f"{f:,.0f}"
    return f"{f:.4g}"


def _utc(t: Any) -> str:
    return "" if t is None else f"{t:%Y-%m-%d %H:%M:%S} UTC"


def _dur(seconds: Any) -> str:
    if seconds is None:
        return "beyond the horizon"
    s = float(seconds)
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if s >= size:
            return f"{s / size:.1f} {unit}"
    return f"{s:.0f} s"


def _template(env: Any, name: str) -> Any:
    jinja2 = require("jinja2", "report")
    try:
        return env.get_template(name)
    except jinja2.TemplateNotFound as exc:
        raise ConfigError(f"No report template {name!r}", hint=f"Add {name} to the templates folder") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ConfigError(f"Report template {exc.filename or name} line {exc.lineno}: {exc.message}",
                          hint="Fix the template (Jinja2 syntax)") from exc


def _render(env: Any, name: str, **ctx: Any) -> str:
    jinja2 = require("jinja2", "report")
    try:
        return _template(env, name).render(**ctx)
    except jinja2.UndefinedError as exc:
        raise ConfigError(f"Report template {name!r} uses something the report does not have: {exc.message}",
                          hint="Check the names against promv5_lab.report.models") from exc


def render_html(report: Report, *, templates_dir: str | Path | None = None, static: bool = False) -> str:
    """The report as one HTML document: interactive SVG charts (``static=False``) or embedded PNGs."""
    env = _env("html", templates_dir)
    images = {}
    if static:
        images = {c.id: "data:image/png;base64," + base64.b64encode(png_bytes(c)).decode("ascii")
                  for c in report.charts}
    payloads = {c.id: chart_payload(c) for c in report.charts}
    return _render(env, f"{report.kind}.html.j2", r=report, static=static, images=images, payloads=payloads,
                   charts={c.id: c for c in report.charts}, nonce=secrets.token_urlsafe(16))


def render_markdown(report: Report, *, image_dir: str = "", templates_dir: str | Path | None = None) -> str:
    env = _env("md", templates_dir)
    from urllib.parse import quote

    images = {c.id: quote(f"{image_dir}/{c.id}.png" if image_dir else f"{c.id}.png") for c in report.charts}
    return _render(env, f"{report.kind}.md.j2", r=report, images=images, charts={c.id: c for c in report.charts})


def _out(path: str | Path) -> Path:
    p = Path(path).expanduser()
    if p.is_dir():
        raise InputError(f"{p} is a folder", hint="Pass a file name, e.g. --out postmortem.html")
    p.parent.mkdir(parents=True, exist_ok=True)
    return p


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def write_html(report: Report, path: str | Path, *, templates_dir: str | Path | None = None) -> Path:
    p = _out(path)
    _atomic_write(p, render_html(report, templates_dir=templates_dir).encode("utf-8"))
    return p


def write_markdown(report: Report, path: str | Path, *, templates_dir: str | Path | None = None) -> Path:
    """``path`` plus its charts as PNGs in ``<stem>_files/`` beside it (linked relatively)."""
    p = _out(path)
    folder = p.with_name(f"{p.stem}_files")
    if report.charts:
        folder.mkdir(exist_ok=True)
        for c in report.charts:
            _atomic_write(folder / f"{c.id}.png", png_bytes(c))
    text = render_markdown(report, image_dir=folder.name, templates_dir=templates_dir)
    _atomic_write(p, text.encode("utf-8"))
    return p


def write_pdf(report: Report, path: str | Path, *, templates_dir: str | Path | None = None,
              chromium: str = CHROMIUM) -> Path:
    """Print the PNG-chart HTML variant to PDF with headless Chromium (no scripts, no network)."""
    p = _out(path)
    if not Path(chromium).exists():
        raise ConfigError(f"PDF export needs Chromium at {chromium}", hint="apt-get install chromium, or use --format html")
    sync_api = require("playwright.sync_api", "report")
    from concurrent.futures import ThreadPoolExecutor

    # the PNG charts are drawn on a thread while Chromium starts (a separate process: the waits overlap)
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(render_html, report, templates_dir=templates_dir, static=True)
        try:
            with sync_api.sync_playwright() as pw:
                # launch() gives Chromium a fresh temporary profile, removed on close
                browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
                try:
                    ctx = browser.new_context(java_script_enabled=False, offline=True)
                    page = ctx.new_page()
                    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(
                        ("data:", "about:")) else route.abort())
                    page.set_content(pending.result(), wait_until="load", timeout=60_000)
                    pdf = page.pdf(format="A4", print_background=True, display_header_footer=True,
                                   header_template="<span></span>",
                                   footer_template='<div style="font-size:7px;width:100%;text-align:center;">'
                                                   '<span class="pageNumber"></span> / <span class="totalPages"></span>'
                                                   "</div>",
                                   margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"})
                finally:
                    browser.close()
        except sync_api.Error as exc:
            raise Promv5Error(f"Chromium could not print the PDF: {str(exc).splitlines()[0]}",
                              hint="Check that Chromium runs headless here, or use --format html") from exc
    _atomic_write(p, pdf)
    return p


def export(report: Report, path: str | Path, fmt: Format | None = None, *,
           templates_dir: str | Path | None = None) -> Path:
    """Write ``report`` to ``path``; the format defaults to the file's suffix (.html, .md, .pdf)."""
    if fmt is None:
        suffix = Path(path).suffix.lower().lstrip(".")
        fmt = {"htm": "html", "markdown": "md"}.get(suffix, suffix)  # type: ignore[assignment]
    if fmt == "html":
        return write_html(report, path, templates_dir=templates_dir)
    if fmt == "md":
        return write_markdown(report, path, templates_dir=templates_dir)
    if fmt == "pdf":
        return write_pdf(report, path, templates_dir=templates_dir)
    raise InputError(f"Unknown report format {fmt!r}", hint="Use html, md or pdf")
