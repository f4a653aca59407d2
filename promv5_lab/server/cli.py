"""``promv5-lab lab``: JupyterLab on the notebooks, with the promv5-lab server extension enabled."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

__all__ = ["lab_argv", "register"]

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def notebooks_dir(start: Path | None = None) -> Path:
    """``notebooks/`` of the current directory or of the repository checkout it is in; else the directory itself."""
    here = (start or Path.cwd()).resolve()
    for d in (here, *here.parents):
        if (d / "notebooks").is_dir():
            return d / "notebooks"
        if (d / ".git").exists():
            break
    repo = Path(__file__).resolve().parents[2] / "notebooks"  # an editable install's checkout
    return repo if repo.is_dir() else here


def lab_argv(*, port: int, no_browser: bool, root_dir: Path, host: str = "127.0.0.1", backend: str | None = None,
             data: str | None = None, as_root: bool | None = None, lexical: bool = False) -> list[str]:
    """The ``python -m jupyterlab ...`` command line (no shell): loopback, root dir, extension enabled."""
    from ..errors import InputError

    if host not in LOOPBACK:
        raise InputError(f"'promv5-lab lab' binds loopback only, not {host!r}",
                         hint="Use 127.0.0.1 and an SSH tunnel, or run 'jupyter lab' yourself with your own auth")
    if backend and data:
        raise InputError("Pass either --backend or --data, not both")
    if not root_dir.is_dir():
        raise InputError(f"No such directory: {root_dir}", hint="Pass --notebooks DIR")
    argv = [sys.executable, "-m", "jupyterlab", f"--ServerApp.ip={host}", f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0", f"--ServerApp.root_dir={root_dir}",
            "--ServerApp.jpserver_extensions=promv5_lab=True"]
    if no_browser:
        argv.append("--no-browser")
    if as_root if as_root is not None else (hasattr(os, "geteuid") and os.geteuid() == 0):
        argv.append("--allow-root")
    if backend:
        argv.append(f"--Promv5LabApp.backend_url={backend}")
    if data:
        argv.append(f"--Promv5LabApp.data_dir={Path(data).expanduser().resolve()}")
    if lexical:
        argv.append("--Promv5LabApp.use_embeddings=False")
    return argv


def register(app: typer.Typer) -> None:
    @app.command("lab")
    def lab_command(
        port: int = typer.Option(8888, "--port", "-p", min=1, max=65535, help="Port to listen on (127.0.0.1)."),
        no_browser: bool = typer.Option(False, "--no-browser", help="Do not open a browser."),
        notebooks: str = typer.Option(None, "--notebooks", help="Root directory (default: ./notebooks, or the "
                                      "repository's notebooks/)."),
        backend: str = typer.Option(None, "--backend", "-b", help="Default Prometheus-compatible URL for Ask."),
        data: str = typer.Option(None, "--data", "-d", help="Default 'promv5-lab simulate' output for Ask."),
        lexical: bool = typer.Option(False, "--lexical", help="Plan without the embedding model (starts faster)."),
    ) -> None:
        """Open JupyterLab on the notebooks with the Ask sidebar and the /promv5/ API (token auth, loopback)."""
        from .._deps import require

        require("jupyterlab", "notebook")
        root = Path(notebooks).expanduser().resolve() if notebooks else notebooks_dir()
        argv = lab_argv(port=port, no_browser=no_browser, root_dir=root, backend=backend, data=data,
                        lexical=lexical)
        typer.echo(f"JupyterLab on {root} at http://127.0.0.1:{port}/ (the token is in the URL printed below)",
                   err=True)
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, argv)  # this process becomes JupyterLab: Ctrl-C and kill PID stop it
