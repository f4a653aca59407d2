"""IPython magics: ``%ask`` / ``%%ask`` and ``%promv5 connect|status|config``.

``%load_ext promv5_lab`` calls :func:`load_ipython_extension`. Answers show one sentence, the PromQL (copyable)
and an interactive HoloViews chart; ``-o NAME`` puts the tidy result frame in the user's namespace. Errors show
a short message and a hint, never a traceback wall, and never kill the kernel.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import shlex
from typing import Any

from .._deps import require
from ..errors import Promv5Error

__all__ = ["Session", "load_ipython_extension", "unload_ipython_extension"]

log = logging.getLogger(__name__)


class Session:
    """The notebook's connection and conversation (one per shell)."""

    def __init__(self) -> None:
        self.backend_url: str | None = None
        self.data_dir: str | None = None
        self.now: str | None = None
        self._stack = contextlib.ExitStack()
        self.backend: Any = None
        self.investigation: Any = None

    def connect(self, backend_url: str | None = None, data_dir: str | None = None) -> str:
        from ..backends import telemetry
        from ..config import load_settings
        from ..investigation import Investigation

        settings = load_settings(backend_url=backend_url, data_dir=data_dir)
        self.close()
        self.backend = self._stack.enter_context(telemetry(settings))
        self.backend_url, self.data_dir = backend_url, data_dir
        self.investigation = Investigation(self.backend, now=self.now, cache_dir=settings.cache_dir)
        return f"Connected to {getattr(self.backend, 'name', self.backend)}"

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
        rows.append(("llm planner", "not available", "offline planner only (issue 4 follow-up)"))
        return rows


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%%ask", add_help=False, exit_on_error=False)
    p.add_argument("-o", "--output", default=None)
    p.add_argument("--backend", default=None)
    p.add_argument("--data", default=None)
    p.add_argument("--at", default=None)
    p.add_argument("--json", action="store_true")
    return p


def chart(answer: Any) -> Any:
    """A HoloViews overlay of the answer's series (curves for ranges, bars for instants), or None."""
    hv = require("holoviews", "app")
    require("holoviews.plotting.bokeh", "app")  # registers the renderer that .opts() needs
    from ..frames import TIME, VALUE, label_columns

    res = answer.result
    if res is None or res.frame.empty:
        return None
    frame = res.frame
    labels = label_columns(frame)
    title = answer.promql if len(answer.promql) < 90 else answer.promql[:87] + "..."
    # HoloViews formats titles with str.format ({label}, {group}): PromQL braces must be escaped.
    title = title.replace("{", "{{").replace("}", "}}")
    if answer.plan.kind == "instant":
        keyed = frame.assign(series=frame[labels].astype(str).agg(",".join, axis=1) if labels else "value")
        return hv.Bars(keyed, "series", VALUE).opts(title=title)
    curves = []
    groups = frame.groupby(labels, sort=True, dropna=False) if labels else [((), frame)]
    for key, g in groups:
        key = key if isinstance(key, tuple) else (key,)
        name = ",".join(f"{k}={v}" for k, v in zip(labels, key) if isinstance(v, str)) or "value"
        curves.append(hv.Curve(g, TIME, VALUE, label=name))
    return hv.Overlay(curves).opts(title=title)


def _show_error(exc: Promv5Error) -> None:
    from IPython.display import Markdown, display

    text = f"**Error:** {exc.message}" + (f"  \n*Hint:* {exc.hint}" if exc.hint else "")
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
                display(Markdown(f"**Error:** cannot read the options `{line}`: {exc}  \n*Hint:* "
                                 "%%ask [-o NAME] [--backend URL | --data DIR] [--at TIME] [--json]"))
                return None
            try:
                if args.at:
                    self.session.now = args.at
                if args.backend or args.data:
                    self.session.connect(args.backend, args.data)
                if self.session.investigation is None:
                    # Like every command: with neither a URL nor a data dir, the bundled demo history.
                    display(Markdown(self.session.connect()))
                if args.at:
                    from ..types import as_utc

                    self.session.investigation._now = as_utc(args.at)
                ans = self.session.investigation.ask(question.strip())
            except Promv5Error as exc:
                _show_error(exc)
                return None
            if args.json:
                import json

                display(Markdown("```json\n" + json.dumps(ans.to_json(), default=str, indent=1)[:20000] + "\n```"))
            else:
                md = ans.answer
                if ans.promql:
                    md += f"\n\n```promql\n{ans.promql}\n```"
                if ans.clarification is not None and ans.clarification.candidates:
                    md += "\n\nCandidates: " + ", ".join(f"`{c}`" for c in ans.clarification.candidates)
                display(Markdown(md))
                try:
                    c = chart(ans)
                    if c is not None:
                        if not self._hv_loaded and getattr(self.shell, "kernel", None) is not None:
                            require("holoviews", "app").extension("bokeh")  # the notebook's JS, once
                        self._hv_loaded = True
                        display(c)
                except (Promv5Error, ValueError, ImportError) as exc:
                    log.info("no chart: %s", exc)
            if args.output and ans.result is not None:
                self.shell.user_ns[args.output] = ans.result.frame
            return None

        @magic.line_cell_magic
        def ask(self, line: str, cell: str | None = None) -> Any:
            """%ask QUESTION  or  %%ask [-o NAME] [--backend URL | --data DIR] [--at TIME] [--json] + question."""
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
                        f"| {a} | {b} | {c} |" for a, b, c in rows)))
                elif cmd == "config":
                    from ..config import load_settings

                    s = load_settings()
                    safe = s.model_dump(exclude={"bearer_token", "basic_auth_password", "headers"})
                    display(Markdown("\n".join(f"- `{k}`: {v}" for k, v in safe.items())))
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
