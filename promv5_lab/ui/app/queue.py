"""Questions of one chat answered one at a time, in the order they were asked (free of any Panel import).

Panel's ``ChatInterface`` ignores a message sent while its callback is still answering the previous one: the
question vanished from the input and was never answered. The app therefore takes every question as it comes
(``submit`` returns at once) and answers them here, on one worker thread per browser session, first in first
out. Each question gets the next number (:class:`Asked`). ``work(question)`` does the slow part (plan, query,
chart) and returns what to show; ``deliver(asked, shown)`` puts it in the page, in the numbers' order (one
worker); ``before(asked)`` shows the question itself, before the worker can take it; ``notify(state)`` hears
what is being answered and what waits, so the page can say "still answering ..., 2 queued". An exception from
``work`` is delivered as the result (the page turns it into a message), so a failing question never stops the
ones behind it.

``before`` and ``notify`` are called with the queue's lock held, so what they hear comes in the order it
happened (a submit on one thread and the worker's next question on another cannot report out of order and leave
a stale line); they must only queue the page change (the app's ``PageUpdates``), never wait on the queue.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["AskQueue", "Asked", "QueueState"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Asked:
    """One question as queued: its number (1, 2, ... in the order submitted), its text, and whether it had to
    wait for an earlier one (its answer then says which question it answers)."""

    number: int
    text: str
    waited: bool


@dataclass(frozen=True)
class QueueState:
    """What the queue is doing: the question being answered (None when idle) and those waiting, in order."""

    answering: str | None = None
    waiting: tuple[str, ...] = ()

    def describe(self) -> str:
        """One line for the page ("" when idle); the questions are the user's own words, escape them to show."""
        if self.answering is None:
            return ""
        if not self.waiting:
            return f"Answering: {self.answering}"
        return f"Still answering: {self.answering} ({len(self.waiting)} more queued, answered in order)"


class AskQueue:
    """A FIFO of questions with one worker thread, started on the first question and ended by ``close``."""

    def __init__(self, work: Callable[[str], Any], deliver: Callable[[Asked, Any], None],
                 notify: Callable[[QueueState], None] | None = None, *,
                 before: Callable[[Asked], None] | None = None, name: str = "promv5-ask") -> None:
        self._work = work
        self._deliver = deliver
        self._notify = notify
        self._before = before
        self._name = name
        self._cond = threading.Condition()
        self._waiting: deque[Asked] = deque()
        self._submitted = 0  # numbers given
        self._delivered = 0  # the last number delivered (checked: one worker, one FIFO)
        self._answering: str | None = None
        self._unfinished = 0  # queued or being answered, until its answer is delivered
        self._closed = False
        self._thread: threading.Thread | None = None

    def _snapshot(self) -> QueueState:
        return QueueState(self._answering, tuple(a.text for a in self._waiting))

    @property
    def state(self) -> QueueState:
        with self._cond:
            return self._snapshot()

    def submit(self, question: str) -> int:
        """Queue ``question``; returns how many questions are ahead of it (0: it is answered right away)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the question queue is closed (the browser session ended)")
            ahead = self._unfinished
            self._submitted += 1
            asked = Asked(self._submitted, question, ahead > 0)
            if self._before is not None:
                try:
                    self._before(asked)
                except Exception:  # the question is still answered; its own message is what failed
                    log.exception("could not show a question")
            self._waiting.append(asked)
            self._unfinished += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._cond.notify_all()  # the worker, and not only a join() waiting on the same condition
            if ahead and self._answering is not None:
                self._tell(self._snapshot())
        return ahead

    def _tell(self, state: QueueState) -> None:
        if self._notify is None:
            return
        try:
            self._notify(state)
        except Exception:  # a status line that cannot be shown must not stop the answers
            log.exception("could not show the question queue's state")

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                asked = self._waiting.popleft()
                self._answering = asked.text
                self._tell(self._snapshot())
            try:
                shown: Any = self._work(asked.text)
            except Exception as exc:  # noqa: BLE001 - delivered as the answer: the page shows it as a message
                shown = exc
            with self._cond:
                self._answering = None
                if self._closed:
                    return
            if asked.number != self._delivered + 1:  # cannot happen (one FIFO, one worker): say so if it does
                log.error("question %d answered after %d: the queue is out of order", asked.number, self._delivered)
            self._delivered = asked.number
            try:
                self._deliver(asked, shown)
            except Exception:  # one undeliverable answer must not stop the questions behind it
                log.exception("could not show the answer to a queued question")
            with self._cond:
                self._unfinished -= 1
                if self._unfinished == 0:
                    self._tell(QueueState())
                self._cond.notify_all()

    def join(self, timeout_s: float = 30.0) -> bool:
        """Wait until every queued question is answered and delivered; True when the queue is idle."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unfinished == 0 or self._closed, timeout_s)

    def close(self) -> None:
        """Drop what still waits and end the worker after its current question (its answer is not shown)."""
        with self._cond:
            self._closed = True
            self._waiting.clear()
            self._cond.notify_all()
