"""``promv5-lab serve``: the Panel app for a team on a screen."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    @app.command("serve")
    def serve_command(
        backend: str = typer.Option(None, "--backend", "-b", help="Prometheus-compatible base URL."),
        data: str = typer.Option(None, "--data", "-d", help="A 'promv5-lab simulate' output (embedded engine)."),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to bind (default loopback only)."),
        port: int = typer.Option(5006, "--port", "-p", min=0, max=65535, help="Port to listen on."),
        at: str = typer.Option(None, "--at", help="Pin 'now' (ISO 8601) for reproducible answers."),
        basic_auth: str = typer.Option(None, "--basic-auth", envvar="PROMV5_APP_BASIC_AUTH", show_envvar=True,
                                       help="A password, or a JSON file of users -> passwords (Panel basic auth)."),
        audit_log: str = typer.Option(None, "--audit-log", help="The remediation audit log (default: heal's, "
                                      "~/.local/state/promv5-lab/audit.db)."),
        oauth_provider: str = typer.Option(None, "--oauth-provider", help="Panel OAuth provider (github, "
                                           "google, generic...); key/secret/cookie secret from PANEL_OAUTH_* env."),
    ) -> None:
        """Serve the app: ask in plain language, the fleet overview, the backend and its status.

        With neither --backend nor --data it serves the bundled demo history (generated on first use).
        """
        from ...errors import InputError
        from . import serve

        if backend and data:
            raise InputError("Pass either --backend or --data, not both")
        if host not in ("127.0.0.1", "localhost", "::1") and not (basic_auth or oauth_provider):
            typer.echo(f"Warning: serving on {host} without --basic-auth or --oauth-provider; anyone who can "
                       "reach it can query your backend.", err=True)
        serve(backend_url=backend, data_dir=data, host=host, port=port, now=at, basic_auth=basic_auth,
              oauth_provider=oauth_provider, audit_path=audit_log)
