"""The long-lived Tesseract worker (libtesseract loaded once, in its own process) against Debian's real Tesseract:
it reads the same words as the ``tesseract`` program, is reused across screenshots, and when it dies the program
takes over. These FAIL (not skip) when Tesseract is missing."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from promv5_lab.vision import ocr
from promv5_lab.vision.evalpages import grafana_like
from promv5_lab.vision.image import load_image
from promv5_lab.vision.panels import find_panels

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def dashboard():
    assert shutil.which("tesseract"), "Debian's tesseract-ocr is needed"
    d = grafana_like(np.random.default_rng(9), rows=2, cols=2, dark=True, size=(1000, 560))
    img = load_image(d.png)
    return img, find_panels(img), d


def _words(img, panels):
    return sorted((w.text, w.x, w.y) for w in ocr.read_words(img, panels))


def test_the_worker_reads_what_the_program_reads_and_is_reused(dashboard, monkeypatch):
    img, panels, d = dashboard
    monkeypatch.setattr(ocr, "_WORKER", ocr._Worker())
    monkeypatch.setattr(ocr, "PERSISTENT", False)
    program = _words(img, panels)
    monkeypatch.setattr(ocr, "PERSISTENT", True)
    try:
        worker = _words(img, panels)
        pid = ocr._WORKER._proc.pid
        again = _words(img, panels)
        assert ocr._WORKER._proc is not None and ocr._WORKER._proc.pid == pid  # one process, model loaded once
    finally:
        ocr._WORKER._stop()
    assert len(program) >= 20 and worker == program == again
    assert {t.title.split()[0] for t in d.panels} <= {w for w, _, _ in worker}


def test_a_dead_worker_hands_over_to_the_program(dashboard, monkeypatch):
    img, panels, _ = dashboard
    monkeypatch.setattr(ocr, "_WORKER", ocr._Worker())
    monkeypatch.setattr(ocr, "PERSISTENT", True)
    first = _words(img, panels)
    ocr._WORKER._proc.kill()
    ocr._WORKER._proc.wait(timeout=10)
    try:
        assert _words(img, panels) == first  # the program read the page
        assert ocr._WORKER._broken and ocr._WORKER._proc is None  # not started again in this process
    finally:
        ocr._WORKER._stop()
