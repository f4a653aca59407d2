"""Spoken alerts: ``VoiceAlert`` watches thresholds set in plain language and says when they are crossed.

    va = VoiceAlert(investigation).enable()
    va.setThreshold("checkout errors above 5%")          # or "tell me when p99 latency of payments goes over 300 ms"
    va.respondTo("why is payments slow")                   # text, a WAV path or WAV bytes; spoken answer in ["audio"]
    events = va.check()                                     # evaluates every rule now; each event carries WAV bytes

Speech is synthesised offline by espeak-ng (:func:`~promv5_lab.voice.tts.speak`). ``player`` is any callable
taking WAV bytes; in a notebook :func:`promv5_lab.ui.voice_magic.notebook_player` plays them through
``IPython.display.Audio``. Nothing here approves or executes an action.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError
from .intents import intent
from .tts import speak

__all__ = ["AlertEvent", "AlertRule", "VoiceAlert"]

log = logging.getLogger(__name__)

# what the planner's answer is in -> how the threshold was said
_SCALE = {"%": 100.0, "ms": 1000.0, "s": 1.0, "MB": 1e-6, "GB": 1e-9, "/s": 1.0, "": 1.0}


@dataclass(frozen=True)
class AlertRule:
    """Fire when ``question``'s value is ``op`` (> or <) ``value`` in ``unit`` (%, ms, s, MB, GB, /s or none)."""

    question: str
    op: str
    value: float
    unit: str
    text: str

    def crossed(self, answer_value: float) -> bool:
        said = answer_value * _SCALE.get(self.unit, 1.0)
        return said > self.value if self.op == ">" else said < self.value

    def describe(self) -> str:
        return f"{self.question} {'above' if self.op == '>' else 'below'} {self.value:g}{self.unit}"


@dataclass(frozen=True)
class AlertEvent:
    """One crossing: the rule, the series that crossed, its value as said (in the rule's unit), the sentence."""

    rule: AlertRule
    series: str
    value: float
    sentence: str
    promql: str | None
    audio: bytes | None = None


class VoiceAlert:
    """Spoken summaries of answers and alerts. Disabled until :meth:`enable` (then it speaks)."""

    def __init__(self, investigation: Any = None, *, voice: str | None = None, wpm: int | None = None,
                 player: Callable[[bytes], Any] | None = None, settings: Any | None = None) -> None:
        from .tts import tts_options

        self.investigation = investigation
        self.settings = settings
        self.voice, self.wpm = tts_options(voice, wpm, settings)  # arguments, else voice_tts_voice/_wpm
        self.player = player
        self.enabled = False
        self.rules: list[AlertRule] = []

    # -- switches ------------------------------------------------------------------------------------
    def enable(self) -> VoiceAlert:
        speak("ok", voice=self.voice, wpm=self.wpm)  # fail now, with a hint, if espeak-ng is missing
        self.enabled = True
        return self

    def disable(self) -> VoiceAlert:
        self.enabled = False
        return self

    def say(self, text: str) -> bytes | None:
        """WAV bytes of ``text`` (played through ``player`` when set); None while disabled."""
        if not self.enabled:
            return None
        wav = speak(text, voice=self.voice, wpm=self.wpm)
        if self.player is not None:
            self.player(wav)
        return wav

    # -- thresholds ----------------------------------------------------------------------------------
    def setThreshold(self, condition: str | AlertRule) -> AlertRule:
        """Add a rule from plain language ("checkout errors above 5%", "p99 latency of payments > 300 ms")."""
        if isinstance(condition, AlertRule):
            rule = condition
        else:
            if not isinstance(condition, str) or not condition.strip():
                raise InputError("A threshold needs a condition", hint="e.g. 'checkout errors above 5%'")
            text = condition.strip()
            text = re.sub(r"\s*>=?\s*", " above ", text)
            text = re.sub(r"\s*<=?\s*", " below ", text)
            if not re.search(r"\b(when|if|whenever|once)\b", text):
                text = f"tell me when {text}"
            vi = intent(text, self._catalogue())
            th = vi.slots.get("threshold")
            if vi.kind != "alert" or not th:
                raise InputError(f"Cannot read a threshold from {condition!r}",
                                 hint="Say what, which way and how much: 'checkout errors above 5%', "
                                      "'queue depth below 10'")
            rule = AlertRule(vi.question, th["op"], float(th["value"]), th["unit"], condition)
        self.rules.append(rule)
        return rule

    set_threshold = setThreshold

    # -- commands ------------------------------------------------------------------------------------
    def respondTo(self, voiceCommand: bytes | str | Path) -> dict[str, Any]:
        """Answer a spoken or typed command; alert commands also set their threshold. Adds ``audio``."""
        from .responder import respond

        if self.investigation is None:
            raise InputError("This VoiceAlert has no investigation to ask",
                             hint="VoiceAlert(Investigation(backend)) or use %voice in a notebook")
        out = respond(voiceCommand, self.investigation, settings=self.settings)
        # an alert whose service was heard two ways sets nothing: the reply asks which one first
        th = out["slots"].get("threshold") if out["intent"] == "alert" and not out["slots"].get("clarify") else None
        if th:
            rule = self.setThreshold(AlertRule(out["question"], th["op"], float(th["value"]), th["unit"],
                                               out["transcript"]))
            out["rule"] = rule.describe()
        out["audio"] = self.say(out["spoken"]) if out["spoken"] else None
        return out

    respond_to = respondTo

    def check(self) -> list[AlertEvent]:
        """Evaluate every rule now; one event per series over (or under) its threshold, spoken when enabled."""
        if self.investigation is None:
            raise InputError("This VoiceAlert has no investigation to ask", hint="VoiceAlert(Investigation(backend))")
        events: list[AlertEvent] = []
        for rule in self.rules:
            ans = self.investigation.ask(rule.question).to_json()
            for s in ans.get("series") or []:
                values = [v for _, v in s["values"] if v is not None and math.isfinite(v)]
                if not values or not rule.crossed(values[-1]):
                    continue
                said = values[-1] * _SCALE.get(rule.unit, 1.0)
                who = ", ".join(f"{k} {v}" for k, v in sorted(s["labels"].items())) or rule.question
                sentence = (f"Alert: {rule.question} is {said:.3g}{rule.unit} for {who}, "
                            f"{'above' if rule.op == '>' else 'below'} {rule.value:g}{rule.unit}.")
                events.append(AlertEvent(rule, who, said, sentence, ans.get("promql"), self.say(sentence)))
        return events

    def _catalogue(self) -> Any | None:
        from .responder import catalogue_of

        return catalogue_of(self.investigation) if self.investigation is not None else None
