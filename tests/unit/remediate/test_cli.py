"""``heal`` and ``audit`` commands: clear errors, exit codes, tamper detection from the command line."""

from __future__ import annotations

import sqlite3

import pytest

from promv5_lab.remediate.audit import AuditLog
from promv5_lab.remediate.chaos import POLICIES
from promv5_lab.remediate.cli import main


def test_heal_refuses_bad_options(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("PROMV5_BACKEND_URL", raising=False)
    monkeypatch.delenv("ADMIN_URL", raising=False)
    monkeypatch.setenv("PROMV5_CONFIG", str(tmp_path / "none.toml"))
    log = str(tmp_path / "a.db")
    assert main(["heal", "--policies", str(POLICIES), "--log", log, "--approve", "yes"]) == 2
    assert "--approve must be auto or prompt" in capsys.readouterr().err
    assert main(["heal", "--policies", str(POLICIES), "--log", log, "--backend", "http://127.0.0.1:9"]) == 2
    assert "ADMIN_URL" in capsys.readouterr().err
    assert main(["heal", "--policies", str(POLICIES), "--var", "ADMIN_URL=http://x", "--log", log]) == 2
    assert "needs a live backend" in capsys.readouterr().err
    assert main(["heal", "--policies", str(tmp_path / "nope.yaml"), "--backend", "http://127.0.0.1:9"]) == 2
    assert "Cannot read the policy file" in capsys.readouterr().err
    assert main(["heal", "--policies", str(POLICIES), "--var", "oops", "--backend", "http://127.0.0.1:9"]) == 2
    assert "--var NAME=VALUE" in capsys.readouterr().err


def test_heal_reports_an_unreachable_backend_and_keeps_going(tmp_path, capsys):
    code = main(["heal", "--policies", str(POLICIES), "--var", "ADMIN_URL=http://127.0.0.1:9", "--backend",
                 "http://127.0.0.1:9", "--log", str(tmp_path / "a.db"), "--once"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "detection failed" in captured.out and "DRY RUN" in captured.err


def test_audit_verify_and_show(tmp_path, capsys):
    path = tmp_path / "a.db"
    log = AuditLog(path)
    for i in range(3):
        log.append({"actor": "t", "kind": "execution", "policy": "p", "target": f"t{i}\nx", "dry_run": False})
    log.close()
    assert main(["audit", "verify", "--log", str(path)]) == 0
    assert "chain intact" in capsys.readouterr().out
    assert main(["audit", "show", "--log", str(path), "--limit", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and "t1\\nx" in out[0], "control characters are shown escaped, one entry per line"
    assert main(["audit", "show", "--log", str(path), "--json", "--since", "1h"]) == 0
    assert capsys.readouterr().out.count('"hash"') == 3
    db = sqlite3.connect(str(path))
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("UPDATE entries SET target='evil' WHERE seq=2")
    db.commit()
    db.close()
    assert main(["audit", "verify", "--log", str(path)]) == 1
    assert "TAMPERED" in capsys.readouterr().out
    assert main(["audit", "verify", "--log", str(tmp_path / "missing.db")]) == 2
    assert "No audit log" in capsys.readouterr().err


@pytest.mark.parametrize("args", [["heal", "--help"], ["audit", "verify", "--help"], ["audit", "show", "--help"]])
def test_help(args, capsys):
    assert main(args) == 0
    assert "Usage:" in capsys.readouterr().out
