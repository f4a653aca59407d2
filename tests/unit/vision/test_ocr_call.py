"""How Tesseract is called: directly (no shell), the page on stdin, one OpenMP thread, and its word table mapped
back from the packed text page to image coordinates. The binary is replaced by a recorder that answers in
Tesseract's documented ``tsv`` format (the real binary is exercised in tests/integration/test_vision.py)."""

from __future__ import annotations

import subprocess

import numpy as np

from promv5_lab.vision import ocr
from promv5_lab.vision.panels import FoundPanel

HEAD = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext"


def _page_with_title():
    import cv2

    img = np.full((300, 400, 3), 255, np.uint8)
    cv2.putText(img, "Title", (30, 32), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    panel = FoundPanel(bbox=(10, 10, 380, 280), plot=(60, 50, 320, 200), background=(255, 255, 255), framed=True)
    return img, panel


def test_tesseract_runs_on_one_thread_without_a_shell(monkeypatch):
    calls = []
    img, panel = _page_with_title()
    ys, xs = np.nonzero(img[..., 0] < 128)  # where the word's ink is
    x0, y0, width = int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1)

    def fake_run(args, **kw):
        """A Tesseract that finds the one word on the page it is given: the box of the page's dark pixels."""
        import cv2

        calls.append((args, kw))
        page = cv2.imdecode(np.frombuffer(kw["input"], np.uint8), cv2.IMREAD_GRAYSCALE)
        py, px = np.nonzero(page < 128)
        row = (f"5\t1\t1\t1\t1\t1\t{px.min()}\t{py.min()}\t{px.max() - px.min() + 1}\t{py.max() - py.min() + 1}"
               "\t91.5\tTitle")
        return subprocess.CompletedProcess(args, 0, (HEAD + "\n" + row + "\n").encode(), b"")

    monkeypatch.setattr(ocr.shutil, "which", lambda name: "/usr/bin/tesseract")
    monkeypatch.setattr(ocr, "PERSISTENT", False)  # the program, not the long-lived worker
    monkeypatch.setattr(ocr.subprocess, "run", fake_run)
    words = ocr.read_words(img, [panel])
    (args, kw), = calls
    assert args[0] == "/usr/bin/tesseract" and args[1] == "stdin" and "tsv" in args
    assert kw["env"]["OMP_THREAD_LIMIT"] == "1" and not kw.get("shell")
    assert kw["input"][:8] == b"\x89PNG\r\n\x1a\n" and kw["timeout"] > 0
    (w,) = words
    assert w.text == "Title" and abs(w.x - x0) <= 2 and abs(w.y - y0) <= 2 and abs(w.w - width) <= 2
    assert ocr.panel_title(words, panel) == "Title"


def test_a_failing_tesseract_means_no_words_not_a_crash(monkeypatch):
    monkeypatch.setattr(ocr.shutil, "which", lambda name: "/usr/bin/tesseract")
    monkeypatch.setattr(ocr, "PERSISTENT", False)
    monkeypatch.setattr(ocr.subprocess, "run",
                        lambda args, **kw: subprocess.CompletedProcess(args, 1, b"", b"Error in pixReadMem"))
    img, panel = _page_with_title()
    assert ocr.read_words(img, [panel]) == []


def test_a_page_without_text_does_not_call_tesseract(monkeypatch):
    monkeypatch.setattr(ocr.subprocess, "run", lambda *a, **k: (_ for _ in ()).throw(AssertionError("called")))
    img = np.full((300, 400, 3), 255, np.uint8)
    panel = FoundPanel(bbox=(10, 10, 380, 280), plot=(60, 50, 320, 200), background=(255, 255, 255), framed=True)
    assert ocr.read_words(img, [panel]) == []


def test_only_flagged_panels_have_their_time_axis_read(monkeypatch):
    """The tick labels under a plot are read only for a panel the analysis flagged (a clock time for its anomaly);
    titles and value axes for every panel, in a first reading (started before the lines are extracted), without
    any time axis."""
    from promv5_lab.vision import analyze
    from promv5_lab.vision.evalpages import grafana_like

    panel = FoundPanel(bbox=(10, 10, 380, 280), plot=(60, 50, 320, 200), background=(255, 255, 255), framed=True)
    assert len(ocr.text_regions(panel, (300, 400), time_axis=False)) == len(ocr.text_regions(panel, (300, 400))) - 1
    assert ocr.text_regions(panel, (300, 400), labels=False) == ocr.text_regions(panel, (300, 400))[-1:]
    seen = []

    def fake_read(img, panels, min_conf=30.0, time_axes=None, labels=True):
        seen.append((list(time_axes), labels))
        return []

    monkeypatch.setattr(ocr, "ocr_available", lambda: None)
    monkeypatch.setattr(ocr, "read_words", fake_read)
    d = grafana_like(np.random.default_rng(3), rows=2, cols=3)
    report = analyze(d.png, ocr=True)
    flagged = [p.anomalous for p in report.panels]
    assert seen == [([False] * len(flagged), True), (flagged, False)]
    assert any(flagged) and not all(flagged)  # this dashboard has flagged and normal panels


def test_the_strips_read_exclude_the_other_panels_boxes():
    """A title band reaching above a card (or a value band left of it) no longer reads the neighbouring panel's
    time ticks and legend: a third of a dashboard's words, none of them used."""
    upper = FoundPanel(bbox=(10, 10, 380, 200), plot=(60, 40, 320, 140), background=(255, 255, 255), framed=True)
    lower = FoundPanel(bbox=(10, 220, 380, 200), plot=(60, 250, 320, 140), background=(255, 255, 255), framed=True)
    allowed = ocr._allowed(np, (440, 400), [upper, lower], [False, False])
    assert not allowed[185:210, 120:380].any()  # under the upper plot (its time ticks): in the lower's title band
    assert allowed[222:246, 20:200].all()      # the lower panel's own title
    alone = ocr._allowed(np, (440, 400), [lower], [False])
    assert alone[185:210, 120:380].any()        # without the upper panel, the band reaches there


def test_two_readings_merge_without_doubles():
    a = [ocr.Word("CPU", 90.0, 10, 10, 30, 10, (1, 1, 1)), ocr.Word("10:00", 90.0, 50, 200, 40, 10, (2, 1, 1))]
    b = [ocr.Word("10:00", 88.0, 51, 200, 40, 10, (2, 1, 1)), ocr.Word("11:00", 90.0, 150, 200, 40, 10, (2, 1, 1))]
    merged = ocr.merge_words(a, b)
    assert [w.text for w in merged] == ["CPU", "10:00", "11:00"]
    assert merged[2].line != a[1].line  # the second reading's lines are its own
