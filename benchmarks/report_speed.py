"""How long a postmortem of a demo incident takes, per format (target: under 10 s).

    python benchmarks/report_speed.py                  # 2 days at 60 s, seed 7, every incident, html md pdf
    python benchmarks/report_speed.py --days 3 --step 30 --incidents 2

The history is simulated into a temp dir and opened in the embedded engine with its logs and traces (not
timed: that is the demo's cost, reported on its own). For each incident, "build" is
``build_postmortem`` (the real diagnosis, anomaly onsets, impact, alert rules, capacity risks) and each
format's time is build + render (+ Chromium's print for PDF). The first incident pays the imports
(statsmodels, matplotlib, Playwright); it is shown as "cold" and left out of the warm figures. The load
average is printed because the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_S = 10.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--step", type=float, default=60.0)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--incidents", type=int, default=0, help="how many incidents (0: all)")
    ap.add_argument("--formats", default="html,md,pdf")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")

    from promv5_lab.backends.embedded import EmbeddedBackend
    from promv5_lab.backends.logs import open_logs
    from promv5_lab.backends.traces import open_traces
    from promv5_lab.demo.incidents import load_incidents
    from promv5_lab.demo.simulate import simulate
    from promv5_lab.report.postmortem import build_postmortem
    from promv5_lab.report.render import export

    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    with tempfile.TemporaryDirectory(prefix="promv5-report-bench-") as tmp:
        data, out = Path(tmp) / "world", Path(tmp) / "out"
        t0 = time.perf_counter()
        simulate(data, days=args.days, step_s=args.step, seed=args.seed, progress=False)
        t_sim = time.perf_counter() - t0
        t0 = time.perf_counter()
        backend = EmbeddedBackend.open(data)
        logs, traces = open_logs(data), open_traces(data)
        t_open = time.perf_counter() - t0
        incidents = load_incidents(data / "incidents.json")
        if args.incidents:
            incidents = incidents[: args.incidents]
        print(f"demo: {args.days:g} days at {args.step:g}s, seed {args.seed}: simulated in {t_sim:.1f}s, "
              f"opened (engine + logs + traces) in {t_open:.1f}s; {len(incidents)} incidents")
        print(f"{'incident':34s} {'build':>7s} " + " ".join(f"{f + ' total':>10s}" for f in formats)
              + "   queries charts root cause")
        rows = []
        for k, inc in enumerate(incidents):
            t0 = time.perf_counter()
            pm = build_postmortem(backend, incident=inc, logs=logs, traces=traces)
            build = time.perf_counter() - t0
            totals = {}
            for f in formats:
                t0 = time.perf_counter()
                export(pm, out / f"{inc.id}.{f}")
                totals[f] = build + time.perf_counter() - t0
            rc = pm.root_cause
            cause = f"{rc.kind} at {rc.service}" if rc else "none"
            tag = " (cold)" if k == 0 else ""
            print(f"{inc.id + tag:34s} {build:6.2f}s " + " ".join(f"{totals[f]:9.2f}s" for f in formats)
                  + f"   {len(pm.queries):7d} {len(pm.charts):6d} {cause}")
            rows.append((build, totals))
        warm = rows[1:] or rows
        print()
        print(f"load average while running: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
        print(f"{'format':8s} {'median':>8s} {'max':>8s}  target < {TARGET_S:g}s (warm: incidents after the first)")
        ok = True
        for f in formats:
            vals = [t[f] for _, t in warm]
            med, worst = statistics.median(vals), max(vals)
            ok &= worst < TARGET_S
            print(f"{f:8s} {med:7.2f}s {worst:7.2f}s  {'met' if worst < TARGET_S else 'MISSED'}")
        builds = [b for b, _ in warm]
        print(f"{'build':8s} {statistics.median(builds):7.2f}s {max(builds):7.2f}s  (shared by every format)")
        cold = rows[0]
        print(f"cold (first incident, imports included): build {cold[0]:.2f}s, "
              + ", ".join(f"{f} {cold[1][f]:.2f}s" for f in formats))
    print(f"\nreproduce: python benchmarks/report_speed.py --days {args.days:g} --step {args.step:g} "
          f"--seed {args.seed} --formats {','.join(formats)}" + (f" --incidents {args.incidents}" if args.incidents else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
