"""Related metrics and labels found by naming conventions, for shapes that need more than the chosen metric:
the label a grouping word means on this metric, the "used" gauge of a capacity gauge, the per-event counter
that turns a time counter into an average, and 0/1 health gauges. Generic: token overlap and conventional
words (limit, max, total, ops, up, success...), never particular metric names."""

from __future__ import annotations

import re

from .catalogue import Catalogue, MetricInfo, stem, tokens
from .labels import resolve_label_word
from .vocab import LABEL_WORDS

__all__ = ["capacity_of", "capacity_sibling", "capacity_user", "group_label", "is_health_gauge", "name_parts", "per_event_sibling",
           "ratio_pair", "time_sibling", "total_of_free", "used_gauge", "whole_counter"]

_SEP = re.compile(r"[-_/.@:]")
_CAPACITY_TOKENS = frozenset({"limit", "max", "maximum", "size", "capacity", "watermark", "total", "quota"})
_TIME_TOKENS = frozenset({"time", "seconds", "latency", "duration", "microseconds", "milliseconds", "ms", "us"})
_EVENT_TOKENS = frozenset({"total", "count", "ops", "requests", "calls", "queries", "operations", "events",
                           "accesses", "hits", "tasks", "commands"})
_HEALTH_TOKENS = frozenset({"up", "success", "successful", "healthy", "live", "alive", "leader", "ok"})
_UNITS = frozenset({"bytes", "seconds", "total", "ratio", "percent", "count"})
_COUNT_WORDS = frozenset({"count"})


# (pattern in the name, replacement that names its capacity, 1 - x/capacity is "used")
_CAPACITY = (
    ("MemAvailable", "MemTotal", True), ("MemFree", "MemTotal", True), ("avail", "size", True),
    ("available", "total", True), ("available", "size", True), ("free", "size", True), ("free", "total", True),
    ("in_use", "max", False), ("inuse", "max", False), ("used", "size", False), ("used", "total", False),
    ("used", "limit", False), ("usage", "limit", False), ("active", "max", False), ("current", "max", False),
    ("in_use", "limit", False), ("open", "max", False), ("used", "max", False), ("current", "limit", False),
    ("in_use", "count", False), ("_used", "", False), ("_usage", "", False),  # x_total_used_bytes / x_total_bytes
)
def _n_values(info: MetricInfo, label: str) -> int:
    vals = info.values.get(label)
    return len(vals) if vals is not None else 2  # unknown: assume it varies


def group_label(word: str, info: MetricInfo) -> str | None:
    """The label of ``info`` a grouping word means ("per node", "by method", "per backend", "per queue").

    Among the labels the word can name, one whose values vary on this metric wins (grouping by a label with
    one value groups nothing); then a label whose values contain the word ("backend" in web_backend); then, if
    the metric's own name carries the word ("workqueue ... per queue"), its only varying label."""
    w = word.lower().strip(".,?!")
    labels = info.labels
    base = w[:-1] if w.endswith("s") and len(w) > 3 and not w.endswith(("ss", "us", "is")) else w
    named = [w, *LABEL_WORDS.get(w, ()), base, *LABEL_WORDS.get(base, ())]
    present = [lab for lab in dict.fromkeys(named) if lab in labels]
    present += [lab for lab in labels if lab not in present and base in lab.split("_")]  # grpc_method
    varying = [lab for lab in present if _n_values(info, lab) > 1]
    if varying:
        return varying[0]
    for lab in labels:
        vals = info.values.get(lab, ())
        if lab not in ("le", "quantile") and len(vals) > 1 and any(
                {base, w} & set(_SEP.split(v.lower())) for v in vals):  # "tasks" in invoices.tasks.render_pdf
            return lab
    free = [lab for lab in labels if lab not in ("job", "instance") and _n_values(info, lab) > 1]
    if len(free) == 1 and base in info.name.lower():
        return free[0]
    return present[0] if present else resolve_label_word(w, labels)


def _stems(name: str) -> set[str]:
    return {stem(t) for t in tokens(name)}


def _pair_score(core: set[str], other: set[str], words: set[str], prefix: str | set[str] = "") -> float | None:
    shared = len(core & other)
    common = {prefix} if isinstance(prefix, str) else prefix
    if shared < 2 or shared < len(core) - 2 or not (core & other) - _UNITS - common:
        return None  # the system's prefix and the unit alone do not make a pair (ram_bytes / volume_size_bytes)
    return shared - 0.5 * len(other - core) + 0.3 * len(other & words)


def capacity_user(info: MetricInfo, cat: Catalogue, words: set[str]) -> str | None:
    """For a capacity gauge (``x_limit_bytes``, ``x_max``), the gauge it bounds (``x_used_bytes``): same type,
    the same unit, and the largest overlap of the other name stems (ties: more question words explained)."""
    return _partner(info, cat, words, want_capacity=False)


def capacity_of(info: MetricInfo, cat: Catalogue, words: set[str]) -> str | None:
    """For a gauge of use (``x_resident_memory_bytes``), the capacity gauge that bounds it
    (``x_resident_memory_limit_bytes``, ``x_max_connections``)."""
    return _partner(info, cat, words, want_capacity=True)


def _family_words(info: MetricInfo, cat: Catalogue) -> set[str]:
    """Stems every metric of this one's system (first name word) carries: ``gnatsd_varz_*``'s varz says nothing
    about which two of them pair up."""
    first = tokens(info.name)[0]
    fam = [_stems(m.name) for m in cat.metrics.values() if tokens(m.name)[0] == first]
    return set.intersection(*fam) if len(fam) >= 3 else {stem(first)}


def _partner(info: MetricInfo, cat: Catalogue, words: set[str], *, want_capacity: bool) -> str | None:
    return _partner_by(info, cat, words, want_capacity, _CAPACITY_TOKENS) or _partner_by(
        info, cat, words, want_capacity, _CAPACITY_TOKENS - _WEAK_CAPACITY)  # x_queue_size bounded by x_queue_capacity


_WEAK_CAPACITY = frozenset({"size", "total"})  # a capacity word, unless a sibling says capacity/max/limit


def _partner_by(info: MetricInfo, cat: Catalogue, words: set[str], want_capacity: bool,
                cap_tokens: frozenset[str]) -> str | None:
    own = set(tokens(info.name))
    if info.type not in ("gauge", "unknown") or bool(own & cap_tokens) == want_capacity:
        return None
    core = _stems(info.name) - _CAPACITY_TOKENS
    unit = own & _UNITS
    wstems = {stem(w) for w in words}
    best: tuple[float, str] | None = None
    family = _family_words(info, cat)
    jobs = info.values.get("job")
    for m in cat.metrics.values():
        if m.name == info.name or m.type != info.type:
            continue
        if jobs and m.values.get("job") is not None and not jobs & m.values["job"]:
            continue  # a capacity is on the same targets as what it bounds
        other_t = set(tokens(m.name))
        if bool(other_t & cap_tokens) != want_capacity or (other_t & _UNITS) - _COUNT_WORDS != unit - _COUNT_WORDS:
            continue  # x_process_count is bounded by x_process_limit: "count" names what the limit bounds
        score = _pair_score(core, _stems(m.name) - _CAPACITY_TOKENS, wstems, family)
        if score is not None and (best is None or score > best[0]):
            best = (score, m.name)
    return best[1] if best else None


def per_event_sibling(info: MetricInfo, cat: Catalogue) -> str | None:
    """For a counter of time (``x_query_time_seconds``, ``x_latency_total``), the counter of the events it
    accumulates over (``x_query_total``, ``x_ops_total``): average = time / events."""
    own = set(name_parts(info.name))  # JMX-style: x_processingtime_total over x_requestcount_total
    if info.type != "counter" or not own & _TIME_TOKENS:
        return None
    prefix = name_parts(info.name)[0]
    core = own - _TIME_TOKENS - {"total"}
    best: tuple[int, int, str] | None = None
    for m in cat.metrics.values():
        if m.name == info.name or m.type != "counter":
            continue
        other = set(name_parts(m.name))
        if other & _TIME_TOKENS:
            continue
        extra = other - core
        if core <= other and extra and extra <= _EVENT_TOKENS:
            key = (0, len(extra), m.name)
        elif core <= other and len(extra - _EVENT_TOKENS) == 1 and extra & {"total", "count"} \
                and not extra & _PART_TOKENS:
            key = (1, len(extra), m.name)  # x_queries_duration_seconds_total over x_queries_pooled_total
        elif name_parts(m.name)[0] == prefix and other - {prefix, "total"} <= _EVENT_TOKENS | {"request", "count"}:
            key = (2, len(other), m.name)  # the system's one counter of all its requests
        else:
            continue
        if best is None or key < best:
            best = key
    return best[2] if best else None


def time_sibling(info: MetricInfo, cat: Catalogue) -> str | None:
    """For a counter of events (``x_requestcount_total``), the counter of the time they took
    (``x_processingtime_total``) when ``per_event_sibling`` pairs them: "average request time" = time / events."""
    if info.type != "counter" or set(name_parts(info.name)) & _TIME_TOKENS:
        return None
    prefix = name_parts(info.name)[0]
    for m in cat.metrics.values():
        if m.type == "counter" and name_parts(m.name)[0] == prefix and set(name_parts(m.name)) & _TIME_TOKENS \
                and per_event_sibling(m, cat) == info.name:
            return m.name
    return None


def is_health_gauge(info: MetricInfo) -> bool:
    """A 0/1 gauge of health (``up``, ``x_up``, ``x_success``, ``x_has_leader``, ``x_server_up``)."""
    return info.type in ("gauge", "unknown") and bool(set(tokens(info.name)) & _HEALTH_TOKENS) \
        and not set(tokens(info.name)) & {"seconds", "bytes", "total", "count", "time"}


_FREE_TOKENS = frozenset({"free", "available", "avail"})
_USED_TOKENS = frozenset({"used", "usage", "free", "available", "avail", "active", "current", "inuse"})


def total_of_free(info: MetricInfo, cat: Catalogue) -> str | None:
    """For a gauge of what is free (``host_os_ram_free_bytes``) whose total is not named by swapping one
    word, the gauge of the whole (``host_hw_ram_bytes``, HELP "TotalPhysicalMemory"):
    same type and unit, on the same targets, sharing all but one of its other words (after the prefix and the
    unit), and whose one extra word (if any) is a capacity word or whose name or HELP says total/size/capacity."""
    own = tokens(info.name)
    if info.type not in ("gauge", "unknown") or not set(own) & _FREE_TOKENS:
        return None
    own_set, unit = set(own), set(own) & _UNITS
    core = own_set - _FREE_TOKENS - _UNITS - {own[0]}
    jobs = info.values.get("job")
    best: tuple[int, int, str] | None = None
    for m in cat.metrics.values():
        if m.name == info.name or m.type != info.type:
            continue
        other = tokens(m.name)
        other_set = set(other)
        if other_set & _USED_TOKENS or (other_set & _UNITS) != unit or other[0] != own[0]:
            continue
        if jobs and m.values.get("job") is not None and not jobs & m.values["job"]:
            continue
        shared = len(core & other_set)
        extra = other_set - own_set
        says_total = bool((other_set | set(tokens(m.help))) & (_CAPACITY_TOKENS | {"whole"}))
        if shared < max(1, len(core) - 1) or not (extra <= _CAPACITY_TOKENS or len(extra) <= 1 and says_total):
            continue
        key = (shared, -len(extra), m.name)
        if best is None or key[:2] > best[:2]:
            best = key
    return best[2] if best else None


# words that end run-together name tokens (JMX-style ``errorcount``, ``processingtime``, ``bytessent``)
_TAILS = ("count", "time", "sent", "received", "busy")
_PART_TOKENS = frozenset({"hits", "hit", "errors", "error", "failures", "failure", "failed", "rejected", "rejects",
                          "dropped", "drops", "misses", "miss", "refused", "denied", "timeouts", "retries",
                          "retried", "expired", "evicted", "deferred", "cached"})
_WHOLE_TOKENS = frozenset({"requests", "request", "processed", "queries", "calls", "accesses", "attempts",
                           "lookups", "ops", "operations", "all", "handled"})


def name_parts(name: str) -> list[str]:
    """The name's tokens with run-together words split at a conventional tail (``errorcount`` -> error, count)."""
    out: list[str] = []
    for t in tokens(name):
        tail = next((x for x in _TAILS if t.endswith(x) and len(t) - len(x) >= 4), None)
        out.extend((t[: -len(tail)], tail) if tail else (t,))
    return out


def whole_counter(info: MetricInfo, cat: Catalogue) -> str | None:
    """For a counter of some of the events (``x_client_hits_total``, ``x_errorcount_total``,
    ``x_messages_rejected_total``), the counter of all of them: the same name words with the part word swapped
    for a word of all events (``x_client_requests_total``, ``x_requestcount_total``, ``x_messages_processed_total``).
    A share is part / whole."""
    if info.type != "counter":
        return None
    own = set(name_parts(info.name))
    part = own & _PART_TOKENS
    if len(part) != 1:
        return None
    core = own - part - {"total", "count"}
    best: tuple[int, str] | None = None
    for m in cat.metrics.values():
        if m.name == info.name or m.type != "counter":
            continue
        other = set(name_parts(m.name))
        extra = other - own - {"total", "count"}
        whole = extra and extra <= _WHOLE_TOKENS or not extra and "total" in other - own and other - {"total"} == core
        if core <= other and whole and not other & _PART_TOKENS:  # x_requests_cached over x_requests_total too
            key = (len(extra), m.name)
            if best is None or key < best:
                best = key
    return best[1] if best else None


def ratio_pair(part: str, whole: str, info: MetricInfo, cat: Catalogue) -> tuple[str, str] | None:
    """ "ratio of rejected to processed messages": (numerator, denominator) metrics, ``info`` and the counter whose
    name differs from it by one word only, the one word of each side (compared by stem)."""
    own = name_parts(info.name)
    want = {stem(part), stem(whole)}
    mine = [t for t in own if stem(t) in want]
    if len(mine) != 1:
        return None
    other_word = (want - {stem(mine[0])}) or want
    rest = set(own) - {mine[0]}
    for m in cat.metrics.values():
        if m.name == info.name or m.type != info.type:
            continue
        parts = set(name_parts(m.name))
        extra = parts - rest
        if parts >= rest and len(extra) == 1 and stem(next(iter(extra))) in other_word:
            return (info.name, m.name) if stem(mine[0]) == stem(part) else (m.name, info.name)
    return None


def capacity_sibling(info: MetricInfo, cat: Catalogue) -> tuple[str, bool] | None:
    """(the metric that holds this one's capacity, whether 'used' = 1 - this/capacity) if it exists."""
    for src, dst, complement in _CAPACITY:
        pat = re.compile(rf"{'' if src.startswith('_') else '(?<![a-z])'}{re.escape(src)}(?![a-z])")
        if pat.search(info.name):
            cand = pat.sub(dst, info.name, count=1).strip("_")
            if cand != info.name and cand in cat.metrics:
                return cand, complement
    total = total_of_free(info, cat)  # names that share words but are not one word apart
    return (total, True) if total else None


def used_gauge(info: MetricInfo, cat: Catalogue, words: set[str], known: dict[str, str] | None = None) -> str | None:
    """For a capacity gauge (``x_size_bytes``, ``x_max``), the gauge of what is used of it (``x_used_bytes``,
    ``x_active``): "pool usage" divides it by the capacity, "disk used in GB" shows it alone. ``known``: the
    pairs ``capacity_sibling`` already found for the catalogue (capacity -> user)."""
    return (known or {}).get(info.name) or capacity_user(info, cat, words)
