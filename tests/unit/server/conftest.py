"""pytest-jupyter's server fixtures (jp_fetch, jp_serverapp...) with the promv5_lab extension enabled."""

from __future__ import annotations

import pytest
from pytest_jupyter.jupyter_server import *


@pytest.fixture
def jp_server_config():
    # lexical question matching: the same planner without loading the embedding model in every server
    return {"ServerApp": {"jpserver_extensions": {"promv5_lab": True}},
            "Promv5LabApp": {"use_embeddings": False}}


@pytest.fixture(scope="session")
def small_history(tmp_path_factory):
    """One simulated day at 60 s (ends now), for questions about "the last hour"."""
    from promv5_lab.demo.simulate import simulate

    out = tmp_path_factory.mktemp("lab-history")
    simulate(out, days=1, step_s=60, seed=7)
    return out
