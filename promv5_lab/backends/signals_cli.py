# ruff: noqa: B008  (typer declares options as call defaults)
"""``promv5-lab logs``, ``traces``, ``alerts`` and ``alert-webhook``: read the other signals from the shell.

::

    promv5-lab logs --data out/demo --service checkout --since 2h --contains pool
    promv5-lab logs --logs http://loki:3100 --tenant team-a --level error --format json
    promv5-lab traces --data out/demo --service payments --errors
    promv5-lab traces --traces tempo+http://tempo:3200 --trace-id 4bf92f3577b34da6a3ce929d0e0e4736
    promv5-lab alerts --alertmanager http://alertmanager:9093 --json
    promv5-lab alert-webhook --port 9099        # prints each firing alert Alertmanager sends, one JSON per line

Tokens come from the environment (``PROMV5_LOGS_BEARER_TOKEN``, ``PROMV5_TRACES_BEARER_TOKEN``,
``PROMV5_ALERTMANAGER_BEARER_TOKEN``, ``PROMV5_WEBHOOK_BEARER_TOKEN``) or credentials in the URL, never
printed. Log messages and labels are printed with control characters escaped.
"""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class Fmt(str, Enum):
    table = "table"
    json = "json"
    csv = "csv"


def register(app: typer.Typer) -> None:
    """Add ``logs``, ``traces``, ``alerts`` and ``alert-webhook`` to the ``promv5-lab`` app."""
    app.command("logs")(logs_command)
    app.command("traces")(traces_command)
    app.command("alerts")(alerts_command)
    app.command("alert-webhook")(alert_webhook_command)


def safe(text: Any) -> str:
    """Text for a terminal: control characters (escape sequences, bidi overrides) shown as \\xNN."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _source(url: str | None, data: Path | None, what: str) -> str | Path:
    from ..config import load_settings
    from ..errors import InputError

    if url and data:
        raise InputError(f"Pass either --{what} URL or --data DIR, not both")
    if url:
        return url
    if data is not None:
        return data
    from ..demo.bundled import demo_history

    return demo_history(load_settings().cache_dir)


def _window(backend: Any, since: str, end: str | None, at_data_end: bool) -> Any:
    """``since`` up to ``end`` (default now; a local store's last line when its data ends earlier)."""
    from ..types import TimeRange, as_utc, parse_duration

    stop = as_utc(end) if end else as_utc("now")
    bounds = getattr(backend, "time_bounds", None)
    if end is None and at_data_end and bounds is not None:
        got = bounds()
        if got is not None and got[1] < stop - timedelta(seconds=parse_duration(since)):
            typer.echo(f"# the data ends at {got[1].isoformat()}; showing the {since} before that", err=True)
            stop = got[1]
    return TimeRange(stop - timedelta(seconds=parse_duration(since)), stop)


def _http_options(token: str | None, tenant: str | None, timeout: float | None) -> dict[str, Any]:
    opts: dict[str, Any] = {}
    if token:
        opts["bearer_token"] = token
    if tenant:
        opts["tenant"] = tenant
    if timeout:
        opts["timeout_s"] = timeout
    return opts


def _emit(frame: pd.DataFrame, fmt: Fmt, table_cols: list[str], time_cols: tuple[str, ...]) -> None:
    if fmt is Fmt.table:
        if frame.empty:
            typer.echo("(nothing)")
        for row in frame[table_cols].itertuples(index=False):
            typer.echo("  ".join(safe(v.isoformat() if isinstance(v, datetime) else v) for v in row))
        return
    out = frame.copy()
    for col in time_cols:
        out[col] = out[col].map(lambda t: t.isoformat())
    if fmt is Fmt.csv:
        if "attributes" in out:
            out["attributes"] = out["attributes"].map(lambda a: json.dumps(a, sort_keys=True, default=str))
        sys.stdout.write(out.to_csv(index=False))
        return
    doc = {"source": frame.attrs.get("source", ""), "query": frame.attrs.get("query", ""),
           "truncated": bool(frame.attrs.get("truncated", False)), "rows": len(out),
           "data": out.to_dict(orient="records")}
    typer.echo(json.dumps(doc, indent=1, default=str))


def logs_command(
    logs: str | None = typer.Option(None, "--logs", help="Loki URL (http(s):// or loki+http(s)://)."),
    data: Path | None = typer.Option(None, "--data", "-d", help="A 'simulate' output dir or an OTLP/JSON logs file."),
    service: str | None = typer.Option(None, "--service", "-s", help="Only this service."),
    since: str = typer.Option("1h", "--since", help="How far back from --end (e.g. 15m, 2h, 3d)."),
    end: str | None = typer.Option(None, "--end", help="End of the window (ISO 8601, Unix seconds, now)."),
    contains: str | None = typer.Option(None, "--contains", "-c", help="Only lines containing this text."),
    level: list[str] = typer.Option([], "--level", "-l", help="Only these levels (repeatable): error, warn..."),
    limit: int = typer.Option(1000, "--limit", "-n", min=1, help="At most this many lines (oldest first)."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table, json or csv."),
    tenant: str | None = typer.Option(None, "--tenant", help="Loki tenant (X-Scope-OrgID)."),
    token: str | None = typer.Option(None, "--bearer-token", envvar="PROMV5_LOGS_BEARER_TOKEN", hidden=True,
                                        show_envvar=False, help="Bearer token (use the environment variable)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait for Loki (default 10)."),
) -> None:
    """Log lines from Loki (--logs), a local history (--data), or by default the bundled demo.

    A Loki bearer token is read from PROMV5_LOGS_BEARER_TOKEN (or user:password@ in the URL).
    """
    from .logs import open_logs

    src = _source(logs, data, "logs")
    backend = open_logs(src, **(_http_options(token, tenant, timeout) if logs else {}))
    try:
        tr = _window(backend, since, end, at_data_end=not logs)
        frame = backend.logs(tr, service=service, contains=contains, limit=limit, level=level or None)
    finally:
        backend.close()
    _emit(frame, fmt, ["timestamp", "service", "level", "message"], ("timestamp",))
    if fmt is Fmt.table:
        more = " (truncated: raise --limit)" if frame.attrs.get("truncated") else ""
        typer.echo(f"# {len(frame)} lines from {safe(frame.attrs.get('source'))}{more}", err=True)
        typer.echo(f"# query: {safe(frame.attrs.get('query'))}", err=True)


def traces_command(
    traces: str | None = typer.Option(None, "--traces", help="Tempo or Jaeger URL (tempo+http://, jaeger+http://)."),
    data: Path | None = typer.Option(None, "--data", "-d", help="A 'simulate' output dir or an OTLP/JSON traces file."),
    service: str | None = typer.Option(None, "--service", "-s", help="Only spans of this service."),
    trace_id: str | None = typer.Option(None, "--trace-id", "-t", help="Show one whole trace as a tree."),
    errors: bool = typer.Option(False, "--errors", help="Only spans with status ERROR."),
    since: str = typer.Option("1h", "--since", help="How far back from --end (e.g. 15m, 2h)."),
    end: str | None = typer.Option(None, "--end", help="End of the window (ISO 8601, Unix seconds, now)."),
    limit: int = typer.Option(1000, "--limit", "-n", min=1, help="At most this many spans."),
    fmt: Fmt = typer.Option(Fmt.table, "--format", "-f", help="table, json or csv."),
    tenant: str | None = typer.Option(None, "--tenant", help="Tenant (Tempo: X-Scope-OrgID; Jaeger: x-tenant)."),
    token: str | None = typer.Option(None, "--bearer-token", envvar="PROMV5_TRACES_BEARER_TOKEN", hidden=True,
                                        show_envvar=False, help="Bearer token (use the environment variable)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait for the server (default 10)."),
) -> None:
    """Spans from Tempo or Jaeger (--traces), a local history (--data), or by default the bundled demo.

    A bearer token is read from PROMV5_TRACES_BEARER_TOKEN (or user:password@ in the URL).
    """
    from .traces import open_traces

    src = _source(traces, data, "traces")
    opts = _http_options(token, tenant, timeout) if traces else {}
    backend = open_traces(src, **opts)
    try:
        if trace_id:
            frame = backend.trace(trace_id)
        else:
            tr = _window(backend, since, end, at_data_end=not traces)
            frame = backend.spans(tr, service=service, limit=limit)
    finally:
        close = getattr(backend, "close", None)
        if close:
            close()
    if errors:
        kept = frame[frame["status"] == "ERROR"].reset_index(drop=True)
        kept.attrs.update(frame.attrs)
        frame = kept
    if trace_id and fmt is Fmt.table:
        if frame.empty:
            typer.echo(f"No trace {safe(trace_id)} in {safe(frame.attrs.get('source'))}")
            raise typer.Exit(1)
        for depth, row in _tree(frame):
            typer.echo(f"{'  ' * depth}{safe(row.service)}: {safe(row.operation)}  {row.duration_ms:.1f} ms"
                       f"{'  ERROR' if row.status == 'ERROR' else ''}")
        return
    _emit(frame, fmt, ["start", "trace_id", "service", "operation", "duration_ms", "status"], ("start",))
    if fmt is Fmt.table:
        more = " (truncated: raise --limit)" if frame.attrs.get("truncated") else ""
        typer.echo(f"# {len(frame)} spans from {safe(frame.attrs.get('source'))}{more}", err=True)


def _tree(frame: pd.DataFrame) -> list[tuple[int, Any]]:
    """Spans in depth-first order with their depth (orphans are shown as roots)."""
    rows = list(frame.sort_values("start").itertuples(index=False))
    ids = {r.span_id for r in rows}
    children: dict[str | None, list[Any]] = {}
    for r in rows:
        children.setdefault(r.parent_span_id if r.parent_span_id in ids else None, []).append(r)
    out: list[tuple[int, Any]] = []
    stack = [(0, r) for r in reversed(children.get(None, []))]
    while stack:
        depth, r = stack.pop()
        out.append((depth, r))
        stack.extend((depth + 1, c) for c in reversed(children.get(r.span_id, [])))
    return out


def alerts_command(
    alertmanager: str = typer.Option(..., "--alertmanager", "-a", help="Alertmanager base URL."),
    filter_: list[str] = typer.Option([], "--filter", help='Label matcher (repeatable), e.g. service="checkout".'),
    all_: bool = typer.Option(False, "--all", help="Also silenced and inhibited alerts."),
    silences: bool = typer.Option(False, "--silences", help="List silences instead of alerts."),
    as_json: bool = typer.Option(False, "--json", help="JSON output."),
    token: str | None = typer.Option(None, "--bearer-token", envvar="PROMV5_ALERTMANAGER_BEARER_TOKEN",
                                        hidden=True, show_envvar=False, help="Bearer token (use the env variable)."),
    timeout: float | None = typer.Option(None, "--timeout", help="Seconds to wait (default 10)."),
) -> None:
    """Firing alerts (or silences) from an Alertmanager.

    A bearer token is read from PROMV5_ALERTMANAGER_BEARER_TOKEN (or user:password@ in the URL).
    """
    from .alertmanager import AlertmanagerClient, format_time

    with AlertmanagerClient(alertmanager, **_http_options(token, None, timeout)) as am:
        if silences:
            found = am.silences()
            if as_json:
                typer.echo(json.dumps([{"id": s.id, "state": s.state, "matchers": [m.render() for m in s.matchers],
                                        "starts_at": format_time(s.starts_at) if s.starts_at else None,
                                        "ends_at": format_time(s.ends_at) if s.ends_at else None,
                                        "created_by": s.created_by, "comment": s.comment} for s in found], indent=1))
            else:
                for s in found:
                    typer.echo(f"{s.id}  {s.state}  {safe(', '.join(m.render() for m in s.matchers))}"
                               f"  until {format_time(s.ends_at) if s.ends_at else '?'}  {safe(s.comment)}")
                typer.echo(f"# {len(found)} silences at {am.url}", err=True)
            return
        found = am.alerts(filter=filter_, silenced=all_, inhibited=all_)
    if as_json:
        typer.echo(json.dumps([a.to_json() for a in found], indent=1))
        return
    for a in found:
        since = format_time(a.starts_at) if a.starts_at else "?"
        typer.echo(f"{safe(a.name)}  [{a.state}]  service={safe(a.service or '-')}  since {since}  {safe(a.summary)}")
    typer.echo(f"# {len(found)} alerts at {am.url}", err=True)


def investigator(backend: Any, *, logs: Any = None, traces: Any = None,
                 emit: Any = None) -> Any:
    """A webhook callback that diagnoses each firing alert at its start and emits one JSON document.

    The document is ``{"alert": ..., "diagnosis": ...}`` (the diagnosis as ``investigate --json`` prints it),
    or ``{"alert": ..., "error": ..., "hint": ...}`` when the diagnosis fails.
    """
    from ..errors import Promv5Error

    def write(doc: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(doc, default=str) + "\n")
        sys.stdout.flush()

    out = emit or write

    def on_alert(alert: Any) -> None:
        from ..analysis.rootcause import diagnose, diagnosis_to_json

        try:
            d = diagnose(backend, alert.starts_at or "now", logs=logs, traces=traces, alerts=[alert.info()])
        except Promv5Error as exc:
            out({"alert": alert.to_json(), "error": exc.message, "hint": exc.hint})
            return
        out({"alert": alert.to_json(), "diagnosis": diagnosis_to_json(d)})

    return on_alert


def alert_webhook_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(9099, "--port", "-p", min=0, max=65535, help="Port (0 = a free one)."),
    path: str = typer.Option("/alerts", "--path", help="URL path Alertmanager posts to."),
    investigate: bool = typer.Option(False, "--investigate", help="Diagnose each alert (root causes as JSON)."),
    backend: str | None = typer.Option(None, "--backend", "-b", help="With --investigate: Prometheus URL."),
    data: Path | None = typer.Option(None, "--data", "-d", help="With --investigate: a local history instead."),
    logs: str | None = typer.Option(None, "--logs", help="With --investigate: Loki URL or logs dir/file."),
    traces: str | None = typer.Option(None, "--traces", help="With --investigate: Tempo/Jaeger URL or dir/file."),
    token: str | None = typer.Option(None, "--bearer-token", envvar="PROMV5_WEBHOOK_BEARER_TOKEN", hidden=True,
                                     show_envvar=False, help="Require this bearer token (use the env variable)."),
) -> None:
    """Receive Alertmanager's webhook; print each new firing alert as one JSON line (until Ctrl-C).

    With --investigate, each alert starts a root-cause diagnosis at its start time (metrics from --backend
    or --data; logs and traces from --logs/--traces, or from --data when it holds them) and the line
    carries the alert and its diagnosis. Set PROMV5_WEBHOOK_BEARER_TOKEN to require that token
    (Alertmanager: http_config.authorization).
    """
    import contextlib
    import threading

    from ..errors import InputError
    from .alert_webhook import AlertWebhook

    if not investigate and (backend or data or logs or traces):
        raise InputError("--backend/--data/--logs/--traces only apply with --investigate")
    lock = threading.Lock()

    def show(alert: Any) -> None:
        with lock:
            sys.stdout.write(json.dumps(alert.to_json()) + "\n")
            sys.stdout.flush()

    with contextlib.ExitStack() as stack:
        callback = show
        if investigate:
            from ..config import load_settings
            from . import telemetry

            metrics = stack.enter_context(telemetry(load_settings(backend_url=backend, data_dir=data)))
            opened = [_open_signal(kind, src, data) for kind, src in (("logs", logs), ("traces", traces))]
            for o in opened:
                if o is not None:
                    stack.callback(o.close)
            callback = investigator(metrics, logs=opened[0], traces=opened[1])
        hook = stack.enter_context(AlertWebhook(callback, host=host, port=port, path=path, bearer_token=token))
        typer.echo(f"Listening for Alertmanager at {hook.url} (webhook_configs: url: {hook.url}); Ctrl-C stops",
                   err=True)
        stop = threading.Event()
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            typer.echo("Stopped.", err=True)


def _open_signal(kind: str, source: str | None, data: Path | None) -> Any:
    """--logs/--traces if given, else the --data folder when it holds logs.jsonl/traces.jsonl."""
    if source is None and data is not None and (data / f"{kind}.jsonl").is_file():
        source = str(data)
    if source is None:
        return None
    if kind == "logs":
        from .logs import open_logs

        return open_logs(source)
    from .traces import open_traces

    return open_traces(source)
