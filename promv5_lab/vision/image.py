"""Reading a screenshot: bytes, a path or an array in, a BGR ``uint8`` array out, or a clear :class:`InputError`.

The size is checked from the file header *before* any pixel is decoded (a 20000 x 20000 PNG is a
decompression bomb of 1.2 GB), then the image is decoded with OpenCV.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Union

from .._deps import require
from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = ["MAX_PIXELS", "MAX_SIDE", "MIN_SIDE", "ImageInput", "header_size", "load_image"]

log = logging.getLogger(__name__)

ImageInput = Union[bytes, bytearray, str, Path, "np.ndarray"]

MAX_SIDE = 8192          # longest side accepted, pixels
MAX_PIXELS = 40_000_000  # width * height accepted
MIN_SIDE = 64            # a dashboard panel needs some room
MAX_BYTES = 100_000_000  # file size accepted


def _png_jpeg_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) straight from a PNG IHDR or a JPEG SOF marker; None for other formats."""
    import struct

    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2:i + 4])
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return int(w), int(h)
            i += 2 + length
    return None


def header_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the image header alone, without decoding a pixel (PNG/JPEG parsed here,
    other formats by PIL, which reads headers lazily)."""
    direct = _png_jpeg_size(data)
    if direct is not None:
        return direct
    Image = require("PIL.Image", "vision")
    try:
        with Image.open(io.BytesIO(data)) as im:
            return int(im.size[0]), int(im.size[1])
    except Image.DecompressionBombError as exc:
        raise InputError("The image is far too large to analyse",
                         hint=f"Crop or downscale it to at most {MAX_SIDE} pixels a side") from exc
    except (OSError, ValueError, SyntaxError) as exc:
        raise InputError("This is not an image that can be read (PNG, JPEG, WebP, BMP...)",
                         hint="Pass a screenshot file, its bytes, or an RGB/BGR numpy array") from exc


def _check_size(w: int, h: int) -> None:
    if w < MIN_SIDE or h < MIN_SIDE:
        raise InputError(f"The image is {w}x{h} pixels, too small to hold a dashboard panel",
                         hint=f"Use a screenshot at least {MIN_SIDE} pixels a side")
    if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
        raise InputError(f"The image is {w}x{h} pixels, larger than the {MAX_SIDE}-pixel / "
                         f"{MAX_PIXELS // 1_000_000} Mpx limit",
                         hint="Crop or downscale the screenshot (a 4K screen is 3840x2160)")


def _read_bytes(path: Path) -> bytes:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InputError(f"Cannot read image file {str(path)!r}: {exc.strerror or exc}",
                         hint="Check the path") from exc
    if not path.is_file():
        raise InputError(f"{str(path)!r} is not a file", hint="Pass the path of a PNG or JPEG screenshot")
    if size > MAX_BYTES:
        raise InputError(f"The file {str(path)!r} is {size / 1e6:.0f} MB, larger than the "
                         f"{MAX_BYTES // 1_000_000} MB limit", hint="Crop or compress the screenshot")
    return path.read_bytes()


def load_image(image: ImageInput) -> np.ndarray:
    """A BGR ``uint8`` array of shape (height, width, 3) from bytes, a path or an array.

    Arrays may be grey (H, W), RGB/BGR (H, W, 3; taken as BGR, OpenCV's order) or with alpha
    (H, W, 4); floats in [0, 1] are scaled. Raises :class:`InputError` for anything that is not a
    usable picture: not an image, empty, too large (refused from the header), a single colour.
    """
    np = require("numpy")
    cv2 = require("cv2", "vision")
    if isinstance(image, np.ndarray):
        arr = _from_array(np, cv2, image)
    else:
        if isinstance(image, (str, Path)):
            data = _read_bytes(Path(image).expanduser())
        elif isinstance(image, (bytes, bytearray, memoryview)):
            data = bytes(image)
        else:
            raise InputError(f"Cannot analyse a {type(image).__name__} as an image",
                             hint="Pass PNG/JPEG bytes, a file path or a numpy array")
        if not data:
            raise InputError("The image is empty (0 bytes)", hint="Pass a PNG or JPEG screenshot")
        w, h = header_size(data)
        _check_size(w, h)
        arr = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        if arr is None:
            raise InputError("The image header is readable but its pixels cannot be decoded",
                             hint="Re-save the screenshot as PNG")
    h, w = arr.shape[:2]
    _check_size(w, h)
    small = arr[:: max(1, h // 200), :: max(1, w // 200)]
    if int(small.max()) - int(small.min()) < 8 and int(arr.max()) - int(arr.min()) < 8:
        raise InputError(f"The image is a single colour ({w}x{h}); there is nothing to analyse",
                         hint="Was the screenshot taken before the dashboard rendered?")
    return arr


def _from_array(np, cv2, a):
    if a.size == 0:
        raise InputError("The image array is empty", hint="Pass an array of shape (height, width, 3)")
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)):
            raise InputError("The image array has NaN or infinite pixels")
        a = np.clip(a * (255.0 if float(a.max()) <= 1.0 else 1.0), 0, 255).astype(np.uint8)
    elif a.dtype != np.uint8:
        if a.dtype.kind not in "iu":
            raise InputError(f"Cannot read an image array of dtype {a.dtype}", hint="Use uint8 or float pixels")
        a = np.clip(a, 0, 255).astype(np.uint8)
    if a.ndim == 2:
        _check_size(a.shape[1], a.shape[0])
        return cv2.cvtColor(a, cv2.COLOR_GRAY2BGR)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputError(f"An image array must be (H, W), (H, W, 3) or (H, W, 4), got shape {a.shape}")
    _check_size(a.shape[1], a.shape[0])
    if a.shape[2] == 4:
        return cv2.cvtColor(a, cv2.COLOR_BGRA2BGR)
    return np.ascontiguousarray(a)
