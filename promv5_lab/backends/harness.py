"""Start real Prometheus-compatible servers on loopback over a backfilled history, and stop them.

Used by tests, benchmarks and users who have the binaries (Debian: ``prometheus``, ``victoria-metrics``)::

    with PrometheusHarness() as prom:        # a fresh temp dir, a free 127.0.0.1 port
        prom.backfill("out/metrics.om")      # promtool tsdb create-blocks-from openmetrics
        prom.start()
        print(prom.url)

Every process is started here as an argv list (never a shell) and stopped by its own pid.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO

from ..errors import HarnessError

log = logging.getLogger(__name__)

APT_HINT = {
    "prometheus": "apt-get install prometheus  (Debian's package has both prometheus and promtool)",
    "promtool": "apt-get install prometheus  (Debian's package has both prometheus and promtool)",
    "victoria-metrics": "apt-get install victoria-metrics",
    "prometheus-alertmanager": "apt-get install prometheus-alertmanager",
}


def find_binary(name: str) -> str:
    """The absolute path of an executable, or a :class:`HarnessError` saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise HarnessError(f"'{name}' is not installed or not on PATH", hint=APT_HINT.get(name))
    return path


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen, timeout_s: float, logfile: Path) -> None:
    import requests

    deadline = time.monotonic() + timeout_s
    last = ""
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(
                f"{Path(str(proc.args[0])).name} exited with code {proc.returncode} while starting",
                hint=f"See its log: {logfile}\n{_tail(logfile)}",
            )
        try:
            r = requests.get(url, timeout=2)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise HarnessError(f"{url} not ready after {timeout_s:.0f}s ({last})", hint=f"See its log: {logfile}")


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class _Server:
    """Shared lifecycle: a work dir (temp unless given), one child process, stop by pid."""

    name = "server"

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *, port: int | None = None,
                 ready_timeout_s: float = 60.0) -> None:
        self._own_dir = workdir is None
        self.workdir = Path(tempfile.mkdtemp(prefix=f"promv5-{self.name}-")) if workdir is None else Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.host = "127.0.0.1"
        self.port = port or free_port(self.host)
        self.ready_timeout_s = ready_timeout_s
        self.process: subprocess.Popen | None = None
        self.logfile = self.workdir / f"{self.name}.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _launch(self, argv: Sequence[str], ready_path: str) -> None:
        if self.running:
            raise HarnessError(f"{self.name} is already running at {self.url}")
        log.info("starting %s", " ".join(argv))
        with open(self.logfile, "ab") as out:
            self.process = subprocess.Popen(list(argv), stdout=out, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, cwd=self.workdir)
        try:
            _wait_http(self.url + ready_path, self.process, self.ready_timeout_s, self.logfile)
        except HarnessError:
            self.stop()
            raise

    def stop(self, timeout_s: float = 15.0) -> None:
        """Stop the process this object started (by its pid) and, if we made it, remove the work dir."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=timeout_s)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def _yaml_list(items: Iterable[str]) -> str:
    import json

    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


class PrometheusHarness(_Server):
    """A real ``prometheus`` over a backfilled TSDB, optionally scraping live targets and loading rules."""

    name = "prometheus"

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *, port: int | None = None,
                 scrape_targets: Sequence[str] = (), scrape_interval: str = "5s",
                 rule_files: Sequence[str | os.PathLike[str]] = (), evaluation_interval: str = "5s",
                 alertmanager_url: str | None = None, ready_timeout_s: float = 60.0) -> None:
        super().__init__(workdir, port=port, ready_timeout_s=ready_timeout_s)
        self.tsdb_dir = self.workdir / "tsdb"
        self.scrape_targets = list(scrape_targets)
        self.scrape_interval = scrape_interval
        self.rule_files = [str(Path(p).resolve()) for p in rule_files]
        self.evaluation_interval = evaluation_interval
        self.alertmanager_url = alertmanager_url

    def backfill(self, openmetrics_file: str | os.PathLike[str], *, timeout_s: float = 600.0) -> None:
        """Write the OpenMetrics history into TSDB blocks with ``promtool tsdb create-blocks-from``."""
        src = Path(openmetrics_file)
        if not src.is_file():
            raise HarnessError(f"No OpenMetrics file at {src}", hint="Run: promv5-lab simulate --out DIR")
        if self.running:
            raise HarnessError("Backfill before start(): Prometheus only loads blocks when it starts")
        self.tsdb_dir.mkdir(parents=True, exist_ok=True)
        promtool = find_binary("promtool")
        deadline = time.monotonic() + timeout_s
        # promtool re-reads its whole input once per block: one day-long block per file keeps it linear.
        with tempfile.TemporaryDirectory(prefix="promv5-backfill-", dir=self.workdir) as parts_dir:
            for part in split_by_time(src, parts_dir, window_s=86400.0):
                argv = [promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h",
                        str(part), str(self.tsdb_dir)]
                left = deadline - time.monotonic()
                try:
                    done = subprocess.run(argv, capture_output=True, text=True, timeout=max(left, 1), check=False)
                except subprocess.TimeoutExpired as exc:
                    raise HarnessError(f"promtool backfill of {src} took over {timeout_s:.0f}s") from exc
                if done.returncode != 0:
                    raise HarnessError(
                        f"promtool could not backfill {src} (part {part.name}, exit {done.returncode})",
                        hint=(done.stderr or done.stdout).strip()[-2000:],
                    )

    def config_text(self) -> str:
        lines = ["global:", f"  scrape_interval: {self.scrape_interval}",
                 f"  evaluation_interval: {self.evaluation_interval}"]
        if self.rule_files:
            lines.append(f"rule_files: {_yaml_list(self.rule_files)}")
        if self.alertmanager_url:
            am = self.alertmanager_url.split("://", 1)[-1].rstrip("/")
            lines += ["alerting:", "  alertmanagers:", f"    - static_configs: [{{targets: {_yaml_list([am])}}}]"]
        if self.scrape_targets:
            targets = [t.split("://", 1)[-1].rstrip("/") for t in self.scrape_targets]
            lines += ["scrape_configs:", "  - job_name: demo",
                      f"    static_configs: [{{targets: {_yaml_list(targets)}}}]"]
        return "\n".join(lines) + "\n"

    def start(self) -> PrometheusHarness:
        """Start prometheus on 127.0.0.1:port and wait until ``/-/ready``."""
        self.tsdb_dir.mkdir(parents=True, exist_ok=True)
        cfg = self.workdir / "prometheus.yml"
        cfg.write_text(self.config_text())
        argv = [find_binary("prometheus"), f"--config.file={cfg}", f"--storage.tsdb.path={self.tsdb_dir}",
                f"--web.listen-address={self.host}:{self.port}", "--storage.tsdb.retention.time=3650d",
                "--web.enable-lifecycle", "--log.level=warn"]
        self._launch(argv, "/-/ready")
        return self


class VictoriaMetricsHarness(_Server):
    """A real single-node ``victoria-metrics`` that imports an OpenMetrics history over its import API."""

    name = "victoria-metrics"

    def start(self) -> VictoriaMetricsHarness:
        argv = [find_binary("victoria-metrics"), f"-storageDataPath={self.workdir / 'data'}",
                f"-httpListenAddr={self.host}:{self.port}", "-retentionPeriod=100y",
                "-search.latencyOffset=0s", "-search.disableCache", "-loggerLevel=WARN"]
        self._launch(argv, "/health")
        return self

    def import_openmetrics(self, openmetrics_file: str | os.PathLike[str], *, chunk_lines: int = 200_000) -> int:
        """Send every sample of an OpenMetrics file to ``/api/v1/import/prometheus``; returns samples sent."""
        import requests

        if not self.running:
            raise HarnessError("Start victoria-metrics before importing")
        sent = 0
        for chunk in _openmetrics_as_prometheus_text(Path(openmetrics_file), chunk_lines):
            r = requests.post(self.url + "/api/v1/import/prometheus", data=chunk.encode(), timeout=120)
            if r.status_code >= 300:
                raise HarnessError(f"victoria-metrics refused the import: HTTP {r.status_code}", hint=r.text[:500])
            sent += chunk.count("\n")
        requests.get(self.url + "/internal/force_flush", timeout=60)
        return sent


def split_by_time(path: str | Path, out_dir: str | Path, window_s: float = 7200.0) -> list[Path]:
    """Split an OpenMetrics history into files of ``window_s`` (aligned to the epoch) for fast backfill.

    ``promtool tsdb create-blocks-from openmetrics`` re-reads its whole input once per 2 h block, so one
    big file costs (blocks x size); files of one block each cost (size). Each part repeats the
    HELP/TYPE/UNIT lines of the families it holds and ends with ``# EOF``. Streams (one open file per
    part); returns the parts in time order.
    """
    src, out = Path(path), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    handles: dict[int, IO[str]] = {}
    emitted: dict[int, int] = {}  # part -> number of the family whose header it last wrote
    header: list[str] = []
    fam_no, fam_name = -1, ""
    try:
        with open(src) as fh:
            for line in fh:
                if line.startswith("#"):
                    if line.startswith("# EOF"):
                        break
                    parts = line.split(" ", 3)
                    if len(parts) >= 3 and parts[2] != fam_name:  # a new family's first metadata line
                        fam_name, header = parts[2], []
                        fam_no += 1
                    header.append(line)
                    continue
                k = int(float(line.rsplit(" ", 1)[1]) // window_s)
                h = handles.get(k)
                if h is None:
                    h = handles[k] = open(out / f"{src.stem}-{int(k * window_s)}.om", "w", buffering=1 << 20)
                if emitted.get(k) != fam_no:
                    h.writelines(header)
                    emitted[k] = fam_no
                h.write(line)
    finally:
        for h in handles.values():
            h.write("# EOF\n")
            h.close()
    return [out / f"{src.stem}-{int(k * window_s)}.om" for k in sorted(handles)]


def _openmetrics_as_prometheus_text(path: Path, chunk_lines: int) -> Iterator[str]:
    """Rewrite OpenMetrics samples (timestamps in seconds) as text exposition lines (milliseconds)."""
    buf: list[str] = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.strip() or line.startswith("#"):
                continue
            head, value, ts = line.rstrip("\n").rsplit(" ", 2)
            buf.append(f"{head} {value} {round(float(ts) * 1000)}\n")
            if len(buf) >= chunk_lines:
                yield "".join(buf)
                buf = []
    if buf:
        yield "".join(buf)
