"""Session fixtures for integration tests: one simulated history, backfilled into real servers.

The servers are Debian's ``prometheus`` (with ``promtool``) and ``victoria-metrics``. When a binary is
missing the fixture raises, so the tests ERROR rather than skip (CI installs them in ``.ci/run``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from promv5_lab.backends.harness import PrometheusHarness, VictoriaMetricsHarness

# Three days covers every incident type; 30 s is the contract's step. "end" is now, so "the last hour" is real.
DEMO_DAYS = 3.0
DEMO_STEP_S = 30.0
DEMO_SEED = 7


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def demo_history(tmp_path_factory: pytest.TempPathFactory):
    """A simulated history on disk (``SimulationSummary``): metrics.om, incidents.json, logs, traces."""
    from promv5_lab.demo.simulate import simulate

    out = tmp_path_factory.mktemp("demo-history")
    end = datetime.now(timezone.utc)
    return simulate(out, days=DEMO_DAYS, step_s=DEMO_STEP_S, seed=DEMO_SEED, end=end)


@pytest.fixture(scope="session")
def prometheus_demo(demo_history, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrometheusHarness]:
    """A real Prometheus over the backfilled demo history."""
    prom = PrometheusHarness(tmp_path_factory.mktemp("prometheus"))
    try:
        prom.backfill(Path(demo_history.out_dir) / "metrics.om")
        prom.start()
        yield prom
    finally:
        prom.stop()


@pytest.fixture(scope="session")
def victoria_demo(demo_history, tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaMetricsHarness]:
    """A real VictoriaMetrics with the same demo history imported."""
    vm = VictoriaMetricsHarness(tmp_path_factory.mktemp("victoria"))
    try:
        vm.start()
        vm.import_openmetrics(Path(demo_history.out_dir) / "metrics.om")
        yield vm
    finally:
        vm.stop()
