"""Label values and label names mentioned in passing, matched against the catalogue (typo-tolerant)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace

from ..types import LabelMatcher
from .catalogue import Catalogue, MetricInfo
from .vocab import CONCEPTS, LABEL_WORDS, STOPWORDS

__all__ = ["ValueMatch", "find_values", "resolve_label_word", "value_matcher"]

_WORD = re.compile(r"[A-Za-z0-9_./{}:-]+")
_SKIP_LABELS = {"le", "quantile", "__name__"}


@dataclass(frozen=True)
class ValueMatch:
    """A question word that names a label value: ``label`` is one of ``labels`` (all that hold it)."""

    word: str
    value: str
    labels: tuple[str, ...]
    score: float
    prefix: bool = False  # "node-2" naming "node-2:9100": match by regex on the host part
    hinted_label: str | None = None
    weak: bool = False  # a common word ("current", "heap") that is also a value: a filter only where held
    alts: tuple[ValueMatch, ...] = ()  # other readings ("shop.example.com" as a cn and inside a probed URL)


def _host(v: str) -> str:
    """``node-2`` for ``node-2:9100`` (host:port only; URLs and paths stay whole)."""
    m = re.fullmatch(r"([^:/]+):\d+", v)
    return m.group(1) if m else v


_PARTS = re.compile(r"[-_/.@ ]")  # "Policy denied": its words are parts too
_PATH_WORDS = frozenset({"on", "for", "at", "in", "of", "mounted"})


def _value_index(cat: Catalogue) -> tuple[dict[str, list[tuple[str, str, bool]]], dict[str, list[tuple[str, str, bool]]]]:
    cached = _INDEX_CACHE.get(id(cat))
    if cached is not None and cached[0] is cat:
        return cached[1], cached[2]
    index: dict[str, list[tuple[str, str, bool]]] = {}
    part_index: dict[str, list[tuple[str, str, bool]]] = {}
    short_index: dict[str, list[tuple[str, str, bool]]] = {}
    for lab, vals in cat.label_values.items():
        if lab in _SKIP_LABELS:
            continue
        for v in vals:
            if not v or len(v) > 80:
                continue
            index.setdefault(v.lower(), []).append((lab, v, False))
            h = _host(v).lower()
            if h != v.lower():
                index.setdefault(h, []).append((lab, v, True))
            pieces = _PARTS.split(v.lower())
            # "push" names route="loki_api_v1_push": a word of four letters is a part of a value of 3+ pieces
            parts = [p for p in pieces if len(p) >= 5 or len(p) == 4 and p.isalpha() and len(pieces) >= 3]
            if len(_PARTS.split(v)) > 1:  # "fulfilment" names "order-fulfilment" (short parts count too)
                for p in parts:
                    part_index.setdefault(p, []).append((lab, v, False))
                for p in _PARTS.split(v.lower()):
                    if 3 <= len(p) < 5 and p.isalpha():  # "the ssr app": named only next to a label word
                        short_index.setdefault(p, []).append((lab, v, False))
            segments = [p for p in re.split(r"[./:@]", v.lower()) if len(p) >= 5 and re.search(r"[_-]", p)]
            if segments and segments[0] != v.lower():  # "render_pdf" names the task "invoices.tasks.render_pdf"
                for p in segments:
                    part_index.setdefault(p, []).append((lab, v, False))
    unique_parts = {p: cands for p, cands in part_index.items() if p not in index and len({c[1] for c in cands}) == 1}
    short = {p: cands for p, cands in short_index.items() if p not in index}
    _INDEX_CACHE.clear()
    _INDEX_CACHE[id(cat)] = (cat, index, unique_parts, short)
    return index, unique_parts


_INDEX_CACHE: dict[int, tuple[Catalogue, dict, dict, dict]] = {}


def _short_parts(cat: Catalogue) -> dict[str, list[tuple[str, str, bool]]]:
    """Three- and four-letter pieces of values ("ssr" of "storefront-ssr") -> (label, value, False)."""
    _value_index(cat)
    return _INDEX_CACHE[id(cat)][3]
_CLOSE_CACHE: dict[tuple[int, str], list[str]] = {}


def _close(cat: Catalogue, w: str, keys: list[str]) -> list[str]:
    """difflib's closest value to ``w`` (cached per catalogue: the slow part of planning)."""
    key = (id(cat), w)
    hit = _CLOSE_CACHE.get(key)
    if hit is None:
        if len(_CLOSE_CACHE) > 20000 or (_CLOSE_CACHE and next(iter(_CLOSE_CACHE))[0] != id(cat)):
            _CLOSE_CACHE.clear()
        hit = _CLOSE_CACHE[key] = difflib.get_close_matches(w, keys, n=1, cutoff=0.8)
    return hit


def _prefixed(w: str, keys: list[str]) -> str | None:
    """The one value that starts with ``w`` and a separator ("shop-frontend" -> "shop-frontend-80@kubernetes")."""
    hits = {k for k in keys if k.startswith(w) and len(k) > len(w) and k[len(w)] in "-_@.:/"}
    return hits.pop() if len(hits) == 1 else None


def find_values(text: str, cat: Catalogue, reserved: frozenset[str] = frozenset(),
                name_tokens: frozenset[str] | set[str] = frozenset(),
                known: frozenset[str] | set[str] = frozenset()) -> list[ValueMatch]:
    """Words of ``text`` that name label values, best match per word (exact > host part > fuzzy).

    ``reserved`` words (concepts such as "error") and stop words only name a value exactly and weakly (a filter
    on metrics that hold it). Words that are tokens of metric names (``name_tokens``: "kafka", "health") name
    values exactly or not at all: never by a fuzzy or partial match ("kafka" is not the host "kafka-2").
    Adjacent words may name one value together ("disk pressure" -> "DiskPressure"); "404s" names "404".
    ``known`` words (the planner's vocabulary) are not misspelt values: no fuzzy match for them.
    """
    found = _WORD.findall(text)
    words = [w.strip(".,?!;:'\"()") for w in found]
    lowered = [w.lower() for w in words]
    index, parts = _value_index(cat)
    out: list[ValueMatch] = []
    keys = list(index)
    used: set[int] = set()
    for i, w in enumerate(lowered):  # a Windows drive: "C:", "the C drive", "drive D" name the value "C:"
        near = {lowered[j] for j in (i - 1, i + 1) if 0 <= j < len(lowered)}
        if len(w) == 1 and w.isalpha() and (found[i].rstrip(".,?!;'\"()").endswith(":") or near & _DRIVE_WORDS) \
                and (cands := index.get(w + ":")):
            out.append(ValueMatch(words[i], cands[0][1], tuple(dict.fromkeys(c[0] for c in cands)), 1.0))
            used.add(i)
    for i, w in enumerate(lowered):  # "ipv6 prefixes": ip_version="6" (or a family label holding ipv6/inet6)
        if (m := re.fullmatch(r"ip\s*v?([46])", w)) is not None:
            for lab, vals in cat.label_values.items():
                if "ip" in lab.lower() and any(k in lab.lower() for k in ("version", "family", "proto")):
                    hit = next((v for v in vals if v.lower() in (m.group(1), f"ipv{m.group(1)}", f"inet{m.group(1)}"
                                                                 if m.group(1) == "6" else "inet")), None)
                    if hit is not None:
                        out.append(ValueMatch(words[i], hit, (lab,), 1.0))
                        used.add(i)
                        break
    for n in (3, 2):  # "disk pressure" names DiskPressure, "crash loop back off" CrashLoopBackOff
        for i in range(len(lowered) - n + 1):
            span = lowered[i:i + n]
            # a stop word may sit inside a value's words ("out of sync" -> OutOfSync), never at its ends
            if any(j in used for j in range(i, i + n)) or not all(span) or span[0] in STOPWORDS \
                    or span[-1] in STOPWORDS:
                continue
            last = span[-1]
            single = last[:-3] + "y" if last.endswith("ies") else last.removesuffix("s")
            spans = [span] + ([[*span[:-1], single]] if single != last else [])  # "power supplies": "Power Supply"
            for joined in (sep.join(sp) for sp in spans for sep in ("", "-", "_", " ")):
                cands = index.get(joined)
                if cands and not all(c[2] for c in cands):
                    labs = tuple(dict.fromkeys(c[0] for c in cands))
                    out.append(ValueMatch(" ".join(words[i:i + n]), cands[0][1], labs, 1.0))
                    used.update(range(i, i + n))
                    break
    for i, w in enumerate(lowered):
        if i in used or not w:
            continue
        if re.fullmatch(r"\d{3}s", w):  # "404s", "502s"
            w = w[:-1]
        hint = _hint(lowered, i)
        if w == "/" and i > 0 and lowered[i - 1] in _PATH_WORDS and "/" in index:
            cands = index["/"]
            out.append(ValueMatch("/", "/", tuple(dict.fromkeys(c[0] for c in cands)), 1.0))
            continue
        if len(w) < 2 or w.isdigit() and len(w) < 3:
            continue
        weak = w in STOPWORDS or ((w in LABEL_WORDS or w in reserved) and not (hint and hint != w))
        cands = index.get(w)
        if weak:
            if cands and w not in _NEVER_VALUES and w not in LABEL_WORDS and w not in _OUTCOME_WORDS \
                    and not all(c[2] for c in cands):
                out.append(ValueMatch(words[i], cands[0][1], tuple(dict.fromkeys(c[0] for c in cands)), 1.0,
                                      weak=True))
            continue  # "node" is a label word ("per node"), "error" a concept, unless a label word names it
        score = 1.0
        strict = w in name_tokens or w in cat.label_values or w.endswith("s") and w[:-1] in cat.label_values
        # "by state", "all worlds": a label's name, not kube-state-... nor the value "world"
        if cands is None and not w.startswith("/") and "/" + w in index and hint:
            cands = index["/" + w]
        alts: tuple[ValueMatch, ...] = ()
        if "." in w and len(w) >= 6:  # a host name inside a URL value
            hits = [k for k in keys if w in k and k != w]
            if len(hits) == 1:
                inside = index[hits[0]]
                alt = ValueMatch(words[i], inside[0][1], tuple(dict.fromkeys(c[0] for c in inside)), 0.9)
                if cands is None:
                    cands, score = inside, 0.9
                else:
                    alts = (alt,)
        if cands is None and len(w) >= 5 and w.endswith("s"):  # "misses" names status="miss" (exactly, so strict too)
            sing = w[:-2] if w.endswith("es") and w[:-2] in index else w[:-1]
            cands = None if sing in cat.label_values else index.get(sing)  # "all worlds": the label world's values
        if cands is None and not strict and w in parts and (len(w) >= 5 or w not in known):
            cands = parts[w]
        if cands is None and not strict and hint and hint != w and w not in known and w in (short := _short_parts(cat)):
            # "the ssr app": a short piece of the one value of a label the label word names (job="storefront-ssr")
            named = [c for c in short[w] if c[0] in LABEL_WORDS.get(hint, ())]
            if len({c[1] for c in named}) == 1:
                cands, score = named, 0.9
        if cands is None and not strict and len(w) >= 4 and w not in known and (pre := _prefixed(w, keys)):
            cands, score = index[pre], 0.9
        if cands is None and not strict and len(w) >= 5 and w not in LABEL_WORDS and w not in known:
            close = _close(cat, w, keys)
            if close:
                cands, score = index[close[0]], 0.85
        if not cands:
            continue
        labs = tuple(dict.fromkeys(c[0] for c in cands))
        value = cands[0][1]
        prefix = all(c[2] for c in cands)
        if strict and prefix:
            continue  # "etcd" is the exporter's word, not the host "etcd" of etcd:2379 ... unless named exactly
        out.append(ValueMatch(words[i], value if not prefix else _host(value), labs, score, prefix, hint, alts=alts))
    return out


# concept words whose values the shapes handle themselves (error matchers, up == 0): never a weak filter
_OUTCOME_WORDS = CONCEPTS["errors"][0] | CONCEPTS["up"][0] | CONCEPTS["throughput"][0] | CONCEPTS["restarts"][0]
# words that are never a label value in a question, whatever a catalogue holds (aggregations, time words)
_NEVER_VALUES = frozenset({"total", "sum", "average", "avg", "mean", "max", "min", "count", "rate", "all", "any",
                           "now", "last", "time", "number", "top", "bottom", "per", "by", "and", "or", "not",
                           "value", "values", "metric", "metrics", "the", "a", "is", "are", "usage", "used"})


_DRIVE_WORDS = frozenset({"drive", "drives", "volume", "volumes", "disk", "partition"})


def _hint(words: list[str], i: int) -> str | None:
    """A label word right before or after position i ("the checkout service", "route /cart")."""
    for j in (i + 1, i - 1):
        if 0 <= j < len(words) and words[j] in LABEL_WORDS:
            return words[j]
    return None


def resolve_label_word(word: str, available: tuple[str, ...] | list[str]) -> str | None:
    """A label word of the question ("node", "routes", "status") -> a label the metric has."""
    w = word.lower().strip(".,?!")
    if w in available:
        return w
    for cand in LABEL_WORDS.get(w, ()):
        if cand in available:
            return cand
    if w.endswith("s") and w[:-1] in available:
        return w[:-1]
    close = difflib.get_close_matches(w, list(available), n=1, cutoff=0.8)
    return close[0] if close else None


def value_matcher(m: ValueMatch, available: tuple[str, ...], info: MetricInfo | None = None) -> LabelMatcher | None:
    """The matcher for a value match on a metric with ``available`` labels (None if it has none of them).
    A weak match (a common word that is also a value) applies only where the metric holds that value;
    an alternative reading is tried when the metric has none of the first reading's labels."""
    labs = [lab for lab in m.labels if lab in available]
    if info is not None and not m.prefix:
        held = [lab for lab in labs if info.has_value(lab, m.value)]
        if m.weak:
            held = [lab for lab in held if lab in info.values]  # known to hold it, not merely unknown
        labs = held or ([] if m.weak else labs)
    elif m.weak:
        labs = []
    if not labs:
        for alt in m.alts:
            mt = value_matcher(alt, available, info)
            if mt is not None:
                return mt
        return None
    if m.hinted_label:
        preferred = [lab for lab in LABEL_WORDS.get(m.hinted_label, ()) if lab in labs]
        if preferred:
            labs = preferred
    order = ("service", "job", "app", "route", "instance", "pod")
    labs.sort(key=lambda lab: order.index(lab) if lab in order else len(order))
    lab = labs[0]
    own = info.values.get(lab, frozenset()) if info is not None else frozenset()
    if not m.prefix and own and m.value not in own and any(v.startswith(m.value + ":") for v in own):
        m = replace(m, prefix=True)  # "apisix-gw-0" is a hostname elsewhere, and here the host of instance host:port
    if m.prefix:
        return LabelMatcher(lab, "=~", re.sub(r"([.+*?()\[\]{}|^$\\])", r"\\\1", m.value) + ":.*")
    if m.value not in own:  # "kustomization" is controller="kustomization" but kind="Kustomization" here
        m = next((replace(m, value=v) for v in sorted(own) if v.lower() == m.value.lower()), m)
    return LabelMatcher(lab, "=", m.value)
