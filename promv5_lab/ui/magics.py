"""IPython magics: ``%ask`` / ``%%ask`` and ``%promv5 connect|status|config``.

``%load_ext promv5_lab`` calls :func:`load_ipython_extension`. Answers show one sentence, the PromQL (copyable)
and an interactive HoloViews chart; ``-o NAME`` puts the tidy result frame in the user's namespace. Errors show
a short message and a hint, never a traceback wall, and never kill the kernel.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import logging
import re
import shlex
from typing import Any

from .._deps import require
from ..errors import Promv5Error

__all__ = ["Session", "load_ipython_extension", "md_escape", "render_details", "unload_ipython_extension"]

log = logging.getLogger(__name__)


class Session:
    """The notebook's connection and conversation (one per shell)."""

    def __init__(self) -> None:
        self.backend_url: str | None = None
        self.data_dir: str | None = None
        self.now: str | None = None
        self.tz: str | None = None
        self.use_llm = False
        self.settings: Any = None
        self._stack = contextlib.ExitStack()
        self.backend: Any = None
        self.investigation: Any = None

    def connect(self, backend_url: str | None = None, data_dir: str | None = None) -> str:
        from ..backends import telemetry
        from ..config import load_settings
        from ..investigation import Investigation

        settings = load_settings(backend_url=backend_url, data_dir=data_dir, timezone=self.tz)
        self.close()
        self.backend = self._stack.enter_context(telemetry(settings))
        self.backend_url, self.data_dir, self.settings = backend_url, data_dir, settings
        self.investigation = Investigation.from_settings(self.backend, settings, now=self.now, use_llm=self.use_llm)
        return f"Connected to {md_escape(str(getattr(self.backend, 'name', self.backend)))}"

    def set_timezone(self, tz: str) -> None:
        from ..nl.timeexpr import zone

        zone(tz)  # InputError for an unknown zone
        self.tz = tz
        if self.investigation is not None:
            self.investigation.set_timezone(tz)

    def enable_llm(self) -> None:
        """Plan with the configured LLM from now on (ConfigError when llm_url/llm_model are not set)."""
        from ..config import load_settings
        from ..nl.llm import LLMEndpoint

        endpoint = LLMEndpoint.from_settings(self.settings or load_settings())
        self.use_llm = True
        if self.investigation is not None:
            self.investigation.set_llm(endpoint)

    def close(self) -> None:
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self.backend = self.investigation = None

    def status(self) -> list[tuple[str, str, str]]:
        """A capability table: (capability, state, detail)."""
        from ..nl import embed

        rows = [("backend", "ok" if self.backend is not None else "not connected",
                 str(getattr(self.backend, "name", "")) or "%promv5 connect URL | --data DIR")]
        if embed.LOAD_ERROR:
            rows.append(("embeddings", "degraded", f"lexical only: {embed.LOAD_ERROR}"))
        elif embed.LOAD_SECONDS is not None:
            rows.append(("embeddings", "ok", f"MiniLM loaded in {embed.LOAD_SECONDS:.1f}s"))
        else:
            rows.append(("embeddings", "not loaded yet", "loads on the first question"))
        try:
            require("holoviews", "app")
            rows.append(("charts", "ok", "HoloViews"))
        except Promv5Error as exc:
            rows.append(("charts", "missing", exc.hint or exc.message))
        settings = self.settings
        if settings is None:
            from ..config import load_settings

            try:
                settings = load_settings()
            except Promv5Error:
                settings = None
        if settings is not None and settings.llm_url and settings.llm_model:
            state = "in use" if self.use_llm else "configured (%%ask --llm to use it)"
            rows.append(("llm planner", state, f"{settings.llm_model} at {_public_url(settings.llm_url)}"))
        else:
            rows.append(("llm planner", "not configured", "offline planner; set PROMV5_LLM_URL and PROMV5_LLM_MODEL"))
        rows.append(("time zone", "ok", self.tz or (settings.timezone if settings is not None else "UTC")))
        return rows


def _public_url(url: str) -> str:
    """scheme://host[:port]/path of a URL: no user:password@, no query string (tokens live there)."""
    from urllib.parse import urlsplit

    u = urlsplit(url)
    host = u.hostname or ""
    port = f":{u.port}" if u.port else ""
    return f"{u.scheme}://{host}{port}{u.path}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#!|~{}])")


def md_escape(text: str) -> str:
    """Text from the backend or the user made inert in Markdown: HTML escaped, Markdown punctuation escaped."""
    out = _MD_SPECIAL.sub(r"\\\1", html.escape(str(text), quote=False))
    out = re.sub(r"(?m)^(\s*)([-+>])", lambda m: m.group(1) + "\\" + m.group(2), out)
    return re.sub(r"(?m)^(\s*\d+)\.", lambda m: m.group(1) + "\\.", out)


def md_code(text: str) -> str:
    """An inline code span that no backtick inside ``text`` can close (code spans do not render HTML)."""
    text = str(text).replace("\n", " ")
    run = max((len(r) for r in re.findall(r"`+", text)), default=0)
    fence = "`" * (run + 1)
    return f"{fence} {text} {fence}" if run or text.startswith(" ") else f"{fence}{text}{fence}"


def md_block(text: str, lang: str = "") -> str:
    """A fenced code block whose fence is longer than any backtick run inside ``text``."""
    run = max((len(r) for r in re.findall(r"`+", str(text))), default=0)
    fence = "`" * max(3, run + 1)
    return f"{fence}{lang}\n{text}\n{fence}"


def _cell(text: Any) -> str:
    return md_escape(str(text)).replace("\n", " ")


def render_details(details: dict[str, Any] | None) -> str:
    """Markdown for a routed answer's findings and provenance (every backend string escaped)."""
    if not details:
        return ""
    from ..units import format_value, infer_unit

    kind = details.get("analysis")
    unit = infer_unit(details.get("promql"))
    lines: list[str] = []
    if kind == "anomalies" and details.get("anomalies"):
        lines += ["| series | from | to | peak score | threshold |", "|---|---|---|---|---|"]
        lines += [f"| {_cell(a['series'])} | {_cell(a['start'])} | {_cell(a['end'])} | {a['peak_score']:.3f} | "
                  f"{a['threshold']:.3f} |" for a in details["anomalies"][:20]]
    elif kind == "capacity" and details.get("capacity"):
        lines += ["| series | last value | reaches limit in | interval | P(within horizon) |", "|---|---|---|---|---|"]
        for c in details["capacity"]:
            eta = "not within horizon" if c["eta_s"] is None else f"{c['eta_s'] / 3600:.1f} h"
            lo = "-" if c["lower_s"] is None else f"{c['lower_s'] / 3600:.1f} h"
            hi = "beyond" if c["upper_s"] is None else f"{c['upper_s'] / 3600:.1f} h"
            last = "-" if c["last_value"] is None else format_value(c["last_value"], unit)
            lines.append(f"| {_cell(c['series'])} | {last} | {eta} | {lo} to {hi} | {c['probability']:.0%} |")
    elif kind == "forecast" and details.get("forecast"):
        lines += ["| series | at | mean | lower | upper |", "|---|---|---|---|---|"]
        for f in details["forecast"]:
            p = f["points"][-1] if f["points"] else {}
            v = {k: ("-" if p.get(k) is None else format_value(p[k], unit)) for k in ("mean", "lower", "upper")}
            lines.append(f"| {_cell(f['series'])} | {_cell(p.get('timestamp', ''))} | {_cell(v['mean'])} | "
                         f"{_cell(v['lower'])} | {_cell(v['upper'])} |")
    elif kind == "diagnosis":
        causes = (details.get("diagnosis") or {}).get("root_causes") or []
        if causes:
            lines += ["| service | cause | confidence | evidence |", "|---|---|---|---|"]
            lines += [f"| {_cell(c['service'])} | {_cell(c['kind'])} | {c['confidence']:.0%} | "
                      f"{_cell('; '.join(e['summary'] for e in c['evidence'][:3]))} |" for c in causes[:5]]
    prov = []
    rng = details.get("range")
    if rng:
        prov.append(f"range {_cell(rng['start'])} .. {_cell(rng['end'])}, step {rng['step_s']:g}s")
    if details.get("model"):
        prov.append(f"model {_cell(details['model'])}")
    if details.get("scanned_series") is not None:
        prov.append(f"{details['scanned_series']} series scanned")
    if prov:
        lines.append("\n*Provenance:* " + "; ".join(prov))
    listed = details.get("queries")
    queries = [q["promql"] for q in listed if isinstance(q, dict) and q.get("promql")][:12] if isinstance(listed, list) else []
    if queries and len(queries) > 1:
        lines.append(md_block("\n".join(queries), "promql"))
    return "\n".join(lines)



def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%%ask", add_help=False, exit_on_error=False)
    p.add_argument("-o", "--output", default=None)
    p.add_argument("--backend", default=None)
    p.add_argument("--data", default=None)
    p.add_argument("--at", default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--tz", default=None)
    p.add_argument("--llm", action="store_true")
    p.add_argument("--widget", action="store_true")
    return p


def chart(answer: Any) -> Any:
    """A HoloViews chart of the answer with a y-axis unit, or None: curves for ranges, bars for instants;
    a routed answer's panels (anomalies shaded, forecast band, capacity limit, diagnosis evidence)."""
    from .charts import answer_chart

    return answer_chart(answer)


def _show_error(exc: Promv5Error) -> None:
    from IPython.display import Markdown, display

    text = f"**Error:** {md_escape(exc.message)}" + (f"  \n*Hint:* {md_escape(exc.hint)}" if exc.hint else "")
    display(Markdown(text))


def _make_magics(ipython: Any) -> Any:
    magic = require("IPython.core.magic", "notebook")

    @magic.magics_class
    class Promv5Magics(magic.Magics):
        def __init__(self, shell: Any) -> None:
            super().__init__(shell)
            self.session = Session()
            self._hv_loaded = False

        def _ask(self, line: str, question: str) -> Any:
            from IPython.display import Markdown, display

            try:
                args = _parser().parse_args(shlex.split(line))
            except (argparse.ArgumentError, ValueError, SystemExit) as exc:
                display(Markdown(f"**Error:** cannot read the options {md_code(line)}: {md_escape(str(exc))}  \n"
                                 "*Hint:* %%ask \\[-o NAME\\] \\[--backend URL \\| --data DIR\\] \\[--at TIME\\] "
                                 "\\[--tz ZONE\\] \\[--llm\\] \\[--json\\] \\[--widget\\]"))
                return None
            try:
                if args.at:
                    self.session.now = args.at
                if args.tz:
                    self.session.set_timezone(args.tz)
                if args.llm and not self.session.use_llm:
                    self.session.enable_llm()
                if args.backend or args.data:
                    self.session.connect(args.backend, args.data)
                if self.session.investigation is None:
                    # Like every command: with neither a URL nor a data dir, the bundled demo history.
                    display(Markdown(self.session.connect()))
                if args.at:
                    self.session.investigation.set_now(args.at)
                if args.widget:
                    # the investigation as widgets, sharing this notebook's conversation (follow-ups work)
                    from .widget import InvestigationWidget

                    w = InvestigationWidget(self.session.backend, investigation=self.session.investigation)
                    if question.strip():
                        w.ask(question.strip())
                    display(w.widget)
                    self.session.widget = w
                    return None
                ans = self.session.investigation.ask(question.strip())
            except Promv5Error as exc:
                _show_error(exc)
                return None
            except Exception as exc:  # the cell shows a message, never a traceback wall; the kernel lives on
                log.warning("%%ask failed: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
                _show_error(Promv5Error(f"promv5-lab failed on this question ({type(exc).__name__}: {exc})"[:400],
                                        hint="Rephrase it or narrow the range; logging at DEBUG shows the traceback"))
                return None
            if args.json:
                import json

                display(Markdown(md_block(json.dumps(ans.to_json(), default=str, indent=1)[:20000], "json")))
            else:
                # Everything below comes from the backend (label values, HELP) or the user: escaped.
                md = md_escape(ans.answer)
                if ans.promql:
                    md += "\n\n" + md_block(ans.promql, "promql")
                if ans.clarification is not None and ans.clarification.candidates:
                    md += "\n\nCandidates: " + ", ".join(md_code(c) for c in ans.clarification.candidates)
                extra = render_details(ans.details)
                if extra:
                    md += "\n\n" + extra
                display(Markdown(md))
                try:
                    c = chart(ans)
                    if c is not None:
                        if not self._hv_loaded and getattr(self.shell, "kernel", None) is not None:
                            require("holoviews", "app").extension("bokeh")  # the notebook's JS, once
                        self._hv_loaded = True
                        display(c)
                except Exception as exc:  # a chart is optional: the answer above stands without it
                    log.info("no chart: %s: %s", type(exc).__name__, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            if args.output and ans.result is not None:
                self.shell.user_ns[args.output] = ans.result.frame
            elif args.output and ans.details:
                import pandas as pd  # a routed answer: its findings (anomalies, capacity, forecast...) as a frame

                rows = ans.details.get(ans.details.get("analysis", ""), [])
                if isinstance(rows, dict):
                    rows = rows.get("root_causes", [])
                self.shell.user_ns[args.output] = pd.DataFrame(rows)
            return None

        @magic.line_cell_magic
        def ask(self, line: str, cell: str | None = None) -> Any:
            """%ask QUESTION  or  %%ask [-o NAME] [--backend URL | --data DIR] [--at TIME] [--tz ZONE] [--llm] [--json]
            + question. --tz: your IANA time zone for times of day; --llm: plan with the configured LLM."""
            if cell is None:
                return self._ask("", line)
            return self._ask(line, cell)

        @magic.line_magic
        def promv5(self, line: str) -> Any:
            """%promv5 connect URL | connect --data DIR | status | config"""
            from IPython.display import Markdown, display

            parts = shlex.split(line)
            cmd = parts[0] if parts else "status"
            try:
                if cmd == "connect":
                    rest = parts[1:]
                    if rest[:1] == ["--data"] and len(rest) == 2:
                        display(Markdown(self.session.connect(data_dir=rest[1])))
                    elif len(rest) == 1:
                        display(Markdown(self.session.connect(backend_url=rest[0])))
                    else:
                        raise Promv5Error("connect needs a URL or --data DIR",
                                          hint="%promv5 connect http://localhost:9090")
                elif cmd == "status":
                    rows = self.session.status()
                    display(Markdown("| capability | state | detail |\n|---|---|---|\n" + "\n".join(
                        f"| {_cell(a)} | {_cell(b)} | {_cell(c)} |" for a, b, c in rows)))
                elif cmd == "config":
                    from ..config import load_settings

                    s = load_settings()
                    safe = s.model_dump(exclude={"bearer_token", "basic_auth_password", "headers", "llm_api_key"})
                    if safe.get("llm_url"):
                        safe["llm_url"] = _public_url(safe["llm_url"])
                    display(Markdown("\n".join(f"- {md_code(k)}: {md_escape(str(v))}" for k, v in safe.items())))
                else:
                    raise Promv5Error(f"Unknown %promv5 command {cmd!r}", hint="connect, status or config")
            except Promv5Error as exc:
                _show_error(exc)
            return None

    return Promv5Magics(ipython)


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics (``%load_ext promv5_lab``)."""
    ipython.register_magics(_make_magics(ipython))


def unload_ipython_extension(ipython: Any) -> None:  # pragma: no cover - IPython rarely unloads
    pass
