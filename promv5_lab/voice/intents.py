"""Text of a spoken command -> a :class:`VoiceIntent`: what kind of command it is, the question to ask the
planner, and the slots (service, concept, threshold, duration, action) that were heard.

Five kinds, the same flows as typed text: ``query`` (straight to the planner), ``alert`` ("tell me when checkout
errors go above 5%"), ``investigate`` ("why is payments slow"), ``report`` and ``remediate``. Report and
remediate only ever *propose*: nothing said out loud approves or executes anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import InputError

__all__ = ["IntentKind", "VoiceIntent", "clarify_question", "intent", "spoken_numbers"]

IntentKind = Literal["query", "alert", "investigate", "report", "remediate"]
MAX_TEXT = 500

_ONES = {w: i for i, w in enumerate(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"])}
_ONES["oh"] = 0
_TENS = {w: 10 * (i + 2) for i, w in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])}
_SCALE = {"hundred": 100, "thousand": 1000}
_UNIT_WORDS = [("requests per second", "/s"), ("per second", "/s"), ("percent", "%"), ("per cent", "%"),
               ("milliseconds", "ms"), ("millisecond", "ms"), ("seconds", "s"), ("megabytes", "MB"),
               ("gigabytes", "GB")]

_ALERT = re.compile(r"\b(tell|alert|notify|warn|ping|page)\s+me\s+(when|if|whenever|once)\b|\blet me know\s+(when|if)\b|"
                    r"\b(set|create|add)\s+an?\s+alert\b|\balert\s+(when|if)\b")
_REMEDIATE = re.compile(r"^(please\s+)?(restart|roll\s*back|rollback|revert|undo|scale|fix|reboot|drain|fail\s*over|"
                        r"failover|mitigate|kill|redeploy|remediate|approve|apply)\b|"
                        r"\b(how (do|can|should) (i|we) (fix|mitigate|resolve)|what should (i|we) do)\b")
_REPORT = re.compile(r"\b(report|postmortem|post mortem|summary|summari[sz]e|recap|write[- ]?up)\b")
_INVESTIGATE = re.compile(r"^(please\s+)?(why|investigate|diagnose|debug|troubleshoot|explain)\b|"
                          r"\b(what('s| is) wrong|what happened|what('s| is) going on|root cause|what('s| is) causing|"
                          r"what caused|look into)\b")
_CMP = re.compile(r"\b(?:go|goes|is|are|gets?|rises?|climbs?|drops?|falls?|stays?|spikes?|jumps?|reach(?:es)?)?\s*"
                  r"(?:to\s+)?(above|over|below|under|more than|less than|higher than|lower than|greater than|past|"
                  r"beyond|at least)\b|\b(exceeds?|crosses|hits?|tops)\b")
_STATE_QUESTION = [  # what was said about a service -> the metric that shows it
    (re.compile(r"\b(slow|slower|latency|response time|timing out|timeouts?)\b"), "p95 latency"),
    (re.compile(r"\b(restart\w*|crash\w*|crashloop\w*)\b"), "restarts"),
    (re.compile(r"\b(memory|out of memory|oom|leak\w*)\b"), "memory"),
    (re.compile(r"\b(cpu|overloaded)\b"), "cpu usage"),
    (re.compile(r"\b(disk|full)\b"), "disk space"),
    (re.compile(r"\b(saturat\w*|connections?|pool)\b"), "db connections in use"),
    (re.compile(r"\b(traffic|requests|throughput)\b"), "request rate"),
    (re.compile(r"\b(queue|backlog|depth)\b"), "queue depth"),
    (re.compile(r"\b(down|unhealthy|unavailable|not responding)\b"), "up"),
]
_ACTIONS = ["roll back", "rollback", "restart", "scale up", "scale down", "scale", "reboot", "drain", "fail over",
            "failover", "revert", "undo", "redeploy", "kill", "fix", "mitigate", "approve", "apply"]


@dataclass(frozen=True)
class VoiceIntent:
    """What a command asks for. ``question`` goes to the planner; ``slots`` hold what was heard."""

    kind: IntentKind
    question: str
    slots: dict[str, Any] = field(default_factory=dict, hash=False)
    text: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "question": self.question, "slots": dict(self.slots), "text": self.text}


def _number(words: list[str]) -> float | None:
    """A spoken number ("ninety five", "two hundred", "one point five", "half") or None."""
    if words == ["half"] or words == ["a", "half"]:
        return 0.5
    total, current, seen, frac = 0.0, 0.0, False, ""
    i = 0
    while i < len(words):
        w = words[i]
        if w in _ONES and not frac and w != "point":
            current += _ONES[w]
        elif w in _TENS:
            current += _TENS[w]
        elif w in _SCALE:
            current = max(current, 1.0) * _SCALE[w]
            if _SCALE[w] >= 1000:
                total, current = total + current, 0.0
        elif w in ("a", "and") and seen:
            pass
        elif w == "point":
            rest = words[i + 1:]
            if not rest or any(r not in _ONES for r in rest):
                return None
            frac = "".join(str(_ONES[r]) for r in rest)
            break
        else:
            return None
        seen = True
        i += 1
    if not seen and not frac:
        return None
    value = total + current
    return float(f"{int(value)}.{frac}") if frac else value


_NUMWORD = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|" \
           r"fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|" \
           r"hundred|thousand|point)"
_NUMRUN = re.compile(rf"\b(?:a\s+)?{_NUMWORD}(?:\s+{_NUMWORD})*\b")


def spoken_numbers(text: str) -> str:
    """Numbers said as words become digits: "p ninety five" -> "p95", "five percent" -> "5%"."""
    def repl(m: re.Match[str]) -> str:
        words = m.group(0).split()
        if words[0] == "a":
            if len(words) > 1 and words[1] in _SCALE:
                words = ["one", *words[1:]]
            else:
                return m.group(0)
        n = _number(words)
        if n is None:
            return m.group(0)
        return f"{n:g}" if n != int(n) else str(int(n))

    out = _NUMRUN.sub(repl, text)
    out = re.sub(r"\bp\s+(\d{2,3})\b", r"p\1", out)
    out = re.sub(r"\b(\d+(?:\.\d+)?)\s+(?:percent|per cent)\b", r"\1%", out)
    out = re.sub(r"\bhalf an hour\b", "30 minutes", out)
    return out


def _norm(text: str) -> str:
    if not isinstance(text, str):
        raise InputError(f"A command must be text, not {type(text).__name__}")
    t = re.sub(r"\(\d+\)", "", text)  # pocketsphinx's alternative-pronunciation marks
    t = re.sub(r"[^\w%.'\s/-]", " ", t.lower())
    t = re.sub(r"\s+", " ", t).strip()
    if not t:
        raise InputError("The command is empty", hint="Say or type a question, e.g. 'why is payments slow'")
    if len(t) > MAX_TEXT:
        raise InputError(f"The command is {len(t)} characters long (limit {MAX_TEXT})",
                         hint="One command at a time")
    return t


def _targets(text: str, catalogue: Any | None) -> list[tuple[str, str]]:
    """(label, value) pairs named in the text, longest spoken form first, from the catalogue's label values."""
    if catalogue is None:
        return []
    from .grammar import MAX_VALUES, SERVICE_LABELS
    from .lexicon import spoken_tokens

    found: list[tuple[int, int, int, str, str]] = []
    padded = f" {text} "
    for rank, label in enumerate(SERVICE_LABELS):
        vals = catalogue.label_values.get(label, ())
        if len(vals) > MAX_VALUES:
            continue
        for v in vals:
            said = " ".join(spoken_tokens(v))
            for form in {said, v.lower()}:
                if form and f" {form} " in padded:
                    pos = padded.index(f" {form} ")
                    found.append((pos, -len(form), rank, label, v))
                    break
    found.sort()
    out: list[tuple[str, str]] = []
    covered: set[int] = set()
    for pos, neg_len, _, label, v in found:
        if pos in covered:  # "cart items" wins over "cart" at the same place; service over job
            continue
        covered.update(range(pos, pos - neg_len))
        out.append((label, v))
    return out


def _threshold(text: str) -> dict[str, Any] | None:
    m = _CMP.search(text)
    if not m:
        return None
    word = (m.group(1) or m.group(2) or "").strip()
    op = "<" if word in ("below", "under", "less than", "lower than") else ">"
    rest = spoken_numbers(text[m.end():]).strip()
    n = re.match(r"(-?\d+(?:\.\d+)?)\s*(%|.*)$", rest)
    if not n:
        return None
    value = float(n.group(1))
    tail = n.group(2).strip()
    unit = "%" if tail.startswith("%") else ""
    for words, u in _UNIT_WORDS:
        if tail.startswith(words):
            unit = u
            break
    return {"op": op, "value": value, "unit": unit, "subject": text[: m.start()].strip()}


def _subject_question(subject: str, threshold: dict[str, Any], target: str | None) -> str:
    """The planner question for an alert's subject ("checkout errors", unit %) -> "error ratio of checkout"."""
    s = spoken_numbers(subject)
    s = re.sub(r"^(the\s+)", "", s)
    if threshold.get("unit") == "%" and re.search(r"\berror", s):
        return f"error ratio of {target}" if target else "error ratio"
    if threshold.get("unit") in ("ms", "s") and not re.search(r"\bp\d+|median|average|mean|max", s):
        s = f"p95 {s}"
    if target and f" of {target}" not in s:
        s = re.sub(rf"\b{re.escape(target)}\b\s*", "", s).strip()
        s = f"{s} of {target}"
    return s


def clarify_question(choices: list[str]) -> str:
    """ "Did you mean products or frontend?": the values as they are said (``/products`` -> products)."""
    from .lexicon import spoken_tokens

    said = [" ".join(spoken_tokens(c)) or c for c in choices]
    return "Did you mean " + ", ".join(said[:-1]) + f" or {said[-1]}?"


def intent(text: str, catalogue: Any | None = None, rivals: tuple[str, ...] | list[str] = ()) -> VoiceIntent:
    """Classify ``text`` (a transcript or typed command) and derive the question for the planner.

    ``rivals``: the same command heard with other named values, nearly as likely (``Transcript.rivals``).
    When they name another target, ``slots['ambiguous']`` lists the targets (the heard one first) and
    ``slots['clarify']`` the question to ask back instead of answering about one of them.
    """
    t = _norm(text)
    targets = _targets(t, catalogue)
    target = targets[0][1] if targets else None
    slots: dict[str, Any] = {}
    if targets:
        slots["targets"] = [{"label": lab, "value": v} for lab, v in targets]
        slots["target"] = target
        choices = [target]
        for r in rivals:
            other = _targets(_norm(r), catalogue)
            if other and other[0][1] not in choices:
                choices.append(other[0][1])
        if len(choices) > 1:
            slots["ambiguous"] = choices
            slots["clarify"] = clarify_question(choices)
    dur = re.search(r"\b(?:over|in|for|during)?\s*the\s+(?:last|past)\s+(.+?)(?=\s+(?:by|per|for)\b|$)", t)
    when = f" over the last {spoken_numbers(dur.group(1))}" if dur else ""
    if when:
        slots["window"] = when.strip()
    svc = f" of {target}" if target else ""

    if _ALERT.search(t):
        cond = re.split(r"\b(?:when|if|whenever|once)\b", t, maxsplit=1)[-1].strip()
        th = _threshold(cond)
        if th is None:
            return VoiceIntent("alert", spoken_numbers(cond), {**slots, "threshold": None}, t)
        slots["threshold"] = {k: v for k, v in th.items() if k != "subject"}
        return VoiceIntent("alert", _subject_question(th["subject"], th, target), slots, t)
    if _REMEDIATE.search(t):
        action = next((a for a in _ACTIONS if re.search(rf"\b{a}\b", t)), "fix")
        slots.update(action=action.replace("rollback", "roll back").replace("failover", "fail over"),
                     proposal_only=True, approved=False)
        return VoiceIntent("remediate", f"error ratio{svc} over the last hour", slots, t)
    if _REPORT.search(t):
        slots["report"] = "incident" if "incident" in t or "postmortem" in t else "status"
        q = f"error ratio{svc}" if target else "error ratio by service"
        return VoiceIntent("report", q + (when or " over the last hour"), slots, t)
    if _INVESTIGATE.search(t):
        metric = next((q for rx, q in _STATE_QUESTION if rx.search(t)), "error ratio")
        slots["symptom"] = metric
        return VoiceIntent("investigate", f"{metric}{svc}{when or ' over the last hour'}", slots, t)
    q = spoken_numbers(t)
    q = re.sub(r"^(please|hey|ok|okay|can you|could you)\s+", "", q)
    return VoiceIntent("query", q, slots, t)
