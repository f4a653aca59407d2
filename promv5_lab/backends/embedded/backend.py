"""``EmbeddedBackend``: the in-process engine behind the same seams as a live Prometheus.

Implements :class:`~promv5_lab.backends.base.MetricsBackend` and ``MetricCatalogue``, plus ``series()``
like Prometheus's API. ``EmbeddedBackend.open(DIR)`` loads ``DIR/store.npz`` when present, else parses
``DIR/metrics.om`` (and caches the parsed store in ``DIR/.embedded/`` for the next start).
"""

from __future__ import annotations

import logging
import math
import time as _time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from ...errors import InputError, QueryError, ResultTooLarge
from ...types import MetricMetadata, Provenance, QueryResult, TimeRange, as_utc
from .evaluator import MAX_POINTS, Engine, Result
from .storage import Store
from .values import EvalError

log = logging.getLogger(__name__)

CACHE_DIR = ".embedded"


def to_ms(t: datetime | float | str) -> int:
    return int(round(as_utc(t).timestamp() * 1000))


def parse_selector(text: str) -> list[tuple[str, str, str]]:
    """A series selector (``up{job="x"}``) as matchers, via the PromQL parser."""
    from .evaluator import parse

    try:
        node = parse(text)
    except EvalError as exc:
        raise QueryError(f"invalid parameter \"match[]\": {exc.message}", promql=text, error_type="bad_data") from None
    if type(node).__name__ != "VectorSelector":
        raise QueryError(f"invalid parameter \"match[]\": {text!r} is not a series selector", promql=text,
                         error_type="bad_data", hint='Use a selector such as up{job="api"}')
    ops = {"Equal": "=", "NotEqual": "!=", "Re": "=~", "NotRe": "!~"}
    out = [("__name__", "=", node.name)] if node.name else []
    out += [(m.name, ops[str(m.op).rsplit(".", 1)[-1]], m.value) for m in node.matchers.matchers]
    return out


class EmbeddedBackend:
    """PromQL over an in-process :class:`Store` with Prometheus 2.42 semantics."""

    def __init__(self, store: Store, *, name: str = "embedded:memory") -> None:
        self.store = store
        self.engine = Engine(store)
        self.name = name

    def __repr__(self) -> str:
        return f"EmbeddedBackend({self.name!r}, series={len(self.store.labels)})"

    @classmethod
    def open(cls, data: str | Path, *, cache: bool = True) -> EmbeddedBackend:
        """Open a data directory (a saved store, or a ``metrics.om``) or an OpenMetrics file."""
        p = Path(data).expanduser()
        t0 = _time.perf_counter()
        if p.is_file():
            store = Store.from_openmetrics(p)
        elif (p / "store.npz").is_file():
            store = Store.load(p)
        elif (p / "metrics.om").is_file():
            om = p / "metrics.om"
            cached = p / CACHE_DIR
            if (cached / "store.npz").is_file() and (cached / "store.npz").stat().st_mtime >= om.stat().st_mtime:
                store = Store.load(cached)
            else:
                store = Store.from_openmetrics(om)
                if cache:
                    try:
                        store.save(cached)
                    except OSError as exc:
                        log.info("could not cache the parsed store in %s: %s", cached, exc)
        else:
            raise InputError(f"No embedded data in {p}",
                             hint="Point --data at a 'promv5-lab simulate' output (metrics.om) or an "
                                  "'embedded load' store directory")
        log.info("opened %s in %.2fs", p, _time.perf_counter() - t0)
        return cls(store, name=f"embedded:{p}")

    # ---- raw access for the HTTP server ------------------------------------------------------
    def run(self, promql: str, *, time_ms: int | None = None, start_ms: int | None = None,
            end_ms: int | None = None, step_ms: int | None = None) -> Result:
        """Evaluate and return the engine's :class:`Result`; errors become :class:`QueryError`."""
        if not isinstance(promql, str):
            raise InputError("PromQL must be a string")
        try:
            if start_ms is None:
                return self.engine.instant(promql, time_ms if time_ms is not None else to_ms(datetime.now(timezone.utc)))
            return self.engine.range(promql, start_ms, end_ms, step_ms)  # type: ignore[arg-type]
        except EvalError as exc:
            hint = None
            if "maximum resolution" in exc.message:
                hint = "Use a larger step or a shorter range"
            raise QueryError(exc.message, promql=promql, error_type=exc.error_type, url=self.name,
                             hint=hint) from None

    # ---- MetricsBackend ----------------------------------------------------------------------
    def query(self, promql: str, time: datetime | float | str | None = None) -> QueryResult:
        at = as_utc(time) if time is not None else datetime.now(timezone.utc)
        res = self.run(promql, time_ms=to_ms(at))
        return QueryResult(frame=_frame(res), result_type=res.kind,  # type: ignore[arg-type]
                           provenance=Provenance(promql=promql, backend=self.name, kind="instant", time=at))

    def query_range(self, promql: str, time_range: TimeRange) -> QueryResult:
        if not isinstance(time_range, TimeRange):
            raise InputError("query_range() needs a TimeRange", hint="e.g. TimeRange.last('1h', step='30s')")
        step_ms = max(1, int(round(time_range.step_s * 1000)))
        start, end = to_ms(time_range.start), to_ms(time_range.end)
        if (end - start) // step_ms > MAX_POINTS:
            points = (end - start) // step_ms + 1
            step = math.ceil((end - start) / MAX_POINTS / 1000)
            raise ResultTooLarge(
                f"A range query of {points:,} points per series exceeds the limit of {MAX_POINTS:,}",
                points=points, limit=MAX_POINTS, url=self.name, hint=f"Use step={step}s or coarser, or a shorter range")
        res = self.run(promql, start_ms=start, end_ms=end, step_ms=step_ms)
        return QueryResult(frame=_frame(res), result_type="matrix",
                           provenance=Provenance(promql=promql, backend=self.name, kind="range", range=time_range))

    # ---- MetricCatalogue ---------------------------------------------------------------------
    def _ids(self, match: Sequence[str] | str, start=None, end=None) -> list[int] | None:
        if isinstance(match, str):
            match = [match]
        if not match:
            return None
        sets = [parse_selector(m) for m in match]
        s = to_ms(start) if start is not None else None
        e = to_ms(end) if end is not None else None
        if s is not None and e is None:
            e = 2**62
        if e is not None and s is None:
            s = -(2**62)
        return self.store.select_sets(sets, s, e)

    def series(self, match: str | Sequence[str], start: datetime | float | str | None = None,
               end: datetime | float | str | None = None) -> list[dict[str, str]]:
        """Label sets of the series matching any selector in ``match`` with samples in start..end."""
        ids = self._ids(match, start, end)
        if ids is None:
            raise InputError("series() needs at least one selector", hint='e.g. series(\'up{job="api"}\')')
        return [dict(self.store.labels[i]) for i in ids]

    def label_names(self, match: Sequence[str] = ()) -> list[str]:
        return self.store.label_names(self._ids(match))

    def label_values(self, label: str, match: Sequence[str] = ()) -> list[str]:
        return self.store.label_values(label, self._ids(match))

    def metric_names(self) -> list[str]:
        return self.store.metric_names()

    def metadata(self, metric: str | None = None) -> dict[str, MetricMetadata]:
        md = self.store.metadata
        if metric is None:
            return dict(sorted(md.items()))
        return {metric: md[metric]} if metric in md else {}

    def buildinfo(self) -> dict[str, str]:
        from ... import __version__

        return {"version": "2.42.0", "revision": f"promv5-lab-embedded-{__version__}", "branch": "embedded",
                "buildUser": "promv5-lab", "buildDate": "", "goVersion": "python"}


def _frame(res: Result):
    from ...frames import from_series

    if res.kind in ("scalar", "string"):
        t, v = res.scalar  # type: ignore[misc]
        val = float(v) if res.kind == "scalar" else math.nan
        return from_series([({}, [t / 1000.0], [val])])
    return from_series((dict(lab), ts / 1000.0, vs) for lab, ts, vs in res.series)
