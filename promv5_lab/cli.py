"""The ``promv5-lab`` command. Each part registers its own subcommands; errors print as message + hint."""

from __future__ import annotations

import logging
import sys

import typer

from . import __version__
from .errors import Promv5Error

app = typer.Typer(
    name="promv5-lab",
    help="Investigate production systems in plain language, against Prometheus or the embedded demo.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"promv5-lab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress to stderr."),
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
) -> None:
    """promv5-lab: ask your telemetry questions."""
    if verbose or debug:
        logging.basicConfig(level=logging.DEBUG if debug else logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app.info = {"debug": debug}  # type: ignore[assignment]


def _register() -> None:
    from .backends.cli import register as register_backends
    from .demo.cli import register as register_demo

    register_demo(app)
    register_backends(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning promv5-lab errors into a message, a hint and exit code 2."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        app(args=argv, standalone_mode=False)
    except Promv5Error as exc:
        if debug:
            raise
        typer.secho(f"Error: {exc.message}", fg=typer.colors.RED, err=True)
        if exc.hint:
            typer.echo(f"Hint: {exc.hint}", err=True)
        return 2
    except (typer.Exit, SystemExit) as exc:  # --help, --version, explicit exits
        code = getattr(exc, "exit_code", getattr(exc, "code", 0))
        return int(code or 0)
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return 130
    except Exception as exc:  # click usage errors arrive here in standalone_mode=False
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            typer.echo("Aborted.", err=True)
            return 1
        raise
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
