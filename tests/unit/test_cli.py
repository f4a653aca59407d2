"""Every `promv5-lab` subcommand answers --help; errors print a message and a hint, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from promv5_lab import cli


def _all_command_paths() -> list[list[str]]:
    cli._register()
    root = typer.main.get_command(cli.app)
    paths: list[list[str]] = []

    def walk(cmd, prefix: list[str]) -> None:
        paths.append(prefix)
        if hasattr(cmd, "commands"):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])

    walk(root, [])
    return paths


def test_expected_commands_exist():
    names = {" ".join(p) for p in _all_command_paths()}
    for expected in ("simulate", "query", "demo"):
        assert expected in names, f"missing subcommand {expected!r}; have {sorted(names)}"


@pytest.mark.parametrize("path", _all_command_paths(), ids=lambda p: " ".join(p) or "(root)")
def test_help_on_every_subcommand(path, capsys):
    code = cli.main([*path, "--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert "Usage:" in out and len(out.strip().splitlines()) >= 3


def test_version():
    out = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("promv5-lab ")


def test_bad_option_is_a_usage_error_not_a_traceback():
    out = subprocess.run([sys.executable, "-m", "promv5_lab.cli", "simulate", "--days", "many"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "--days" in out.stderr
