"""A JSGF grammar of spoken commands, generated from the live catalogue.

The grammar knows the five kinds of command (query, alert, investigate, report, remediate), generic SRE
concepts, the catalogue's metrics said as words (``db_connections_in_use`` -> "db connections in use"), its
label values said as words (``node-1:8080`` -> "node one eight thousand eighty"), numbers, durations and
thresholds. Constraining the recogniser to it is what makes offline recognition usable: on synthetic speech
it recognises most words where free-form decoding gets a few in ten (see ``benchmarks/voice_eval.py``).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass, field
from typing import Any

from .fsa import WordGraph, word_graph
from .lexicon import cmudict, pronounce, spoken_tokens

__all__ = ["SERVICE_LABELS", "Grammar", "build_grammar", "sound_alikes"]

log = logging.getLogger(__name__)

# labels whose values people name out loud ("payments", "cart items"); others are too many or too odd to say
SERVICE_LABELS = ("service", "job", "app", "application", "namespace", "route", "handler", "endpoint", "queue",
                  "topic", "deployment", "datname", "database", "node", "host", "pod", "container", "cluster")
MAX_VALUES = 40  # per label: beyond this a label is not spoken by value (the grammar must stay small to be fast)
MAX_SPOKEN_WORDS = 4
_DROP_METRIC_TOKENS = {"total", "bytes", "seconds", "bucket", "sum", "count", "info", "ratio"}

# Kept deliberately short: every alternative costs decoding time (pocketsphinx's FSG search activates
# every word reachable from a state), and measured accuracy drops as the grammar grows.
_CONCEPTS = ["latency", "response time", "errors", "error rate", "error ratio", "failures", "traffic", "requests",
             "request rate", "throughput", "cpu", "cpu usage", "memory", "memory usage", "disk space", "disk usage",
             "network traffic", "restarts", "crashes", "connections", "database connections", "queries",
             "cache hits", "cache misses", "queue depth", "saturation", "availability"]
# Not "up": a two-phone word where a concept may stand matched any mumble ("what's the up of postgres" for
# "what happened to postgres"; 4 of the first 12 recognition misses on our development set, seed 2). "availability"
# stays.
_STATS = ["p fifty", "p ninety", "p ninety five", "p ninety nine", "median", "average", "maximum", "minimum",
          "total", "peak"]
_LABEL_WORDS = ["service", "services", "node", "nodes", "route", "routes", "instance", "instances", "endpoint",
                "endpoints", "pod", "pods", "code", "status code", "method", "mode", "device", "queue", "job"]
_UNITS = ["percent", "milliseconds", "seconds", "per second", "requests per second", "megabytes", "gigabytes"]
_DUR_UNITS = ["seconds", "minutes", "hours", "days", "weeks"]
# the remediation verbs (<act>): their dictionary words get espeak-ng's pronunciation too (_alternatives)
COMMAND_WORDS = ("restart", "roll", "scale", "fix", "reboot", "drain", "fail")
_STATES = ["slow", "so slow", "down", "failing", "erroring", "broken", "timing out", "crashing", "restarting",
           "unhealthy", "high", "so high", "spiking", "degraded", "throwing errors", "out of memory", "full",
           "saturated", "overloaded"]


@dataclass(frozen=True)
class Grammar:
    """The JSGF text, the words the decoder must be taught, and how spoken words map back to labels."""

    jsgf: str
    new_words: dict[str, str]
    values: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict, compare=False)
    metrics: dict[str, str] = field(default_factory=dict, compare=False)
    # more ways to say a taught word (espeak-ng's letter-to-sound rules, see .g2p), added as word(2), word(3)...
    alt_prons: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        h = hashlib.sha1(self.jsgf.encode())
        for word, phones in sorted(self.new_words.items()):
            h.update(f"\n{word} {phones}".encode())
        for word, alts in sorted(self.alt_prons.items()):  # taught words' and dictionary words' added ones
            h.update(f"\n{word} = {'|'.join(alts)}".encode())
        return h.hexdigest()[:16]

    @functools.cached_property
    def graph(self) -> WordGraph:
        """The grammar as a minimal word automaton (what the decoder searches; see :mod:`.fsa`)."""
        return word_graph(self.jsgf)

    @property
    def vocabulary(self) -> frozenset[str]:
        import re

        body = self.jsgf.split("\n", 2)[-1]
        body = re.sub(r"<[^>]*>", " ", body)
        return frozenset(w for w in re.findall(r"[a-z][a-z']*", body) if w not in {"public", "grammar"})


def _alt(phrases: list[str] | set[str]) -> str:
    items = sorted({p for p in phrases if p})
    return " | ".join(items) if items else "<VOID>"


def _teach(words: list[str], known: dict[str, str], new: dict[str, str]) -> bool:
    """Whether every word can be said; records pronunciations of the ones missing from the dictionary."""
    for w in words:
        if w in known or w in new:
            continue
        ph = pronounce(w)
        if ph is None:
            return False
        new[w] = ph
    return True


def _number_rules() -> str:
    ones = "one | two | three | four | five | six | seven | eight | nine"
    teens = "ten | eleven | twelve | thirteen | fourteen | fifteen | sixteen | seventeen | eighteen | nineteen"
    tens = "twenty | thirty | forty | fifty | sixty | seventy | eighty | ninety"
    return (
        f"<digit> = zero | {ones};\n"
        f"<n99> = {ones} | {teens} | ({tens}) [{ones}];\n"
        "<number> = <n99> [point <digit>] | [zero] point <digit> | (a | one | two | three | five) hundred | half;\n"
    )


def _inline(jsgf: str) -> str:
    """Every rule reference replaced by its body: one public rule, no shared sub-rules.

    pocketsphinx compiles a rule referenced from several places once, with its exit joined to *every* place
    it is used: the probability mass splits across all of them and a value said after "when" loses to "the".
    Inlining gives each use its own copy (measured: "tell me when checkout errors..." recognised again).
    """
    import re

    head, _, body = jsgf.partition("public ")
    stmts = [x.strip() for x in body.split(";") if x.strip()]
    rules = {}
    for st in stmts[1:]:
        name, _, rhs = st.partition("=")
        rules[name.strip()[1:-1]] = rhs.strip()
    top_name, _, top = stmts[0].partition("=")
    ref = re.compile(r"<(?!NULL>|VOID>)([^>]+)>")
    for _ in range(10):
        new = ref.sub(lambda m: f"({rules[m.group(1)]})", top)
        if new == top:
            break
        top = new
    return f"{head}public {top_name.strip()} = {top.strip()};\n"


def build_grammar(catalogue: Any | None = None) -> Grammar:
    """The grammar for ``catalogue`` (a :class:`~promv5_lab.nl.catalogue.Catalogue`), or a generic one."""
    known = cmudict()
    new: dict[str, str] = {}
    values: dict[str, list[tuple[str, str]]] = {}
    metric_phrases: dict[str, str] = {}
    if catalogue is not None:
        for label, vals in sorted(catalogue.label_values.items()):
            if label not in SERVICE_LABELS or len(vals) > MAX_VALUES:
                continue
            for v in vals:
                if "{" in v or ":" in v or v.startswith("/dev/"):
                    continue  # templated routes (/product/{id}), host:port, devices: nobody says these
                said = spoken_tokens(v)
                if said and len(said) <= MAX_SPOKEN_WORDS and _teach(said, known, new):
                    values.setdefault(" ".join(said), []).append((label, v))
        for name in sorted(catalogue.metrics):
            said = [t for t in spoken_tokens(name) if t not in _DROP_METRIC_TOKENS]
            if 2 <= len(said) <= MAX_SPOKEN_WORDS and _teach(said, known, new):
                metric_phrases.setdefault(" ".join(said), name)
    concepts = sorted(set(_CONCEPTS) | set(metric_phrases))
    value_alts = sorted(values)
    val = "<value>" if value_alts else "<VOID>"
    g = [
        "#JSGF V1.0;",
        "grammar promv5;",
        "public <command> = <query> | <alert> | <investigate> | <report> | <remediate>;",
        "<lead> = what is | what's | what are | show me | show | tell me | give me | how many | how much | plot;",
        f"<stat> = {_alt(_STATS)};",
        f"<concept> = {_alt(concepts)};",
        f"<value> = {_alt(value_alts)};",
        f"<labelword> = {_alt(_LABEL_WORDS)};",
        "<by> = (by | per | for each) <labelword>;",
        f"<durunit> = {_alt(_DUR_UNITS)};",
        "<dur> = <number> <durunit> | hour | day | week | half an hour;",
        "<when> = (over | in) the (last | past) <dur> | right now | today | yesterday;",
        f"<query> = [<lead>] [the] [<stat>] <concept> [(of | for | on) {val}] [<by>] [<when>];",
        "<tellme> = tell me | alert me | let me know | notify me | warn me;",
        "<cmp> = (go | goes | is | gets | rises | drops | falls) (above | over | below | under) | exceeds;",
        f"<unit> = {_alt(_UNITS)};",
        (f"<alert> = <tellme> (when | if) [the] [{val}] [<stat>] <concept> [(of | for | on) {val}] <cmp> <number>"
         " [<unit>];"),
        f"<state> = {_alt(_STATES)};",
        ("<why> = why is | why are | what is wrong with | what's wrong with | what happened to | investigate | "
         "diagnose | debug;"),
        f"<investigate> = <why> [the] {val} [<concept>] [<state>];",
        ("<report> = (write | create | generate | make | draft) [me] [a | an | the] [incident | status | daily] "
         f"(report | summary | postmortem) [(for | on | about) [the] {val}] | summarize [the] (incident | last hour | "
         f"{val} incident);"),
        # one spelling per sound: "rollback" and "roll back" are the same phones, and the grammar wrote what it
        # heard as either (the word count took "roll back the checkout deployment" -> "rollback the..." as two
        # errors: 10 of seed 7's 66). Said either way, it is written "roll back"; intents reads both.
        "<act> = restart | roll back | scale up | scale down | fix | reboot | drain | fail over;",
        (f"<remediate> = <act> [the] {val} [deployment | service | pods | release] | "
         f"(how do i fix | what should i do about) [the] {val} [<concept>];"),
    ]
    text = _inline("\n".join(g) + "\n" + _number_rules())
    for w in Grammar(text, {}).vocabulary:  # words of the fixed rules that the dictionary lacks
        if w not in known and w not in new:
            ph = pronounce(w)
            if ph:
                new[w] = ph
    value_words = sorted({w for said in values for w in said.split()})
    grammar = Grammar(text, new, {k: tuple(v) for k, v in values.items()}, metric_phrases,
                      _alternatives(new, value_words, COMMAND_WORDS))
    log.info("grammar %s: %d values, %d metric phrases, %d words taught", grammar.key, len(values),
             len(metric_phrases), len(new))
    return grammar


def _alternatives(taught: dict[str, str], value_words: list[str],
                  command_words: list[str] | tuple[str, ...] = ()) -> dict[str, tuple[str, ...]]:
    """More ways to say a word, beyond the one the decoder's dictionary (or ``taught``) holds.

    - Words of the catalogue's values (the names people say: services, queues, nodes) and the command verbs
      (``command_words``: restart, reboot, investigate...) that the dictionary holds get espeak-ng's American
      pronunciation too when it is none of the dictionary's. Names are where a speaker and a dictionary
      disagree most ("catalog": the dictionary has K AE T AH L AO G only, most Americans say ...L AA G); the
      remediation verbs decide the kind of command, and an unstressed first syllable is usually reduced
      ("restart" said R IH S T AA R T, the dictionary has R IY... only: the command was heard as "debug",
      "why are" or "restarts by" in 8 of the misses on seeds 1-6). Other dictionary words keep the
      dictionary's pronunciations.
    - A taught word made of a dictionary stem and a suffix (``restarts``) is said as its stem is: one
      alternative per further pronunciation of the stem (the dictionary's, and the one added above), and
      nothing else. Giving it espeak-ng's pronunciation (R IH S T AA R T S) while its stem ``restart`` kept
      only the dictionary's (R IY S T AA R T) made the concept a better match than the command for speech like
      espeak-ng's: "restart the payments" was heard as "restarts by routes".
    - Other taught words (product names) get espeak-ng's letter-to-sound pronunciation where it differs.
    Bias to name: the benchmark's speech is espeak-ng's, so its pronunciations are a perfect match there.
    """
    from .g2p import espeak_phones
    from .lexicon import pronunciations, stem_of, with_suffix

    out: dict[str, tuple[str, ...]] = {}
    stems = {w: stem_of(w) for w in taught}
    said = sorted(set(value_words) | set(command_words))
    rules = espeak_phones(sorted({w for w in taught if not stems[w]} | set(said) |
                                 {st[0] for st in stems.values() if st}))
    for w in said:
        known = pronunciations(w)
        if w not in taught and known and rules.get(w) and rules[w] not in known:
            out[w] = (rules[w],)
    for w in sorted(taught):
        if stems[w]:
            stem, add = stems[w]
            alts = tuple(with_suffix(p, add) for p in (*pronunciations(stem), *out.get(stem, ())))[1:]
        else:
            alts = (rules[w],) if rules.get(w) else ()
        alts = tuple(dict.fromkeys(a for a in alts if a != taught[w]))
        if alts:
            out[w] = alts
    return out


def sound_alikes(grammar: Grammar) -> list[tuple[str, tuple[str, ...]]]:
    """Alternatives of one grammar state that sound the same: (phones, the word sequences of one or two words).

    The decoder cannot tell them apart, so it writes what it heard either way and a transcript loses words it
    heard right ("roll back the checkout deployment" -> "rollback the ..."). A grammar should offer one spelling
    per sound; :func:`build_grammar`'s has none (a unit test checks it).
    """
    from .lexicon import pronunciations

    def prons(w: str) -> set[str]:
        own = set(pronunciations(w)) or ({grammar.new_words[w]} if w in grammar.new_words else set())
        return own | set(grammar.alt_prons.get(w, ()))

    out: dict[int, list[tuple[str, int]]] = {}
    for t in grammar.graph.transitions:
        if len(t) == 4:
            out.setdefault(t[0], []).append((t[3], t[1]))
    found: set[tuple[str, tuple[str, ...]]] = set()
    for arcs in out.values():
        said: dict[str, set[str]] = {}
        for w, nxt in arcs:
            for p in prons(w):
                said.setdefault(p, set()).add(w)
                for w2, _ in out.get(nxt, []):
                    for p2 in prons(w2):
                        said.setdefault(f"{p} {p2}", set()).add(f"{w} {w2}")
        found.update((p, tuple(sorted(ws))) for p, ws in said.items() if len(ws) > 1)
    return sorted(found)


# --- sentences of the grammar (for evaluation and tests) -------------------------------------------------

def _parse_expr(toks: list[str]) -> Any:
    """One rule body (tokens) as a tree."""
    pos = 0

    def expr() -> Any:
        nonlocal pos
        alts = [seq()]
        while pos < len(toks) and toks[pos] == "|":
            pos += 1
            alts.append(seq())
        return alts[0] if len(alts) == 1 else ("alt", alts)

    def seq() -> Any:
        nonlocal pos
        items = []
        while pos < len(toks) and toks[pos] not in ("|", ")", "]"):
            tok = toks[pos]
            pos += 1
            if tok in ("(", "["):
                inner = expr()
                pos += 1  # the closing bracket
                node = ("opt", inner) if tok == "[" else inner
            elif tok.startswith("<"):
                node = ("ref", tok[1:-1])
            else:
                node = tok
            if pos < len(toks) and toks[pos] in ("+", "*"):
                node = ("plus", node) if toks[pos] == "+" else ("opt", ("plus", node))
                pos += 1
            items.append(node)
        return items[0] if len(items) == 1 else ("seq", items)

    return expr()


def _parse_rules(jsgf: str) -> tuple[str, dict[str, Any]]:
    """Rules of our JSGF subset as trees: ('alt', [...]), ('seq', [...]), ('opt', x), ('plus', x), ('ref', n), word."""
    import re

    rules: dict[str, Any] = {}
    top = ""
    for stmt in jsgf.split(";"):
        stmt = stmt.strip()
        m = re.match(r"(public\s+)?<([^>]+)>\s*=\s*(.*)$", stmt, re.DOTALL)
        if not m:
            continue
        toks = re.findall(r"<[^>]+>|[\[\]()|+*]|[^\s\[\]()|+*<>]+", m.group(3))
        rules[m.group(2)] = _parse_expr(toks)
        if m.group(1):
            top = m.group(2)
    return top, rules


def sample_sentences(grammar: Grammar, n: int, *, seed: int = 0) -> list[str]:
    """``n`` random sentences of ``grammar`` (alternatives uniform, optional parts half the time)."""
    import random

    top, rules = _parse_rules(grammar.jsgf)
    rng = random.Random(seed)

    def gen(node: Any, out: list[str], depth: int = 0) -> bool:
        if depth > 40:
            return False
        if isinstance(node, str):
            out.append(node)
            return True
        kind, arg = node
        if kind == "ref":
            if arg in ("NULL",):
                return True
            if arg == "VOID" or arg not in rules:
                return False
            return gen(rules[arg], out, depth + 1)
        if kind == "alt":
            return gen(rng.choice(arg), out, depth + 1)
        if kind == "seq":
            return all(gen(x, out, depth + 1) for x in arg)
        if kind == "opt":
            return True if rng.random() < 0.5 else gen(arg, out, depth + 1)
        if kind == "plus":
            ok = gen(arg, out, depth + 1)
            while ok and rng.random() < 0.3:
                ok = gen(arg, out, depth + 1)
            return ok
        return False

    sentences: list[str] = []
    tries = 0
    while len(sentences) < n and tries < n * 5:
        tries += 1
        words: list[str] = []
        if gen(rules[top], words):
            sentences.append(" ".join(words))
    return sentences
