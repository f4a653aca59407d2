"""`import promv5_lab` stays fast and loads no heavy dependency (checked in a fresh interpreter)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ["torch", "transformers", "cv2", "statsmodels", "panel", "speech_recognition", "pandas", "matplotlib"]

PROBE = """
import json, sys, time
t = time.perf_counter()
import promv5_lab
elapsed = time.perf_counter() - t
print(json.dumps({"elapsed": elapsed, "loaded": [m for m in %r if m in sys.modules]}))
""" % (HEAVY,)


def test_import_is_fast_and_light():
    best = None
    for _ in range(3):  # best of three: the first may pay for a cold disk cache
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
        report = json.loads(out.stdout)
        assert report["loaded"] == [], f"import promv5_lab loaded heavy modules: {report['loaded']}"
        best = report["elapsed"] if best is None else min(best, report["elapsed"])
    assert best < 0.3, f"import promv5_lab took {best:.3f}s (limit 0.3s)"


def test_lazy_exports_resolve():
    import promv5_lab

    assert promv5_lab.TimeRange.__name__ == "TimeRange"
    assert "Settings" in dir(promv5_lab)
    try:
        promv5_lab.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("unknown attribute did not raise")
