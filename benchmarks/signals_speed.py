"""Speed of the logs and traces backends on the demo world (embedded DuckDB stores, and the HTTP clients).

Run from the repository root::

    python benchmarks/signals_speed.py                 # 7 days at 30 s, seed 42 (simulated into a temp dir)
    python benchmarks/signals_speed.py --days 3
    python benchmarks/signals_speed.py --data out/demo # an existing simulate output

It times: loading each store (``open_logs``/``open_traces``), a 1-hour window at every incident
(``logs(level=ERROR/WARN)``, ``spans()``), the whole history (``logs()``, ``spans()``), per-minute
counts (``count_by_service``), 50 traces by id, and the same 1-hour incident windows through the Loki,
Tempo and Jaeger clients against the loopback fakes in ``tests/fakes/`` (so those figures are client +
fake-server cost on this machine, not a real server's). Medians over ``--repeat`` runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))


def timed(fn, repeat: int):
    times, out = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--step", default="30s")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end", default="2026-11-27T12:00:00Z", help="fixed so runs are comparable")
    ap.add_argument("--data", type=Path, default=None, help="use this simulate output instead")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    from promv5_lab.backends.logs import LokiLogs, open_logs
    from promv5_lab.backends.traces import JaegerTraces, TempoTraces, open_traces
    from promv5_lab.types import TimeRange, as_utc

    tmp = None
    if args.data is None:
        from promv5_lab.demo.simulate import simulate

        tmp = Path(tempfile.mkdtemp(prefix="promv5-signals-bench-"))
        t0 = time.perf_counter()
        simulate(tmp, days=args.days, step_s=args.step, seed=args.seed, end=args.end)
        print(f"simulated {args.days:g} days at {args.step} (seed {args.seed}) in {time.perf_counter() - t0:.1f}s")
        data = tmp
    else:
        data = args.data
    try:
        rows: list[tuple[str, str]] = []
        incidents = json.loads((data / "incidents.json").read_text())
        n_logs = (data / "logs.jsonl").read_text().count("\n")
        n_spans = (data / "traces.jsonl").read_text().count("\n")
        rows.append(("history", f"{n_logs:,} log lines, {n_spans:,} spans, {len(incidents)} incidents"))

        t, logs = timed(lambda: open_logs(data), 1)
        rows.append(("open_logs (load logs.jsonl into DuckDB, incl. import)", f"{t * 1000:.0f} ms"))
        t, _ = timed(lambda: open_logs(data), args.repeat)
        rows.append(("open_logs again (warm process)", f"{t * 1000:.0f} ms"))
        t, traces = timed(lambda: open_traces(data), args.repeat)
        rows.append(("open_traces", f"{t * 1000:.0f} ms"))

        windows = [TimeRange(as_utc(i["start"]), as_utc(i["start"]) + timedelta(hours=1)) for i in incidents]
        (la, lb), (ta, tb) = logs.time_bounds(), traces.time_bounds()
        everything = TimeRange(min(la, ta), max(lb, tb))

        t, _ = timed(lambda: [logs.logs(w, level=["ERROR", "WARN"]) for w in windows], args.repeat)
        rows.append(("logs(1h window, ERROR/WARN), per incident", f"{t / len(windows) * 1000:.1f} ms"))
        t, got = timed(lambda: logs.logs(everything, limit=10**7), args.repeat)
        rows.append((f"logs(whole history: {len(got):,} lines)", f"{t * 1000:.0f} ms"))
        t, got = timed(lambda: logs.count_by_service(everything, bucket_s=60), args.repeat)
        rows.append((f"count_by_service(whole history, 1-min buckets: {len(got):,} rows)", f"{t * 1000:.0f} ms"))
        t, _ = timed(lambda: [traces.spans(w) for w in windows], args.repeat)
        rows.append(("spans(1h window), per incident", f"{t / len(windows) * 1000:.1f} ms"))
        t, got = timed(lambda: traces.spans(everything, limit=10**7), args.repeat)
        rows.append((f"spans(whole history: {len(got):,} spans)", f"{t * 1000:.0f} ms"))
        ids = list(dict.fromkeys(got["trace_id"]))[:: max(1, len(set(got["trace_id"])) // 50)][:50]
        t, _ = timed(lambda: [traces.trace(i) for i in ids], args.repeat)
        rows.append(("trace(id), per trace", f"{t / len(ids) * 1000:.2f} ms"))

        from fakes.loki import FakeLoki
        from fakes.traces import FakeJaeger, FakeTempo

        with FakeLoki(data / "logs.jsonl") as loki_srv, FakeTempo(data / "traces.jsonl") as tempo_srv, \
                FakeJaeger(data / "traces.jsonl") as jaeger_srv:
            with LokiLogs(loki_srv.url, service_label="service_name") as loki:
                t, _ = timed(lambda: [loki.logs(w, level=["ERROR", "WARN"]) for w in windows], args.repeat)
                rows.append(("Loki client + fake, logs(1h window), per incident", f"{t / len(windows) * 1000:.0f} ms"))
            with TempoTraces(tempo_srv.url, max_traces=5000) as tempo:
                t, _ = timed(lambda: [tempo.spans(w) for w in windows], args.repeat)
                rows.append(("Tempo client + fake, spans(1h window), per incident", f"{t / len(windows) * 1000:.0f} ms"))
            with JaegerTraces(jaeger_srv.url, max_traces=5000) as jaeger:
                t, _ = timed(lambda: [jaeger.spans(w) for w in windows], args.repeat)
                rows.append(("Jaeger client + fake, spans(1h window, all services), per incident",
                             f"{t / len(windows) * 1000:.0f} ms"))
        width = max(len(k) for k, _ in rows)
        for k, v in rows:
            print(f"{k:<{width}}  {v}")
        cmd = "python benchmarks/signals_speed.py" + (f" --data {args.data}" if args.data else
                                                     f" --days {args.days:g} --step {args.step} --seed {args.seed}")
        print(f"\nreproduce: {cmd}")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
