"""Benchmark: the embedded engine against a real Prometheus 2.42 on the same demo history, side by side.

Reports, in one run on one machine:
  * load time of the history into the engine (OpenMetrics -> store) and reload time of the saved store;
  * memory per million samples (array bytes, and process RSS growth while loading);
  * median latency over the differential query set (instant + range), engine in-process, engine over its
    HTTP API, and Prometheus over its HTTP API, with the ratios;
  * a check that both answered the same (differences are counted, not hidden).

Reproduce:
    python benchmarks/engine_vs_prometheus.py --days 7            # simulate 7 days, backfill, compare
    python benchmarks/engine_vs_prometheus.py --data DIR          # an existing 'promv5-lab simulate' output
"""

from __future__ import annotations

import argparse
import resource
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promv5_lab.backends.embedded.differential import Case, ask_engine, ask_prometheus, compare
from promv5_lab.backends.embedded.evaluator import Engine
from promv5_lab.backends.embedded.querygen import catalogue_from_store, queries
from promv5_lab.backends.embedded.storage import Store
from promv5_lab.backends.harness import PrometheusHarness


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def _start_engine_server(store_dir: Path):
    """`embedded serve` in its own process (so it does not share the GIL with this client)."""
    import subprocess

    from promv5_lab.backends.harness import free_port

    port = free_port()
    code = ("import sys; from promv5_lab.backends.embedded.backend import EmbeddedBackend; "
            "from promv5_lab.backends.embedded.server import make_server; "
            "make_server(EmbeddedBackend.open(sys.argv[1]), '127.0.0.1', int(sys.argv[2])).serve_forever()")
    proc = subprocess.Popen([sys.executable, "-c", code, str(store_dir), str(port)],
                            cwd=str(Path(__file__).resolve().parents[1]))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(url + "/-/ready", timeout=1).ok:
                return proc, url
        except requests.RequestException:
            time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("the engine server did not start")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--days", type=float, default=7.0, help="days of demo history to simulate (default 7)")
    ap.add_argument("--step", type=float, default=30.0, help="scrape step of the simulated history, seconds")
    ap.add_argument("--data", type=Path, help="use this simulate output (metrics.om) instead of simulating")
    ap.add_argument("--max-queries", type=int, default=0, help="cap the query set (0 = all)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case; the median of each is used")
    args = ap.parse_args(argv)
    print("reproduce:", "python benchmarks/engine_vs_prometheus.py " + shlex.join(argv or sys.argv[1:]))

    work = Path(tempfile.mkdtemp(prefix="promv5-bench-"))
    if args.data is None:
        from promv5_lab.demo.simulate import simulate

        summary, secs = timed(lambda: simulate(work / "demo", days=args.days, step_s=args.step, seed=7))
        om = Path(summary.out_dir) / "metrics.om"
        print(f"simulated {args.days:g} days in {secs:.1f}s -> {om} ({om.stat().st_size / 1e6:.0f} MB)")
    else:
        om = args.data / "metrics.om" if args.data.is_dir() else args.data

    rss0 = rss_mb()
    store, load_s = timed(lambda: Store.from_openmetrics(om))
    rss1 = rss_mb()
    n = store.num_samples
    store.save(work / "store")
    _, reload_s = timed(lambda: Store.load(work / "store"))
    print(f"engine load: {n:,} samples in {len(store.labels):,} series, parse {load_s:.2f}s, reload {reload_s:.3f}s")
    print(f"engine memory: {store.nbytes / n * 1e6 / 2**20:.1f} MiB of arrays per million samples; "
          f"peak RSS growth while parsing +{(rss1 - rss0) / n * 1e6:.1f} MiB per million samples (transient)")

    prom = PrometheusHarness(work / "prometheus", evaluation_interval="1m")
    try:
        _, bf = timed(lambda: prom.backfill(om))
        _, st = timed(prom.start)
        print(f"prometheus: backfill {bf:.1f}s, start {st:.1f}s at {prom.url}")
        engine = Engine(store)
        lo, hi = store.time_bounds()
        mid = (lo + hi) // 2
        qs = queries(catalogue_from_store(store), at_ms=mid)
        if args.max_queries:
            qs = qs[: args.max_queries]
        cases = []
        for i, q in enumerate(qs):
            cases.append(Case(q, "instant", time_ms=mid + 12_345))
            cases.append(Case(q, "range", start_ms=hi - 3 * 3600_000, end_ms=hi, step_ms=60_000) if i % 2 else
                         Case(q, "range", start_ms=hi - 24 * 3600_000, end_ms=hi, step_ms=600_000))
        session = requests.Session()
        server = _start_engine_server(work / "store")
        eng_url = server[1]
        t_eng, t_http, t_prom, diffs = [], [], [], 0
        for c in cases:
            ask_prometheus(session, prom.url, c)  # warm both sides once
            ask_engine(engine, c)
            pe, ph, pp = [], [], []
            for _ in range(args.repeat):
                res, s = timed(lambda c=c: ask_engine(engine, c))
                pe.append(s)
                _, s = timed(lambda c=c: ask_prometheus(session, eng_url, c))
                ph.append(s)
                body, s = timed(lambda c=c: ask_prometheus(session, prom.url, c))
                pp.append(s)
            t_eng.append(statistics.median(pe))
            t_http.append(statistics.median(ph))
            t_prom.append(statistics.median(pp))
            diff = compare(body, res, ordered=c.promql.startswith("sort"))
            if diff:
                diffs += 1
                print(f"DIFFERS {c.describe()}: {diff[:300]}")
    finally:
        prom.stop()
        if "server" in locals():
            server[0].terminate()
            server[0].wait(timeout=10)
    me, mh, mp = (statistics.median(x) * 1000 for x in (t_eng, t_http, t_prom))
    print(f"\n{len(cases)} cases ({len(qs)} queries x instant+range), median of {args.repeat} runs each; "
          f"{diffs} answers differed")
    print(f"{'':32}{'median ms':>10}{'p90 ms':>10}")
    for name, xs in (("engine in-process", t_eng), ("engine HTTP API (own process)", t_http), ("prometheus HTTP API", t_prom)):
        print(f"{name:32}{statistics.median(xs) * 1000:10.2f}{sorted(xs)[int(len(xs) * 0.9)] * 1000:10.2f}")
    print(f"\nratio engine/prometheus (median latency): in-process {me / mp:.2f}x, over HTTP {mh / mp:.2f}x "
          f"(target: within 2x)")
    return 0 if diffs == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
