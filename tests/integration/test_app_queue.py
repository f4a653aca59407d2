"""The app's question queue (``ui/app/queue.py``) and the chat box built on it, without a browser: every question
is answered once, in the order asked, also when it arrives while another is being answered, when one fails, or
when showing an answer fails. (The browser test is ``test_app.py::test_questions_sent_while_answering...``.)"""

from __future__ import annotations

import threading
import time

import pytest

from promv5_lab.errors import InputError
from promv5_lab.ui.app.queue import Asked, AskQueue, QueueState


class Recorder:
    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.running = 0
        self.max_running = 0
        self.delivered: list[tuple[str, object, bool]] = []
        self.numbers: list[int] = []  # each delivered question's number
        self.shown_first: list[Asked] = []  # what ``before`` heard, in order
        self.states: list[QueueState] = []
        self.lock = threading.Lock()
        self.started = threading.Event()
        self.release = threading.Event()  # work waits for it (set at once unless a test holds the queue busy)
        self.release.set()

    def work(self, question: str) -> str:
        with self.lock:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        self.started.set()
        assert self.release.wait(20)
        time.sleep(self.delay_s)
        with self.lock:
            self.running -= 1
        if question.startswith("bad"):
            raise InputError(f"cannot answer {question}")
        return f"answer to {question}"

    def deliver(self, asked: Asked, shown: object) -> None:
        self.delivered.append((asked.text, shown, asked.waited))
        self.numbers.append(asked.number)

    def queue(self) -> AskQueue:
        return AskQueue(self.work, self.deliver, self.states.append, before=self.shown_first.append)


def test_questions_sent_while_busy_are_answered_once_each_in_order():
    rec = Recorder(delay_s=0.01)
    rec.release.clear()
    q = rec.queue()
    assert q.submit("q0") == 0
    assert rec.started.wait(5)  # q0 is being answered (and held): the rest arrive while it runs
    ahead = [q.submit(f"q{i}") for i in range(1, 6)]
    rec.release.set()
    assert ahead == [1, 2, 3, 4, 5]
    assert q.join(30)
    assert [d[0] for d in rec.delivered] == [f"q{i}" for i in range(6)]
    assert [d[1] for d in rec.delivered] == [f"answer to q{i}" for i in range(6)]
    assert [d[2] for d in rec.delivered] == [False] + [True] * 5  # the queued ones say which question they answer
    assert rec.numbers == [1, 2, 3, 4, 5, 6]
    assert [(a.number, a.text) for a in rec.shown_first] == [(i + 1, f"q{i}") for i in range(6)]
    assert rec.max_running == 1  # one at a time: a conversation's follow-ups see the turn before them
    assert rec.states[0].describe() == "Answering: q0"
    assert "Still answering: q0 (1 more queued, answered in order)" in rec.states[1].describe()
    assert "(5 more queued" in rec.states[5].describe()
    assert rec.states[-1] == QueueState() and rec.states[-1].describe() == ""
    q.close()


def test_questions_from_many_threads_are_all_answered():
    rec = Recorder(delay_s=0.002)
    q = rec.queue()
    threads = [threading.Thread(target=lambda i=i: [q.submit(f"t{i}-{k}") for k in range(10)]) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert q.join(30)
    asked = sorted(f"t{i}-{k}" for i in range(4) for k in range(10))
    assert sorted(d[0] for d in rec.delivered) == asked and len(rec.delivered) == 40
    assert rec.numbers == list(range(1, 41))  # answered in the order the queue took them, whichever thread sent
    assert [a.text for a in rec.shown_first] == [d[0] for d in rec.delivered]  # shown in that order too
    for i in range(4):  # each sender's own questions keep their order
        mine = [d[0] for d in rec.delivered if d[0].startswith(f"t{i}-")]
        assert mine == [f"t{i}-{k}" for k in range(10)]
    q.close()


def test_a_failing_question_is_delivered_as_its_error_and_the_next_still_runs():
    rec = Recorder()
    q = rec.queue()
    for question in ("bad one", "good one"):
        q.submit(question)
    assert q.join(10)
    (q1, shown1, _), (q2, shown2, _) = rec.delivered
    assert q1 == "bad one" and isinstance(shown1, InputError) and "cannot answer bad one" in shown1.message
    assert (q2, shown2) == ("good one", "answer to good one")
    q.close()


def test_an_answer_that_cannot_be_shown_does_not_stop_the_rest(caplog):
    shown: list[str] = []

    def deliver(asked: Asked, answer: object) -> None:
        if asked.text == "first":
            raise RuntimeError("page gone")
        shown.append(asked.text)

    q = AskQueue(lambda s: s.upper(), deliver)
    q.submit("first")
    q.submit("second")
    assert q.join(10) and shown == ["second"]
    assert "could not show the answer" in caplog.text
    q.close()


def test_close_drops_waiting_questions_and_refuses_new_ones():
    rec = Recorder(delay_s=0.01)
    rec.release.clear()
    q = rec.queue()
    q.submit("running")
    assert rec.started.wait(5)
    q.submit("waiting")
    q.close()
    rec.release.set()
    assert q.join(1)
    time.sleep(0.5)
    assert rec.delivered == []  # the session ended: nothing is shown into a page that is gone
    with pytest.raises(RuntimeError, match="closed"):
        q.submit("late")


def test_chat_box_shows_every_question_and_its_answer_in_order():
    """The Panel chat box outside a server (no event loop: changes apply directly), with a slow session."""
    from promv5_lab.ui.app.layout import chat_box

    class Answer:
        clarification = details = charts = result = None

        def __init__(self, q: str) -> None:
            self.answer, self.promql = f"answer to {q}", f"up{{q={q!r}}}"

    gate = threading.Event()

    class Session:
        def ask(self, question: str) -> Answer:
            assert gate.wait(20)  # the first answer takes until every question is in
            if not question.strip():
                raise InputError("The question is empty", hint="Type a question")
            return Answer(question)

    box_col = chat_box(Session())
    status, feed, row = box_col.objects
    box = row.objects[0]
    for question in ("first", "   ", "<b>third</b>"):
        box.value = question  # what an Enter in the browser does to the box
        box.value = ""
    gate.set()
    deadline = time.monotonic() + 90  # the last answer is shown, then the idle queue clears the status line
    while (len(feed.objects) < 6 or status.visible) and time.monotonic() < deadline:
        time.sleep(0.02)
    users = [m.user for m in feed.objects]
    assert users == ["You", "You", "You", "promv5-lab", "promv5-lab", "promv5-lab"], users
    assert [m.object for m in feed.objects[:3]] == ["first", "   ", "<b>third</b>"]
    flat = [_text(m.object) for m in feed.objects[3:]]
    assert "answer to first" in flat[0] and "Answer to" not in flat[0]
    assert "Answer to" in flat[1] and "The question is empty" in flat[1]
    assert "Answer to" in flat[2] and "answer to &lt;b&gt;third&lt;/b&gt;" in flat[2]  # escaped, not HTML
    assert status.visible is False


def _text(obj) -> str:
    parts = []
    for o in getattr(obj, "objects", None) or [obj]:
        parts.append(_text(o) if hasattr(o, "objects") else str(getattr(o, "object", o)))
    return " ".join(parts)


def test_answer_view_survives_details_it_cannot_show(caplog):
    """Details the renderer cannot read (here a root cause without its kind and evidence; a diagnosis once held
    ``"queries": <a count>`` where a list was expected): the answer, its PromQL and a note still show instead of
    an internal error."""
    from types import SimpleNamespace

    from promv5_lab.ui.app.layout import answer_view

    ans = SimpleNamespace(answer="checkout is slow because of payments", promql="up", clarification=None, charts=None,
                          result=None, details={"analysis": "diagnosis",
                                                                  "diagnosis": {"root_causes": [{"service": "x"}]}})
    view = answer_view(ans)
    shown = _text(view)
    assert "checkout is slow because of payments" in shown and "details could not be shown" in shown
    assert "could not show the answer's details" in caplog.text


class _ServedPage:
    """A served page without a browser: a real Tornado loop on its own thread, and a document stand-in with what
    ``PageUpdates`` uses of Bokeh's (the session's loop and ``with_locked_document``, here one lock)."""

    def __init__(self) -> None:
        import asyncio
        from types import SimpleNamespace

        from tornado.ioloop import IOLoop

        ready = threading.Event()
        self.lock = threading.Lock()
        self.loop = None

        def serve() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())
            self.loop = IOLoop.current()
            self.thread = threading.get_ident()
            ready.set()
            self.loop.start()

        threading.Thread(target=serve, daemon=True, name="fake-page-loop").start()
        assert ready.wait(10)
        page = self

        class Session:
            destroyed = False
            server_context = SimpleNamespace(application_context=SimpleNamespace(io_loop=self.loop))

            async def with_locked_document(self, fn):
                with page.lock:
                    await fn(None)

        self.doc = SimpleNamespace(session_context=Session())

    def stop(self) -> None:
        self.loop.add_callback(self.loop.stop)


def test_page_jobs_run_one_at_a_time_per_lane_and_change_the_page_in_order_on_its_loop(caplog):
    """``work.PageJobs`` on a served page: a lane's jobs run one after the other in the order asked, each one's
    progress line before its result; another lane runs beside it; every page change runs on the page's loop; a
    failing job, a result that cannot be shown and an error that cannot be shown are messages or log lines, and
    the jobs behind them still run."""
    from promv5_lab.ui.app.work import PageJobs, PageUpdates

    served = _ServedPage()
    try:
        updates = PageUpdates(served.doc)
        assert updates.served
        jobs = PageJobs(updates)
        changes: list[str] = []
        threads: set[bool] = set()
        gate = threading.Event()
        running = {"a": 0, "max": 0}
        lock = threading.Lock()

        def change(what: str):
            def fn(*_args) -> None:
                threads.add(threading.get_ident() == served.thread and served.lock.locked())
                changes.append(what)
            return fn

        a1_started = threading.Event()

        def work(name: str, wait: bool = False, fail: bool = False):
            def fn():
                with lock:
                    running["a"] += 1
                    running["max"] = max(running["max"], running["a"])
                try:
                    if name == "a1":
                        a1_started.set()
                    if name == "b1":  # b1 runs while a1 runs: two jobs at once, of two lanes
                        assert a1_started.wait(20)
                    if wait:
                        assert gate.wait(20)
                    if fail:
                        raise InputError(f"{name} failed")
                    return name
                finally:
                    with lock:
                        running["a"] -= 1
            return fn

        def shown(result) -> None:
            change(f"show {result}")()

        def failed(exc) -> None:
            change(f"fail {getattr(exc, 'message', type(exc).__name__)}")()

        def unshowable(_result) -> None:
            raise RuntimeError("cannot show")

        def fail_fails(_exc) -> None:
            raise RuntimeError("cannot show the error either")

        numbers = [jobs.run("a", work("a1", wait=True), shown, fail=failed, busy=change("busy a1")),
                   jobs.run("a", work("a2", fail=True), shown, fail=failed, busy=change("busy a2")),
                   jobs.run("a", work("a3"), unshowable, fail=failed, busy=change("busy a3")),
                   jobs.run("a", work("a4", fail=True), shown, fail=fail_fails),
                   jobs.run("a", work("a5"), shown, fail=failed, busy=change("busy a5"))]
        assert numbers == [1, 2, 3, 4, 5]
        jobs.run("b", work("b1"), shown, fail=failed, busy=change("busy b1"))  # beside lane a, while a1 waits
        deadline = time.monotonic() + 20
        while "show b1" not in changes and time.monotonic() < deadline:
            time.sleep(0.01)
        assert "show b1" in changes and "show a1" not in changes, changes  # b did not wait for a
        gate.set()
        deadline = time.monotonic() + 20
        while not (jobs.idle() and "show a5" in changes) and time.monotonic() < deadline:
            time.sleep(0.01)
        lane_a = [c for c in changes if c.endswith(("a1", "a2", "a3", "a5", "failed", "RuntimeError"))]
        assert lane_a == ["busy a1", "show a1", "busy a2", "fail a2 failed", "busy a3", "fail RuntimeError",
                          "busy a5", "show a5"], changes
        assert changes.index("busy b1") < changes.index("show b1") < changes.index("show a1")
        assert threads == {True}  # every change on the page's loop, under the document's lock
        assert running["max"] == 2  # one job of each lane at once, never two of one lane
        assert "a4" not in " ".join(changes) and "could not be shown" in caplog.text  # the log has it
        jobs.close()
        assert jobs.run("a", work("late"), shown, fail=failed) == 0  # the page is gone: nothing starts
    finally:
        served.stop()


def test_page_jobs_without_a_server_run_at_once():
    """Outside a server (a notebook preview, the app's warm-up) a job runs in the caller: progress, then result."""
    from promv5_lab.ui.app.work import PageJobs, PageUpdates

    jobs = PageJobs(PageUpdates(None))
    seen: list[str] = []
    jobs.run("x", lambda: 41 + 1, lambda r: seen.append(f"show {r}"), fail=lambda e: seen.append(f"fail {e}"),
             busy=lambda: seen.append("busy"))
    jobs.run("x", lambda: 1 / 0, lambda r: seen.append(f"show {r}"), fail=lambda e: seen.append(type(e).__name__))
    assert seen == ["busy", "show 42", "ZeroDivisionError"] and jobs.idle()
