"""Bad images get a clear InputError; the size is refused from the header, before decoding."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from promv5_lab.errors import InputError
from promv5_lab.vision.image import load_image


def _png_header(width: int, height: int) -> bytes:
    """A PNG signature and IHDR only: claims a size without any pixel data (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + chunk + struct.pack(">I", zlib.crc32(chunk))


def _png(arr: np.ndarray) -> bytes:
    import cv2

    ok, buf = cv2.imencode(".png", arr)
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize("data, words", [
    (b"", "empty"),
    (b"hello, this is not a picture", "not an image"),
    (_png_header(20000, 20000), "larger than"),
    (_png_header(9000, 100), "larger than"),
    (_png_header(20, 20), "too small"),
])
def test_bad_bytes_are_refused_with_a_clear_message(data, words):
    with pytest.raises(InputError) as err:
        load_image(data)
    assert words in err.value.message
    assert err.value.hint


def test_one_colour_image_is_refused():
    with pytest.raises(InputError, match="single colour"):
        load_image(_png(np.full((300, 400, 3), 37, np.uint8)))


def test_missing_file_and_wrong_type(tmp_path):
    with pytest.raises(InputError, match="Cannot read image file"):
        load_image(tmp_path / "nope.png")
    with pytest.raises(InputError, match="Cannot analyse a int"):
        load_image(42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="shape"):
        load_image(np.zeros((100, 100, 5), np.uint8))


def test_arrays_bytes_and_paths_give_the_same_pixels(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, (120, 200, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    path.write_bytes(_png(arr))
    assert np.array_equal(load_image(arr), arr)
    assert np.array_equal(load_image(_png(arr)), arr)
    assert np.array_equal(load_image(path), arr)
    assert np.array_equal(load_image(str(path)), arr)
    grey = load_image(arr[..., 0].astype(np.float32) / 255.0)
    assert grey.shape == (120, 200, 3)
