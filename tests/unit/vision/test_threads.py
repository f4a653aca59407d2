"""OpenCV's and BLAS's thread pools during a screenshot analysis: one thread each while it runs (two threads on a
busy 2-core machine wait for each other and stretch the wall-time tail), the process's own settings afterwards,
and left alone when the user chose a count in the environment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from promv5_lab.vision import analyze, panels
from promv5_lab.vision.evalpages import grafana_like


def _spy(monkeypatch, seen):
    find = panels.find_panels

    def spy(img):
        seen.append(cv2.getNumThreads())
        return find(img)

    monkeypatch.setattr(panels, "find_panels", spy)


def test_one_opencv_thread_while_analysing_then_the_users_setting(monkeypatch):
    png = grafana_like(np.random.default_rng(4), rows=1, cols=2, size=(900, 360)).png
    seen: list[int] = []
    _spy(monkeypatch, seen)
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        monkeypatch.delenv("OPENCV_FOR_THREADS_NUM", raising=False)
        analyze(png, ocr=False)
        assert seen == [1] and cv2.getNumThreads() == 2
        monkeypatch.setenv("OPENCV_FOR_THREADS_NUM", "2")  # the user chose: left alone
        analyze(png, ocr=False)
        assert seen == [1, 2] and cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)


def test_an_error_inside_gives_the_setting_back(monkeypatch):
    from promv5_lab.errors import Promv5Error

    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(2)
        monkeypatch.delenv("OPENCV_FOR_THREADS_NUM", raising=False)
        with pytest.raises(Promv5Error):
            analyze(b"not an image", ocr=False)
        assert cv2.getNumThreads() == 2
    finally:
        cv2.setNumThreads(before)
