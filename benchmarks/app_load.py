"""Load and first-render figures for the Panel app (issue 9), on loopback only, bounded in time.

Starts ``promv5-lab serve``'s app in-process on the embedded demo (a fresh 1-day history), then:
1. first render: Debian's Chromium (Playwright) opens the page; time until the question box is visible,
   and until a first answer's PromQL shows;
2. load: N concurrent browser-less clients for D seconds, each looping over
   GET /app (the server builds a whole session page) and POST /api/ask (plan + query + answer);
   reports requests, errors and p50/p95 latency per kind.

    python benchmarks/app_load.py [--clients 20] [--seconds 60]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

QUESTIONS = ["p95 latency by service", "error ratio of checkout", "requests per second by route",
             "memory of cart", "top 3 services by error rate", "cpu usage by node"]
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


def first_render(url: str) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as prof, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(prof, executable_path="/usr/bin/chromium", headless=True, args=ARGS)
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(url)
        box = page.locator(".promv5-chat textarea").first
        box.wait_for(state="visible", timeout=60_000)
        t_box = time.perf_counter() - t0
        box.fill("p95 latency by service")
        t1 = time.perf_counter()
        box.press("Enter")
        page.locator(".promv5-promql").first.wait_for(timeout=60_000)
        t_answer = time.perf_counter() - t1
        ctx.close()
    return t_box, t_answer


def load(base: str, clients: int, seconds: float) -> dict[str, list[float] | int]:
    stop = time.monotonic() + seconds
    lat: dict[str, list[float]] = {"page": [], "ask": []}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        n = 0
        while time.monotonic() < stop:
            q = QUESTIONS[(i + n) % len(QUESTIONS)]
            for kind in ("page", "ask"):
                t0 = time.perf_counter()
                try:
                    if kind == "page":
                        with urllib.request.urlopen(base + "/app", timeout=60) as r:
                            ok = r.status == 200 and b"bokeh" in r.read().lower()
                    else:
                        req = urllib.request.Request(base + "/api/ask", data=json.dumps({"question": q}).encode(),
                                                     headers={"Content-Type": "application/json"}, method="POST")
                        with urllib.request.urlopen(req, timeout=60) as r:
                            ok = r.status == 200 and json.loads(r.read()).get("promql")
                    dt = time.perf_counter() - t0
                    with lock:
                        (lat[kind].append(dt) if ok else errors.append(f"{kind}: bad response"))
                except Exception as exc:  # noqa: BLE001 - count every failure
                    with lock:
                        errors.append(f"{kind}: {exc}")
            n += 1

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 120)
    return {"page": lat["page"], "ask": lat["ask"], "errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    if not 1 <= args.clients <= 50 or not 1 <= args.seconds <= 300:
        ap.error("bounded: 1-50 clients, 1-300 seconds")
    from promv5_lab.demo.simulate import simulate
    from promv5_lab.ui.app import start

    with tempfile.TemporaryDirectory() as tmp:
        hist = simulate(Path(tmp) / "demo", days=1, step_s=60, seed=42)
        t0 = time.perf_counter()
        server, url, ctx = start(data_dir=str(hist.out_dir), now=hist.end)
        startup = time.perf_counter() - t0
        try:
            t_box, t_answer = first_render(url)
            res = load(url.rsplit("/", 1)[0], args.clients, args.seconds)
        finally:
            server.stop()
            ctx.close()
    print(f"server start incl. warm-up (backend, catalogue, embeddings, overview): {startup:.1f} s")
    print(f"first render (question box visible in Chromium): {t_box:.2f} s; first answer shown: {t_answer:.2f} s")
    for kind in ("page", "ask"):
        xs = res[kind]
        print(f"{kind:>4}: {len(xs)} ok, p50 {statistics.median(xs) if xs else float('nan'):.2f} s, "
              f"p95 {pct(xs, 0.95):.2f} s")
    print(f"errors: {len(res['errors'])}" + (f" (first: {res['errors'][0]})" if res["errors"] else ""))
    print(f"reproduce: python benchmarks/app_load.py --clients {args.clients} --seconds {args.seconds:g}")
    return 1 if res["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
