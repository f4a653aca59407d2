"""Shared fixtures: one small simulated history (3 days, 2-minute step), parsed once per session."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

from promv5_lab.demo.simulate import SimulationSummary, simulate

from .omparse import OMFile

END = "2026-11-20T12:00:00Z"


@dataclass
class History:
    summary: SimulationSummary
    om: OMFile

    @property
    def dir(self) -> Path:
        return Path(self.summary.out_dir)


@pytest.fixture(scope="session")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    out = tmp_path_factory.mktemp("history")
    seed = int(os.environ.get("PROMV5_DEMO_TEST_SEED", "5"))  # to re-run the suite on other worlds by hand
    summary = simulate(out, days=3, step_s=120, seed=seed, end=END)
    return History(summary, OMFile(out / "metrics.om"))
