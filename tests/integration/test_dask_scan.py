"""Fleet scans on a real ``distributed.LocalCluster`` (in-process workers) give the local answer.

The demo history's symptom series (embedded engine) are scanned once locally and once through the
cluster's scheduler address (as ``--cluster tcp://...`` would), in column chunks; scores, thresholds
and anomalies must be identical. The ``scan`` command takes the same address.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from promv5_lab.analysis import predict
from promv5_lab.analysis.fleet import scan
from promv5_lab.backends.embedded import EmbeddedBackend
from promv5_lab.errors import BackendUnavailable, InputError
from promv5_lab.frames import to_wide
from promv5_lab.types import TimeRange

QUERY = "sum by (service) (rate(http_requests_total[5m]))"


@pytest.fixture(scope="module")
def cluster():
    import distributed
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://",
                                  host="127.0.0.1", dashboard_address=None) as lc, distributed.Client(lc) as client:
        yield lc, client


@pytest.fixture(scope="module")
def fleet(demo_history):
    be = EmbeddedBackend.open(demo_history.out_dir)
    tr = TimeRange(demo_history.end - pd.Timedelta(hours=12), demo_history.end, 60)
    wide = to_wide(be.query_range(QUERY, tr).frame, step_s=60)
    assert wide.shape[1] >= 5
    return wide


def test_the_cluster_gives_the_local_answer(cluster, fleet):
    lc, client = cluster
    local = predict.anomalies(fleet, progress=False)
    remote = predict.anomalies(fleet, cluster=lc.scheduler_address, chunk_series=2, progress=False)
    assert remote.params["chunks"] == 3 and remote.params["executor"].startswith("dask tcp://")
    pd.testing.assert_frame_equal(local.scores, remote.scores)
    assert local.thresholds == remote.thresholds and local.anomalies == remote.anomalies
    with_client = scan(fleet, cluster=client, chunk_series=4, progress=False, seasonality="auto")
    pd.testing.assert_frame_equal(local.flags, with_client.flags)


def test_the_scan_command_takes_the_cluster(cluster, demo_history, capsys):
    from promv5_lab.cli import main

    lc, _ = cluster
    code = main(["scan", "--data", str(demo_history.out_dir), "--query", QUERY, "--history", "12h", "--step", "1m",
                 "--cluster", lc.scheduler_address, "--json"])
    out = capsys.readouterr().out
    assert code == 0, out
    doc = json.loads(out)
    assert doc["params"]["executor"] == f"dask {lc.scheduler_address}"
    assert all(a["peak_score"] >= a["threshold"] for a in doc["anomalies"])


def test_a_bad_or_dead_scheduler_is_a_clear_error(fleet):
    with pytest.raises(InputError, match="scheduler address"):
        scan(fleet, cluster="localhost:8786", progress=False)
    with pytest.raises(BackendUnavailable, match="Dask scheduler"):
        scan(fleet, cluster="tcp://127.0.0.1:9", progress=False, connect_timeout_s=2)
