"""Shared fixtures of the analysis unit tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def analysis_cli():
    """A Typer app with the analysis commands registered (``detect``, ``forecast``...), for CliRunner."""
    import typer

    from promv5_lab.analysis.cli import register

    app = typer.Typer()
    register(app)

    @app.command("noop")
    def _noop() -> None:  # a second command keeps typer in sub-command mode
        pass

    return app
