import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from promv5_lab.cli import main
from promv5_lab.demo.openmetrics import split_by_time
from promv5_lab.demo.simulate import simulate
from promv5_lab.demo.world import WORLD
from promv5_lab.errors import InputError

from .omparse import OMFile, increase

END = "2026-11-20T12:00:00Z"
FILES = ("metrics.om", "incidents.json", "events.json", "logs.jsonl", "traces.jsonl")


def _digests(d: Path) -> dict[str, str]:
    return {f: hashlib.sha256((d / f).read_bytes()).hexdigest() for f in FILES}


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    kw = dict(days=1, step_s=300, end=END)
    a, b, c = (simulate(tmp_path / x, seed=s, **kw) for x, s in (("a", 9), ("b", 9), ("c", 10)))
    da, db, dc = _digests(a.out_dir), _digests(b.out_dir), _digests(c.out_dir)
    assert da == db
    assert all(da[f] != dc[f] for f in ("metrics.om", "logs.jsonl", "traces.jsonl"))
    assert a.series == b.series and a.samples == b.samples
    assert a.samples == sum(1 for ln in (a.out_dir / "metrics.om").open() if not ln.startswith("#"))


def test_bytes_do_not_depend_on_the_process(tmp_path):
    code = ("import sys; from promv5_lab.demo.simulate import simulate; "
            f"simulate(sys.argv[1], days=0.3, step_s=300, seed=4, end={END!r})")
    digests = []
    for i, hashseed in enumerate(("1", "2")):
        out = tmp_path / str(i)
        r = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONHASHSEED": hashseed}, cwd=Path(__file__).resolve().parents[3])
        assert r.returncode == 0, r.stderr
        digests.append(_digests(out))
    assert digests[0] == digests[1]


def test_progress_bar(tmp_path, capsys):
    simulate(tmp_path, days=0.1, step_s=300, seed=1, end=END, progress=True)
    assert "simulate" in capsys.readouterr().err


def test_end_defaults_to_now_rounded_to_step(tmp_path):
    s = simulate(tmp_path, days=0.05, step_s=60, seed=1)
    assert s.end.timestamp() % 60 == 0
    assert (s.end - s.start).total_seconds() == pytest.approx(0.05 * 86400, abs=60)


@pytest.mark.parametrize("kw,match", [
    (dict(days=-1), "days must be a positive"),
    (dict(days=1, step_s="0s"), "must be positive"),
    (dict(days=1, step_s="fast"), "Cannot read duration"),
    (dict(days=1000, step_s=1), "points per series"),
    (dict(days=1, end="yesterday-ish"), "Cannot read time"),
])
def test_bad_arguments_raise_input_errors(tmp_path, kw, match):
    with pytest.raises(InputError, match=match):
        simulate(tmp_path, **kw)


def test_openmetrics_structure(history):
    om: OMFile = history.om
    catalogue = {m.family: m for m in WORLD.metrics}
    assert set(om.families) == set(catalogue)
    for fam, kind in om.families.items():
        assert kind == catalogue[fam].kind and om.help[fam]
    series = len(om.series)
    assert 200 <= series <= 400  # a few hundred, histogram buckets included
    assert series == history.summary.series
    # every series: strictly increasing timestamps on the grid
    for (name, _), (ts, _) in om.series.items():
        assert np.all(np.diff(ts) > 0), name
        assert np.all(ts % 120 == 0)
    # histograms: buckets cumulative in le, +Inf == _count, at every timestamp
    for d, ts, vs in om.select("http_request_duration_seconds_count"):
        rows = [(float(b["le"]), bv) for b, _, bv in om.select("http_request_duration_seconds_bucket",
                                                                  service=d["service"], route=d["route"])]
        rows.sort(key=lambda r: r[0])
        assert len(rows) == 11 and rows[-1][0] == float("inf")
        m = np.stack([r[1] for r in rows])
        assert np.all(np.diff(m, axis=0) >= 0)
        assert np.array_equal(m[-1], vs)


def test_label_conventions(history):
    for (name, labels), _ in history.om.series.items():
        d = dict(labels)
        assert "job" in d and "instance" in d, name
        if name.startswith(("http_", "process_", "db_", "cache_")):
            svc = WORLD.service(d["service"])
            assert d["job"] == svc.name and d["instance"] == svc.instance
        if name.startswith("node_"):
            assert d["job"] == "node" and d["instance"].endswith(":9100")


def test_promtool_backfills_it(tmp_path):
    s = simulate(tmp_path / "sim", days=0.3, step_s=60, seed=4, end=END)
    om = Path(s.out_dir) / "metrics.om"
    out = tmp_path / "blocks"
    r = subprocess.run(["/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics", str(om), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert any(p.is_dir() and (p / "meta.json").exists() for p in out.iterdir())
    # split parts (one per 2 h block) are each valid too and hold every sample
    parts = split_by_time(om, tmp_path / "parts")
    assert len(parts) >= 3
    assert sum(1 for p in parts for ln in p.open() if not ln.startswith("#")) == s.samples
    for p in parts[:2]:
        assert set(OMFile(p).families) == {m.family for m in WORLD.metrics}  # every part is a valid file
        r = subprocess.run(["/usr/bin/promtool", "tsdb", "create-blocks-from", "openmetrics", str(p),
                            str(tmp_path / "blocks2")], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr


def _restart_steps(history, service: str, kinds=("deploy", "rollback", "oom_kill", "restart")) -> set[float]:
    events = json.loads((history.dir / "events.json").read_text())
    from promv5_lab.types import as_utc

    steps = set()
    for ev in events:
        if ev["service"] == service and ev["kind"] in kinds:
            t = as_utc(ev["time"]).timestamp()
            steps.add(float(np.ceil(t / 120) * 120))
    return steps


def test_counters_monotonic_except_at_recorded_restarts(history):
    om = history.om
    counters = [m.name for m in WORLD.metrics if m.kind == "counter"]
    counters += ["http_request_duration_seconds_count", "db_query_duration_seconds_count"]
    seen_reset = 0
    for name in counters:
        for d, ts, vs in om.select(name):
            drops = ts[1:][np.diff(vs) < 0]
            allowed = _restart_steps(history, d["service"]) if "service" in d else set()
            assert set(drops.tolist()) <= allowed, (name, d, drops)
            seen_reset += len(drops)
    assert seen_reset > 0  # the history has restarts, and counters did reset there


def test_restarts_counter_and_start_time_follow_events(history):
    events = json.loads((history.dir / "events.json").read_text())
    for svc in WORLD.service_names:
        ooms = [e for e in events if e["service"] == svc and e["kind"] == "oom_kill"]
        ts, vs = history.om.one("kube_pod_container_status_restarts_total", service=svc)
        assert vs[-1] - vs[0] == len(ooms)
        ts, start = history.om.one("process_start_time_seconds", service=svc)
        assert len(np.unique(start)) == 1 + len(_restart_steps(history, svc))
        assert np.all(start <= ts)


def test_cli_simulate_prints_summary(tmp_path, capsys):
    code = main(["simulate", "--days", "0.2", "--step", "5m", "--seed", "3", "--end", "1763640000",
                 "--out", str(tmp_path)])
    assert code == 0
    out = capsys.readouterr().out
    assert "series" in out and "samples" in out and "incidents" in out
    assert (tmp_path / "metrics.om").read_text().endswith("# EOF\n")
    # a second run in a fresh process: bad input is a message and exit code 2, not a traceback
    r = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "simulate", "--step", "soon", "--out", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Cannot read duration" in r.stderr and "Traceback" not in r.stderr
