"""What the Tempo and Jaeger clients share: find traces, fetch each whole, keep the spans asked for."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from ...types import TimeRange
from ..signals.frames import finish_spans, spans_frame

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)


def fetch_all(ids: Iterable[str], fetch: Callable[[str], list[dict[str, Any]]], *, workers: int = 4,
              progress: bool = False) -> list[dict[str, Any]]:
    """Rows of every trace in ``ids`` (fetched ``workers`` at a time; tqdm progress on stderr when asked)."""
    ids = list(dict.fromkeys(ids))
    rows: list[dict[str, Any]] = []
    if not ids:
        return rows
    bar = None
    if progress and len(ids) > 20:
        from tqdm import tqdm

        bar = tqdm(total=len(ids), desc="traces", unit="trace", leave=False)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(ids)))) as pool:
        for got in pool.map(fetch, ids):
            rows.extend(got)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    return rows


def select(rows: list[dict[str, Any]], time_range: TimeRange, service: str | None, limit: int, *,
           source: str, query: str, searched_all: bool) -> pd.DataFrame:
    """The spans of ``rows`` that start in range (of ``service``), de-duplicated, sorted, cut at ``limit``."""
    frame = spans_frame(rows)
    if not frame.empty:
        frame = frame.drop_duplicates(["trace_id", "span_id"])
        keep = (frame["start"] >= time_range.start) & (frame["start"] <= time_range.end)
        if service:
            keep &= frame["service"] == service
        frame = frame[keep]
    return finish_spans(frame, source=source, query=query, limit=limit, truncated=not searched_all)
