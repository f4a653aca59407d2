"""The shape of a query for a chosen metric: transform, error/ratio matchers, grouping, time. Generic rules
keyed on TYPE and exporter naming conventions, never on particular metric names."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from ..types import Comparison, LabelMatcher, QueryPlan, Ratio
from .catalogue import Catalogue, MetricInfo, tokens
from .conditions import boolean_gauge, denied, enum_test, idle_test, rate_of_gauge
from .grouping import COUNTER_HELP, grouped_already, in_percent, is_fraction, varies
from .labels import resolve_label_word, value_matcher
from .readings import byte_size, enum_states, is_byte_counter, is_timestamp, unit_scale
from .siblings import (
    capacity_of,
    capacity_sibling,
    group_label,
    is_health_gauge,
    per_event_sibling,
    ratio_pair,
    time_sibling,
    used_gauge,
    whole_counter,
)
from .vocab import ERROR_VALUES, OUTCOME_LABELS, RATIO_WORDS

if TYPE_CHECKING:  # pragma: no cover
    from .planner import Intent, OfflinePlanner

__all__ = ["capacity_sibling", "error_matchers", "shape_plan"]

_FREE_WORDS = {"free", "available", "left", "remaining", "avail", "headroom", "spare"}
_BUSY_WORDS = {"usage", "used", "busy", "utilisation", "utilization", "saturation", "load", "%", "percent",
               "percentage", "ratio", "full"}


def status_code_label(info: MetricInfo) -> str | None:
    """The label of ``info`` whose known values are all three-digit HTTP codes (``code``, ``status``...)."""
    return next((lab for lab in info.labels if info.values.get(lab) and all(
        re.fullmatch(r"\d{3}", v) for v in info.values[lab])), None)


def error_matchers(info: MetricInfo, cat: Catalogue) -> tuple[LabelMatcher, ...]:
    """Matchers that select failures on an outcome label of ``info`` (``code=~"5.."``, ``status="error"``,
    ``grpc_code!="OK"``). Uses this metric's own values when known: another metric's ``status="false"``
    (kube-state-metrics conditions) says nothing about an HTTP counter's ``status``."""
    extra = tuple(lab for lab in info.labels if ("code" in lab or "status" in lab) and lab not in OUTCOME_LABELS)
    for lab in (*OUTCOME_LABELS, *extra):
        if lab not in info.labels:
            continue
        own = info.values.get(lab)
        vals = tuple(sorted(own)) if own else cat.label_values.get(lab, ())
        if vals and all(re.fullmatch(r"\d{3}", v) for v in vals):
            return (LabelMatcher(lab, "=~", "5.."),)
        if vals and all(re.fullmatch(r"\dxx", v) or v == "other" for v in vals) and "5xx" in vals:
            return (LabelMatcher(lab, "=", "5xx"),)
        if vals and all(re.fullmatch(r"[1-5]", v) for v in vals) and "5" in vals:  # a status class
            return (LabelMatcher(lab, "=", "5"),)
        bad = sorted(v for v in vals if v.lower() in ERROR_VALUES or set(re.split(r"[-_ ]", v.lower())) & ERROR_VALUES)
        if len(bad) == 1:
            return (LabelMatcher(lab, "=", bad[0]),)
        if bad:
            return (LabelMatcher(lab, "=~", "|".join(bad)),)
        if "OK" in vals and len(vals) > 1:  # gRPC status codes: everything but OK is a failure
            return (LabelMatcher(lab, "!=", "OK"),)
    return ()


def _error_sibling(info: MetricInfo, cat: Catalogue) -> str | None:
    """For ``x_errors_total`` (or ``x_failed_total``), the all-outcomes counter ``x_total``/``x_requests_total``."""
    m = re.search(r"_(errors?|failures?|failed)(?=_|$)", info.name)
    if not m:  # CamelCase names (x_FailedQuery): the counter with the same words but the failure word
        own = set(tokens(info.name))
        fail = own & _FAIL_TOKENS
        if len(fail) != 1:
            return None
        return next((o.name for o in cat.metrics.values() if o.type == info.type and o.name != info.name
                     and set(tokens(o.name)) == own - fail), None)
    for repl in ("", "_requests", "_total_requests"):
        cand = info.name[: m.start()] + repl + info.name[m.end():]
        if cand in cat.metrics and cand != info.name:
            return cand
    return None


_FAIL_TOKENS = frozenset({"failed", "failures", "failure", "errors", "error"})


def _failing_sibling(info: MetricInfo, cat: Catalogue) -> str | None:
    """For a counter of all events (``x_Query``, ``x_requests_total``), the counter of the failed ones: the same
    name words plus one word of failure (``x_FailedQuery``, ``x_failed_requests_total``)."""
    own = set(tokens(info.name))
    if own & _FAIL_TOKENS:
        return None
    for m in cat.metrics.values():
        if m.type == "counter" and m.name != info.name:
            other = set(tokens(m.name))
            extra = other - own
            if own <= other and len(extra) == 1 and extra <= _FAIL_TOKENS:
                return m.name
    return None


_PAIRS = (("hits", "misses"), ("hit", "miss"), ("success", "failure"), ("successes", "failures"),
          ("ok", "failed"), ("allowed", "denied"), ("accepted", "rejected"), ("succeeded", "failed"),
          ("success", "failed"), ("drop", "forward"), ("dropped", "forwarded"), ("aborts", "commits"),
          ("rollbacks", "commits"))
# labels whose values are states or outcomes: "hit ratio" (status="hit"), "fraction of workers busy" (state="busy")
_STATE_LABELS = frozenset({"state", "status", "condition", "phase", "result", "outcome", "mode"})
_STATE_NAME_TOKENS = frozenset({"state", "status", "condition", "phase"})


def _complement_counter(info: MetricInfo, cat: Catalogue) -> str | None:
    """For ``x_hits_total``, ``x_misses_total``: the counter that with this one makes up all events."""
    for a, b in _PAIRS:
        for src, dst in ((a, b), (b, a)):
            pat = re.compile(rf"(?<![a-z]){src}(?![a-z])")
            if pat.search(info.name):
                cand = pat.sub(dst, info.name, count=1)
                if cand in cat.metrics:
                    return cand
    return None


def shape_plan(it: Intent, info: MetricInfo, planner: OfflinePlanner, now: datetime) -> QueryPlan:
    from .planner import time_of

    cat = planner.catalogue
    if info.type in ("gauge", "unknown") and ((it.rate or it.ratio) and COUNTER_HELP.search(info.help)
                                              or rate_of_gauge(it, info)):
        info = replace(info, type="counter")  # "commits per second" of a gauge that counts (HELP says counter)
    labels = info.labels
    words = set(it.words)
    matchers: dict[str, LabelMatcher] = {}
    name_words = set(tokens(info.name))
    for v in it.values:
        mt = value_matcher(v, labels, info)
        if mt is None or mt.label in matchers:
            continue
        if v.word.lower() in name_words and mt.op == "=" and info.values.get(mt.label) == frozenset({mt.value}):
            continue
        if mt.op == "=" and info.values.get(mt.label) and mt.value not in info.values[mt.label] \
                and v.word.lower() in name_words | set(tokens(info.help)):
            continue  # "active connections" of a gauge whose HELP says "active connections" (state="current")
        if tokens(info.name)[0] in (v.word.lower(), v.value.lower()) and mt.op == "=":
            continue  # "celery queue length": the system's own word (the name's prefix), not its queue "celery"  # "mysql replication lag": the exporter's word, and job="mysql" would select every series
        matchers[mt.label] = mt
    for w in words:  # "share of 4xx responses": the class on the metric's own label of three-digit codes
        if re.fullmatch(r"[1-5]xx", w) and (lab := status_code_label(info)) and lab not in matchers:
            matchers[lab] = LabelMatcher(lab, "=~", f"{w[0]}..")
    if re.search(r"\brate[- ]?limit\w*|\bthrottl\w*|\btoo many requests\b", it.time.rest.lower()):
        for lab in labels:  # "rate limited requests": HTTP 429 on the metric's status/code label
            if ("code" in lab or "status" in lab) and "429" in info.values.get(lab, ()) and lab not in matchers:
                matchers[lab] = LabelMatcher(lab, "=", "429")
                break
    if matchers:  # "nodes with disk pressure": a named condition is the one that holds (status="true")
        for lab in labels:
            true = _boolean_values(info, lab)
            if lab not in matchers and true and (lab in _STATE_LABELS or any(p in lab for p in _OUTCOME_PARTS)):
                matchers[lab] = LabelMatcher(lab, "=", true[0])  # a condition's status, not paused="true"
    by: list[str] = []
    for w in it.by_words:
        if it.by_which and info.type not in ("counter", "histogram", "summary") and not (it.topk or it.bottomk) \
                and w == it.by_words[-1]:
            continue
        lab = group_label(w, info)
        if lab and lab not in by:
            by.append(lab)
    by_parts = {t for lab in by for t in lab.lower().split("_")}
    for v in it.values:  # "per destination workload": a word of the grouped label, not reporter="destination"
        for lab in v.labels:
            mt = matchers.get(lab)
            if mt is not None and (lab not in by or v.word.lower() in it.by_words) and v.word.lower() in by_parts \
                    and mt.value == v.value:  # "per world" on world="world": the grouping word, not that value
                del matchers[lab]
    for v in it.values:  # "kv secrets per mount": a loose match ("secrets" ~ "secret/") on the grouped label
        mt = matchers.get(by[0]) if len(by) == 1 else None
        if mt is not None and v.score < 1.0 and mt.value in (v.value, f"{v.value}:.*"):
            del matchers[by[0]]
    kind, at, rng = time_of(it, now)
    if kind == "range" and re.search(r"\btoday\b", it.reading.rest.lower()) and (
            "today" in name_words or re.search(r"\b(?:right\s+now|currently|at\s+the\s+moment)\b", it.reading.rest.lower())):
        kind, at, rng = "instant", now, None  # x_queries_today already counts today; "running right now" is now
    window = planner.window_s
    notes: list[str] = []
    metric, mtype = info.name, info.type
    transform = "value"
    quantile = None
    ratio: Ratio | None = None
    aggregation = it.aggregation
    comparison = it.comparison
    if comparison is not None and it.comparison_unit and (own := unit_scale(info, it.comparison_unit)):
        # "above 100ms" of a metric kept in milliseconds: the threshold in the metric's own unit
        comparison = Comparison(comparison.op, comparison.value / own)
    latency = "latency" in it.concepts
    counted_share = mtype == "histogram" and it.ratio and it.quantile is None and not it.mean and bool(
        _state_share(it, matchers))  # "502 ratio" of a request histogram: its _count by code over all
    if mtype in ("histogram", "summary"):
        if (latency or not ({"throughput", "errors"} & it.concepts or it.per_second)) and not counted_share:
            # a summary without quantile series only has _sum/_count: its mean is all it can say
            transform = "mean" if it.mean or not info.has_quantiles else "quantile"
            quantile = None if transform == "mean" else (it.quantile if it.quantile is not None else 0.95)
            if quantile is not None and it.quantile is None:
                notes.append("no percentile named: using p95")
            aggregation = None if mtype == "histogram" else aggregation
        else:  # "how many requests" on a histogram: its _count is a counter
            metric, mtype, transform = f"{info.name}_count", "counter", "rate"
    elif mtype == "counter":
        transform = "rate"
    if mtype == "counter":
        if (it.count or it.topk or it.bottomk or _events_in_window(it)) and it.time.window_s:
            # "how many ... in the last hour", "which pods restarted the most in the last hour": the increase
            transform, window = "increase", it.time.window_s
            kind, at, rng = "instant", it.time.end or now, None
        elif it.count and not it.time.explicit:
            transform, window = "increase", 3600.0
            notes.append("no period named: counting over the last hour")
        errs = error_matchers(info, cat) if "errors" in it.concepts else ()
        pair = ratio_pair(*m.groups(), info, cat) if it.ratio and (m := _A_TO_B.search(it.text)) else None
        if named_errs := tuple(matchers[e.label] for e in errs if e.label in matchers):
            errs = named_errs  # "calls that fail with a 500": the failure named, not every 5xx
            if it.ratio:
                matchers = {k: v for k, v in matchers.items() if v not in named_errs}
        cpu_idle = "mode" in labels and "idle" in cat.label_values.get("mode", ()) and "cpu" in it.concepts \
            and "mode" not in matchers  # "user cpu": the mode the question named, not all but idle
        if pair is not None:  # "ratio of rejected to processed messages": one counter over its sibling
            metric, ratio = pair[0], Ratio(denominator_metric=pair[1])
            matchers = {k: v for k, v in matchers.items() if k in cat.metrics[pair[0]].labels
                        and k in cat.metrics[pair[1]].labels}
        elif errs:
            if it.ratio:
                ratio = Ratio(numerator_matchers=errs)
            else:
                for e in errs:
                    matchers.setdefault(e.label, e)
        elif "errors" in it.concepts and it.ratio and (den := _error_sibling(info, cat)):
            ratio = Ratio(denominator_metric=den)
        elif "errors" in it.concepts and it.ratio and (num := _failing_sibling(info, cat)):
            # "what fraction of queries fail" found all queries: the failed ones' counter over it
            metric, ratio = num, Ratio(denominator_metric=info.name)
            matchers = {k: v for k, v in matchers.items() if k in cat.metrics[num].labels}
        elif it.ratio and (share := _state_share(it, matchers)):  # "get hit ratio": status="hit" / all gets
            ratio = Ratio(numerator_matchers=share)
            matchers = {k: v for k, v in matchers.items() if v not in share}
        elif it.ratio and (other := _complement_counter(info, cat)):
            ratio = Ratio(denominator_plus=other)
        elif it.ratio and (whole := whole_counter(info, cat)):  # "hit ratio": hits / requests
            ratio = Ratio(denominator_metric=whole)
            matchers = {k: v for k, v in matchers.items() if k in cat.metrics[whole].labels}
        elif it.mean and (den := per_event_sibling(info, cat)):  # "average search latency": time / searches
            ratio = Ratio(denominator_metric=den)
        elif it.mean and latency and (tm := time_sibling(info, cat)):  # found the requests: their time over them
            metric, ratio = tm, Ratio(denominator_metric=info.name)
        elif cpu_idle and (words & _BUSY_WORDS or it.ratio or not words & {"seconds", "time", "idle"}):
            if words & {"idle"} and not words & _BUSY_WORDS:
                matchers["mode"] = LabelMatcher("mode", "=", "idle")
            else:
                ratio = Ratio(numerator_matchers=(LabelMatcher("mode", "!=", "idle"),))
                if not by and not aggregation:
                    by = [resolve_label_word("node", labels) or "instance"]
        if ratio is not None or not (it.topk or it.bottomk) or by:
            aggregation = aggregation or "sum"
    elif mtype not in ("histogram", "summary") and it.ratio and (share := _state_share(it, matchers)):
        # "what fraction of workers are busy": the selected state's share of all states
        ratio = Ratio(numerator_matchers=share)
        matchers = {k: v for k, v in matchers.items() if v not in share}
        aggregation = aggregation or "sum"
    elif mtype not in ("histogram", "summary"):
        # "used space per dataset" of a gauge named used: the amount; "used" alone asks no share of it
        share = it.ratio and not (words & RATIO_WORDS <= {"used"} and "used" in name_words and not it.percent)
        amount = not it.ratio and it.reading.unit and words & {"used", "usage"}  # "disk used in GB": an amount
        user = used_gauge(info, cat, words, planner._index.capacity_users) if amount or share else None
        if amount and user is not None:  # found the disk's size: the amount used is its sibling
            metric, info = user, cat.metrics[user]
            matchers = {k: v for k, v in matchers.items() if k in info.labels}
        sib = capacity_sibling(info, cat) if share else None
        if share and sib is None:
            if user is not None:  # "pool usage" found the pool's max: divide what is used by it
                metric = user
                held = cat.metrics[user].labels
                matchers = {k: v for k, v in matchers.items() if k in held}
                sib = (info.name, False)
            elif (cap := capacity_of(info, cat, words)) is not None:
                sib = (cap, False)
        if sib is not None:
            complement = sib[1] and not (words & _FREE_WORDS)
            if not sib[1] and words & _FREE_WORDS:
                complement = True
            ratio = Ratio(denominator_metric=sib[0], complement=complement)
            if by and not aggregation:
                aggregation = "sum"
        elif by and not aggregation:
            aggregation = "sum"
        boolean = boolean_gauge(info)  # "1 if enabled", "0 is unreachable": a condition, like a health gauge
        named_health = is_health_gauge(info)
        health = named_health or boolean
        down = it.down or bool(words & _DOWN_WORDS) or it.none or _negated_state(it, info) or (
            boolean and denied(it))
        states = enum_states(info)  # "which ports are down" on IF-MIB OperStatus: down is 2, not 0
        named = [w for w in it.words if w in states and (w != "down" or it.down)]
        state_test = enum_test(it, states) or idle_test(it, info) if comparison is None else None
        if comparison is None and _negated_state(it, info) and not named_health and 0 in states.values():
            comparison = _eq(0.0)  # "inactive" on a gauge whose HELP says "active (1), or not (0)"
        elif state_test is not None:  # "databases not online" on "0=online, 1=restoring": != 0
            comparison = state_test
        elif named and comparison is None:
            comparison = _eq(float(states[named[0]]))
        elif health and down or (it.none and not health and comparison is None):
            comparison = comparison or _eq(0.0)  # "which probes are failing", "queues with no consumers"
        elif health and (it.which or it.count) and comparison is None:
            comparison = _eq(1.0)  # "which member is the leader", "how many targets are up"
        if comparison is None and not (it.topk or it.bottomk or it.count or by or aggregation):
            comparison = _state_gauge_test(it, info, matchers)
            if comparison is None and not health and re.match(r"\s*(?:are there|is there)\b", it.time.rest.lower()):
                comparison = _gt0()  # "are there unapplied migrations": the series where the gauge is above 0
            elif comparison is None and not health and not it.none and _WITH_SOME.search(it.time.rest.lower()):
                comparison = _gt0()  # "pools with clients waiting", "queues that have messages"
        if it.count and comparison is None and not aggregation and not by and any(
                lab in _STATE_LABELS or "state" in lab or "status" in lab for lab in matchers):
            aggregation = "sum"  # "how many apps are out of sync": the series in that state, added up
        elif it.count and comparison is None and not aggregation and not by and ratio is None \
                and transform == "value" and not health and not _names_one(matchers) \
                and varies(info, matchers, _target_labels(info)):
            aggregation = "sum"  # "how many topics do we have": the gauge of each namespace/broker, added up
        if it.count and comparison is not None and health and not by:
            aggregation = "count"  # "how many targets are down": count(up == 0)
        elif it.count and (it.comparison is not None or named) and comparison is not None and not by and ratio is None \
                and transform == "value" and aggregation in (None, "sum"):
            aggregation = "count"  # "how many gpus are above 60 degrees": count(temp > 60)
        if aggregation == "avg" and _names_average(info):
            aggregation = None  # "load average" is the metric's own word, not an aggregation
        elif aggregation in ("max", "min") and it.aggregation == aggregation and not by \
                and aggregation in tokens(info.name):
            aggregation = None  # "max tick duration" of x_tick_duration_max: the metric's own word
        elif aggregation == "sum" and it.aggregation == "sum" and not by and ratio is None and comparison is None \
                and "total" in tokens(info.name) + tokens(info.help) and not varies(info, matchers):
            aggregation = None  # "total number of builds" of one gauge whose HELP says "Total number of builds"
    if it.percent and ratio is None and comparison is not None:
        if in_percent(info):  # "above 90% utilization" of a gauge kept in percent (0-100)
            comparison = Comparison(comparison.op, round(comparison.value * 100.0, 9))
        else:
            notes.append("a percentage was compared with a value that is not a ratio")
    reading = it.reading
    timestamp, scale = None, 1.0
    if reading.timestamp and is_timestamp(info) and ratio is None:  # "expiring in the next 14 days"
        timestamp, transform = reading.timestamp, "value"
        comparison = reading.comparison or (comparison if comparison != _gt0() else None)
        if reading.note:
            notes.append(reading.note)
    if reading.scale and is_byte_counter(info):  # "in bits per second" of a bytes/octets (or kbytes) metric
        scale = reading.scale * (byte_size(info) or 1.0)
    elif reading.scale:
        notes.append("bits were asked of a metric that does not count bytes: shown as it is")
    if reading.percent and comparison is None and timestamp is None and (ratio is not None or is_fraction(info)):
        scale *= 100.0  # "cloud sql memory utilization as a percentage": a share shown as 0-100
    if reading.unit and timestamp is None and ratio is None and transform != "count":
        factor = unit_scale(info, reading.unit)
        if factor is None:
            notes.append("the unit asked for is not the kind of unit this metric is kept in: shown as it is")
        elif factor != 1.0:
            scale *= factor
    if by and aggregation == "sum" and it.aggregation is None and transform == "value" and not it.count \
            and grouped_already(cat.metrics.get(metric, info), by, matchers, ratio,
                                          ranked=bool(it.topk or it.bottomk), timestamp=timestamp is not None):
        aggregation, by = None, []  # "puma threads per web node": one series per node already, keep its labels
    return QueryPlan(
        metric=metric, metric_type=mtype, transform=transform, matchers=tuple(matchers.values()),  # type: ignore[arg-type]
        window_s=window, aggregation=aggregation, by=tuple(by), quantile=quantile, ratio=ratio,  # type: ignore[arg-type]
        topk=it.topk, bottomk=it.bottomk, comparison=comparison, compare_offset_s=it.time.compare_offset_s,
        timestamp=timestamp, scale=scale,  # type: ignore[arg-type]
        kind=kind, time=at, range=rng, notes=tuple(notes))  # type: ignore[arg-type]


def _events_in_window(it: Intent) -> bool:
    """ "failed syncs in the last hour", "errors during the past day": failures counted over a named period
    (no rate, ratio or latency word): how many happened, the counter's increase at the end of the period."""
    return bool(it.time.explicit and not it.rate and not it.ratio and it.quantile is None and not it.mean
                and ("errors" in it.concepts or not it.concepts) and not it.concepts & {"latency", "throughput"}
                and re.search(r"\b(?:in|during|within)\s+the\s+(?:last|past)\b", it.reading.rest.lower()))


def _state_share(it: Intent, matchers: dict[str, LabelMatcher]) -> tuple[LabelMatcher, ...]:
    """The matchers that select a state or outcome (``status="hit"``, ``state="busy"``, ``rcode="NXDOMAIN"``,
    ``code="502"``): a ratio's numerator, when a share is asked in so many words ("hit ratio", "what fraction ...
    busy", "success rate"; "busy workers" is a count). Labels that say where (instance, pod...) are not outcomes."""
    if not (set(it.words) & _SHARE_WORDS or "%" in it.time.rest or _SHARE_RATE.search(it.text)):
        return ()
    return tuple(m for lab, m in matchers.items() if (m.op == "=" or m.op == "=~" and m.value.endswith("..")) and (
        lab in _STATE_LABELS or any(w in lab.lower() for w in _OUTCOME_PARTS)))


_A_TO_B = re.compile(r"\b(?:ratio|share|proportion|fraction|percentage)\s+of\s+([a-z]+)(?:\s+[a-z]+)?\s+(?:to|vs|versus|over)\s+([a-z]+)")
_WITH_SOME = re.compile(r"\bwith\s+(?:any\s+|some\s+)?(?:[a-z]+\s+)?(?:waiting|queued|pending|blocked|stuck)\b"
                        r"|\b(?:that|which)\s+(?:have|has)\s+(?:any\s+|some\s+)?[a-z]+")
_SHARE_RATE = re.compile(r"\b(?:success|hit)\s+rate\b")
_OUTCOME_PARTS = ("code", "status", "class", "result", "outcome", "reason")


_SHARE_WORDS = frozenset({"ratio", "fraction", "share", "proportion", "percentage", "percent", "pct"})


_NEGATION = re.compile(r"\b(?:not|isn't|aren't|non|never)\s+(?:yet\s+|been\s+)?([a-z]+)")


def _negated_state(it: Intent, info: MetricInfo) -> bool:
    """ "inactive" / "unhealthy" / "non-ready" asked of a gauge named for the state itself (x_active, x_healthy):
    the series where it does not hold (0)."""
    name_t = set(tokens(info.name))
    for w in re.findall(r"[a-z]+", it.time.rest.lower()):
        for pre in ("non", "un", "in"):
            if w.startswith(pre) and len(w) - len(pre) >= 4 and w[len(pre):] in name_t and w not in name_t:
                return True
    return False


def _state_gauge_test(it: Intent, info: MetricInfo, matchers: dict[str, LabelMatcher]):
    """0/1 gauges: the comparison that selects the series for which the state the question names holds.

    A state set (``x_state{state="stopped"}``, ``x_ready_status{condition="False"}``) is 1 for the state that
    holds; "sealed" on an ``x_unsealed`` gauge is 0; "which node is the active one" on ``x_active`` is 1."""
    name_t = set(tokens(info.name))
    text = f" {it.text} "
    neg = _NEGATION.search(text)
    # "not schedulable" on x_status{condition="schedulable"}, "not ready" on x_condition{type="Ready"}: the
    # condition is a value of one of the metric's labels, not a word of its name
    held = _condition_value(info, neg.group(1), matchers) if neg else None
    if neg and (neg.group(1) in name_t or held):  # "not ready" on a ready/condition gauge: condition="False" == 1
        if held is not None and held[0] not in matchers:
            matchers[held[0]] = LabelMatcher(held[0], "=", held[1])
        for lab in info.labels:
            false = _boolean_values(info, lab, want="false")
            if false and (lab in _STATE_LABELS or held):
                matchers[lab] = LabelMatcher(lab, "=", false[0])
                return _eq(1.0)
        if held is not None:
            return _eq(0.0)  # a 0/1 gauge per condition: the condition does not hold
    boolean = any({"true", "false"} <= {v.lower() for v in vals} for vals in info.values.values())
    if name_t & _STATE_NAME_TOKENS and not boolean and any(
            lab in _STATE_LABELS and m.op == "=" for lab, m in matchers.items()):
        return _eq(1.0)  # a state set without a true/false label: the named state's series is 1 where it holds
    for w in re.findall(r"[a-z]+", it.time.rest.lower()):  # "sealed" asked of an "unsealed" gauge
        if len(w) >= 4 and f"un{w}" in name_t:
            return _eq(0.0)
    if _negated_state(it, info):
        return _eq(0.0)  # "which triggers are inactive" on an x_active gauge
    m = re.search(r"\bwhich\s+(?:[a-z_-]+\s+){1,3}?(?:is|are)\s+(?:the\s+|currently\s+)?([a-z]+)\b", text)
    if m and m.group(1) in name_t and m.group(1) == tokens(info.name)[-1]:
        return _eq(1.0)  # "which vault is the active node": the one whose x_active gauge is 1
    return None


def _boolean_values(info: MetricInfo, lab: str, want: str = "true") -> list[str]:
    """The value of ``lab`` that spells ``want`` ("true" / "True") when the label holds both true and false."""
    vals = info.values.get(lab, frozenset())
    if not {"true", "false"} <= {v.lower() for v in vals}:
        return []
    return sorted(v for v in vals if v.lower() == want)


def _condition_value(info: MetricInfo, word: str, matchers: dict[str, LabelMatcher]) -> tuple[str, str] | None:
    """(label, value) of ``info`` whose value is the condition ``word`` names ("ready" -> type="Ready")."""
    for lab, m in matchers.items():
        if m.op == "=" and m.value.lower() == word:
            return lab, m.value
    for lab in info.labels:
        hit = sorted(v for v in info.values.get(lab, ()) if v.lower() == word)
        if hit and lab not in ("job", "instance") and lab not in matchers:  # endpoint_state="not-ready": named
            return lab, hit[0]
    return None


def _gt0():
    from ..types import Comparison

    return Comparison(">", 0.0)


def _eq(value: float):
    from ..types import Comparison

    return Comparison("==", value)


def _target_labels(info: MetricInfo) -> frozenset[str]:
    """Labels that say which target reported a value (``instance``, ``job``, ``node_id``...): every member of a
    cluster reports the whole cluster's size, so those series are not parts of a total."""
    return frozenset(lab for lab in info.labels if lab in ("job", "pod") or any(
        w in lab.lower() for w in ("instance", "host", "node", "member", "server")))


def _names_one(matchers: dict[str, LabelMatcher]) -> bool:
    """A matcher that names one thing ("on the invoices topic"), not only the system (job) or a target."""
    return any(m.op == "=" and lab not in ("job", "instance") for lab, m in matchers.items())
_DOWN_WORDS = frozenset({"down", "dead", "offline", "unreachable", "failing", "failed", "unhealthy", "broken", "fail",
                         "fails", "disabled"})


def _names_average(info: MetricInfo) -> bool:
    from .catalogue import tokens

    return bool({"average", "avg", "mean"} & set(tokens(info.name) + tokens(info.help)))
