"""Analysis: streaming anomaly detection with learned thresholds, and the NAB benchmark scorer.

Public API (imported lazily, so ``import promv5_lab.analysis`` stays cheap)::

    from promv5_lab.analysis import StreamingDetector, DetectorConfig, score_frame, detect
    det = StreamingDetector();  score = det.update(t_unix_s, value)     # one series, O(1) per sample
    scores = score_frame(wide)                                          # many series (frames.to_wide())
    result = detect(wide)          # scores + per-series thresholds + flags + Anomaly episodes
    from promv5_lab.analysis import learn, predict, recommend, optimize   # the issue's names
    learn.normalBehavior(wide); learn.seasonality(wide); learn.dependencies(wide)
    predict.anomalies(wide); predict.capacity(series, limit=0); predict.failures(wide, threshold=0.5)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_LAZY = {
    "DetectorConfig": "detect",
    "StreamingDetector": "detect",
    "score_frame": "detect",
    "score_arrays": "detect",
    "detect": "learn",
    "learn_thresholds": "learn",
    "Anomaly": "results",
    "AnomalyScores": "results",
    "NormalBehavior": "results",
    "normal_behavior": "learn",
    "normalBehavior": "learn",
    "scan": "fleet",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .detect import DetectorConfig, StreamingDetector, score_arrays, score_frame
    from .fleet import scan
    from .learn import detect, learn_thresholds, normal_behavior, normalBehavior
    from .results import Anomaly, AnomalyScores, NormalBehavior

__getattr__ = lazy_exports(__name__, _LAZY, globals())
