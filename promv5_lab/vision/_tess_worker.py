"""A long-lived Tesseract: libtesseract loaded once (ctypes), then one grey page after another.

Run by :mod:`promv5_lab.vision.ocr` as ``python -I _tess_worker.py PSM`` with ``OMP_THREAD_LIMIT=1`` (a separate
process: Tesseract's OpenMP runtime reads its thread limit from the environment when it loads, and the user's
process keeps its own). Standard library only; it imports nothing of the package.

Why: starting the ``tesseract`` program costs ~0.35 s of CPU per call before it reads a pixel (loading and
initialising the 4 MB English model), more than recognising the words of a dashboard (~0.1-0.2 s).

Protocol on stdin/stdout (little-endian): the worker first writes ``b"OK"`` (or ``b"NO"`` and exits when the
library or the English model cannot be loaded). Then, per page: the parent writes ``width, height`` (two uint32)
and ``width * height`` bytes of 8-bit grey pixels; the worker answers a uint32 length and that many bytes of
Tesseract's ``tsv`` word table (UTF-8, with the header line the ``tesseract`` program prints). End of input ends it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import struct
import sys

HEAD = b"level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
MAX_PIXELS = 64_000_000


def _read(stream, n: int) -> bytes | None:
    buf = bytearray()
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return bytes(buf)


def _load(psm: int):
    name = ctypes.util.find_library("tesseract") or "libtesseract.so.5"
    lib = ctypes.CDLL(name)
    vp, cp, ci = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    lib.TessBaseAPICreate.restype = vp
    lib.TessBaseAPIInit3.argtypes = [vp, cp, cp]
    lib.TessBaseAPIInit3.restype = ci
    lib.TessBaseAPISetPageSegMode.argtypes = [vp, ci]
    lib.TessBaseAPISetImage.argtypes = [vp, cp, ci, ci, ci, ci]
    lib.TessBaseAPIGetTsvText.argtypes = [vp, ci]
    lib.TessBaseAPIGetTsvText.restype = vp
    lib.TessDeleteText.argtypes = [vp]
    lib.TessBaseAPIClear.argtypes = [vp]
    lib.TessBaseAPIEnd.argtypes = [vp]
    lib.TessBaseAPIDelete.argtypes = [vp]
    api = lib.TessBaseAPICreate()
    if not api or lib.TessBaseAPIInit3(api, None, b"eng") != 0:
        return None, None
    lib.TessBaseAPISetPageSegMode(api, psm)
    return lib, api


def main(argv: list[str]) -> int:
    psm = int(argv[1]) if len(argv) > 1 else 11
    out, inp = sys.stdout.buffer, sys.stdin.buffer
    try:
        lib, api = _load(psm)
    except OSError:
        lib = api = None
    if api is None:
        out.write(b"NO")
        out.flush()
        return 2
    out.write(b"OK")
    out.flush()
    try:
        while True:
            head = _read(inp, 8)
            if head is None:
                return 0
            w, h = struct.unpack("<II", head)
            if w * h > MAX_PIXELS:
                return 3
            pixels = _read(inp, w * h)
            if pixels is None:
                return 0
            lib.TessBaseAPISetImage(api, pixels, w, h, 1, w)
            ptr = lib.TessBaseAPIGetTsvText(api, 0)
            text = ctypes.string_at(ptr) if ptr else b""
            if ptr:
                lib.TessDeleteText(ptr)
            lib.TessBaseAPIClear(api)
            body = HEAD + text
            out.write(struct.pack("<I", len(body)) + body)
            out.flush()
    finally:
        lib.TessBaseAPIEnd(api)
        lib.TessBaseAPIDelete(api)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
