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


@app.command("demo")
def demo_command(
    data: str = typer.Option(None, "--data", "-d", help="Use this simulate output instead of a fresh demo history."),
    days: float = typer.Option(3.0, "--days", min=1.0, max=30.0, help="Days of fresh demo history to simulate."),
    seed: int = typer.Option(42, "--seed", help="Seed of the demo world (same seed, same world)."),
    incident: str = typer.Option(None, "--incident", "-i", help="Incident id from incidents.json (default: the latest)."),
    out: str = typer.Option("promv5-demo", "--out", "-o", help="Where the history, charts, audit log and postmortem are written."),
    engine: str = typer.Option("embedded", "--engine", help="embedded (no server needed) or prometheus (starts "
                               "Debian's prometheus over the history)."),
) -> None:
    """The whole product on the demo world: find the latest incident, query and chart it, detect, forecast,
    diagnose, propose a dry-run fix and write the postmortem."""
    from .demo.tour import run_demo

    typer.echo(run_demo(data=data, days=days, seed=seed, incident_id=incident, out=out, engine=engine))


def _register() -> None:
    from .analysis.cli import register as register_analysis
    from .analysis.rootcause.cli import register as register_rootcause
    from .backends.cli import register as register_backends
    from .backends.embedded.cli import register as register_embedded
    from .demo.cli import register as register_demo
    from .nl.cli import register as register_nl
    from .backends.signals_cli import register as register_signals
    from .remediate.cli import register as register_remediate
    from .report.cli import register as register_report
    from .ui.app.cli import register as register_app
    from .vision.cli import register as register_vision
    from .voice.cli import register as register_voice
    from .server.cli import register as register_lab

    register_demo(app)
    register_backends(app)
    register_embedded(app)
    register_nl(app)
    register_analysis(app)
    register_rootcause(app)
    register_signals(app)
    register_remediate(app)
    register_report(app)
    register_app(app)
    register_voice(app)
    register_vision(app)
    register_lab(app)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning promv5-lab errors into a message, a hint and exit code 2."""
    _register()
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # standalone mode: the CLI library prints usage errors itself and exits 2 (SystemExit below).
        app(args=argv, prog_name="promv5-lab")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Promv5Error as exc:
        if debug:
            raise
        typer.secho(f"Error: {exc.message}", fg=typer.colors.RED, err=True)
        if exc.hint:
            typer.echo(f"Hint: {exc.hint}", err=True)
        return 2
    except KeyboardInterrupt:
        typer.echo("Interrupted.", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
