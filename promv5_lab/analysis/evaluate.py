"""Detection quality on the demo world: recall of incident windows and false alarms on healthy time.

The fleet scanned is every symptom query the simulator knows (each incident kind x each service it
can hit), range-queried over the whole history at the simulation step, so most series are healthy
most of the time. Definitions:

* an incident is *detected* when a flag on one of its own symptom series falls inside
  ``[start, end]`` (the flag may come from any sample of that window);
* *healthy time* of a series excludes every incident window extended by ``recovery_s`` (the
  ``[5m]``/``[15m]`` rate windows and the return to normal lag behind the end) and the detector's
  warm-up at the start of the history;
* the *false-positive rate* is flagged healthy samples / healthy samples; a *false alarm* is a
  flagged episode (:func:`promv5_lab.analysis.learn.flags_to_anomalies`) that starts in healthy time,
  counted per series per day of healthy time.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np

from ..errors import InputError
from .detect import FLEET_CONFIG, DetectorConfig
from .learn import DEFAULT_FLOOR, detect
from .results import AnomalyScores

__all__ = ["DemoEvaluation", "evaluate_demo", "false_alarms", "fleet_queries"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoEvaluation:
    """Figures of one run over one simulated history."""

    incidents: int
    detected: tuple[str, ...]
    missed: tuple[str, ...]
    series: int
    days: float  # days of healthy time (the history minus incident windows, recovery and warm-up)
    healthy_samples: int
    false_positive_samples: int
    false_alarms: int
    detection_delay_s: Mapping[str, float] = field(default_factory=dict)
    scored: AnomalyScores | None = field(default=None, repr=False, compare=False)
    false_alarm_list: tuple = field(default=(), repr=False, compare=False)  # the Anomaly of each false alarm

    @property
    def recall(self) -> float:
        return len(self.detected) / self.incidents if self.incidents else 1.0

    @property
    def fp_rate(self) -> float:
        return self.false_positive_samples / self.healthy_samples if self.healthy_samples else 0.0

    @property
    def false_alarms_per_series_day(self) -> float:
        return self.false_alarms / max(self.series, 1) / max(self.days, 1e-9)

    def describe(self) -> str:
        delays = sorted(self.detection_delay_s.values())
        med = f"{np.median(delays) / 60:.1f} min" if delays else "n/a"
        return (f"recall {len(self.detected)}/{self.incidents} = {self.recall:.1%} (median delay {med}); "
                f"healthy time: {self.false_positive_samples}/{self.healthy_samples} samples flagged = "
                f"{self.fp_rate:.3%}, {self.false_alarms} false alarms over {self.series} series x "
                f"{self.days:.1f} days = {self.false_alarms_per_series_day:.3f} per series per day"
                + (f"; missed {', '.join(self.missed)}" if self.missed else ""))


def fleet_queries(incidents=()) -> list[str]:
    """Every symptom query of every incident kind on every service it can hit, plus the incidents' own."""
    from ..demo.incidents import CATALOGUE, symptoms_for

    out: dict[str, None] = {}
    for kind, typ in CATALOGUE.items():
        for target in typ.targets:
            for s in symptoms_for(kind, target, version="none"):
                if "shop_build_info" not in s.promql:  # only exists while a given version runs
                    out[s.promql] = None
    for inc in incidents:
        for s in inc.symptoms:
            if "shop_build_info" not in s.promql:
                out[s.promql] = None
    return list(out)


def evaluate_demo(data_dir: str | Path, *, config: DetectorConfig | None = None, target_fpr: float = 0.005,
                  floor: float = DEFAULT_FLOOR, recovery_s: float = 1800.0, progress: bool = False,
                  backend=None) -> DemoEvaluation:
    """Scan the demo history in ``data_dir`` (``simulate`` output) and measure recall and false alarms."""
    import pandas as pd

    from ..backends.embedded import EmbeddedBackend
    from ..demo.incidents import load_incidents
    from ..frames import to_wide
    from ..types import TimeRange

    data = Path(data_dir)
    inc_path = data / "incidents.json"
    if not inc_path.exists():
        raise InputError(f"no incidents.json in {data}", hint="point at the output folder of 'promv5-lab simulate'")
    incidents = load_incidents(inc_path)
    be = backend or EmbeddedBackend.open(data)
    start, end, step = _span(be)
    tr = TimeRange(start, end, step)
    queries = fleet_queries(incidents)
    columns = {}
    for q in queries:
        res = be.query_range(q, tr)
        if res.frame.empty:
            continue
        wide = to_wide(res.frame, step_s=step)
        columns[q] = wide.iloc[:, 0]
    if not columns:
        raise InputError(f"none of the {len(queries)} fleet queries returned data from {data}")
    index = pd.date_range(start, end, freq=pd.Timedelta(seconds=step), tz="UTC")
    wide = pd.DataFrame({q: s.reindex(index) for q, s in columns.items()}, index=index)
    wide.index.freq = pd.Timedelta(seconds=step)
    cfg = config or FLEET_CONFIG
    scored = detect(wide, cfg, target_fpr=target_fpr, floor=floor, progress=progress)
    flags = scored.flags.to_numpy()
    times = wide.index
    # healthy mask: outside every incident window (+ recovery), after warm-up
    healthy = np.ones(len(times), dtype=bool)
    healthy[:cfg.warmup] = False
    for inc in incidents:
        lo = pd.Timestamp(inc.start)
        hi = pd.Timestamp(inc.end + timedelta(seconds=recovery_s))
        healthy &= ~((times >= lo) & (times <= hi))
    present = wide.notna().to_numpy()
    hmask = healthy[:, None] & present
    fp_samples = int((flags & hmask).sum())
    healthy_samples = int(hmask.sum())
    col_of = {q: j for j, q in enumerate(wide.columns)}
    detected, missed, delays = [], [], {}
    for inc in incidents:
        inwin = (times >= pd.Timestamp(inc.start)) & (times <= pd.Timestamp(inc.end))
        first = None
        for s in inc.symptoms:
            j = col_of.get(s.promql)
            if j is None:
                continue
            hits = np.flatnonzero(flags[:, j] & inwin)
            if hits.size and (first is None or hits[0] < first):
                first = int(hits[0])
        if first is None:
            missed.append(inc.id)
        else:
            detected.append(inc.id)
            delays[inc.id] = (times[first] - pd.Timestamp(inc.start)).total_seconds()
    pos = {t: i for i, t in enumerate(times)}
    fa_list = tuple(a for a in scored.anomalies if healthy[pos[pd.Timestamp(a.start)]])
    alarms = len(fa_list)
    days = (end - start).total_seconds() / 86400.0
    healthy_days = healthy.sum() * step / 86400.0
    ev = DemoEvaluation(len(incidents), tuple(detected), tuple(missed), wide.shape[1], healthy_days,
                        healthy_samples, fp_samples, alarms, delays, scored, fa_list)
    log.info("demo evaluation over %.1f days: %s", days, ev.describe())
    return ev


def false_alarms(ev: DemoEvaluation) -> tuple:
    """The false alarms of an evaluation (each an :class:`~promv5_lab.analysis.results.Anomaly`), in time order."""
    return tuple(sorted(ev.false_alarm_list, key=lambda a: (a.start, a.series)))


def _span(be):
    """Start, end (UTC) and step in seconds of the embedded history, from its store."""
    from ..types import as_utc

    store = getattr(be, "store", None)
    bounds = store.time_bounds() if store is not None else None
    if not bounds:
        raise InputError("cannot find the time span of the backend's history",
                         hint="evaluate_demo needs an EmbeddedBackend opened on a simulate output")
    lo, hi = bounds
    steps = [np.diff(ts) for ts in store.ts[:20] if len(ts) > 1]
    step_ms = float(np.median(np.concatenate(steps))) if steps else 60000.0
    return as_utc(lo / 1000.0), as_utc(hi / 1000.0), step_ms / 1000.0
