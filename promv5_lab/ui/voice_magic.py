"""``%voice FILE.wav`` and ``%voice --record 5``: a spoken command answered in the notebook.

``register_magics(ipython)`` adds the magic (the package's ``load_ipython_extension`` may call it). The answer
shows what was heard, the intent, the question and the answer; ``--speak`` also plays the spoken answer
through ``IPython.display.Audio``. Errors show a short message and a hint, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import shlex
from typing import Any

from .._deps import require
from ..errors import Promv5Error

__all__ = ["notebook_player", "register_magics"]

log = logging.getLogger(__name__)


def notebook_player(wav: bytes) -> Any:
    """Play WAV bytes in the notebook (``IPython.display.Audio``); returns the Audio object."""
    display_mod = require("IPython.display", "notebook")
    audio = display_mod.Audio(data=wav, autoplay=True)
    display_mod.display(audio)
    return audio


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="%voice", add_help=False, exit_on_error=False)
    p.add_argument("file", nargs="?", default=None)
    p.add_argument("--record", type=float, default=None)
    p.add_argument("--backend", default=None)
    p.add_argument("--data", default=None)
    p.add_argument("--at", default=None)
    p.add_argument("--mode", default=None, choices=["auto", "grammar", "free", "whisper"])
    p.add_argument("--whisper-model", default=None)
    p.add_argument("--tts-voice", default=None)
    p.add_argument("--tts-wpm", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.add_argument("--speak", action="store_true")
    p.add_argument("--lexical", action="store_true")
    p.add_argument("-o", "--output", default=None)
    return p


_USAGE = ("%voice FILE.wav | %voice --record SECONDS  [--backend URL | --data DIR] [--mode auto|grammar|free|whisper] "
          "[--whisper-model DIR] [--json] [--speak [--tts-voice V] [--tts-wpm N]] [--lexical] [-o NAME]")


def _make(ipython: Any) -> Any:
    magic = require("IPython.core.magic", "notebook")
    from .magics import Session, _show_error

    @magic.magics_class
    class VoiceMagics(magic.Magics):
        def __init__(self, shell: Any) -> None:
            super().__init__(shell)
            self.session = Session()

        @magic.line_magic
        def voice(self, line: str) -> Any:
            """%voice FILE.wav | %voice --record 5 [--backend URL | --data DIR] [--json] [--speak] [-o NAME]"""
            from IPython.display import Markdown, display

            try:
                args = _parser().parse_args(shlex.split(line))
            except (argparse.ArgumentError, ValueError, SystemExit) as exc:
                display(Markdown(f"**Error:** cannot read `{line}`: {exc}  \n*Hint:* {_USAGE}"))
                return None
            try:
                from ..voice.responder import respond

                if (args.file is None) == (args.record is None):
                    raise Promv5Error("Give a recording or --record SECONDS (one of them)", hint=_USAGE)
                from ..config import load_settings

                # flags override the voice_* settings (PROMV5_VOICE_* environment, then the config file)
                settings = load_settings(voice_mode=args.mode, voice_whisper_model=args.whisper_model,
                                         voice_tts_voice=args.tts_voice, voice_tts_wpm=args.tts_wpm)
                if args.record is not None:
                    from ..voice.audio import record_microphone

                    source: Any = record_microphone(args.record)  # checked 16 kHz PCM, decoded like a file
                else:
                    source = args.file
                if args.at:
                    self.session.now = args.at
                if args.backend or args.data or self.session.investigation is None:
                    self.session.connect(args.backend, args.data)
                    if args.lexical:  # no embedding model: faster start, lexical planning only
                        from ..investigation import Investigation

                        self.session.investigation = Investigation(self.session.backend, now=self.session.now,
                                                                   use_embeddings=False)
                out = respond(source, self.session.investigation, settings=settings)
            except Promv5Error as exc:
                _show_error(exc)
                return None
            if args.json:
                display(Markdown("```json\n" + json.dumps(out, default=str, indent=1)[:20000] + "\n```"))
            else:
                md = (f"**Heard:** {out['transcript']}  \n**Intent:** {out['intent']} → *{out['question']}*  \n"
                      f"{out['answer']['answer']}")
                if out["answer"].get("promql"):
                    md += f"\n\n```promql\n{out['answer']['promql']}\n```"
                if out["proposal"]:
                    md += f"\n\n*Proposed, not approved:* {out['proposal']['action']} " \
                          f"{out['proposal']['target'] or ''} — {out['proposal']['note']}"
                display(Markdown(md))
            if args.speak and out.get("spoken"):
                try:
                    from ..voice.tts import speak

                    notebook_player(speak(out["spoken"], settings=settings))
                except Promv5Error as exc:
                    _show_error(exc)
            if args.output:
                self.shell.user_ns[args.output] = out
            return None

    return VoiceMagics(ipython)


def register_magics(ipython: Any) -> None:
    """Add ``%voice`` to ``ipython``."""
    ipython.register_magics(_make(ipython))
