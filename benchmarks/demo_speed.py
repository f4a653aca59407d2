"""How long `promv5-lab demo` takes from nothing to the last line (target: under 60 s on the 2-core machine).

    python benchmarks/demo_speed.py                    # 2 runs, seed 42, 3 days (the README's first command)
    python benchmarks/demo_speed.py --runs 3 --seed 3

Each run is the real command in a fresh process and a fresh output folder (it simulates the history,
loads it into the embedded engine, and runs every section), timed from outside. Each section's own time
is read from its heading. The load average is printed before and after each run because the machine is
shared: times at a high load are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 60.0
SECTION = re.compile(r"^(\d)\. (.+?)  \((\d+(?:\.\d+)?) s\)$", re.MULTILINE)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--days", type=float, default=3.0)
    args = ap.parse_args(argv)
    walls = []
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="demo-speed-") as tmp:
            load0 = os.getloadavg()[0]
            t0 = time.monotonic()
            proc = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "demo", "--seed", str(args.seed),
                                   "--days", str(args.days), "--out", str(Path(tmp) / "out")],
                                  cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
            wall = time.monotonic() - t0
            load1 = os.getloadavg()[0]
        if proc.returncode != 0:
            print(proc.stderr[-3000:], file=sys.stderr)
            return 1
        walls.append(wall)
        sim = re.search(r"in (\d+(?:\.\d+)?) s: ", proc.stdout)
        opened = re.search(r"Opened it: .*\((\d+(?:\.\d+)?) s\)", proc.stdout)
        parts = [f"simulate {sim.group(1)} s" if sim else "", f"open {opened.group(1)} s" if opened else ""]
        parts += [f"{n}. {float(s):.1f} s" for n, _title, s in SECTION.findall(proc.stdout)]
        print(f"run {run}: {wall:.1f} s wall (load average {load0:.1f} -> {load1:.1f}); "
              + ", ".join(p for p in parts if p))
    med = statistics.median(walls)
    verdict = "met" if med < TARGET_S else "MISSED"
    print(f"\n`promv5-lab demo --seed {args.seed} --days {args.days:g}`: median {med:.1f} s, max {max(walls):.1f} s "
          f"over {len(walls)} runs; target < {TARGET_S:.0f} s: {verdict}")
    print(f"Reproduce: python benchmarks/demo_speed.py --runs {args.runs} --seed {args.seed} --days {args.days:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
