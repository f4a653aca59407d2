"""Where the app's callbacks run: Panel's event loop for what the browser sent, the app's own threads for slow work.

The browser sends its changes and clicks over one websocket, in order. Panel applies them on its event loop in
that order, a value change before the click that follows it, as long as Panel has no thread pool of its own
(``pn.config.nthreads`` unset). With a pool (the app used ``nthreads=4`` until this module), Panel handed the
change and the click to two pool threads that ran at the same time: a click could read an input's old value
(Backend tab: 'Connect' after typing a dead URL connected to the previous backend and showed no error), and two
questions sent one after the other could be taken in either order.

So the app keeps Panel's own ordering and moves only the slow part off the loop: :func:`in_background` wraps a
callback so that Panel calls it on the loop (where every earlier change is already applied) and it runs on one
of the app's worker threads, with the page as Panel's current document; Panel schedules the page updates it
makes onto the loop. :func:`on_page` runs a function on the loop, in the order of the calls.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..._deps import require

__all__ = ["WORKERS", "in_background", "on_page", "warn_if_panel_threads"]

log = logging.getLogger(__name__)

WORKERS = 4  # slow callbacks (scans, diagnoses, reports, uploads) that may run at once, over all sessions
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="promv5-app")
        return _pool


def on_page(doc: Any, fn: Callable[[], None]) -> None:
    """Run ``fn`` on the page's event loop, in order with every other change made through here (Bokeh's rule
    for changes from other threads); directly when there is no server (a notebook preview, a test)."""
    pn = require("panel", "app")
    if doc is None or doc.session_context is None:
        fn()
        return
    from panel.io.state import set_curdoc

    with set_curdoc(doc):
        pn.state.execute(fn, schedule=True)


def in_background(fn: Callable[..., None], *, what: str = "a callback") -> Callable[..., None]:
    """``fn`` as a Panel callback that runs on the app's worker threads with this page as the current document.

    Wrap it where the page is built (``pn.state.curdoc`` is the session's document there). Outside a server it
    runs ``fn`` directly. ``fn`` shows its own errors in the page; anything it lets escape is logged.
    """
    pn = require("panel", "app")
    doc = pn.state.curdoc

    def run(*args: Any) -> None:
        from panel.io.state import set_curdoc

        with set_curdoc(doc):
            try:
                fn(*args)
            except Exception:  # the callback shows its errors itself; this is a bug to see in the log
                log.exception("the app's %s failed", what)

    def callback(*args: Any) -> None:
        if doc is None or doc.session_context is None:
            fn(*args)
            return
        _executor().submit(run, *args)

    return callback


def warn_if_panel_threads(pn: Any) -> None:
    """Say so when Panel was told to use its own thread pool (``PANEL_NUM_THREADS``): events may then be
    handled out of order (see the module docstring)."""
    if pn.config.nthreads is not None:
        log.warning("Panel runs callbacks on its own thread pool (nthreads=%s, PANEL_NUM_THREADS): a click may "
                    "then be handled before the input it reads is updated; unset it for promv5-lab's app",
                    pn.config.nthreads)
