"""Every exception class the package defines is in the Promv5Error tree, or is a private control-flow
exception that the module translates before it reaches a caller (listed below with where that happens).

The classes are found by reading every module's source (a class whose base is an exception, followed
across modules until nothing new turns up), then checked on the imported class, so a new
``class FooError(Exception)`` anywhere in the package fails here until it joins the tree.
"""

from __future__ import annotations

import ast
import builtins
import functools
import importlib
import sqlite3
from pathlib import Path

import pytest

import promv5_lab
from promv5_lab import errors as E

PACKAGE = Path(promv5_lab.__file__).parent

# Internal exceptions: never leave their module's boundary (translated into the tree where named).
INTERNAL = {
    "promv5_lab.backends.http.HttpStatusError": "ResponseGuard -> map_status() -> BackendError subclasses",
    "promv5_lab.backends.http.BodyTooLarge": "translated to ResultTooLarge/BackendError in backends.http",
    "promv5_lab.backends.http.BodyTimeout": "translated to BackendUnavailable in backends.http",
    "promv5_lab.backends.embedded.values.EvalError": "EmbeddedBackend -> QueryError (embedded/backend.py)",
    "promv5_lab.backends.embedded.server.APIError": "the embedded HTTP API's JSON error answer",
    "promv5_lab.backends.alert_webhook._Busy": "the webhook receiver's 503 answer",
    "promv5_lab.backends.signals.http._Missing": "JsonHttp.get(missing_ok=True) -> None",
    "promv5_lab.demo.server._ApiError": "the demo server's JSON error answer",
}

_BUILTIN_EXC = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)}


def _base_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _exception_classes() -> dict[str, list[str]]:
    """module -> names of classes that derive (by name, across modules) from an exception."""
    classes: list[tuple[str, str, list[str]]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "labextension" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes.append((_module_name(path), node.name, [_base_name(b) for b in node.bases]))
    known = set(_BUILTIN_EXC) | set(E.__all__)
    while True:
        grew = {name for _mod, name, bases in classes if name not in known and any(b in known for b in bases)}
        if not grew:
            break
        known |= grew
    found: dict[str, list[str]] = {}
    for mod, name, bases in classes:
        if any(b in known for b in bases):
            found.setdefault(mod, []).append(name)
    return found


@functools.cache
def _resolved() -> list[tuple[str, type]]:
    out = []
    for mod, names in _exception_classes().items():
        module = importlib.import_module(mod)
        for name in names:
            cls = getattr(module, name)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                out.append((f"{mod}.{name}", cls))
    return out


def test_the_walk_finds_the_known_classes():
    names = {n for n, _ in _resolved()}
    # a walk that finds nothing would pass everything: these must be among what it found
    assert {"promv5_lab.errors.PolicyError", "promv5_lab.errors.QueryError",
            "promv5_lab.backends.http.HttpStatusError", "promv5_lab.server.sessions.Busy"} <= names
    assert len(names) >= len(E.__all__) + len(INTERNAL)


def test_every_package_error_is_in_the_tree_or_internal():
    outside = [name for name, cls in _resolved() if not issubclass(cls, E.Promv5Error) and name not in INTERNAL]
    assert not outside, f"derive these from promv5_lab.errors.Promv5Error (or translate them and list them): {outside}"


def test_the_internal_list_is_current():
    resolved = dict(_resolved())
    for name in INTERNAL:
        assert name in resolved, f"{name} no longer exists: drop it from INTERNAL"
        assert not issubclass(resolved[name], E.Promv5Error), f"{name} is in the tree now: drop it from INTERNAL"


def test_no_error_derives_from_base_exception_only():
    for name, cls in _resolved():
        assert issubclass(cls, Exception), f"{name} must derive from Exception, not only BaseException"


@pytest.mark.parametrize("cls_name", E.__all__)
def test_every_public_error_takes_a_message_and_hint(cls_name):
    cls = getattr(E, cls_name)
    if cls is E.MissingDependencyError:
        err = cls("duckdb", "logs")
    elif cls is E.AuthError:
        err = cls("no", status=401, hint="log in")
    elif cls is E.QueryError:
        err = cls("bad", promql="up{", hint="close it")
    elif cls is E.ResultTooLarge:
        err = cls("big", points=20_000, limit=11_000, hint="coarser step")
    else:
        err = cls("what went wrong", hint="what to do")
    assert err.message and err.hint
    assert str(err).endswith(f"Hint: {err.hint}")


def test_remediation_errors_keep_their_import_paths():
    from promv5_lab.remediate import executors, policy

    assert policy.PolicyError is E.PolicyError and issubclass(E.PolicyError, E.ConfigError)
    assert executors.ActionError is E.ActionError and issubclass(E.ActionError, E.Promv5Error)
    assert "PolicyError" in E.__doc__ and "ActionError" in E.__doc__ and "AuditError" in E.__doc__


def test_an_unreadable_audit_entry_is_an_audit_error(tmp_path):
    """A hand-edited entry (detail no longer a JSON object) reads as AuditError naming the fix."""
    from promv5_lab.remediate.audit import AuditLog

    path = tmp_path / "a.db"
    with AuditLog(path) as log:
        log.append({"actor": "t", "kind": "note", "detail": {"i": "1"}})
    db = sqlite3.connect(str(path), isolation_level=None)
    db.execute("DROP TRIGGER entries_no_update")
    db.execute("UPDATE entries SET detail='[1, 2]' WHERE seq=1")
    db.close()
    with AuditLog(path) as log:
        with pytest.raises(E.AuditError, match="cannot be read") as info:
            log.entries()
        assert "audit verify" in info.value.hint
        assert not log.verify().ok  # verify still reports it as a problem rather than raising
