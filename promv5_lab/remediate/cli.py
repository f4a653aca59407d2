"""``promv5-lab heal`` (the healing loop) and ``promv5-lab audit verify|show`` (the lead wires ``register``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

DEFAULT_LOG = "~/.local/state/promv5-lab/audit.db"


def _prompt_approver(req):  # a person at the terminal approves; nothing read from telemetry can answer
    from .healing import Decision

    typer.echo(req.describe())
    if not sys.stdin.isatty():
        return Decision(False, "cli-prompt", "no terminal to ask (stdin is not a TTY)")
    ok = typer.confirm("Approve?", default=False)
    import getpass

    return Decision(ok, f"cli:{getpass.getuser()}", "approved at the prompt" if ok else "declined at the prompt")


def register(app: typer.Typer) -> None:
    """Add ``heal`` and the ``audit`` group to the ``promv5-lab`` app."""

    @app.command("heal")
    def heal_cmd(
        backend: str = typer.Option(None, "--backend", "-b", help="Prometheus-compatible URL (or PROMV5_BACKEND_URL)."),
        policies: Path = typer.Option(..., "--policies", "-p", help="Policy YAML (see promv5_lab/demo/policies.yaml)."),
        var: list[str] = typer.Option([], "--var", help="NAME=VALUE for ${NAME} in the policies (repeatable)."),
        approve: str = typer.Option("prompt", "--approve",
                                    help="prompt: ask at the terminal for 'approval: required' policies; auto: never "
                                         "ask (such policies are recorded as needing approval and skipped)."),
        dry_run: bool = typer.Option(True, "--dry-run/--execute",
                                     help="Dry run (default) records what would run; --execute acts."),
        interval: float = typer.Option(5.0, "--interval", min=0.2, help="Seconds between detection rounds."),
        max_seconds: float = typer.Option(None, "--max-seconds", min=0.0, help="Stop after this long (default: never)."),
        log: Path = typer.Option(DEFAULT_LOG, "--log", help="The audit log (SQLite, created if missing)."),
        allow_command: list[str] = typer.Option([], "--allow-command",
                                                help="Absolute path a 'command' action may run (repeatable)."),
        once: bool = typer.Option(False, "--once", help="One detection round, then exit."),
        max_recoveries: int = typer.Option(None, "--max-recoveries", min=1,
                                           help="Exit after this many recoveries (dry runs count)."),
        diagnose: bool = typer.Option(False, "--diagnose",
                                      help="Run the root-cause diagnosis before acting; record it as evidence."),
    ) -> None:
        """Watch the policies' triggers and heal: detect, plan, approve, execute, verify, roll back, record."""
        from ..backends.prometheus import PrometheusBackend
        from ..config import load_settings
        from ..errors import ConfigError
        from .audit import AuditLog
        from .healing import HealingLoop
        from .policy import load_policies, parse_vars

        if approve not in ("auto", "prompt"):
            raise ConfigError(f"--approve must be auto or prompt, got {approve!r}")
        settings = load_settings(backend_url=backend)
        if not settings.backend_url:
            raise ConfigError("heal needs a live backend", hint="Pass --backend URL (or set PROMV5_BACKEND_URL)")
        pols = load_policies(policies, parse_vars(var))
        audit = AuditLog(log.expanduser(), secrets=pols.secrets)
        mode = "DRY RUN (nothing is changed; --execute acts)" if dry_run else "EXECUTING"
        typer.echo(f"heal: {len(pols)} policies from {policies}, {mode}, audit log {audit.path}", err=True)
        with PrometheusBackend.from_settings(settings) as be:
            loop = HealingLoop(be, pols, audit, dry_run=dry_run,
                               approver=_prompt_approver if approve == "prompt" else None,
                               allowed_commands=allow_command, echo=typer.echo, diagnose_issues=diagnose)
            try:
                stop = None if max_recoveries is None else (lambda: len(loop.outcomes) >= max_recoveries)
                loop.run(interval_s=interval, max_seconds=max_seconds, max_ticks=1 if once else None, stop=stop)
            finally:
                audit.close()

    audit_app = typer.Typer(help="The remediation audit log: verify the hash chain, show entries.",
                            no_args_is_help=True)
    app.add_typer(audit_app, name="audit")

    @audit_app.command("verify")
    def verify_cmd(
        log: Path = typer.Option(DEFAULT_LOG, "--log", help="The audit log to check."),
        expect_head: str = typer.Option(None, "--expect-head", help="Head hash saved earlier (detects rewrites)."),
    ) -> None:
        """Check the chain: exit 0 when intact, 1 when tampered with (edited, deleted, reordered)."""
        from ..errors import InputError
        from .audit import AuditLog

        path = log.expanduser()
        if not path.is_file():
            raise InputError(f"No audit log at {path}", hint="Pass --log FILE (heal writes one)")
        res = AuditLog(path).verify(expect_head)
        typer.echo(res.describe())
        if not res.ok:
            raise typer.Exit(1)

    @audit_app.command("show")
    def show_cmd(
        log: Path = typer.Option(DEFAULT_LOG, "--log", help="The audit log to read."),
        since: str = typer.Option(None, "--since", help="ISO time or a duration back from now (1h)."),
        kind: str = typer.Option(None, "--kind", help="Only this kind (decision, execution, outcome...)."),
        limit: int = typer.Option(50, "--limit", min=1, help="The newest N entries."),
        as_json: bool = typer.Option(False, "--json", help="JSON lines instead of a table."),
    ) -> None:
        """Print entries, oldest first."""
        from datetime import datetime, timedelta, timezone

        from ..errors import InputError
        from ..types import as_utc, parse_duration
        from .audit import AuditLog

        path = log.expanduser()
        if not path.is_file():
            raise InputError(f"No audit log at {path}", hint="Pass --log FILE (heal writes one)")
        start = None
        if since:
            try:
                start = datetime.now(timezone.utc) - timedelta(seconds=parse_duration(since))
            except Exception:  # not a duration: an absolute time (as_utc raises a clear InputError)
                start = as_utc(since)
        for e in AuditLog(path).entries(start, kind=kind, limit=limit):
            if as_json:
                typer.echo(json.dumps(e.to_json(), sort_keys=True))
                continue
            mode = "dry" if e.dry_run else "LIVE"
            what = " ".join(x for x in (e.policy, e.target, e.action) if x)
            typer.echo(f"{e.seq:>5} {e.at:%Y-%m-%d %H:%M:%S} {mode:4} {e.kind:12} {e.outcome:14} {what} "
                       f"[{e.actor}]".encode("unicode_escape").decode())


def main(argv: list[str] | None = None) -> int:
    """``python -m promv5_lab.remediate.cli heal ...``: these commands alone, with the package's error handling."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True)
    register(app)
    return _run(app, argv)


def _run(app: typer.Typer, argv: list[str] | None) -> int:
    from ..errors import Promv5Error

    try:
        app(args=argv, prog_name="promv5-lab")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Promv5Error as exc:
        typer.secho(f"Error: {exc.message}", fg=typer.colors.RED, err=True)
        if exc.hint:
            typer.echo(f"Hint: {exc.hint}", err=True)
        return 2
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
