"""``promv5-lab query`` and ``promv5-lab prometheus up``: the live-backend commands."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the backend commands to the ``promv5-lab`` app."""
