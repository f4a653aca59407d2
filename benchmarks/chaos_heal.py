"""Chaos benchmark: autonomous healing of the live demo world (issue 7's evaluation).

    python benchmarks/chaos_heal.py                       # 6 incident types x 3, random order (~11 min)
    python benchmarks/chaos_heal.py --repeats 1 --seed 4  # one of each (~5 min)

The live world (``DemoServer``) is scraped every second by a real Prometheus 2.42 (both its pages,
``honor_labels``). ``promv5-lab heal --execute --approve auto`` runs as a child process with
``promv5_lab/demo/policies.yaml``. Each incident type is injected ``--repeats`` times in random order
(``POST /admin/faults``, a random allowed victim), one at a time, with ``--gap`` healthy seconds between.

Figures: autonomous resolution rate (the fault left the world through heal's action AND heal's own
PromQL verification held; goal >= 80 %), mean time to recovery (injection -> verified outcome), and
false actions (actions executed while no fault was active; goal 0). The audit log's chain is verified
at the end. Incidents heal never fixed are cleared by the benchmark after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from promv5_lab.remediate.chaos import chaos_plan, run_chaos  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="injections per incident type")
    ap.add_argument("--seed", type=int, default=7, help="order, victims and the world's noise")
    ap.add_argument("--time-scale", type=float, default=1.0, help="the live world's speed")
    ap.add_argument("--warmup", type=float, default=70.0, help="healthy seconds before the first injection")
    ap.add_argument("--gap", type=float, default=12.0, help="healthy seconds after each incident")
    ap.add_argument("--timeout", type=float, default=90.0, help="give up on an incident after this long")
    ap.add_argument("--in-process", action="store_true", help="run the loop in a thread instead of the CLI")
    ap.add_argument("--json", type=Path, help="also write the full report here")
    ap.add_argument("--audit", type=Path, help="keep the audit log here (default: a temporary file)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    plan = chaos_plan(args.repeats, random.Random(args.seed))
    print(f"chaos: {len(plan)} incidents in random order (seed {args.seed}), time scale {args.time_scale:g}",
          file=sys.stderr)
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="promv5-chaos-") as tmp:
        rep = run_chaos(plan, audit_path=args.audit or Path(tmp) / "audit.db", seed=args.seed, time_scale=args.time_scale,
                        warmup_s=args.warmup, healthy_gap_s=args.gap, timeout_s=args.timeout,
                        via_cli=not args.in_process, echo=lambda s: print(s, file=sys.stderr, flush=True))
    healed = sum(i.resolved_by_heal and i.verified for i in rep.incidents)
    by_type: dict[str, list[int]] = {}
    for i in rep.incidents:
        t = by_type.setdefault(i.type, [0, 0])
        t[0] += i.resolved_by_heal and i.verified
        t[1] += 1
    print()
    print(f"autonomous resolution rate : {rep.resolution_rate:.1%} ({healed}/{len(rep.incidents)}; goal >= 80%)")
    mttr = rep.mean_ttr_s
    print(f"mean time to recovery      : {mttr:.1f} s (injection -> verified)" if mttr is not None
          else "mean time to recovery      : n/a")
    print(f"false actions              : {rep.false_actions} in {rep.healthy_seconds:.0f} healthy seconds (goal 0)")
    extra = [f"{i.type} on {i.service} ({i.actions})" for i in rep.incidents if i.actions > 1]
    print(f"actions executed           : {rep.executions}"
          + (f"; more than one for: {', '.join(extra)}" if extra else ""))
    print(f"audit chain                : {'intact' if rep.audit_ok else 'BROKEN'}")
    print("per type                   : " + ", ".join(f"{k} {a}/{n}" for k, (a, n) in sorted(by_type.items())))
    print(f"wall time                  : {time.monotonic() - t0:.0f} s")
    print("reproduce                  : python benchmarks/chaos_heal.py " + " ".join(argv or sys.argv[1:]))
    if args.json:
        args.json.write_text(json.dumps(rep.to_json(), indent=1) + "\n")
    return 0 if rep.resolution_rate >= 0.8 and rep.false_actions == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
