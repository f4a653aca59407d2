"""Log template mining (drain3) and template surges: what is new, or much more frequent, in the window.

Log lines are untrusted data: they are only ever counted, grouped and quoted back, never interpreted.
Numbers, hex ids and IPs are masked before mining so ``waited 2034ms`` and ``waited 1987ms`` share a
template; the miner's configuration is fixed (no persisted state), so the same lines give the same templates.

    surges = template_surges(window_logs, baseline_logs)   # best first
    surges[0].template, surges[0].service, surges[0].window_count, surges[0].ratio, surges[0].score
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..._deps import require
from ...errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["TemplateSurge", "mine_templates", "template_surges"]

# masks applied before drain3 sees a line (order matters: the longest patterns first)
_MASKS = (
    (r"\b[0-9a-fA-F]{16,}\b", "HEX"),
    (r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", "IP"),
    (r"(?<![A-Za-z])-?\d+(?:\.\d+)*", "NUM"),
)
LEVEL_WEIGHT = {"FATAL": 1.5, "ERROR": 1.2, "WARN": 1.0, "WARNING": 1.0}
MAX_MESSAGE = 2000  # characters of one line that are mined (longer lines are cut, not dropped)


@dataclass(frozen=True)
class TemplateSurge:
    """One (service, template) whose rate in the window is new or far above its baseline rate."""

    service: str
    template: str
    level: str
    window_count: int
    baseline_count: int
    ratio: float          # window rate / baseline rate (with a small prior; inf-free)
    score: float          # log-ratio x log(count) x level weight: how much this surge should count
    new: bool             # never seen in the baseline
    example: str          # one raw line (data, quoted as is)
    trace_ids: tuple[str, ...] = ()
    first_seen: object = None  # pandas Timestamp of the first line in the window


_MASK_RE = [(re.compile(p), f"<{name}>") for p, name in _MASKS]


def _miner():
    require("drain3")
    from drain3 import TemplateMiner
    from drain3.template_miner_config import TemplateMinerConfig

    cfg = TemplateMinerConfig()
    cfg.profiling_enabled = False
    cfg.drain_sim_th = 0.4
    cfg.drain_depth = 4
    cfg.drain_max_children = 100
    cfg.parametrize_numeric_tokens = True
    cfg.masking_instructions = []  # masked once per distinct line by _mask (drain3 would mask per call)
    return TemplateMiner(config=cfg)


def _mask(text: str) -> str:
    for rx, repl in _MASK_RE:
        text = rx.sub(repl, text)
    return text


def mine_templates(*frames: pd.DataFrame) -> list[list[str]]:
    """Mine the ``message`` column of each frame with one miner; return each frame's template per line.

    Lines are masked (numbers, hex ids, IPs) and deduplicated first, so drain3 sees each distinct masked
    line once, in order of first appearance (deterministic). Templates are final: every distinct line is
    matched again after mining, so a template learned late still covers the lines seen before it.
    """
    miner = _miner()
    masked: dict[str, str] = {}
    order: list[str] = []
    for f in frames:
        _check(f)
        for msg in f["message"]:
            raw = _clean(msg)
            if raw not in masked:
                m = _mask(raw)
                masked[raw] = m
                order.append(m)
    seen: set[str] = set()
    for m in order:
        if m not in seen:
            seen.add(m)
            miner.add_log_message(m)
    template: dict[str, str] = {}
    for m in seen:
        cluster = miner.match(m, full_search_strategy="fallback")
        template[m] = cluster.get_template() if cluster is not None else m
    return [[template[masked[_clean(msg)]] for msg in f["message"]] for f in frames]


def _clean(msg: object) -> str:
    text = "" if msg is None else str(msg)
    return text[:MAX_MESSAGE].replace("\n", " ").replace("\r", " ")


def _check(frame: pd.DataFrame) -> None:
    missing = {"timestamp", "service", "message"} - set(frame.columns)
    if missing:
        raise InputError(f"A log frame needs columns timestamp, service, message; missing {sorted(missing)}",
                         hint="Use a LogsBackend (promv5_lab.backends.logs) or the demo's logs.jsonl")


def template_surges(window: pd.DataFrame, baseline: pd.DataFrame, *, window_s: float | None = None,
                    baseline_s: float | None = None, min_count: int = 3, min_ratio: float = 3.0,
                    limit: int = 50) -> list[TemplateSurge]:
    """(service, template) pairs that are new or ``min_ratio`` times more frequent per second in ``window``.

    ``window_s``/``baseline_s`` are the spans' lengths (default: from the frames' first/last timestamps).
    The ratio uses half a line of prior in both spans so that "new" is a large, finite ratio. Sorted by
    ``score`` (best first).
    """
    if window is None or len(window) == 0:
        return []
    base = baseline if baseline is not None else window.iloc[:0]
    tw, tb = mine_templates(window, base)
    w_s = window_s or _span_s(window)
    b_s = baseline_s or _span_s(base)
    wc: Counter[tuple[str, str]] = Counter(zip(window["service"].astype(str), tw))
    bc: Counter[tuple[str, str]] = Counter(zip(base["service"].astype(str), tb))
    levels = window["level"].astype(str).str.upper().tolist() if "level" in window else [""] * len(window)
    tids = window["trace_id"].tolist() if "trace_id" in window else [""] * len(window)
    first: dict[tuple[str, str], int] = {}
    lvl: dict[tuple[str, str], Counter] = {}
    traces: dict[tuple[str, str], list[str]] = {}
    for i, key in enumerate(zip(window["service"].astype(str), tw)):
        first.setdefault(key, i)
        lvl.setdefault(key, Counter())[levels[i]] += 1
        tid = tids[i]
        if isinstance(tid, str) and tid and len(traces.setdefault(key, [])) < 3 and tid not in traces[key]:
            traces[key].append(tid)
    out = []
    for key, n in wc.items():
        if n < min_count:
            continue
        b = bc.get(key, 0)
        ratio = ((n + 0.5) / w_s) / ((b + 0.5) / b_s)
        if ratio < min_ratio:
            continue
        level = lvl[key].most_common(1)[0][0]
        score = math.log(ratio) * math.log1p(n) * LEVEL_WEIGHT.get(level, 0.5)
        i = first[key]
        out.append(TemplateSurge(key[0], key[1], level, int(n), int(b), float(ratio), float(score), b == 0,
                                 _clean(window["message"].iloc[i]), tuple(traces.get(key, ())),
                                 window["timestamp"].iloc[i]))
    out.sort(key=lambda s: (-s.score, s.service, s.template))
    return out[:limit]


def _span_s(frame: pd.DataFrame) -> float:
    if frame is None or len(frame) < 2:
        return 60.0
    ts = frame["timestamp"]
    return max(60.0, (ts.max() - ts.min()).total_seconds())
