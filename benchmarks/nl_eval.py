"""Execution accuracy of the offline NL planner on the demo world (benchmarks/nl_cases.yaml).

Each case's question is planned (after its ``context`` questions, for follow-ups), rendered to PromQL and
executed on the embedded engine; so is the hand-written reference. A case is correct when both return the
same label sets with values within 1e-6 (or, for ``clarify: true`` cases, when the planner asks back).
Planning latency is measured around ``planner.plan`` only (no backend).

    python benchmarks/nl_eval.py [--lexical] [--limit N] [--verbose] [--rerank on|off|both]
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CASES = ROOT / "benchmarks" / "nl_cases.yaml"


@dataclass
class CaseResult:
    question: str
    tag: str
    split: str
    ok: bool
    got: str | None
    want: str | None
    planning_ms: float
    detail: str = ""


@dataclass
class Report:
    results: list[CaseResult] = field(default_factory=list)
    model_load_s: float | None = None
    notes: tuple[str, ...] = ()

    @property
    def accuracy(self) -> float:
        return sum(r.ok for r in self.results) / max(1, len(self.results))

    def latency(self, pct: float) -> float:
        xs = sorted(r.planning_ms for r in self.results)
        return xs[min(len(xs) - 1, math.ceil(pct / 100 * len(xs)) - 1)] if xs else 0.0


def world_dir(spec: dict, base: Path | None = None) -> Path:
    """Simulate the demo world of the case file once (cached by its parameters)."""
    from promv5_lab.demo.simulate import simulate

    key = f"nl-eval-{spec['days']}d-{spec['step_s']}s-seed{spec['seed']}-{spec['end'].replace(':', '')}"
    d = (base or Path(tempfile.gettempdir())) / key
    if not (d / "metrics.om").is_file():
        simulate(d, days=spec["days"], step_s=spec["step_s"], seed=spec["seed"], end=spec["end"])
    return d


def _key(frame) -> dict:
    from promv5_lab.frames import TIME, VALUE, label_columns

    labels = [c for c in label_columns(frame) if c != "__name__"]
    out = {}
    if frame.empty:
        return out
    groups = frame.groupby(labels, sort=True, dropna=False) if labels else [((), frame)]
    for k, g in groups:
        k = k if isinstance(k, tuple) else (k,)
        lab = tuple(sorted((n, v) for n, v in zip(labels, k) if isinstance(v, str)))
        out[lab] = list(zip((t.timestamp() for t in g[TIME]), g[VALUE].astype(float)))
    return out


def same(a, b, tol: float = 1e-6) -> tuple[bool, str]:
    ka, kb = _key(a), _key(b)
    if set(ka) != set(kb):
        return False, f"label sets differ: got {sorted(ka)[:3]} want {sorted(kb)[:3]}"
    for lab, pa in ka.items():
        pb = kb[lab]
        if len(pa) != len(pb):
            return False, f"{lab}: {len(pa)} points vs {len(pb)}"
        for (ta, va), (tb, vb) in zip(pa, pb):
            if abs(ta - tb) > 1e-3:
                return False, f"{lab}: timestamps differ"
            if math.isnan(va) and math.isnan(vb):
                continue
            if not (abs(va - vb) <= tol * max(1.0, abs(vb))):
                return False, f"{lab}: {va} vs {vb}"
    return True, "both empty" if not ka else ""


def _execute(backend, promql: str, kind: str, at, rng):
    if kind == "range":
        return backend.query_range(promql, rng)
    return backend.query(promql, at)


def run(cases_path: Path = CASES, *, data_dir: Path | None = None, lexical: bool = False,
        limit: int | None = None, select=None, engine: str = "embedded", rerank: bool = True) -> Report:
    """Score the cases; ``engine="prometheus"`` backfills the world into a local Prometheus 2.42 and uses it
    for the catalogue (no TYPE/HELP there: a backfilled history has no scrape metadata) and for both queries."""
    import yaml as _yaml

    from promv5_lab.backends import telemetry
    from promv5_lab.config import load_settings

    doc = _yaml.safe_load(Path(cases_path).read_text())
    d = data_dir or world_dir(doc["world"])
    with telemetry(load_settings(data_dir=d, data_engine=engine)) as backend:
        return _run(doc, backend, lexical=lexical, limit=limit, select=select, rerank=rerank)


def _run(doc: dict, backend, *, lexical: bool, limit: int | None, select, rerank: bool = True) -> Report:
    from promv5_lab.errors import Promv5Error
    from promv5_lab.nl import embed
    from promv5_lab.nl.catalogue import Catalogue
    from promv5_lab.nl.planner import OfflinePlanner, default_step
    from promv5_lab.nl.render import render
    from promv5_lab.types import Clarification, TimeRange, as_utc

    cases = doc["cases"]
    if select is not None:
        cases = [c for i, c in enumerate(cases) if select(i, c)]
    if limit:
        cases = cases[:limit]
    now = as_utc(doc["now"])
    cat = Catalogue.from_backend(backend)
    t0 = time.perf_counter()
    planner = OfflinePlanner(cat, now=now, use_embeddings=not lexical, rerank=rerank)
    report = Report(model_load_s=None if lexical else time.perf_counter() - t0, notes=planner.notes)
    if embed.LOAD_SECONDS is not None:
        report.model_load_s = embed.LOAD_SECONDS
    for c in cases:
        q, tag, split = c["question"], c.get("tag", ""), c.get("split", "dev")
        ctx = None
        for prev in c.get("context", []):
            p = planner.plan(prev, context=ctx)
            ctx = p if not isinstance(p, Clarification) else ctx
        t = time.perf_counter()
        plan = planner.plan(q, context=ctx)
        ms = (time.perf_counter() - t) * 1000
        if c.get("clarify"):
            ok = isinstance(plan, Clarification)
            report.results.append(CaseResult(q, tag, split, ok, None if ok else render(plan), "(clarification)", ms))
            continue
        want = c["promql"]
        if isinstance(plan, Clarification):
            report.results.append(CaseResult(q, tag, split, False, f"CLARIFY: {plan.message}", want, ms))
            continue
        got = render(plan)
        if c.get("kind", "instant") == "range":
            s, e = (as_utc(x) for x in c["range"])
            rng = TimeRange(s, e, c.get("step") or default_step((e - s).total_seconds()))
            ref_at = None
        else:
            rng, ref_at = None, as_utc(c.get("at", doc["now"]))
        try:
            ref = _execute(backend, want, c.get("kind", "instant"), ref_at, rng)
        except Promv5Error as exc:
            raise SystemExit(f"reference PromQL of {q!r} fails: {exc}") from exc
        try:
            res = _execute(backend, got, plan.kind, plan.time, plan.range)
        except Promv5Error as exc:
            report.results.append(CaseResult(q, tag, split, False, got, want, ms, f"error: {exc.message}"))
            continue
        ok, detail = same(res.frame, ref.frame)
        if ok and plan.kind != c.get("kind", "instant"):
            ok, detail = False, f"kind {plan.kind} != {c.get('kind', 'instant')}"
        report.results.append(CaseResult(q, tag, split, ok, got, want, ms, detail))
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", default=str(CASES))
    ap.add_argument("--data", default=None, help="use this simulate output instead of the case file's world")
    ap.add_argument("--lexical", action="store_true", help="no embedding model (lexical matching only)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--verbose", "-v", action="store_true", help="print every failure")
    ap.add_argument("--engine", choices=("embedded", "prometheus"), default="embedded",
                    help="execute on the embedded engine or on a local Prometheus 2.42 (backfilled)")
    ap.add_argument("--rerank", choices=("on", "off", "both"), default="on",
                    help="the learned metric reranker (nl/rerank.py): on (default), off (rule order), or both "
                         "side by side (the figures below are then the reranker's)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    kw = {"data_dir": Path(args.data) if args.data else None, "lexical": args.lexical, "limit": args.limit,
              "engine": args.engine}
    if args.rerank == "both":
        off = run(Path(args.cases), rerank=False, **kw)
        print(f"rule order (no reranker): {off.accuracy * 100:.1f}% ({sum(r.ok for r in off.results)}/"
              f"{len(off.results)}), p95 planning {off.latency(95):.1f} ms")
        from promv5_lab.nl import embed

        if (emb := embed.get_embedder()) is not None:
            emb._queries.clear()  # the second run must embed its questions again (a fair latency figure)
    rep = run(Path(args.cases), rerank=args.rerank != "off", **kw)
    by_tag: dict[str, list[bool]] = {}
    for r in rep.results:
        by_tag.setdefault(r.tag, []).append(r.ok)
        if args.verbose and not r.ok:
            print(f"FAIL [{r.split}/{r.tag}] {r.question!r}\n   got:  {r.got}\n   want: {r.want}\n   {r.detail}")
    n = len(rep.results)
    print(f"cases: {n}   execution accuracy: {rep.accuracy * 100:.1f}% ({sum(r.ok for r in rep.results)}/{n})")
    for split in sorted({r.split for r in rep.results}):
        rs = [r for r in rep.results if r.split == split]
        print(f"  {split}: {sum(r.ok for r in rs)}/{len(rs)} = {100 * sum(r.ok for r in rs) / len(rs):.1f}%")
    print("by tag: " + ", ".join(f"{t} {sum(v)}/{len(v)}" for t, v in sorted(by_tag.items())))
    print(f"planning latency (excluding the backend): p50 {statistics.median(r.planning_ms for r in rep.results):.1f} ms,"
          f" p95 {rep.latency(95):.1f} ms, max {max(r.planning_ms for r in rep.results):.1f} ms")
    if rep.model_load_s is not None:
        print(f"embedding model + catalogue embedding: {rep.model_load_s:.1f} s (once per process)")
    for note in rep.notes:
        print(f"note: {note}")
    print(f"total {time.perf_counter() - t0:.1f} s; reproduce: python benchmarks/nl_eval.py"
          + (" --lexical" if args.lexical else "") + (f" --limit {args.limit}" if args.limit else "")
          + (f" --engine {args.engine}" if args.engine != "embedded" else "")
          + (f" --rerank {args.rerank}" if args.rerank != "on" else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
