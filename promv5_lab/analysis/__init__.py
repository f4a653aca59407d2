"""Analysis: streaming anomaly detection with learned thresholds, and the NAB benchmark scorer.

Public API (imported lazily, so ``import promv5_lab.analysis`` stays cheap)::

    from promv5_lab.analysis import StreamingDetector, DetectorConfig, score_frame, detect
    det = StreamingDetector();  score = det.update(t_unix_s, value)     # one series, O(1) per sample
    scores = score_frame(wide)                                          # many series (frames.to_wide())
    result = detect(wide)          # scores + per-series thresholds + flags + Anomaly episodes
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
}

__all__ = list(_LAZY)

if TYPE_CHECKING:  # pragma: no cover
    from .detect import DetectorConfig, StreamingDetector, score_arrays, score_frame
    from .learn import detect, learn_thresholds
    from .results import Anomaly, AnomalyScores

__getattr__ = lazy_exports(__name__, _LAZY, globals())
