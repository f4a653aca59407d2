"""Start a real Alertmanager (Debian's ``prometheus-alertmanager``) on loopback, with a webhook receiver.

::

    with AlertmanagerHarness(webhook_url="http://127.0.0.1:8099/alerts") as am:
        am.start()
        print(am.url)          # http://127.0.0.1:<free port>

Clustering is switched off (``--cluster.listen-address=``) so nothing binds beyond the one loopback port;
grouping waits are short so that tests see notifications within seconds. Stopped by its own pid.
"""

from __future__ import annotations

import json
import os
import shutil

from ..errors import HarnessError
from .harness import APT_HINT, _Server

BINARIES = ("prometheus-alertmanager", "alertmanager")


def find_alertmanager() -> str:
    for name in BINARIES:
        path = shutil.which(name)
        if path:
            return path
    raise HarnessError("Neither 'prometheus-alertmanager' nor 'alertmanager' is installed",
                       hint=APT_HINT["prometheus-alertmanager"])


class AlertmanagerHarness(_Server):
    """A real Alertmanager with one route to a webhook receiver (or to a null receiver when none is given)."""

    name = "alertmanager"

    def __init__(self, workdir: str | os.PathLike[str] | None = None, *, port: int | None = None,
                 webhook_url: str | None = None, webhook_bearer_token: str | None = None,
                 group_wait: str = "1s", group_interval: str = "2s", repeat_interval: str = "1h",
                 group_by: tuple[str, ...] = ("alertname", "service"), ready_timeout_s: float = 30.0) -> None:
        super().__init__(workdir, port=port, ready_timeout_s=ready_timeout_s)
        self.webhook_url = webhook_url
        self.webhook_bearer_token = webhook_bearer_token
        self.group_wait, self.group_interval, self.repeat_interval = group_wait, group_interval, repeat_interval
        self.group_by = group_by

    def config_text(self) -> str:
        q = json.dumps  # YAML accepts JSON strings: quoting every value keeps it valid
        lines = ["route:", "  receiver: main", f"  group_by: [{', '.join(q(g) for g in self.group_by)}]",
                 f"  group_wait: {self.group_wait}", f"  group_interval: {self.group_interval}",
                 f"  repeat_interval: {self.repeat_interval}", "receivers:", "  - name: main"]
        if self.webhook_url:
            lines += ["    webhook_configs:", f"      - url: {q(self.webhook_url)}", "        send_resolved: true"]
            if self.webhook_bearer_token:
                lines += ["        http_config:", "          authorization:",
                          f"            credentials: {q(self.webhook_bearer_token)}"]
        return "\n".join(lines) + "\n"

    def start(self) -> AlertmanagerHarness:
        cfg = self.workdir / "alertmanager.yml"
        cfg.write_text(self.config_text())
        cfg.chmod(0o600)
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        argv = [find_alertmanager(), f"--config.file={cfg}", f"--storage.path={data}",
                f"--web.listen-address={self.host}:{self.port}", "--cluster.listen-address=",
                "--log.level=warn"]
        self._launch(argv, "/-/ready")
        return self
