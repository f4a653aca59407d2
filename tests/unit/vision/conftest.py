"""Synthetic dashboards rendered with matplotlib inside the tests (nothing committed)."""

from __future__ import annotations

import numpy as np
import pytest

from promv5_lab.vision.synth import render_matplotlib

# row by row: the kinds of each panel's series
LAYOUT = [["normal", "normal"], ["spike"], ["normal"], ["level_shift", "normal"]]


@pytest.fixture(scope="session")
def dashboard():
    """A 2x2 matplotlib dashboard with a spike in panel 2 and a level shift in panel 4 (calm series)."""
    return render_matplotlib(np.random.default_rng(3), rows=2, cols=2, style="default", size=(900, 560),
                             n_points=120, kinds=LAYOUT, noise=0.3, legend=False)


@pytest.fixture(scope="session")
def dark_dashboard():
    return render_matplotlib(np.random.default_rng(4), rows=1, cols=3, style="dark_background", size=(1000, 300),
                             n_points=100, kinds=[["normal"], ["dropout"], ["trend", "normal"]], noise=0.15,
                             legend=True)
