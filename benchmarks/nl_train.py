"""Train, cross-validate and compare the planner's learned metric reranker (promv5_lab/nl/rerank.py).

Training data: the development set (benchmarks/nl_cases.yaml) and held-out sets 1-7, generated at run time (the
worlds are written, the planner runs with the rule order only, and each question's top candidates and their
features are recorded; the reference PromQL's metrics are the right candidates). Set 8 is never read here (it is
the validation set, run only through ``nl_heldout.py --set 8``); set 9 neither.

    python benchmarks/nl_train.py --diagnose            # miss classes per set and oracle@k (rule order)
    python benchmarks/nl_train.py --loso                # leave-one-set-out over sets 1-7: with vs without
    python benchmarks/nl_train.py --write               # train on dev + sets 1-7, write the shipped weights
    python benchmarks/nl_train.py --compare 1,2,dev     # shipped weights vs rule order, side by side
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

TRAIN_SETS = ("dev", "1", "2", "3", "4", "5", "6", "7")
_IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def metrics_of(promql: str, cat) -> set[str]:
    """The catalogue metrics a PromQL expression reads (``x_bucket``/``x_sum``/``x_count`` -> the family ``x``)."""
    out = set()
    for tok in _IDENT.findall(re.sub(r'"(?:[^"\\]|\\.)*"', '""', promql)):
        if tok in cat.metrics:
            out.add(tok)
            continue
        for suf in ("_bucket", "_sum", "_count", "_total"):
            if tok.endswith(suf) and tok[: -len(suf)] in cat.metrics:
                out.add(tok[: -len(suf)])
    return out


class _Recorder:
    """A reranker stand-in: records the rule order's top candidates and features, then applies ``inner``."""

    def __init__(self, inner=None) -> None:
        self.inner = inner
        self.current: list | None = None

    def reorder(self, planner, it, ranked, parts):
        from promv5_lab.nl.rerank import TOP_K, candidate_features

        head = ranked[:TOP_K]
        if self.current is not None and not self.current:
            names = [n for _, n in head]
            self.current.append((names, candidate_features(planner, it, names, [s for s, _ in head], parts)))
        return self.inner.reorder(planner, it, ranked, parts) if self.inner is not None else ranked


def _patched_planner(recorder: _Recorder, calls: list):
    import promv5_lab.nl.planner as pl

    base = pl.OfflinePlanner

    class Recording(base):  # type: ignore[misc, valid-type]
        def __init__(self, cat, **kw):
            super().__init__(cat, rerank=recorder, **kw)

        def plan(self, question, context=None):
            recorder.current = []
            try:
                return super().plan(question, context)
            finally:
                calls.append((question, recorder.current[0] if recorder.current else None))
                recorder.current = None

    return pl, base, Recording


def collect(key: str, inner=None) -> dict:
    """Run one set with ``inner`` (a Reranker or None): per case ok, got, want metrics, recorded candidates."""
    import nl_eval
    import nl_heldout
    import yaml

    recorder, calls = _Recorder(inner), []
    pl, base, recording = _patched_planner(recorder, calls)
    pl.OfflinePlanner = recording
    try:
        if key == "dev":
            doc = yaml.safe_load(nl_eval.CASES.read_text())
            rep = nl_eval.run()
            from promv5_lab.backends import telemetry
            from promv5_lab.config import load_settings
            from promv5_lab.nl.catalogue import Catalogue

            with telemetry(load_settings(data_dir=nl_eval.world_dir(doc["world"]), data_engine="embedded")) as b:
                cat = Catalogue.from_backend(b)
        else:
            catalogue, cases = nl_heldout.SETS[key]
            doc = yaml.safe_load(cases.read_text())
            rep, cat = nl_heldout.run(cases_path=cases, catalogue=catalogue)
    finally:
        pl.OfflinePlanner = base
    last = {}
    for q, rec in calls:  # follow-ups plan their context first: the case is the question's last call
        last[q] = rec
    rows = []
    for c, r in zip(doc["cases"], rep.results):
        want = set() if c.get("clarify") else set().union(
            *(metrics_of(p, cat) for p in [c["promql"], *c.get("accept", [])]))
        got = set() if r.got is None or r.got.startswith("CLARIFY") else metrics_of(r.got, cat)
        rows.append({"question": c["question"], "clarify": bool(c.get("clarify")), "ok": r.ok,
                     "asked_back": bool(r.got and r.got.startswith("CLARIFY")) or (c.get("clarify") and r.ok),
                     "got": sorted(got), "want": sorted(want), "cands": last.get(c["question"]),
                     "ms": r.planning_ms, "context": bool(c.get("context"))})
    return {"key": key, "rows": rows, "cat": cat, "accuracy": rep.accuracy, "now": doc["now"]}


def miss_class(row: dict) -> str | None:
    if row["ok"]:
        return None
    if row["clarify"] or row["asked_back"]:
        return "c"
    return "b" if set(row["got"]) & set(row["want"]) else "a"


def oracle_ranks(data: dict) -> list[int | None]:
    """Per answerable case: the best rank (1-based) of a reference metric in the rule order (None: absent)."""
    from promv5_lab.nl.planner import OfflinePlanner
    from promv5_lab.types import as_utc

    planner = OfflinePlanner(data["cat"], now=as_utc(data["now"]), rerank=False)
    out = []
    for row in data["rows"]:
        if row["clarify"] or row["context"] or not row["want"]:
            continue
        ranked = [n for _, n in planner.score_metrics(planner.intent(row["question"]))]
        pos = [ranked.index(m) + 1 for m in row["want"] if m in ranked]
        out.append(min(pos) if pos else None)
    return out


# ---- the model ------------------------------------------------------------------------------------------------
def examples(datas: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, is-right) per recorded question whose candidates hold a reference metric."""
    out = []
    for d in datas:
        for row in d["rows"]:
            if row["cands"] is None or row["clarify"] or not row["want"]:
                continue
            names, feats = row["cands"]
            y = np.array([n in row["want"] for n in names], dtype=float)
            if y.any():
                out.append((np.asarray(feats, dtype=float), y))
    return out


def train(exs: list[tuple[np.ndarray, np.ndarray]], l2: float = 0.05, steps: int = 1500, lr: float = 0.2):
    """Linear listwise softmax (maximise the log-probability of the right candidates), L2 on the weights."""
    from promv5_lab.nl.rerank import Reranker

    allx = np.vstack([x for x, _ in exs])
    mean, scale = allx.mean(0), allx.std(0)
    scale[scale < 1e-6] = 1.0
    k = max(len(y) for _, y in exs)
    X = np.zeros((len(exs), k, allx.shape[1]))
    Y = np.zeros((len(exs), k))
    M = np.zeros((len(exs), k), dtype=bool)
    for i, (x, y) in enumerate(exs):
        X[i, : len(y)] = (x - mean) / scale
        Y[i, : len(y)] = y
        M[i, : len(y)] = True
    w = np.zeros(allx.shape[1])
    w[0] = 1.0  # start from the rule order (feature 0 is the rule score)
    for _ in range(steps):
        s = np.where(M, X @ w, -np.inf)
        p = np.exp(s - s.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        q = Y * p
        q /= q.sum(1, keepdims=True)  # the posterior over the right candidates
        g = l2 * w - np.einsum("nk,nkf->f", q - p, X) / len(exs)
        w -= lr * g
    return Reranker(tuple(float(v) for v in w), tuple(float(v) for v in mean), tuple(float(v) for v in scale))


RULE_FEATURES = ("score", "gap_top", "rank", "is_top", "lex", "bonus", "lex_rank")


def masked(exs, drop: tuple[str, ...]):
    """The examples with the ``drop`` features zeroed (a model that cannot lean on them)."""
    from promv5_lab.nl.rerank import FEATURES

    cols = [FEATURES.index(f) for f in drop]
    out = []
    for x, y in exs:
        x = x.copy()
        x[:, cols] = 0.0
        out.append((x, y))
    return out


def offline(datas: dict[str, dict], l2s=(0.01, 0.05, 0.2, 1.0)) -> None:
    """Leave-one-set-out top-1 metric accuracy on the recorded candidates, for several models (no planning)."""
    for name, drop in (("all features", ()), ("no rule-score features", RULE_FEATURES)):
        for l2 in l2s:
            res = []
            for k in TRAIN_SETS[1:]:
                tr = masked(examples([d for kk, d in datas.items() if kk != k]), drop)
                te = masked(examples([datas[k]]), drop)
                m = train(tr, l2=l2)
                res.append(f"{k}:{top1(None, te) * 100:.0f}->{top1(m, te) * 100:.0f}")
            print(f"  {name}, l2={l2}: " + " ".join(res))


def top1(model, exs) -> float:
    hits = 0
    for x, y in exs:
        s = model.score(x.tolist()) if model is not None else list(-np.arange(len(y)))
        hits += y[int(np.argmax(s))] > 0
    return hits / max(1, len(exs))


# ---- commands -------------------------------------------------------------------------------------------------
def _collect_all(keys, inner=None, log=True, cache: str | None = None) -> dict[str, dict]:
    import pickle

    if cache and Path(cache).is_file():
        return pickle.loads(Path(cache).read_bytes())
    out = {}
    for k in keys:
        t = time.perf_counter()
        out[k] = collect(k, inner)
        if log:
            print(f"  collected {k}: {len(out[k]['rows'])} cases, accuracy {out[k]['accuracy'] * 100:.1f}% "
                  f"({time.perf_counter() - t:.0f} s)", file=sys.stderr)
    if cache:
        Path(cache).write_bytes(pickle.dumps(out))
    return out


def diagnose(datas: dict[str, dict]) -> None:
    print("miss classes (a: wrong metric, b: right metric wrong shape, c: asked back/answered wrongly) and oracle@k")
    for k, d in datas.items():
        cls = [miss_class(r) for r in d["rows"]]
        n = len(d["rows"])
        ranks = oracle_ranks(d)
        orc = " ".join(f"@{kk} {sum(1 for r in ranks if r is not None and r <= kk) / max(1, len(ranks)) * 100:.0f}%"
                       for kk in (1, 3, 5, 10))
        asked = sum(1 for r, c in zip(d["rows"], cls) if c == "c" and not r["clarify"])
        print(f"  set {k}: {sum(r['ok'] for r in d['rows'])}/{n} ok; misses a {cls.count('a')} b {cls.count('b')} "
              f"c {cls.count('c')} (asked back {asked}, answered instead of asking {cls.count('c') - asked}); "
              f"oracle ({len(ranks)} answerable) {orc}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--diagnose", action="store_true")
    ap.add_argument("--loso", action="store_true", help="leave-one-set-out over sets 1-7 (dev always trains)")
    ap.add_argument("--validate", choices=("rules", "shipped"), default=None,
                    help="set 8 (validation, limited runs): aggregate accuracy, miss-class counts, oracle@k only")
    ap.add_argument("--offline", action="store_true", help="LOSO top-1 on recorded candidates, several models")
    ap.add_argument("--write", action="store_true", help="train on dev + sets 1-7 and write the shipped weights")
    ap.add_argument("--compare", default=None, help="comma-separated sets: shipped weights vs rule order")
    ap.add_argument("--l2", type=float, default=0.05)
    ap.add_argument("--cache", default=None, help="keep the collected candidates in this pickle (reused if present)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    from promv5_lab.nl.rerank import WEIGHTS_PATH, Reranker

    if args.compare:
        keys = [k for k in args.compare.split(",") if k in TRAIN_SETS]
        shipped = Reranker.load(WEIGHTS_PATH)
        for k in keys:
            off, on = collect(k, None), collect(k, shipped)
            ms = sorted(r["ms"] for r in on["rows"])
            print(f"set {k}: rule order {off['accuracy'] * 100:.1f}%  with the learned reranker "
                  f"{on['accuracy'] * 100:.1f}%  (p95 planning {ms[int(0.95 * (len(ms) - 1))]:.1f} ms)")
    if args.validate:  # aggregates only: set 8 is never printed case by case nor used to train
        d = collect("8", Reranker.load(WEIGHTS_PATH) if args.validate == "shipped" else None)
        print(f"set 8 ({args.validate}): {d['accuracy'] * 100:.1f}% "
              f"({sum(r['ok'] for r in d['rows'])}/{len(d['rows'])})")
        diagnose({"8": d})
    if args.diagnose or args.loso or args.write or args.offline:
        datas = _collect_all(TRAIN_SETS, cache=args.cache)
        if args.diagnose:
            diagnose(datas)
        if args.offline:
            offline(datas)
        if args.loso:
            print(f"leave-one-set-out (train on dev + the other six sets, l2={args.l2}):")
            for k in TRAIN_SETS[1:]:
                model = train(examples([d for kk, d in datas.items() if kk != k]), l2=args.l2)
                ex = examples([datas[k]])
                on = collect(k, model)
                print(f"  set {k}: execution {datas[k]['accuracy'] * 100:.1f}% -> {on['accuracy'] * 100:.1f}%; "
                      f"top-1 metric among {len(ex)} ranked: {top1(None, ex) * 100:.1f}% -> {top1(model, ex) * 100:.1f}%")
        if args.write:
            t = time.perf_counter()
            model = train(examples(list(datas.values())), l2=args.l2)
            WEIGHTS_PATH.write_text(json.dumps(model.to_dict(), indent=1) + "\n")
            print(f"wrote {WEIGHTS_PATH.relative_to(ROOT)} ({WEIGHTS_PATH.stat().st_size} bytes; fit "
                  f"{time.perf_counter() - t:.1f} s)")
    print(f"total {time.perf_counter() - t0:.0f} s; reproduce: python benchmarks/nl_train.py "
          + " ".join(a for a in (argv if argv is not None else sys.argv[1:])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
