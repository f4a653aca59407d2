"""Follow a live backend and report anomalies as they happen: ``promv5-lab watch``.

Every ``interval`` the queries are evaluated on a grid of whole multiples of the interval (a range query
from the last evaluated grid point to now, so a slow poll never skips or repeats a point); each new value
of each series goes through its own :class:`~promv5_lab.analysis.detect.StreamingDetector` (O(1) work per
sample). A series' threshold is learned from its scores over the warm-up history (the ``1 - target_fpr``
quantile, clipped to ``[floor, cap]``, as :func:`learn.learn_thresholds`), or ``floor`` when there is no
history. An episode is reported once, on its first flagged sample (plus at most two escalations, when a
flagged sample lies 3x further from normal than the last report: a blip followed by a real fault); it ends after ``quiet`` unflagged
samples in a row, and then the series' detector is re-armed (its record of recent surprises goes back to
what it was before the episode), so a second fault soon after a larger one on the same series is reported. Reports go to a callback (the CLI prints text or JSON lines) and, optionally, to a
webhook: an Alertmanager API (``.../api/v2/alerts``: a list of alerts) or any receiver that takes
Alertmanager's webhook payload (``{"version": "4", "status": "firing", "alerts": [...]}``).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np

from ..errors import BackendError, InputError
from .detect import DetectorConfig, StreamingDetector
from .learn import DEFAULT_FLOOR

__all__ = ["WatchEvent", "Watcher", "post_webhook", "watch_config"]

log = logging.getLogger(__name__)


def watch_config(interval_s: float = 1.0, *, warmup: int = 120, half_life_s: float = 60.0,
                 peak_floor: float = 3.0) -> DetectorConfig:
    """Detector settings for live following at ``interval_s``: no seasonal profile (minutes of history),
    and the record of recent surprises halves every ``half_life_s`` of wall time, so a second fault soon
    after a first one still scores high (the NAB-tuned default forgets per *sample*: at 1 s samples a big
    incident would mute the detector for most of an hour). ``peak_floor`` sigmas score 0.5."""
    return DetectorConfig(season_s=0.0, warmup=warmup, record_decay=0.5 ** (interval_s / half_life_s),
                          peak_floor=peak_floor)


@dataclass(frozen=True)
class WatchEvent:
    """One anomaly as it is reported: which series, the sample's time and value, its score and threshold."""

    query: str
    series: str
    labels: dict[str, str]
    sample_time: datetime
    value: float
    score: float
    threshold: float
    reported_at: datetime
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        return (f"{self.sample_time:%Y-%m-%d %H:%M:%S} UTC {self.series}: anomalous, value {self.value:.6g}, "
                f"score {self.score:.3f} >= {self.threshold:.3f}  [{self.query}]")

    def to_json(self) -> dict:
        return {"query": self.query, "series": self.series, "labels": self.labels,
                "sample_time": self.sample_time.isoformat(), "value": self.value, "score": self.score,
                "threshold": self.threshold, "reported_at": self.reported_at.isoformat(), **self.extra}


_ESCALATE = 3.0        # a flagged sample this many times further from normal than the episode's report
_MAX_ESCALATIONS = 2   # escalation reports per episode
_LEVEL_ALPHA = 0.1     # weight of a new unflagged sample in the running level


@dataclass
class _Track:
    detector: StreamingDetector
    threshold: float
    labels: dict[str, str]
    active: bool = False
    quiet_run: int = 0
    level: float | None = None      # running level of unflagged samples (the episode's "normal")
    reported_dev: float = 0.0       # how far from that level the last report of this episode was
    escalations: int = 0


class Watcher:
    """Streaming detection over live queries. ``poll()`` once, or ``run()`` until stopped."""

    def __init__(self, backend, queries: Sequence[str], *, interval_s: float = 1.0, history_s: float = 600.0,
                 config: DetectorConfig | None = None, target_fpr: float = 0.005, floor: float = DEFAULT_FLOOR,
                 cap: float = 0.95, quiet: int = 5, clock: Callable[[], float] = time.time) -> None:
        if not queries:
            raise InputError("watch needs at least one query", hint="pass --query PROMQL")
        if not (interval_s >= 1.0 and math.isfinite(interval_s)):
            raise InputError(f"interval must be at least 1 s, got {interval_s!r}",
                             hint="Prometheus range queries have 1 s resolution: --interval 1s or more")
        if history_s < 0 or quiet < 1 or not 0 < target_fpr < 1 or not 0 <= floor <= cap <= 1:
            raise InputError("need history >= 0, quiet >= 1, 0 < target_fpr < 1 and 0 <= floor <= cap <= 1")
        self.backend = backend
        self.queries = list(queries)
        self.interval = float(interval_s)
        self.history_s = float(history_s)
        self.config = config or watch_config(interval_s)
        self.target_fpr, self.floor, self.cap, self.quiet = target_fpr, floor, cap, quiet
        self.clock = clock
        self.tracks: dict[tuple[int, str], _Track] = {}
        self.last_t: float | None = None
        self.samples = 0
        self.update_seconds = 0.0

    # ---- evaluation grid
    def _grid_now(self) -> float:
        return math.floor(self.clock() / self.interval) * self.interval

    def _fetch(self, start: float, end: float):
        from ..frames import label_columns
        from ..types import TimeRange

        out = []
        for qi, q in enumerate(self.queries):
            frame = self.backend.query_range(q, TimeRange(start, end, self.interval)).frame
            if frame.empty:
                continue
            labels = label_columns(frame)
            ts = frame["timestamp"].astype("int64").to_numpy() / 1e9
            vals = frame["value"].to_numpy(dtype=float)
            keys = (frame[labels].astype(str).agg(lambda r: _key(r.to_dict()), axis=1).to_numpy()
                    if labels else np.array(["value"] * len(frame)))
            lab_rows = frame[labels].astype(str).to_dict("records") if labels else [{}] * len(frame)
            for t, v, k, lab in zip(ts, vals, keys, lab_rows):
                out.append((float(t), qi, str(k), float(v), lab))
        out.sort(key=lambda r: r[0])
        return out

    def warm_up(self) -> int:
        """Prime every series' detector and learn its threshold from the last ``history_s`` seconds."""
        end = self._grid_now()
        self.last_t = end
        if self.history_s <= 0:
            return 0
        rows = self._fetch(end - self.history_s, end)
        scores: dict[tuple[int, str], list[float]] = {}
        for t, qi, key, v, lab in rows:
            tr = self._track((qi, key), lab)
            s = tr.detector.update(t, v)
            scores.setdefault((qi, key), []).append(s)
            if math.isfinite(v):
                tr.level = v if tr.level is None else tr.level + _LEVEL_ALPHA * (v - tr.level)
        for k, ss in scores.items():
            arr = np.asarray(ss[self.config.warmup:], dtype=float)
            q = float(np.quantile(arr, 1 - self.target_fpr)) if arr.size else self.floor
            self.tracks[k].threshold = min(max(q, self.floor), self.cap)
        log.info("watch: warmed %d series on %d samples", len(scores), len(rows))
        return len(rows)

    def learning(self) -> dict[str, int]:
        """Series whose detector is still in its warm-up (learning, no alarms yet) -> samples to go."""
        warm = self.config.warmup
        out = {}
        for (qi, key), tr in self.tracks.items():
            seen = int(tr.detector._state.count[0])
            if seen < warm:
                out[f"{key} [{self.queries[qi]}]"] = warm - seen
        return out

    def learning_note(self) -> str:
        """"learning, N samples to go" for the series still in warm-up ("" when none is)."""
        todo = self.learning()
        if not todo:
            return ""
        most = max(todo.values())
        return (f"{len(todo)} of {len(self.tracks)} series still learning, up to {most} samples "
                f"({most * self.interval:g} s) to go before they can alarm")

    def _track(self, k: tuple[int, str], labels: dict[str, str]) -> _Track:
        tr = self.tracks.get(k)
        if tr is None:
            tr = self.tracks[k] = _Track(StreamingDetector(self.config), self.floor,
                                         {a: b for a, b in labels.items() if b != ""})
        return tr

    def poll(self) -> list[WatchEvent]:
        """Evaluate the grid points since the last poll; return the anomalies that start in them."""
        if self.last_t is None:
            self.warm_up()
        now = self._grid_now()
        if now <= self.last_t:
            return []
        start = self.last_t + self.interval
        rows = self._fetch(start, now)  # raises before last_t moves: the next poll retries these points
        self.last_t = now
        events = []
        t0 = time.perf_counter()
        for t, qi, key, v, lab in rows:
            tr = self._track((qi, key), lab)
            score = tr.detector.update(t, v)
            self.samples += 1
            if score >= tr.threshold:
                tr.quiet_run = 0
                dev = abs(v - tr.level) if tr.level is not None and math.isfinite(v) else 0.0
                if not tr.active:
                    tr.active, tr.reported_dev, tr.escalations = True, dev, 0
                    tr.detector.begin_episode()
                    events.append(WatchEvent(self.queries[qi], key, tr.labels,
                                             datetime.fromtimestamp(t, tz=timezone.utc), v, float(score),
                                             tr.threshold, datetime.now(timezone.utc)))
                elif tr.escalations < _MAX_ESCALATIONS and dev > _ESCALATE * tr.reported_dev > 0:
                    # a small blip opened the episode and a real fault follows inside it: say so, at most
                    # twice an episode (one long incident stays one alarm plus its escalations)
                    tr.escalations += 1
                    events.append(WatchEvent(self.queries[qi], key, tr.labels,
                                             datetime.fromtimestamp(t, tz=timezone.utc), v, float(score),
                                             tr.threshold, datetime.now(timezone.utc),
                                             {"escalation": tr.escalations,
                                              "deviation_before": tr.reported_dev, "deviation": dev}))
                    tr.reported_dev = dev
            elif not tr.active and math.isfinite(v):
                tr.level = v if tr.level is None else tr.level + _LEVEL_ALPHA * (v - tr.level)
            elif tr.active:
                tr.quiet_run += 1
                if tr.quiet_run >= self.quiet:
                    tr.active = False
                    tr.detector.end_episode()  # re-arm: the next fault is compared with normal times
        self.update_seconds += time.perf_counter() - t0
        return events

    def run(self, on_event: Callable[[WatchEvent], None], *, max_seconds: float | None = None,
            poll_s: float = 0.1, on_error: Callable[[BackendError], None] | None = None) -> int:
        """Poll until ``max_seconds`` pass (forever if None); each poll waits for the next grid point.

        A backend error during a poll goes to ``on_error`` (default: raise) and the same points are
        tried again at the next poll, so a short outage loses nothing."""
        start = time.monotonic()
        reported = 0
        if self.last_t is None:
            self.warm_up()
        while max_seconds is None or time.monotonic() - start < max_seconds:
            try:
                events = self.poll()
            except BackendError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                events = []
            for ev in events:
                reported += 1
                on_event(ev)
            # sleep until just after the next grid point
            nxt = (self.last_t or self._grid_now()) + self.interval
            wait = max(poll_s, nxt - self.clock() + 0.05)
            if max_seconds is not None:
                wait = min(wait, max(0.0, max_seconds - (time.monotonic() - start)))
            if wait > 0:
                time.sleep(wait)
        return reported


def _key(labels: dict[str, str]) -> str:
    from ..frames import series_key

    return series_key(labels)


def post_webhook(url: str, events: Sequence[WatchEvent], *, timeout_s: float = 5.0,
                 generator: str = "promv5-lab watch") -> int:
    """POST events as Alertmanager alerts; returns the HTTP status. ``.../api/v2/alerts`` gets the alert list
    (a real Alertmanager), any other URL Alertmanager's webhook payload (version 4)."""
    import requests

    if not url.startswith(("http://", "https://")):
        raise InputError(f"webhook URL must start with http:// or https://, got {url!r}")
    alerts = []
    for ev in events:
        labels = {"alertname": "Promv5Anomaly", **{k: v for k, v in ev.labels.items() if k != "__name__"}}
        if "__name__" in ev.labels:
            labels["metric"] = ev.labels["__name__"]
        alerts.append({
            "status": "firing", "labels": labels,
            "annotations": {"summary": ev.describe(), "query": ev.query, "score": f"{ev.score:.3f}",
                            "threshold": f"{ev.threshold:.3f}", "value": f"{ev.value:.6g}"},
            "startsAt": ev.sample_time.isoformat(), "endsAt": (ev.sample_time + timedelta(minutes=5)).isoformat(),
            "generatorURL": "",
        })
    if url.rstrip("/").endswith("/api/v2/alerts"):
        body: object = [{k: a[k] for k in ("labels", "annotations", "startsAt", "endsAt", "generatorURL")}
                        for a in alerts]
    else:
        body = {"version": "4", "status": "firing", "receiver": generator, "groupKey": "promv5-lab",
                "groupLabels": {"alertname": "Promv5Anomaly"}, "commonLabels": {"alertname": "Promv5Anomaly"},
                "commonAnnotations": {}, "externalURL": "", "truncatedAlerts": 0, "alerts": alerts}
    try:
        r = requests.post(url, json=body, timeout=timeout_s)
    except requests.RequestException as exc:
        raise BackendError(f"webhook {url} unreachable: {type(exc).__name__}", url=url,
                           hint="check the URL; watch keeps printing anomalies meanwhile") from exc
    if r.status_code >= 300:
        log.warning("webhook %s answered HTTP %d", url, r.status_code)
    return r.status_code
