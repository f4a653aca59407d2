"""Where the app's callbacks run: Panel's event loop for what the browser sent, the app's own threads for slow work.

The browser sends its changes and clicks over one websocket, in order. Panel handles them on its event loop, a
value change before the click that follows it, as long as Panel has no thread pool of its own
(``pn.config.nthreads`` unset). With a pool (the app used ``nthreads=4`` until this module), Panel handed the
change and the click to two pool threads that ran at the same time: a click could read an input's old value
(Backend tab: 'Connect' after typing a dead URL connected to the previous backend and showed no error), and two
questions sent one after the other could be taken in either order.

Even without a pool Panel does not promise that two events run in the order they came: an event that arrives
while a typed value's update is pending is deferred to a later tick (through the document's held events, see
:class:`PageUpdates`) and one that arrives later can run at once. So where the order matters the app takes an
event when its message arrives (the chat box's questions: ``layout.QuestionBox``) and makes its page changes
through :class:`PageUpdates` (one FIFO per page).

So the app keeps Panel's own ordering and moves only the slow part off the loop: :func:`in_background` wraps a
callback so that Panel calls it on the loop (where every earlier change is already applied) and it runs on one
of the app's worker threads, with the page as Panel's current document; Panel schedules the page updates it
makes onto the loop.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..._deps import require

__all__ = ["WORKERS", "PageUpdates", "in_background", "warn_if_panel_threads"]

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


class PageUpdates:
    """One page's changes from any thread, made in the order asked: one FIFO, one consumer on the page's loop.

    ``updates(fn)`` numbers ``fn`` and queues it; the consumer runs the queued changes in their numbers' order on
    the page's event loop with the document's lock held. It is woken through Tornado's ``IOLoop.add_callback``
    (thread-safe, first in first out), not through the document's next-tick callbacks: those are events of the
    Bokeh document, which Panel collects while the document is "held" (a callback on a worker thread holds it
    while it builds panes) and dispatches later, from any thread, without a lock, so two changes asked in one
    order could run in the other (a follow-up's answer shown before the one asked first). Whatever order the
    wake-ups run in, each run takes the queued changes oldest first, and a change's number is checked against the
    last one run. Without a server (a notebook preview, a test) the changes run at once, still one at a time.
    """

    def __init__(self, doc: Any) -> None:
        self._doc = doc if doc is not None and doc.session_context is not None else None
        self._loop = _loop_of(self._doc) if self._doc is not None else None
        self._lock = threading.Lock()  # guards the FIFO and the numbers
        self._running = threading.Lock()  # the one consumer (without a server, any thread may consume)
        self._consumer: int | None = None
        self._ops: deque[tuple[int, Callable[[], None]]] = deque()
        self._asked = 0  # numbers given
        self._done = 0  # the last number run

    @property
    def served(self) -> bool:
        """True when the page is served (changes run on its loop), False without a server."""
        return self._doc is not None

    @property
    def done(self) -> int:
        """How many changes have run (for tests and logs)."""
        return self._done

    def __call__(self, fn: Callable[[], None]) -> int:
        """Queue ``fn`` (a change to the page) and return its number; it runs after every change queued before."""
        with self._lock:
            self._asked += 1
            number = self._asked
            self._ops.append((number, fn))
        if self._loop is None:
            self._consume()
        else:
            self._schedule(number)
        return number

    def _schedule(self, number: int) -> None:
        """Wake the consumer on the page's loop for change ``number`` (any thread)."""
        self._loop.add_callback(self._wake, number)

    def _wake(self, number: int) -> Any:
        """On the page's loop: run change ``number`` and whatever else is queued by then, oldest first (so a
        wake-up that comes late finds nothing left, and one that comes early runs the older changes first)."""
        ctx = self._doc.session_context if self._doc is not None else None
        if ctx is None or ctx.destroyed:
            return None

        async def locked(_doc: Any) -> None:
            self._consume()

        return ctx.with_locked_document(locked)

    def _consume(self) -> None:
        me = threading.get_ident()
        if self._consumer == me:  # a change that queued another: the loop below runs it next
            return
        while True:
            with self._running:
                self._consumer = me
                try:
                    self._run_queued()
                finally:
                    self._consumer = None
            with self._lock:  # one queued while this thread let go of the consumer's lock: run it too
                if not self._ops:
                    return

    def _run_queued(self) -> None:
        from panel.io.state import set_curdoc

        while True:
            with self._lock:
                if not self._ops:
                    return
                number, fn = self._ops.popleft()
            if number != self._done + 1:  # cannot happen (one FIFO, popped under its lock): say so if it does
                log.error("page change %d ran after %d: the page's changes are out of order", number, self._done)
            self._done = number
            try:
                if self._doc is None:
                    fn()
                else:
                    with set_curdoc(self._doc):
                        fn()
            except Exception:  # one change that fails must not stop the ones behind it
                log.exception("a change to the page failed")


def _loop_of(doc: Any) -> Any:
    """The Tornado loop serving ``doc`` (the page is built on it, so the current loop is a fallback)."""
    from tornado.ioloop import IOLoop

    try:
        loop = doc.session_context.server_context.application_context.io_loop
    except AttributeError:
        loop = None
    return loop if loop is not None else IOLoop.current()


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
