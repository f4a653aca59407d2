"""Fleet scans: many series scored in chunks, on local threads or on a Dask cluster.

Every series is scored, calibrated and flagged independently (:func:`learn.detect`), so a wide frame can
be cut into column chunks, each chunk run anywhere, and the results concatenated: the answer is the same
as one local call (tests/integration/test_dask_scan.py checks it on a real ``distributed.LocalCluster``).

``cluster`` is ``None`` (local threads), a scheduler address (``"tcp://HOST:8786"``; a
``distributed.Client`` is opened for the scan and closed after) or an existing ``distributed.Client``.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TYPE_CHECKING, Any

from .._deps import require
from ..errors import BackendUnavailable, InputError
from .results import AnomalyScores

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = ["merge_scores", "scan"]

log = logging.getLogger(__name__)

DEFAULT_CHUNK = 250


def _detect_chunk(wide: pd.DataFrame, kwargs: dict[str, Any]) -> AnomalyScores:
    from .learn import detect

    return detect(wide, progress=False, **kwargs)


def merge_scores(parts: list[AnomalyScores], columns: list) -> AnomalyScores:
    """One :class:`AnomalyScores` from chunk results, columns in the original order."""
    import pandas as pd

    scores = pd.concat([p.scores for p in parts], axis=1)[columns]
    flags = pd.concat([p.flags for p in parts], axis=1)[columns]
    thresholds = {k: v for p in parts for k, v in p.thresholds.items()}
    anomalies = tuple(sorted((a for p in parts for a in p.anomalies), key=lambda a: (a.start, a.series)))
    params = dict(parts[0].params) if parts else {}
    periods = {k: v for p in parts for k, v in dict(p.params.get("periods_s", {})).items()}
    learning = {k: v for p in parts for k, v in dict(p.params.get("learning", {})).items()}
    params.update(periods_s=periods, chunks=len(parts), learning=learning)
    return AnomalyScores(scores, flags, thresholds, anomalies, params)


def scan(wide: pd.DataFrame, *, cluster: Any = None, chunk_series: int = DEFAULT_CHUNK, workers: int | None = None,
         progress: bool = True, connect_timeout_s: float = 10.0, **detect_kwargs: Any) -> AnomalyScores:
    """:func:`learn.detect` over a wide frame in column chunks, locally (threads) or on a Dask cluster.

    ``detect_kwargs`` are passed to every chunk (``target_fpr``, ``floor``, ``seasonality``, ``config``...;
    ``counters``, one flag per column, is cut to match the chunks).
    """
    import pandas as pd

    if not isinstance(wide, pd.DataFrame) or wide.shape[1] == 0:
        raise InputError("scan() needs a wide frame with at least one series",
                         hint="build it with promv5_lab.frames.to_wide()")
    if chunk_series < 1:
        raise InputError(f"chunk_series must be at least 1, got {chunk_series}")
    n = wide.shape[1]
    counters = detect_kwargs.pop("counters", None)
    if counters is not None and len(counters) != n:
        raise InputError(f"counters has {len(counters)} flags for {n} series")
    jobs = []
    for lo in range(0, n, chunk_series):
        part = wide.iloc[:, lo:lo + chunk_series].copy()
        part.index.freq = wide.index.freq
        kw = dict(detect_kwargs)
        if counters is not None:
            kw["counters"] = list(counters[lo:lo + chunk_series])
        jobs.append((part, kw))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc=f"scan {n} series", unit="chunk", leave=False)
    try:
        if cluster is None:
            results = _local(jobs, workers, bar)
        else:
            results = _dask(jobs, cluster, bar, connect_timeout_s)
    finally:
        if bar is not None:
            bar.close()
    merged = merge_scores(results, list(wide.columns))
    params = dict(merged.params)
    params["executor"] = "local threads" if cluster is None else f"dask {_address(cluster)}"
    return AnomalyScores(merged.scores, merged.flags, merged.thresholds, merged.anomalies, params)


def _local(jobs, workers, bar) -> list[AnomalyScores]:
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    out: list[AnomalyScores | None] = [None] * len(jobs)
    if n_workers == 1:
        for i, (part, kw) in enumerate(jobs):
            out[i] = _detect_chunk(part, kw)
            if bar is not None:
                bar.update(1)
        return out  # type: ignore[return-value]
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="promv5-scan") as pool:
        futures = {pool.submit(_detect_chunk, part, kw): i for i, (part, kw) in enumerate(jobs)}
        for fut in as_completed(futures):
            out[futures[fut]] = fut.result()
            if bar is not None:
                bar.update(1)
    return out  # type: ignore[return-value]


def _address(cluster: Any) -> str:
    if isinstance(cluster, str):
        return cluster
    sched = getattr(cluster, "scheduler", None)
    return str(getattr(sched, "address", None) or getattr(cluster, "scheduler_address", "") or "client")


def _dask(jobs, cluster: Any, bar, connect_timeout_s: float) -> list[AnomalyScores]:
    distributed = require("distributed", "analysis")
    own = isinstance(cluster, str)
    if own:
        if not cluster.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise InputError(f"cluster address {cluster!r} is not a Dask scheduler address",
                             hint="pass --cluster tcp://HOST:8786 (the address 'dask scheduler' prints)")
        try:
            client = distributed.Client(cluster, timeout=f"{connect_timeout_s:g}s")
        except (OSError, TimeoutError) as exc:
            raise BackendUnavailable(f"cannot reach the Dask scheduler at {cluster}: {exc}", url=cluster,
                                     hint="start one with 'dask scheduler' and 'dask worker ADDRESS', or drop --cluster") from exc
    else:
        client = cluster
    try:
        futures = [client.submit(_detect_chunk, part, kw, pure=False) for part, kw in jobs]
        index = {f.key: i for i, f in enumerate(futures)}
        out: list[AnomalyScores | None] = [None] * len(jobs)
        for fut in distributed.as_completed(futures):
            out[index[fut.key]] = fut.result()
            if bar is not None:
                bar.update(1)
        return out  # type: ignore[return-value]
    finally:
        if own:
            client.close()
