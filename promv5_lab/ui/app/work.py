"""Where the app's callbacks run, and the one path by which the page changes: in order, on the page's loop.

The browser sends its changes and clicks over one websocket, in order. Panel handles them on its event loop, a
value change before the click that follows it, as long as Panel has no thread pool of its own
(``pn.config.nthreads`` unset). With a pool (the app used ``nthreads=4`` once), Panel handed the change and the
click to two pool threads that ran at the same time: a click could read an input's old value (Backend tab:
'Connect' after typing a dead URL connected to the previous backend and showed no error).

The page is changed in one place only: :class:`PageUpdates`, one FIFO per page whose one consumer applies the
changes on the page's loop with the document's lock held. A change made from a worker thread through Panel
itself goes another way: Panel schedules it as a next-tick callback of the Bokeh document, and while another
thread holds the document (Panel does while a callback on a thread builds panes) that callback is collected
with the held events and registered only when the hold ends, after changes asked later. A slow job's
"working..." line could so be applied after its result and hide it (a report built but no link to download),
or two clicks' results could land in either order.

So every slow callback is a job of :class:`PageJobs`: the click handler (on the loop, where every earlier change
from the browser is already applied) reads the inputs and queues the job; its progress line, then its result
or its error, are page changes through :class:`PageUpdates`; its work runs on one of the app's worker threads,
one job at a time per *lane* (one output area, e.g. "report"), in the order clicked. The questions of the chat
have their own queue (``queue.AskQueue``) and take their questions when the message arrives
(``layout.QuestionBox``); their page changes go through the same :class:`PageUpdates`.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["WORKERS", "PageJobs", "PageUpdates", "warn_if_panel_threads"]

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
    def doc(self) -> Any:
        """The served page's Bokeh document (None without a server)."""
        return self._doc

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


@dataclass(frozen=True)
class _Job:
    number: int
    what: str
    work: Callable[[], Any]
    show: Callable[[Any], None]
    fail: Callable[[BaseException], None]
    busy: Callable[[], None] | None


class PageJobs:
    """The slow callbacks of one page: work on the app's worker threads, page changes through :class:`PageUpdates`.

    ``run(lane, work, show, fail=..., busy=..., what=...)`` is called by a click handler (any thread; the inputs
    it needs are read before, on the loop). The jobs of one lane run one at a time, in the order asked; when a
    job starts, ``busy()`` shows its progress; ``work()`` runs on a worker thread (with the page as Panel's
    current document) and must not change the page; then ``show(result)``, or ``fail(exc)`` when ``work`` or
    ``show`` raised, changes the page. ``busy``, ``show`` and ``fail`` are page changes: they run in the order
    they were queued, on the page's loop. A job's changes are queued before the next job of its lane starts, so
    a lane's output always ends with its last job's result. Lanes run side by side (a report being built does
    not hold up a diagnosis); :data:`WORKERS` jobs at most run at once over all pages.

    Without a server (a notebook preview, a test) a job runs at once in the caller's thread.
    """

    def __init__(self, page: PageUpdates) -> None:
        self._page = page
        self._lock = threading.Lock()
        self._lanes: dict[str, deque[_Job]] = {}
        self._running: set[str] = set()  # lanes with a job on a worker
        self._asked = 0
        self._closed = False

    @property
    def page(self) -> PageUpdates:
        return self._page

    def run(self, lane: str, work: Callable[[], Any], show: Callable[[Any], None], *,
            fail: Callable[[BaseException], None], busy: Callable[[], None] | None = None,
            what: str = "a job") -> int:
        """Queue a job on ``lane``; returns its number (1, 2, ... over the page's jobs)."""
        with self._lock:
            if self._closed:
                log.info("the page is gone: %s not started", what)
                return 0
            self._asked += 1
            job = _Job(self._asked, what, work, show, fail, busy)
            if self._page.served:
                self._lanes.setdefault(lane, deque()).append(job)
                if lane in self._running:  # it starts when the lane's running job has queued its result
                    return job.number
                self._running.add(lane)
        if self._page.served:
            self._start_next(lane)
        else:
            self._run_here(job)
        return job.number

    def close(self) -> None:
        """Drop the jobs not started yet (the browser session ended); a running one's changes go nowhere."""
        with self._lock:
            self._closed = True
            self._lanes.clear()

    def idle(self) -> bool:
        """True when no job waits or runs (for tests and logs)."""
        with self._lock:
            return not self._running and not any(self._lanes.values())

    def _run_here(self, job: _Job) -> None:
        if job.busy is not None:
            self._page(job.busy)
        ok, result = self._work(job)
        self._page(lambda: self._finish(job, ok, result))

    def _start_next(self, lane: str) -> None:
        with self._lock:
            waiting = self._lanes.get(lane)
            if self._closed or not waiting:
                self._running.discard(lane)
                return
            job = waiting.popleft()
        if job.busy is not None:
            self._page(job.busy)  # progress, after every change the lane's earlier jobs queued
        try:
            _executor().submit(self._execute, lane, job)
        except RuntimeError as exc:  # the pool is shut down (the process is exiting): say so in the page
            self._page(lambda err=exc: self._finish(job, False, err))
            self._start_next(lane)

    def _execute(self, lane: str, job: _Job) -> None:
        ok, result = self._work(job)
        self._page(lambda: self._finish(job, ok, result))
        self._start_next(lane)  # the next job's progress comes after this one's result

    def _work(self, job: _Job) -> tuple[bool, Any]:
        from panel.io.state import set_curdoc

        try:
            if self._page.doc is None:
                return True, job.work()
            with set_curdoc(self._page.doc):
                return True, job.work()
        except Exception as exc:  # noqa: BLE001 - shown in the page by the job's ``fail``
            return False, exc

    @staticmethod
    def _finish(job: _Job, ok: bool, result: Any) -> None:
        """On the page's loop: the job's result or its error into the page; never a silent drop."""
        try:
            if ok:
                job.show(result)
                return
        except Exception as exc:  # noqa: BLE001 - a result that cannot be shown is shown as an error
            result = exc
        try:
            job.fail(result)
        except Exception:  # the error could not be shown either: the log is all that is left
            log.exception("%s failed and its error could not be shown: %r", job.what, result)



def warn_if_panel_threads(pn: Any) -> None:
    """Say so when Panel was told to use its own thread pool (``PANEL_NUM_THREADS``): events may then be
    handled out of order (see the module docstring)."""
    if pn.config.nthreads is not None:
        log.warning("Panel runs callbacks on its own thread pool (nthreads=%s, PANEL_NUM_THREADS): a click may "
                    "then be handled before the input it reads is updated; unset it for promv5-lab's app",
                    pn.config.nthreads)
