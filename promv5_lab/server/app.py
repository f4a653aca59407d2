"""The :class:`Promv5LabApp` extension: configuration traits, the conversations and the worker threads."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Int, Unicode

from .sessions import Conversations

__all__ = ["Promv5LabApp"]

log = logging.getLogger(__name__)


class Promv5LabApp(ExtensionApp):
    """promv5-lab inside Jupyter: ``c.Promv5LabApp.backend_url`` / ``data_dir`` pick the default backend."""

    name = "promv5_lab"
    description = "promv5-lab: ask Prometheus questions from JupyterLab"
    load_other_extensions = True

    backend_url = Unicode("", config=True, help="Default Prometheus URL (empty: PROMV5_BACKEND_URL, or the demo)")
    data_dir = Unicode("", config=True, help="Default data directory from 'promv5-lab simulate' (embedded engine)")
    use_embeddings = Bool(True, config=True, help="Match questions with the MiniLM model (False: lexical only)")
    workers = Int(2, config=True, help="Threads that plan and run questions, off the server's IO loop")

    def initialize_settings(self) -> None:
        self.conversations = Conversations(default_backend_url=self.backend_url or None,
                                           default_data_dir=self.data_dir or None,
                                           use_embeddings=self.use_embeddings)
        self.executor = ThreadPoolExecutor(max_workers=max(1, self.workers), thread_name_prefix="promv5")
        self.settings["promv5_lab"] = self

    def initialize_handlers(self) -> None:
        from .handlers import handlers

        self.handlers.extend(handlers())

    async def stop_extension(self) -> None:
        log.info("promv5-lab: closing conversations")
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.conversations.close()

    def _status_extra(self) -> dict[str, Any]:  # used by the status handler
        return {"default_backend": self.backend_url or None, "default_data": self.data_dir or None}
