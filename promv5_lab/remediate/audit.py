"""The audit log: append-only, durable, hash-chained record of everything remediation decides and does.

Storage is one SQLite file in WAL mode with ``synchronous=FULL``: an entry that ``append`` returned is on
disk and survives a SIGKILL or a power cut; an entry being written when the process dies is either all
there or not there at all. Every entry carries the SHA-256 of its predecessor (``prev_hash``) and its own
``hash`` over all its fields, so :meth:`AuditLog.verify` detects an edited, deleted or reordered entry.
A ``head`` row, written in the same transaction as each entry, records the last sequence number and hash
so that deleting entries from the tail is caught too (an attacker who rewrites *every* later hash and the
head can forge a log: keep a copy of ``verify().head`` elsewhere and pass it as ``expect_head``).

Triggers refuse ``UPDATE`` and ``DELETE`` on the entries table, so the log is append-only through SQLite.

Secrets never enter the log: every ``detail`` passes through :func:`redact` (keys that look like
credentials, values equal to a registered secret, ``Bearer ...`` tokens and ``user:password@`` in URLs).

::

    log = AuditLog("audit.db")
    e = log.append({"actor": "heal", "kind": "decision", "policy": "restart-pool", "target": "checkout",
                    "action": "demo:restart", "detail": {"why": "pool saturated"}})
    log.entries(start=e.at)          # -> [AuditEntry(seq=1, ...)]
    log.verify().ok                   # -> True
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from ..errors import AuditError, ConfigError, InputError
from ..types import as_utc

__all__ = ["ENTRY_KINDS", "GENESIS", "AuditEntry", "AuditLog", "VerifyResult", "redact", "scrub"]

log = logging.getLogger(__name__)

GENESIS = "0" * 64
ENTRY_KINDS = ("detection", "decision", "plan", "dry_run", "approval", "rejection", "execution", "verification",
               "rollback", "outcome", "note")
EntryKind = Literal["detection", "decision", "plan", "dry_run", "approval", "rejection", "execution",
                    "verification", "rollback", "outcome", "note"]
REDACTED = "[redacted]"

_SECRET_KEY = re.compile(r"(pass(word|wd)?|secret|token|authori[sz]ation|api[_-]?key|cookie|credential|private)",
                         re.IGNORECASE)
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")
_URL_CREDS = re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@")


@dataclass(frozen=True)
class AuditEntry:
    """One recorded fact: who (``actor``) did or decided what (``kind``/``action``) to what, when, why.

    ``run_id`` ties together the entries of one recovery (detection ... outcome). ``detail`` holds the
    evidence as strings (the PromQL, its values, the planned request, the response).
    """

    seq: int
    at: datetime
    actor: str
    kind: str
    policy: str = ""
    target: str = ""
    action: str = ""
    dry_run: bool = True
    outcome: str = ""
    detail: dict[str, str] = field(default_factory=dict)
    run_id: str = ""
    prev_hash: str = ""
    hash: str = ""

    def payload(self) -> dict[str, Any]:
        """The fields the hash covers, in a JSON-ready form."""
        return {"seq": self.seq, "at": _iso(self.at), "actor": self.actor, "kind": self.kind,
                "policy": self.policy, "target": self.target, "action": self.action, "dry_run": bool(self.dry_run),
                "outcome": self.outcome, "detail": dict(self.detail), "run_id": self.run_id,
                "prev_hash": self.prev_hash}

    def compute_hash(self) -> str:
        return hashlib.sha256(_canonical(self.payload()).encode()).hexdigest()

    def to_json(self) -> dict[str, Any]:
        return {**self.payload(), "hash": self.hash}


@dataclass(frozen=True)
class VerifyResult:
    """What :meth:`AuditLog.verify` found. ``ok`` is False when any problem was seen."""

    ok: bool
    entries: int
    head: str
    problems: tuple[str, ...] = ()
    first_bad_seq: int | None = None

    def describe(self) -> str:
        if self.ok:
            return f"audit log OK: {self.entries} entries, chain intact, head {self.head[:16]}"
        return (f"audit log TAMPERED: {len(self.problems)} problem(s), first at seq {self.first_bad_seq}:\n  "
                + "\n  ".join(self.problems[:20]))


def _iso(t: datetime) -> str:
    return as_utc(t).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def redact(detail: Mapping[str, Any] | None, secrets: Iterable[str] = ()) -> dict[str, str]:
    """A copy of ``detail`` as ``str -> str`` with credentials replaced by ``[redacted]``.

    Keys that name a credential lose their value; any known ``secrets`` (at least 4 characters) are cut
    out of every value; bearer tokens and ``user:password@`` in URLs are masked.
    """
    known = sorted({s for s in secrets if isinstance(s, str) and len(s) >= 4}, key=len, reverse=True)
    out: dict[str, str] = {}
    for k, v in (detail or {}).items():
        key = str(k)
        if _SECRET_KEY.search(key):
            out[key] = REDACTED
            continue
        text = v if isinstance(v, str) else _canonical(v) if isinstance(v, (dict, list, tuple)) else str(v)
        out[key] = scrub(text, known)
    return out


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with known secrets, bearer tokens and URL credentials masked."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, REDACTED)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    return _URL_CREDS.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL, policy TEXT NOT NULL,
    target TEXT NOT NULL, action TEXT NOT NULL, dry_run INTEGER NOT NULL, outcome TEXT NOT NULL,
    detail TEXT NOT NULL, run_id TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS entries_at ON entries(at);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
_COLS = "seq, at, actor, kind, policy, target, action, dry_run, outcome, detail, run_id, prev_hash, hash"
_DRAFT_FIELDS = {f.name for f in fields(AuditEntry)} - {"seq", "prev_hash", "hash"}


class AuditLog:
    """An append-only, hash-chained audit log in one SQLite file (created on first use).

    Safe to share between threads and processes (SQLite serialises writers). ``secrets`` are values
    that must never be stored (tokens from ``--var``, passwords); they are masked in every entry.
    """

    def __init__(self, path: str | Path, *, secrets: Iterable[str] = (), timeout_s: float = 30.0) -> None:
        self.path = Path(path).expanduser()
        self._secrets = {s for s in secrets if s}
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(_SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"Cannot open the audit log {self.path}: {exc}",
                              hint="Pass --log PATH to a writable file (it is created if missing)") from exc

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Register more values to mask (e.g. tokens resolved from variables)."""
        self._secrets |= {s for s in secrets if s}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> AuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"AuditLog({str(self.path)!r})"

    # ------------------------------------------------------------------ writing
    def append(self, entry: AuditEntry | Mapping[str, Any]) -> AuditEntry:
        """Store one entry durably and return it with its ``seq``, ``prev_hash`` and ``hash`` filled in.

        ``entry`` is an :class:`AuditEntry` (its seq/hashes are ignored) or a mapping with at least
        ``actor`` and ``kind``; ``at`` defaults to now. Returns only after the entry is on disk.
        """
        raw = entry.__dict__ if isinstance(entry, AuditEntry) else dict(entry)
        unknown = set(raw) - _DRAFT_FIELDS - {"seq", "prev_hash", "hash"}
        if unknown:
            raise InputError(f"Unknown audit entry field(s): {', '.join(sorted(unknown))}",
                             hint=f"Fields: {', '.join(sorted(_DRAFT_FIELDS))}")
        kind = str(raw.get("kind", ""))
        if kind not in ENTRY_KINDS:
            raise InputError(f"Unknown audit entry kind {kind!r}", hint=f"Kinds: {', '.join(ENTRY_KINDS)}")
        if not raw.get("actor"):
            raise InputError("An audit entry needs an actor (who decided or did it)")
        secrets = self._secrets
        at = as_utc(raw.get("at") or datetime.now(timezone.utc))
        clean = {k: scrub(str(raw.get(k, "") or ""), secrets) for k in ("actor", "policy", "target", "action",
                                                                         "outcome", "run_id")}
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                row = cur.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (row[0] + 1, row[1]) if row else (1, GENESIS)
                draft = AuditEntry(seq=seq, at=at, kind=kind, dry_run=bool(raw.get("dry_run", True)),
                                   detail=redact(raw.get("detail"), secrets), prev_hash=prev, **clean)
                done = AuditEntry(**{**draft.__dict__, "hash": draft.compute_hash()})
                cur.execute(f"INSERT INTO entries ({_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", _row(done))
                cur.execute("INSERT OR REPLACE INTO head (id, seq, hash) VALUES (1, ?, ?)", (seq, done.hash))
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return done

    def record(self, kind: EntryKind, *, actor: str, **fields_: Any) -> AuditEntry:
        """``append`` with keyword arguments."""
        return self.append({"kind": kind, "actor": actor, **fields_})

    # ------------------------------------------------------------------ reading
    def entries(self, start: datetime | str | float | None = None, end: datetime | str | float | None = None, *,
                kind: str | None = None, policy: str | None = None, target: str | None = None,
                run_id: str | None = None, limit: int | None = None) -> list[AuditEntry]:
        """Entries in ``[start, end]`` (UTC), oldest first, optionally filtered."""
        where, args = [], []
        if start is not None:
            where.append("at >= ?")
            args.append(_iso(as_utc(start)))
        if end is not None:
            where.append("at <= ?")
            args.append(_iso(as_utc(end)))
        for col, val in (("kind", kind), ("policy", policy), ("target", target), ("run_id", run_id)):
            if val is not None:
                where.append(f"{col} = ?")
                args.append(val)
        sql = f"SELECT {_COLS} FROM entries" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq"
        if limit is not None:
            sql = f"SELECT * FROM ({sql[:-len(' ORDER BY seq')]} ORDER BY seq DESC LIMIT {int(limit)}) ORDER BY seq"
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        out = []
        for r in rows:
            try:
                out.append(_entry(r))
            except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
                raise AuditError(f"Entry {r[0]!r} of the audit log {self.path} cannot be read ({exc})",
                                 hint=f"The log was edited outside promv5-lab: promv5-lab audit verify --log {self.path}"
                                 ) from None
        return out

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    def verify(self, expect_head: str | None = None) -> VerifyResult:
        """Walk the chain: contiguous seq from 1, each prev_hash the previous hash, each hash recomputed."""
        problems: list[str] = []
        first_bad: int | None = None

        def bad(seq: int, msg: str) -> None:
            nonlocal first_bad
            problems.append(f"seq {seq}: {msg}")
            first_bad = seq if first_bad is None else min(first_bad, seq)

        with self._lock:
            rows = self._db.execute(f"SELECT {_COLS} FROM entries ORDER BY rowid").fetchall()
            head = self._db.execute("SELECT seq, hash FROM head WHERE id = 1").fetchone()
        prev, expected_seq, n = GENESIS, 1, 0
        for r in rows:
            n += 1
            try:
                e = _entry(r)
            except (ValueError, TypeError, json.JSONDecodeError) as exc:
                bad(int(r[0]) if isinstance(r[0], int) else expected_seq, f"unreadable entry ({exc})")
                continue
            if e.seq != expected_seq:
                bad(e.seq, f"expected seq {expected_seq} (entries deleted or reordered)")
            if e.prev_hash != prev:
                bad(e.seq, "prev_hash does not match the previous entry (deleted, inserted or reordered)")
            if e.compute_hash() != e.hash:
                bad(e.seq, "content does not match its hash (edited)")
            prev, expected_seq = e.hash, e.seq + 1
        last_seq = expected_seq - 1
        if head is None:
            if rows:
                bad(1, "the head record is missing")
        elif head[0] != last_seq or head[1] != prev:
            bad(min(head[0], last_seq) + 1 if head[0] != last_seq else last_seq,
                f"head says seq {head[0]} but the chain ends at seq {last_seq} (entries deleted from the tail)")
        if expect_head is not None and expect_head != prev:
            bad(last_seq, "the chain's head differs from the expected head hash")
        return VerifyResult(not problems, n, prev, tuple(problems), first_bad)


def _row(e: AuditEntry) -> tuple:
    return (e.seq, _iso(e.at), e.actor, e.kind, e.policy, e.target, e.action, int(e.dry_run), e.outcome,
            _canonical(e.detail), e.run_id, e.prev_hash, e.hash)


def _entry(r: tuple) -> AuditEntry:
    detail = json.loads(r[9])
    if not isinstance(detail, dict):
        raise TypeError("detail is not an object")
    return AuditEntry(seq=int(r[0]), at=as_utc(r[1]), actor=r[2], kind=r[3], policy=r[4], target=r[5], action=r[6],
                      dry_run=bool(r[7]), outcome=r[8], detail={str(k): str(v) for k, v in detail.items()},
                      run_id=r[10], prev_hash=r[11], hash=r[12])
