"""Metric signals for root cause: golden signals found from the catalogue, their anomalies, change events.

Nothing here names the demo's metrics. Signals are recognised by TYPE, HELP and Prometheus naming
conventions, and keyed on the label that names a service (``service``, else ``job``):

=============  ==========================================================================================
traffic        a counter of requests (``*_requests_total`` or HELP mentions requests): rate by service
errors         the same counter's 5xx share (a ``code``/``status_code``/``status`` label)
latency        a ``*_seconds`` histogram of requests: p90 by service; other ``*_seconds`` histograms of a
               client (database, cache) as the dependency latency that client sees
saturation     pool gauges ``X_in_use / X_max``; resident memory; restart counters; cache miss ratio from
               ``X_hits_total``/``X_misses_total``; client error counters (a ``status`` label); free share of
               filesystems and memory of the hosts the services run on (``instance`` host part)
changes        ``*_build_info`` version changes, process start time jumps, ``up`` drops
=============  ==========================================================================================

:func:`discover` turns a catalogue into :class:`SignalSpec` s; :func:`measure` runs them over a range and
scores every series with the analysis detector (:func:`promv5_lab.analysis.detect.score_frame`) plus a
robust before/now comparison, giving :class:`SeriesStat` s; :func:`change_events` reads the changes.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

import numpy as np

from ...types import TimeRange, as_utc

if TYPE_CHECKING:  # pragma: no cover
    from ...nl.catalogue import Catalogue

__all__ = ["ChangeEvent", "SeriesStat", "SignalSpec", "change_events", "discover", "measure", "service_label"]

log = logging.getLogger(__name__)

Golden = Literal["latency", "errors", "saturation", "traffic"]
Role = Literal["requests", "error_ratio", "latency", "client_latency", "pool", "memory", "restarts", "cache_miss",
               "client_errors", "disk_free", "host_memory_free", "queue"]
STATUS_LABELS = ("code", "status_code", "status")
LEVEL_ROLES = ("memory", "disk_free", "host_memory_free", "pool")
_ERR_VALUE = re.compile(r"err|fail|timeout|5\d\d", re.IGNORECASE)
_SAFE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


@dataclass(frozen=True)
class SignalSpec:
    """One PromQL that returns one series per entity (a service, or a host's filesystem)."""

    role: Role
    golden: Golden
    promql: str
    entity: str          # the label naming the entity in the result
    direction: int       # +1: higher is worse; -1: lower is worse
    description: str
    host_level: bool = False  # entity is a host (instance) rather than a service
    extra: str = ""      # a second label kept in the entity name (mountpoint)


@dataclass(frozen=True)
class SeriesStat:
    """One series of a signal around ``at``: how abnormal it is now, and since when."""

    spec: SignalSpec
    entity: str
    baseline: float
    current: float
    z: float             # signed by the spec's direction: > 0 means "worse than usual"
    ratio: float         # current / baseline (nan when the baseline is 0)
    peak_z: float        # the worst z in the window
    onset: datetime | None
    detector_peak: float  # highest detector score in the window
    window: TimeRange
    jump: float = math.nan  # level 3-15 min after the onset / level in the half hour before (abrupt vs gradual)

    @property
    def abnormal(self) -> bool:
        return self.z >= 4.0 or (self.peak_z >= 6.0 and self.z >= 2.0)


@dataclass(frozen=True)
class ChangeEvent:
    at: datetime
    service: str
    kind: Literal["version", "restart", "down"]
    summary: str
    promql: str


def service_label(cat: Catalogue) -> str:
    """The label that names a service: ``service`` when metrics carry it, else ``job``."""
    counts = {lab: sum(lab in m.labels for m in cat.metrics.values()) for lab in ("service", "job")}
    return "service" if counts["service"] else "job"


def _gaugey(m) -> bool:
    """A gauge, or a metric without TYPE metadata (a backfilled Prometheus has none) that is no counter."""
    return m.type == "gauge" or (m.type == "unknown" and not m.name.endswith("_total"))


def _q(name: str) -> str:
    return name if _SAFE.match(name) else f'{{__name__="{name}"}}'


def discover(cat: Catalogue) -> list[SignalSpec]:
    """Golden-signal queries for every service, recognised by TYPE/HELP/naming conventions."""
    svc = service_label(cat)
    ms = cat.metrics
    out: list[SignalSpec] = []
    by = f"sum by ({svc})"
    for m in ms.values():
        labs = set(m.labels)
        if svc not in labs:
            if _gaugey(m) and "mountpoint" in labs and m.name.endswith("_avail_bytes"):
                size = m.name[: -len("_avail_bytes")] + "_size_bytes"
                if size in ms:
                    out.append(SignalSpec(
                        "disk_free", "saturation",
                        f"min by (instance, mountpoint) ({_q(m.name)} / {_q(size)})", "instance", -1,
                        "free share of a filesystem", host_level=True, extra="mountpoint"))
            elif _gaugey(m) and re.search(r"mem.*avail", m.name, re.IGNORECASE):
                total = next((n for n in ms if re.search(r"mem.*total", n, re.IGNORECASE) and "instance" in ms[n].labels), None)
                if total:
                    out.append(SignalSpec("host_memory_free", "saturation",
                                          f"min by (instance) ({_q(m.name)} / {_q(total)})", "instance", -1,
                                          "free share of a host's memory", host_level=True))
            continue
        words = set(re.split(r"[^a-z0-9]+", f"{m.name} {m.help}".lower()))
        if m.type == "counter" and ("requests" in words or m.name.endswith("_requests_total")):
            status = next((s for s in STATUS_LABELS if s in labs), None)
            out.append(SignalSpec("requests", "traffic", f"{by} (rate({_q(m.name)}[5m]))", svc, +1,
                                  f"request rate ({m.name})"))
            if status:
                sel = f'{status}=~"5.."'
                out.append(SignalSpec(
                    "error_ratio", "errors",
                    f"{by} (rate({m.name}{{{sel}}}[5m])) / {by} (rate({_q(m.name)}[5m]))", svc, +1,
                    f"share of 5xx responses ({m.name})"))
        elif m.type == "histogram" and m.name.endswith("_seconds"):
            role: Role = "latency" if "request" in words or "http" in words or "rpc" in words else "client_latency"
            out.append(SignalSpec(
                role, "latency",
                f"histogram_quantile(0.9, sum by ({svc}, le) (rate({m.name}_bucket[5m])))", svc, +1,
                f"p90 of {m.name}"))
        elif _gaugey(m) and m.name.endswith("_in_use"):
            stem = m.name[: -len("_in_use")]
            cap = next((f"{stem}_{s}" for s in ("max", "limit", "size", "capacity") if f"{stem}_{s}" in ms), None)
            if cap:
                out.append(SignalSpec("pool", "saturation",
                                      f"max by ({svc}) ({_q(m.name)} / {_q(cap)})", svc, +1,
                                      f"share of the {stem.replace('_', ' ')} pool in use"))
        elif _gaugey(m) and "memory" in words and ("resident" in words or "rss" in words):
            out.append(SignalSpec("memory", "saturation", f"max by ({svc}) ({_q(m.name)})", svc, +1,
                                  "resident memory"))
        elif m.type == "counter" and ("restart" in m.name or "restarts" in words):
            out.append(SignalSpec("restarts", "saturation", f"max by ({svc}) (increase({_q(m.name)}[15m]))", svc,
                                  +1, "container restarts in 15 minutes"))
        elif m.type == "counter" and m.name.endswith("_misses_total"):
            hits = m.name[: -len("_misses_total")] + "_hits_total"
            if hits in ms:
                miss = f"{by} (rate({_q(m.name)}[5m]))"
                out.append(SignalSpec("cache_miss", "saturation",
                                      f"{miss} / ({miss} + {by} (rate({_q(hits)}[5m])))", svc, +1,
                                      "cache miss ratio (the client's view of its cache)"))
        elif m.type == "counter" and "status" in labs and m.values.get("status"):
            bad = sorted(v for v in m.values["status"] if _ERR_VALUE.search(v))
            if bad:
                sel = "|".join(re.escape(v) for v in bad)
                out.append(SignalSpec("client_errors", "errors",
                                      f'{by} (rate({m.name}{{status=~"{sel}"}}[5m]))', svc, +1,
                                      f"failed client calls ({m.name})"))
        elif _gaugey(m) and "queue" in words and "depth" in words:
            out.append(SignalSpec("queue", "saturation", f"max by ({svc}) ({_q(m.name)})", svc, +1, "queue depth"))
    return out


def hosts_of(backend, cat: Catalogue, at: datetime) -> dict[str, str]:
    """service -> host (the ``instance`` label's part before the port), from any service metric."""
    svc = service_label(cat)
    names = sorted(m.name for m in cat.metrics.values() if svc in m.labels and "instance" in m.labels
                   and _gaugey(m) and _SAFE.match(m.name))
    if not names:
        return {}
    sel = "|".join(names)
    try:
        fr = backend.query(f'group by ({svc}, instance) (last_over_time({{__name__=~"{sel}"}}[1h]))', at).frame
    except Exception as exc:  # noqa: BLE001 - host mapping is optional evidence
        log.info("no host mapping: %s", exc)
        return {}
    if fr.empty or svc not in fr or "instance" not in fr:
        return {}
    return {str(s): _host(str(i)) for s, i in zip(fr[svc], fr["instance"])}


def _host(instance: str) -> str:
    return instance.rsplit(":", 1)[0] if ":" in instance and not instance.endswith("]") else instance


def measure(backend, specs: list[SignalSpec], at: datetime, *, lookback_s: float, window_s: float,
            step_s: float, recent_s: float = 180.0) -> tuple[list[SeriesStat], list[tuple[SignalSpec, str]]]:
    """Run every spec over ``[at - lookback, at]``; score each series (detector + robust comparison)."""
    import pandas as pd

    from ..detect import DetectorConfig, score_frame

    at = as_utc(at)
    span = TimeRange(at - timedelta(seconds=lookback_s), at, step_s)
    win_start = at - timedelta(seconds=window_s)
    idx = pd.date_range(span.start, span.end, freq=pd.Timedelta(seconds=step_s), tz="UTC")
    grid = idx.as_unit("ns").asi8
    blocks: list[np.ndarray] = []
    keys: list[tuple[SignalSpec, str]] = []
    failed: list[tuple[SignalSpec, str]] = []
    for spec in specs:
        try:
            fr = backend.query_range(spec.promql, span).frame
        except Exception as exc:  # noqa: BLE001 - one failing signal must not stop a diagnosis
            failed.append((spec, str(exc)))
            continue
        if fr.empty or spec.entity not in fr.columns:
            continue
        names = fr[spec.entity].astype(str)
        if spec.extra and spec.extra in fr.columns:
            names = names + ":" + fr[spec.extra].astype(str)
        codes, uniques = pd.factorize(names, sort=True)
        ns = pd.DatetimeIndex(fr["timestamp"]).as_unit("ns").asi8
        pos = np.searchsorted(grid, ns)
        ok = pos < len(grid)
        ok[ok] = grid[pos[ok]] == ns[ok]
        block = np.full((len(grid), len(uniques)), np.nan)
        block[pos[ok], codes[ok]] = fr["value"].to_numpy(dtype=float)[ok]
        blocks.append(block)
        keys += [(spec, str(u)) for u in uniques]
    if not blocks:
        return [], failed
    arr = np.concatenate(blocks, axis=1)
    arr[~np.isfinite(arr)] = np.nan
    wide = pd.DataFrame(arr, index=idx, columns=[str(i) for i in range(arr.shape[1])])
    wide.index.freq = pd.Timedelta(seconds=step_s)
    cfg = DetectorConfig(season_s=0.0, warmup=min(120, max(10, int((lookback_s - window_s) / step_s) // 2)))
    scores = score_frame(wide, cfg, progress=False)
    vals = wide.to_numpy(dtype=float)
    sc = scores.to_numpy(dtype=float)
    tt = wide.index
    in_win = np.asarray(tt >= win_start)
    recent = np.asarray(tt >= at - timedelta(seconds=max(recent_s, 2.5 * step_s)))  # the last ~3 samples
    out: list[SeriesStat] = []
    for j, (spec, ent) in enumerate(keys):
        x = vals[:, j]
        ref = x[~in_win]
        ref = ref[np.isfinite(ref)]
        if ref.size < 5:
            ref = x[np.isfinite(x)][: max(5, int(np.isfinite(x).sum()) // 3)]
        if ref.size == 0:
            continue
        base = float(np.median(ref))
        mad = float(np.median(np.abs(ref - base))) * 1.4826
        finite = x[np.isfinite(x)]
        # floors: 2% of the baseline, the signal's resolution, and (except for level gauges, where a slow
        # 10% climb matters: memory, free disk) 5% of the largest magnitude seen, so a flat-zero baseline
        # (a queue, an error counter) does not turn any movement into infinite sigmas
        rel = 0.0 if spec.role in LEVEL_ROLES and base != 0 else 0.05 * float(np.max(np.abs(finite)))
        scale = max(mad, 0.02 * abs(base), _resolution(spec), rel, 1e-9)
        cur_vals = x[recent & np.isfinite(x)]
        cur = float(np.median(cur_vals)) if cur_vals.size else math.nan
        d = spec.direction
        z = d * (cur - base) / scale if math.isfinite(cur) else 0.0
        wx = x[in_win]
        zs = d * (wx - base) / scale
        zs = np.where(np.isfinite(zs), zs, 0.0)
        smooth = _rolling_median(zs, 3)
        peak_z = float(np.max(smooth)) if smooth.size else 0.0
        onset = _onset(tt[in_win], smooth, sc[in_win, j], z_on=4.0)
        det_peak = float(np.nanmax(sc[in_win, j])) if np.isfinite(sc[in_win, j]).any() else 0.0
        ratio = cur / base if base not in (0.0,) and math.isfinite(cur) else math.nan
        jump = math.nan
        if onset is not None:
            t_on = np.datetime64(onset.replace(tzinfo=None), "ns")
            ti = tt.tz_convert(None).to_numpy()
            before = x[(ti >= t_on - np.timedelta64(30, "m")) & (ti <= t_on - np.timedelta64(5, "m"))]
            before = before[np.isfinite(before)]
            after = x[(ti >= t_on + np.timedelta64(3, "m")) & (ti <= t_on + np.timedelta64(15, "m"))]
            after = after[np.isfinite(after)]
            last = x[np.isfinite(x)][-3:]
            # fewer than 3 samples after the onset yet (a very early diagnosis): the latest level so far
            level = float(np.median(after)) if after.size >= 3 else (float(np.max(last)) if last.size else cur)
            if before.size and float(np.median(before)) != 0.0 and math.isfinite(level):
                jump = level / float(np.median(before))
        out.append(SeriesStat(spec, ent, base, cur, float(z), float(ratio), peak_z, onset, det_peak,
                              TimeRange(win_start, at, step_s), float(jump)))
    return out, failed


def _resolution(spec: SignalSpec) -> float:
    """A floor on the scale of ratio signals (1% of a share) so a flat baseline does not make noise infinite."""
    return 0.01 if spec.role in ("error_ratio", "pool", "cache_miss", "disk_free", "host_memory_free") else 0.0


def _rolling_median(z: np.ndarray, k: int) -> np.ndarray:
    if z.size < k:
        return z
    pad = np.pad(z, (k // 2, k // 2), mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(pad, k)
    return np.median(win, axis=1)


def _onset(times, z: np.ndarray, score: np.ndarray, *, z_on: float) -> datetime | None:
    """Start of the excursion that is still going on at the end of the window.

    Walk back from the end while the (smoothed) z stays above ``z_on / 2`` (gaps of up to 3 samples
    forgiven); the onset is the first sample above ``z_on`` of that run, moved earlier to the detector's
    first flag (score >= 0.6) within the run when the detector saw it sooner.
    """
    n = z.size
    if n == 0 or z.max() < z_on:
        return None
    above = z >= z_on / 2
    i = n - 1
    gap = 0
    start = None
    while i >= 0:
        if above[i]:
            start = i
            gap = 0
        else:
            gap += 1
            if gap > 3 and start is not None:
                break
            if gap > 3 and start is None and i < n - 30:
                break
        i -= 1
    if start is None:
        # the excursion ended before the window's end: take the strongest one's start
        k = int(np.argmax(z))
        start = k
        while start > 0 and above[start - 1]:
            start -= 1
    run = np.arange(start, n)
    hits = run[z[run] >= z_on]
    first = int(hits[0]) if hits.size else start
    flags = run[(np.nan_to_num(score[run]) >= 0.6) & (run <= first)]
    if flags.size:
        first = int(flags[0])
    return times[first].to_pydatetime()


def change_events(backend, cat: Catalogue, at: datetime, *, lookback_s: float, step_s: float) -> list[ChangeEvent]:
    """Version changes (``*_build_info``), process restarts (start time jumps) and ``up`` drops."""
    svc = service_label(cat)
    at = as_utc(at)
    span = TimeRange(at - timedelta(seconds=lookback_s), at, step_s)
    out: list[ChangeEvent] = []
    for m in cat.metrics.values():
        labs = set(m.labels)
        if svc in labs and "version" in labs and m.name.endswith("_info"):
            q = f"max by ({svc}, version) ({_q(m.name)})"
            fr = _range(backend, q, span)
            if fr is None:
                continue
            for s, part in fr.groupby(svc):
                firsts = part.groupby("version")["timestamp"].min().sort_values()
                prev = None
                for ver, t0 in firsts.items():
                    if prev is not None and t0 > span.start:
                        out.append(ChangeEvent(t0.to_pydatetime(), str(s), "version",
                                               f"{s} version {prev} -> {ver}", q))
                    prev = ver
        elif svc in labs and m.name.endswith("start_time_seconds") and m.type in ("gauge", "unknown"):
            q = f"max by ({svc}) ({_q(m.name)})"
            fr = _range(backend, q, span)
            if fr is None:
                continue
            for s, part in fr.groupby(svc):
                v = part["value"].to_numpy()
                t = part["timestamp"].to_numpy()
                for k in np.flatnonzero(np.diff(v) > 0) + 1:
                    when = as_utc(float(v[k])) if v[k] > 1e9 else as_utc(t[k].astype("datetime64[ms]").astype(float) / 1e3)
                    out.append(ChangeEvent(when, str(s), "restart", f"{s} process restarted", q))
        elif m.name == "up":
            q = "min by (job, instance) (up)"
            fr = _range(backend, q, span)
            if fr is None or "job" not in fr:
                continue
            for s, part in fr.groupby("job"):
                down = part[part["value"] < 1]
                if not down.empty:
                    t0 = down["timestamp"].iloc[0].to_pydatetime()
                    out.append(ChangeEvent(t0, str(s), "down", f"{s} scrape failed ({len(down)} samples with up=0)",
                                           q))
    return sorted(out, key=lambda e: (e.at, e.service, e.kind))


def _range(backend, q: str, span: TimeRange):
    try:
        fr = backend.query_range(q, span).frame
    except Exception as exc:  # noqa: BLE001 - change events are optional evidence
        log.info("change query failed: %s: %s", q, exc)
        return None
    return None if fr.empty else fr
