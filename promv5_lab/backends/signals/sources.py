"""Telling a path from a URL, and a known URL scheme from an unknown one, for ``open_logs``/``open_traces``."""

from __future__ import annotations

import os
import re
from pathlib import Path

from ...errors import ConfigError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


def classify(source: str | os.PathLike[str], schemes: tuple[str, ...], *, what: str) -> tuple[str, str]:
    """(``"path"``, path) or (scheme, url). ``file://`` becomes a path; an unknown scheme is a ConfigError."""
    if isinstance(source, Path):
        return "path", str(source)
    text = os.fspath(source).strip()
    if not text:
        raise ConfigError(f"Empty {what} source", hint="Pass a directory, a file, or a URL")
    m = _SCHEME.match(text)
    if m is None:
        return "path", text
    scheme = m.group(1).lower()
    if scheme == "file":
        return "path", text[len("file://"):]
    if scheme not in schemes:
        from ..http import redact_url

        known = ", ".join(f"{s}://" for s in schemes)
        raise ConfigError(f"Unknown {what} URL scheme {scheme!r} in {redact_url(text)!r}",
                          hint=f"Use one of {known}, or a local directory/file")
    return scheme, text


def strip_kind(url: str) -> str:
    """``tempo+https://h`` -> ``https://h``."""
    m = _SCHEME.match(url)
    if m and "+" in m.group(1):
        return m.group(1).split("+", 1)[1] + url[len(m.group(1)):]
    return url
