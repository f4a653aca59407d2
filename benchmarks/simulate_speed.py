"""How long `promv5-lab simulate --days 7 --step 30s` takes (the contract: under a minute on 2 cores).

Run from the repository root::

    python benchmarks/simulate_speed.py            # 7 days at 30 s, seed 42
    python benchmarks/simulate_speed.py --days 3   # other spans

It runs the real CLI in a subprocess, into a temporary directory it removes afterwards, and prints the
wall-clock time, series, samples and file sizes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--days", default="7")
    ap.add_argument("--step", default="30s")
    ap.add_argument("--seed", default="42")
    ap.add_argument("--end", default="2026-11-27T12:00:00Z", help="fixed so runs are comparable")
    args = ap.parse_args()
    out = Path(tempfile.mkdtemp(prefix="promv5-simulate-bench-"))
    argv = [sys.executable, "-m", "promv5_lab.cli", "simulate", "--days", args.days, "--step", args.step,
            "--seed", args.seed, "--end", args.end, "--out", str(out)]
    try:
        t0 = time.perf_counter()
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=600)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            print(done.stdout, done.stderr, file=sys.stderr)
            return done.returncode
        sizes = {p.name: p.stat().st_size for p in sorted(out.iterdir())}
        print(done.stdout.strip())
        print(f"wall-clock: {elapsed:.1f} s (contract: < 60 s)")
        print("files: " + ", ".join(f"{k} {v / 2**20:.1f} MiB" for k, v in sizes.items()))
        print("reproduce: " + " ".join(["python", "-m", "promv5_lab.cli", *argv[3:-2], "--out", "OUT_DIR"]))
        return 0 if elapsed < 60 else 1
    finally:
        shutil.rmtree(out, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
