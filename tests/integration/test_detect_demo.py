"""Anomaly detection on the demo world (embedded engine): incidents are found, healthy time stays quiet.

A fixed, small world (3 days at 60 s, seed 7, fixed end) so that the figures are reproducible; the
same measurement over bigger worlds is ``benchmarks/demo_detection.py``. Issue targets: recall >= 95 %,
false positives < 1 % of healthy samples and < 0.1 false alarms per series per day. With the fleet
settings (``FLEET_CONFIG``: peak learned during warm-up, interpolated daily profile) this world has 0.07
false alarms per series per day (0.20 with the NAB settings ``DetectorConfig()``, asserted worse).
"""

from __future__ import annotations

import numpy as np
import pytest

from promv5_lab.analysis.detect import DetectorConfig
from promv5_lab.analysis.evaluate import evaluate_demo, fleet_queries
from promv5_lab.demo.incidents import load_incidents


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from promv5_lab.demo.simulate import simulate

    out = tmp_path_factory.mktemp("detect-demo")
    simulate(out, days=3, step_s=60, seed=7, end="2026-11-20T00:00:00Z")
    return out


@pytest.fixture(scope="module")
def evaluation(world):
    return evaluate_demo(world)


def test_every_incident_is_detected_inside_its_window(evaluation, world):
    incidents = load_incidents(world / "incidents.json")
    assert evaluation.incidents == len(incidents) >= 5
    assert evaluation.recall >= 0.95, evaluation.describe()
    # detected early: the first flag on a symptom series comes within minutes of the start
    assert np.median(list(evaluation.detection_delay_s.values())) <= 10 * 60


def test_healthy_time_is_quiet(evaluation):
    assert evaluation.healthy_samples > 100_000
    assert evaluation.fp_rate < 0.01, evaluation.describe()
    assert evaluation.fp_rate < 0.001  # what the detector achieves here: about 0.02 %
    assert evaluation.false_alarms_per_series_day < 0.1, evaluation.describe()


def test_the_fleet_covers_every_symptom_series(evaluation, world):
    incidents = load_incidents(world / "incidents.json")
    fleet = set(fleet_queries(incidents))
    scanned = set(evaluation.scored.scores.columns)
    for inc in incidents:
        for s in inc.symptoms:
            if "shop_build_info" not in s.promql:
                assert s.promql in fleet
    assert len(scanned) >= 30 and scanned <= fleet


def test_a_deaf_detector_misses_incidents(world):
    """The measurement can fail: a detector that needs 30-sigma records finds (almost) nothing."""
    deaf = evaluate_demo(world, floor=0.97)
    assert deaf.recall < 0.5
    assert deaf.false_alarms == 0 or deaf.false_alarms_per_series_day < 0.1
    slow = evaluate_demo(world, config=DetectorConfig(warmup=10_000))  # never leaves warm-up
    assert slow.recall == 0.0


def test_the_fleet_settings_are_what_cut_the_false_alarms(evaluation, world):
    """The NAB settings (no peak learned in warm-up, a stepwise profile) alarm more on the same world."""
    nab = evaluate_demo(world, config=DetectorConfig())
    assert nab.false_alarms > evaluation.false_alarms
    assert nab.false_alarms_per_series_day > 0.1
