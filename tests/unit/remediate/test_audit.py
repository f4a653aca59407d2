"""The audit log: hash chain, tamper detection (edit/delete/reorder), durability under SIGKILL, no secrets."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from promv5_lab.errors import InputError
from promv5_lab.remediate.audit import GENESIS, AuditEntry, AuditLog, redact


def _fill(log: AuditLog, n: int = 5) -> list[AuditEntry]:
    return [log.append({"actor": "test", "kind": "decision", "policy": "p", "target": f"svc{i}",
                        "action": "demo:restart", "detail": {"i": i}}) for i in range(n)]


def test_append_chains_and_reads_back(tmp_path):
    log = AuditLog(tmp_path / "a.db")
    made = _fill(log, 4)
    assert [e.seq for e in made] == [1, 2, 3, 4]
    assert made[0].prev_hash == GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(made, made[1:]))
    back = log.entries()
    assert back == made
    assert back[2].detail == {"i": "2"}  # detail values are strings
    assert log.verify().ok and log.verify().entries == 4
    assert isinstance(back[0].at, datetime) and back[0].at.tzinfo is not None


def test_entries_time_window_and_filters(tmp_path):
    log = AuditLog(tmp_path / "a.db")
    t0 = datetime(2026, 11, 27, 12, tzinfo=timezone.utc)
    for i in range(5):
        log.append({"actor": "t", "kind": "execution" if i % 2 else "decision", "at": t0 + timedelta(minutes=i),
                    "target": "x"})
    assert [e.seq for e in log.entries(t0 + timedelta(minutes=1), t0 + timedelta(minutes=3))] == [2, 3, 4]
    assert [e.seq for e in log.entries(kind="execution")] == [2, 4]
    assert [e.seq for e in log.entries(limit=2)] == [4, 5]


def test_bad_entries_are_refused(tmp_path):
    log = AuditLog(tmp_path / "a.db")
    with pytest.raises(InputError, match="kind"):
        log.append({"actor": "x", "kind": "whatever"})
    with pytest.raises(InputError, match="actor"):
        log.append({"kind": "note"})
    with pytest.raises(InputError, match="Unknown audit entry field"):
        log.append({"actor": "x", "kind": "note", "colour": "red"})
    assert len(log) == 0


def _raw(path):
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("DROP TRIGGER entries_no_delete")
    return db


def test_the_table_refuses_update_and_delete(tmp_path):
    log = AuditLog(tmp_path / "a.db")
    _fill(log, 2)
    db = sqlite3.connect(str(tmp_path / "a.db"))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("UPDATE entries SET target='evil' WHERE seq=1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        db.execute("DELETE FROM entries WHERE seq=1")


@pytest.mark.parametrize("tamper, expect", [
    ("UPDATE entries SET target='evil' WHERE seq=3", "edited"),
    ("UPDATE entries SET detail='{\"i\":\"9\"}' WHERE seq=2", "edited"),
    ("DELETE FROM entries WHERE seq=3", "deleted"),
    ("DELETE FROM entries WHERE seq=5", "tail"),
    # reorder: entries 2 and 3 swap places (each keeps its own content and hash)
    (("UPDATE entries SET seq = CASE seq WHEN 2 THEN 1002 WHEN 3 THEN 1003 END WHERE seq IN (2,3);"
      "UPDATE entries SET seq = CASE seq WHEN 1002 THEN 3 WHEN 1003 THEN 2 END WHERE seq IN (1002,1003)"), "seq"),
])
def test_verify_detects_tampering(tmp_path, tamper, expect):
    path = tmp_path / "a.db"
    log = AuditLog(path)
    _fill(log, 5)
    log.close()
    db = _raw(path)
    for stmt in tamper.split(";"):
        db.execute(stmt)
    db.close()
    res = AuditLog(path).verify()
    assert not res.ok
    assert any(expect in p for p in res.problems), res.problems
    assert res.first_bad_seq is not None and "TAMPERED" in res.describe()


def test_expected_head_catches_a_rewritten_chain(tmp_path):
    log = AuditLog(tmp_path / "a.db")
    _fill(log, 3)
    head = log.verify().head
    assert log.verify(expect_head=head).ok
    assert not log.verify(expect_head="f" * 64).ok


def test_secrets_never_stored(tmp_path):
    log = AuditLog(tmp_path / "a.db", secrets=["s3cr3t-T0KEN"])
    e = log.append({"actor": "heal", "kind": "execution", "target": "checkout",
                    "detail": {"url": "https://bob:hunter2@hooks.example/x?t=s3cr3t-T0KEN",
                               "Authorization": "Bearer abcdefghijkl", "note": "used token Bearer abcdefghijkl",
                               "password": "pw", "body": {"k": "s3cr3t-T0KEN"}}})
    raw = (tmp_path / "a.db").read_bytes() + (tmp_path / "a.db-wal").read_bytes()
    for secret in (b"s3cr3t-T0KEN", b"hunter2", b"abcdefghijkl"):
        assert secret not in raw
    assert e.detail["Authorization"] == "[redacted]" and e.detail["password"] == "[redacted]"
    assert "bob" not in e.detail["url"] and "hooks.example/x" in e.detail["url"]
    assert log.verify().ok


def test_untrusted_text_is_stored_as_data(tmp_path):
    nasty = "x; rm -rf /\n$(reboot)\x00{{7*7}}../../etc/passwd"
    log = AuditLog(tmp_path / "a.db")
    log.append({"actor": "heal", "kind": "detection", "target": nasty, "detail": {"label": nasty}})
    e = log.entries()[0]
    assert e.target == nasty and e.detail["label"] == nasty
    assert log.verify().ok


def test_redact_is_pure():
    d = {"token": "abc", "x": 1}
    assert redact(d) == {"token": "[redacted]", "x": "1"}
    assert d == {"token": "abc", "x": 1}


WRITER = """
import sys
from promv5_lab.remediate.audit import AuditLog
log = AuditLog(sys.argv[1])
for i in range(100000):
    e = log.append({"actor": "writer", "kind": "note", "target": "t%d" % i, "detail": {"i": i, "pad": "x" * 200}})
    sys.stdout.write("%d\\n" % e.seq)
    sys.stdout.flush()
"""


def test_sigkill_mid_write_loses_no_committed_entry(tmp_path):
    path = tmp_path / "a.db"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True)
    committed: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while len(committed) < 300 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            committed.append(int(line))
        assert len(committed) >= 300, "the writer did not get going"
        os.kill(proc.pid, signal.SIGKILL)  # mid-stream: it is writing the next entries right now
    finally:
        proc.wait(timeout=30)
        rest = proc.stdout.read()
    committed += [int(x) for x in rest.split()]
    assert proc.returncode == -signal.SIGKILL
    log = AuditLog(path)
    seqs = [e.seq for e in log.entries()]
    assert set(committed) <= set(seqs), "an entry reported as committed was lost"
    assert seqs == list(range(1, len(seqs) + 1))
    res = log.verify()
    assert res.ok, res.problems
    assert json.loads(json.dumps([e.to_json() for e in log.entries(limit=1)]))[0]["seq"] == seqs[-1]
