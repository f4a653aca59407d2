"""The error tree: one root, data-carrying subclasses, message + hint."""

from __future__ import annotations

import pytest

from promv5_lab import _deps
from promv5_lab import errors as E


def test_every_error_derives_from_the_root():
    for name in E.__all__:
        cls = getattr(E, name)
        assert issubclass(cls, E.Promv5Error) and issubclass(cls, Exception)


def test_query_error_carries_promql_and_type():
    err = E.QueryError("parse error at char 5", promql="sum(", error_type="bad_data", hint="close the bracket")
    assert err.promql == "sum(" and err.error_type == "bad_data"
    assert str(err) == "parse error at char 5\nHint: close the bracket"
    assert isinstance(err, E.BackendError)


def test_require_names_the_extra():
    with pytest.raises(E.MissingDependencyError) as info:
        _deps.require("definitely_not_a_module_xyz", "vision")
    assert 'promv5-lab[vision]' in str(info.value)
    assert _deps.require("json").dumps([1]) == "[1]"
