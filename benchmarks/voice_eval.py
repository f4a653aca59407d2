"""Voice evaluation: spoken commands synthesised with espeak-ng -> transcript -> intent.

The development set is generated at run time into a temporary directory (nothing is committed): command
templates filled with the demo catalogue's services and spoken numbers, said by several espeak-ng voices at
130-180 words per minute, white noise added to a third of them (20 dB and 10 dB SNR). Reported:

- intent accuracy (target >= 95%) and target accuracy (the service heard is the one said);
- word accuracy (1 - WER) with the catalogue grammar, and with free-form decoding on a subset; clean / 20 dB /
  10 dB separately, and the most frequent word errors (said->heard; empty: dropped or inserted);
- decode time per utterance (target < 100 ms), median and p95, overall and by recording length, wall and CPU,
  excluding audio loading.

Seeds share the voice, speed and noise level of each position and the templates without a service, so about a
quarter of a seed's utterances are the same clean audio as in another seed's set: ``--new-against 1,2`` reports
the utterances that are not (what a seed held out from tuning on seeds 1 and 2 really tests).

Limits of this set: synthetic speech is not a human voice. espeak-ng is cleaner and more regular than people
(no hesitations, accents or room echo) yet also unlike the speech the acoustic model was trained on; the
commands are drawn from the same templates the grammar was written for, so out-of-grammar phrasing is
under-represented. Treat the figures as a regression check, not as field accuracy.

    python benchmarks/voice_eval.py [--n 120] [--free 20] [--seed 1] [--new-against 1,2]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

VOICES = ["en-us", "en-us+f3", "en-us+m3", "en-us+f2", "en-us-nyc"]
SPEEDS = [130, 145, 160, 180]
TEMPLATES = [
    ("query", "what is the {stat} latency of {svc} over the last {n} minutes", True),
    ("query", "show me the error rate of {svc}", True),
    ("query", "what is the request rate by service", False),
    ("query", "show me the memory usage of {svc} over the last hour", True),
    ("query", "what is the cpu usage by node", False),
    ("query", "queue depth over the last {n} minutes", False),
    ("alert", "tell me when the error rate of {svc} goes above {n} percent", True),
    ("alert", "alert me if {svc} latency goes over {n3} milliseconds", True),
    ("alert", "let me know when queue depth exceeds {n}", False),
    ("alert", "warn me if the request rate of {svc} drops below {n}", True),
    ("investigate", "why is {svc} slow", True),
    ("investigate", "what is wrong with {svc}", True),
    ("investigate", "why is {svc} failing", True),
    ("investigate", "investigate {svc} memory", True),
    ("investigate", "what happened to {svc}", True),
    ("report", "write an incident report for {svc}", True),
    ("report", "generate a status report", False),
    ("report", "summarize the last hour", False),
    ("report", "create a daily summary for {svc}", True),
    ("remediate", "restart the {svc}", True),
    ("remediate", "roll back the {svc} deployment", True),
    ("remediate", "scale up {svc}", True),
    ("remediate", "how do i fix {svc}", True),
    ("remediate", "drain {svc} pods", True),
]
STATS = ["p ninety five", "p ninety nine", "p fifty", "median", "average"]


def words(n: int) -> str:
    from promv5_lab.voice.lexicon import number_words

    return " ".join(number_words(n))


def dev_set(n: int, services: list[str], seed: int) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        kind, tpl, has_svc = TEMPLATES[i % len(TEMPLATES)]
        svc = rng.choice(services)
        text = tpl.format(svc=svc, stat=rng.choice(STATS), n=words(rng.choice([5, 10, 15, 20, 30, 50, 90])),
                          n3=words(rng.choice([200, 300, 500])))
        out.append({"text": text, "kind": kind, "target": svc if has_svc else None,
                    "voice": VOICES[i % len(VOICES)], "wpm": SPEEDS[(i // len(VOICES)) % len(SPEEDS)],
                    "snr_db": [None, None, None, 20, None, 10][i % 6]})
    return out


def _audio_key(item: dict) -> tuple:
    """Utterances with equal keys are the same audio (noisy ones differ: the noise is drawn per run)."""
    return (item["text"], item["voice"], item["wpm"], item["snr_db"] is None or object())


def synthesise(item: dict, path: Path, rng) -> None:
    import io
    import wave

    import numpy as np

    wav = subprocess.run(["espeak-ng", "-v", item["voice"], "-s", str(item["wpm"]), "--stdout"],
                         input=item["text"].encode(), capture_output=True, check=True).stdout
    from promv5_lab.voice.tts import _fix_sizes

    with wave.open(io.BytesIO(_fix_sizes(wav))) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    if item["snr_db"] is not None:
        speech = x[np.abs(x) > 100]
        p = float(np.mean(speech ** 2)) if speech.size else 1.0
        x = x + rng.normal(0.0, (p / 10 ** (item["snr_db"] / 10)) ** 0.5, x.size)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.clip(x, -32768, 32767).astype("<i2").tobytes())


def wer(ref: str, hyp: str) -> tuple[int, int]:
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)], len(r)


def _wacc(rows: list[dict]) -> float:
    return 1 - sum(r["errors"] for r in rows) / max(1, sum(r["words"] for r in rows))


def align(ref: str, hyp: str) -> list[tuple[str, str]]:
    """The word edits turning ``ref`` into ``hyp``: (said, heard) pairs, '' for a word missing on one side."""
    r, h = ref.split(), hyp.split()
    d = [[i + j if not i or not j else 0 for j in range(len(h) + 1)] for i in range(len(r) + 1)]
    for i in range(1, len(r) + 1):
        for j in range(1, len(h) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (r[i - 1] != h[j - 1]))
    i, j, out = len(r), len(h), []
    while i or j:
        if i and j and d[i][j] == d[i - 1][j - 1] + (r[i - 1] != h[j - 1]):
            if r[i - 1] != h[j - 1]:
                out.append((r[i - 1], h[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i][j] == d[i - 1][j] + 1:
            out.append((r[i - 1], ""))
            i -= 1
        else:
            out.append(("", h[j - 1]))
            j -= 1
    return out[::-1]


def word_errors(rows: list[dict]) -> Counter:
    """How often each word was lost: 'of->on' (heard another), 'me->' (dropped), '->two' (inserted)."""
    return Counter(f"{a}->{b}" for r in rows for a, b in align(r["text"], r["heard"]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=120, help="utterances (>= 100)")
    ap.add_argument("--free", type=int, default=20, help="utterances also decoded free-form (slow)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--new-against", default="", metavar="SEEDS",
                    help="also report accuracy on the utterances whose audio is not in these seeds' sets (e.g. 1,2: "
                         "the generator repeats a clean utterance whenever template, service, voice and speed repeat)")
    ap.add_argument("--dump", default=None, help="write every utterance's row (said, heard, intent...) as JSON lines")
    args = ap.parse_args()

    import numpy as np
    from tqdm import tqdm

    from promv5_lab.backends import telemetry
    from promv5_lab.config import load_settings
    from promv5_lab.nl.catalogue import catalogue_for
    from promv5_lab.voice import intent, load_audio
    from promv5_lab.voice.recognize import _clean, _decode, decoder_for, grammar_for, transcribe

    with telemetry(load_settings()) as backend:
        cat = catalogue_for(backend)
    services = sorted(set(cat.label_values.get("service", ())))
    items = dev_set(args.n, services, args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    grammar = grammar_for(cat)
    decoder_for(grammar)
    compile_s = time.perf_counter() - t0
    rows = []
    with tempfile.TemporaryDirectory(prefix="voice-eval-") as tmp:
        for i, item in enumerate(tqdm(items, desc="utterances", file=sys.stderr)):
            path = Path(tmp) / f"u{i:03d}.wav"
            synthesise(item, path, rng)
            pcm = load_audio(path)
            c0 = time.process_time()
            heard = transcribe(pcm, catalogue=cat)  # what the product does: grammar, free-form fallback
            cpu_ms = (time.process_time() - c0) * 1000
            vi = intent(heard.text, cat, heard.rivals)
            e, n = wer(item["text"], heard.text)
            vi_said = intent(item["text"], cat)  # the rules alone, on what was said: recognition excluded
            row = {**item, "heard": heard.text, "intent_heard": vi.kind, "intent_of_text_ok": vi_said.kind == item["kind"], "mode": heard.mode, "ms": heard.decode_ms, "fallback_ms": heard.fallback_ms, "retry_ms": heard.retry_ms,
                   "cpu_ms": cpu_ms, "dur": heard.duration_s, "errors": e, "words": n,
                   "in_grammar": grammar.graph.accepts(item["text"]),
                   "intent_ok": vi.kind == item["kind"], "rivals": list(heard.rivals),
                   "asked": vi.slots.get("ambiguous") if item["target"] else None,  # "did you mean X or Y?"
                   # a question back is not a right answer: target_ok needs the said service and no question
                   "target_ok": (vi.slots.get("target") == item["target"] and not vi.slots.get("ambiguous"))
                   if item["target"] else True}
            if i < args.free:
                fdec = decoder_for(None)
                free_text, _ = _decode(fdec, pcm)
                row["free_errors"], _ = wer(item["text"], _clean(free_text))
            rows.append(row)

    if args.dump:
        import json

        with open(args.dump, "w", encoding="utf-8") as fh:
            fh.writelines(json.dumps(r) + "\n" for r in rows)
    n = len(rows)
    intent_acc = sum(r["intent_ok"] for r in rows) / n
    target_acc = sum(r["target_ok"] for r in rows) / n
    wa = 1 - sum(r["errors"] for r in rows) / sum(r["words"] for r in rows)
    free_rows = [r for r in rows if "free_errors" in r]
    wa_free_sub = 1 - sum(r["free_errors"] for r in free_rows) / max(1, sum(r["words"] for r in free_rows))
    wa_gram_sub = 1 - sum(r["errors"] for r in free_rows) / max(1, sum(r["words"] for r in free_rows))
    ms = sorted(r["ms"] for r in rows)
    p95 = ms[min(n - 1, int(0.95 * n))]
    cpu = sorted(r["cpu_ms"] for r in rows if r["mode"] == "grammar")
    rtf = sorted(r["ms"] / 1000 / r["dur"] for r in rows)
    near3 = [r["ms"] for r in rows if 2.5 <= r["dur"] <= 3.5]
    fb = [r["fallback_ms"] for r in rows if r["mode"] == "free"]
    retried = [r["retry_ms"] for r in rows if r["retry_ms"] > 0]
    bands = [(0, 2), (2, 3), (3, 4), (4, 99)]
    noisy = [r for r in rows if r["snr_db"] is not None]
    clean = [r for r in rows if r["snr_db"] is None]
    print(f"Voice evaluation: {n} espeak-ng utterances, voices {', '.join(VOICES)}, {min(SPEEDS)}-{max(SPEEDS)} wpm, "
          f"{len(noisy)} with white noise (20/10 dB SNR); catalogue {cat.source or 'demo'} "
          f"({len(grammar.values)} spoken values, grammar compiled in {compile_s:.2f}s)")
    print(f"  intent accuracy        {intent_acc:.1%}  (target >= 95%)   clean {sum(r['intent_ok'] for r in clean)}/"
          f"{len(clean)}, noisy {sum(r['intent_ok'] for r in noisy)}/{len(noisy)}")
    asked = [r for r in rows if r["asked"]]
    named = [r for r in rows if r["target"]]
    print(f"  service (said one)     {sum(r['target_ok'] for r in named)}/{len(named)} right, {len(asked)} asked back "
          f"(\"did you mean X or Y?\"; the said one offered in {sum(r['target'] in r['asked'] for r in asked)}, and "
          f"{sum(r['asked'][0] == r['target'] for r in asked)} of them were heard right first), "
          f"{sum(not r['target_ok'] and not r['asked'] for r in named)} wrong")
    print(f"  target (service) acc.  {target_acc:.1%};  intent rules on the text as said: "
          f"{sum(r['intent_of_text_ok'] for r in rows)}/{n} (the rest of the misses are recognition errors)")
    for kind in ("query", "alert", "investigate", "report", "remediate"):
        k = [r for r in rows if r["kind"] == kind]
        print(f"    {kind:12s} intent {sum(r['intent_ok'] for r in k)}/{len(k)}  target {sum(r['target_ok'] for r in k)}"
              f"/{len(k)}")
    print(f"  word accuracy, auto    {wa:.1%} (all {n});  on the first {len(free_rows)}: grammar {wa_gram_sub:.1%} vs "
          f"free-form {wa_free_sub:.1%}")
    in_grammar = [r for r in rows if r["in_grammar"]]
    print(f"  word errors            {sum(r['errors'] for r in rows)} in {sum(r['words'] for r in rows)} words: clean "
          f"{_wacc(clean):.1%}, noisy {_wacc(noisy):.1%} (20 dB {_wacc([r for r in noisy if r['snr_db'] == 20]):.1%}, 10 dB "
          f"{_wacc([r for r in noisy if r['snr_db'] == 10]):.1%}); said sentences in the grammar {len(in_grammar)}/{n} "
          f"(word accuracy {_wacc(in_grammar):.1%}); most frequent: " + ", ".join(
              f"{k} x{v}" for k, v in word_errors(rows).most_common(8)))
    print(f"  grammar decode (wall)  median {statistics.median(ms):.0f} ms, p95 {p95:.0f} ms per utterance "
          f"(target < 100 ms); {len(near3)} utterances of 2.5-3.5 s: median "
          f"{statistics.median(near3) if near3 else float('nan'):.0f} ms; real-time factor median "
          f"{statistics.median(rtf):.3f}; mean utterance {statistics.mean(r['words'] for r in rows):.1f} words, "
          f"{statistics.mean(r['dur'] for r in rows):.1f} s")
    def _p95(xs: list[float]) -> float:
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(0.95 * len(xs)))]

    print("  by length (recording)  wall " + ";  ".join(
        f"{lo}-{hi if hi < 99 else ''} s: n={len(b)} median {statistics.median(b):.0f} p95 {_p95(b):.0f} ms"
        for lo, hi in bands if (b := [r["ms"] for r in rows if lo <= r["dur"] < hi])))
    print("  CPU by length          " + ";  ".join(
        f"{lo}-{hi if hi < 99 else ''} s: median {statistics.median(b):.0f} p95 {_p95(b):.0f} ms" for lo, hi in bands
        if (b := [r["cpu_ms"] for r in rows if lo <= r["dur"] < hi])) + f";  all: median "
        f"{statistics.median(r['cpu_ms'] for r in rows):.0f} p95 {_p95([r['cpu_ms'] for r in rows]):.0f} ms "
        "(process time, retries included: what the decode costs without the other processes' share of the cores)")
    print(f"  wide-beam retry        {len(retried)}/{n} doubtful first passes" + (
        f", retry median {statistics.median(retried):.0f} ms (included in the decode time above)" if retried else ""))
    print(f"  recognition CPU time   median {statistics.median(cpu) if cpu else float('nan'):.0f} ms per grammar-only "
          f"utterance (process time: what the decode costs without other processes' share of the cores)")
    print(f"  fell back to free-form {len(fb)}/{n}" + (f", fallback pass median {statistics.median(fb):.0f} ms "
          "(not in the decode time above)" if fb else ""))
    print(f"  load average           {' '.join(f'{x:.1f}' for x in os.getloadavg())} (timings are wall clock on a "
          f"{os.cpu_count()}-core machine)")
    if args.new_against:
        seen = {_audio_key(it) for s in args.new_against.split(",") if s.strip()
                for it in dev_set(args.n, services, int(s))}
        fresh = [r for r in rows if _audio_key(r) not in seen]
        e = sum(r["errors"] for r in fresh)
        w = sum(r["words"] for r in fresh)
        print(f"  new audio only         {len(fresh)}/{n} utterances not in seeds {args.new_against}: intent "
              f"{sum(r['intent_ok'] for r in fresh)}/{len(fresh)} "
              f"({sum(r['intent_ok'] for r in fresh) / max(1, len(fresh)):.1%}), target "
              f"{sum(r['target_ok'] for r in fresh)}/{len(fresh)}, word accuracy {1 - e / max(1, w):.1%}")
    misses = [r for r in rows if not r["intent_ok"] or not r["target_ok"]]
    for r in misses[:16]:
        print(f"    miss [{r['voice']}, {r['wpm']} wpm, snr {r['snr_db']}] said {r['text']!r} heard {r['heard']!r}"
              + (f" (asked: {' or '.join(r['asked'])}?)" if r["asked"] else ""))
    print("Limits: synthetic speech is not a human voice; commands come from the grammar's own templates.")
    print(f"Reproduce: python benchmarks/voice_eval.py --n {args.n} --free {args.free} --seed {args.seed}"
          + (f" --new-against {args.new_against}" if args.new_against else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
