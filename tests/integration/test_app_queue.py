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
