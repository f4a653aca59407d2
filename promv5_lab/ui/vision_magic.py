"""``%screenshot FILE.png [--json] [--out annotated.png] [--no-ocr] [--model-dir D] [--local-model]
[--dashboard-json F] [-o NAME]``.

Shows the annotated screenshot and one line per panel; ``-o NAME`` puts the report in the user's namespace.
Settings (``PROMV5_*``, config.toml) give ``vision_model_dir``, ``vision_ocr`` and the optional vision endpoint
(``vision_url``...); the options win over them. Errors show a short message and a hint, never a traceback wall.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from .._deps import require
from ..errors import Promv5Error

__all__ = ["register_magics"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%screenshot", add_help=False, exit_on_error=False)
    p.add_argument("image")
    p.add_argument("--json", action="store_true")
    p.add_argument("--out", default=None)
    p.add_argument("--no-ocr", action="store_true")
    p.add_argument("--model-dir", default=None)
    p.add_argument("--local-model", action="store_true")
    p.add_argument("--dashboard-json", default=None)
    p.add_argument("-o", "--output", default=None)
    return p


def _make(ipython: Any) -> Any:
    magic = require("IPython.core.magic", "notebook")

    @magic.magics_class
    class VisionMagics(magic.Magics):
        @magic.line_magic
        def screenshot(self, line: str) -> Any:
            """%screenshot FILE.png [--json] [--out F] [--no-ocr] [--model-dir D] [--local-model]
            [--dashboard-json F] [-o NAME]"""
            from IPython.display import Image, Markdown, display

            try:
                args = _parser().parse_args(shlex.split(line))
            except (argparse.ArgumentError, ValueError, SystemExit) as exc:
                display(Markdown(f"**Error:** cannot read the options: {exc}  \n*Hint:* %screenshot FILE.png "
                                 "[--json] [--out annotated.png] [--no-ocr] [--model-dir D] [--local-model] "
                                 "[--dashboard-json F] [-o NAME]"))
                return None
            try:
                from ..config import load_settings
                from ..vision.analyze import analyze

                settings = load_settings(vision_model_dir=args.model_dir)
                report = analyze(args.image, dashboard_json=args.dashboard_json, settings=settings,
                                 ocr=False if args.no_ocr else None, endpoint=False if args.local_model else None)
                png = report.annotated_png()
            except Promv5Error as exc:
                text = f"**Error:** {exc.message}" + (f"  \n*Hint:* {exc.hint}" if exc.hint else "")
                display(Markdown(text))
                return None
            if args.out:
                with open(args.out, "wb") as fh:
                    fh.write(png)
            if args.json:
                import json

                display(Markdown("```json\n" + json.dumps(report.to_json(), indent=1)[:20000] + "\n```"))
            else:
                display(Image(data=png, format="png"))
                # a fenced block: panel titles read by OCR are shown as text, never rendered as markdown
                display(Markdown("```text\n" + report.describe().replace("```", "'''") + "\n```"))
            if args.output:
                self.shell.user_ns[args.output] = report
            return None

    return VisionMagics(ipython)


def register_magics(ipython: Any) -> None:
    """Register ``%screenshot`` on an IPython shell (``load_ipython_extension`` may call this)."""
    ipython.register_magics(_make(ipython))
