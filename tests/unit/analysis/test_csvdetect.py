"""``promv5-lab detect IN.csv --out OUT.csv``: NAB CSV in, online scores out; bad CSVs are clear errors."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import typer
from typer.testing import CliRunner

from promv5_lab.analysis.cli import register
from promv5_lab.analysis.csvdetect import detect_csv, read_nab_csv
from promv5_lab.analysis.online import NAB_THRESHOLD, score_series
from promv5_lab.errors import InputError


def _write(path, rows, header="timestamp,value"):
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows))
    return path


def _series(n=600, spike=450):
    v = 50 + np.random.default_rng(3).standard_normal(n)
    v[spike] += 20
    stamps = [f"2014-04-{1 + i // 288:02d} {(i % 288) * 5 // 60:02d}:{(i % 288) * 5 % 60:02d}:00" for i in range(n)]
    return stamps, v


@pytest.fixture()
def app():
    a = typer.Typer()
    register(a)

    @a.command("noop")
    def _noop() -> None:  # a second command keeps typer in sub-command mode
        pass

    return a


def test_cli_writes_scores_and_flags(tmp_path, app):
    stamps, v = _series()
    src = _write(tmp_path / "in.csv", zip(stamps, v))
    out = tmp_path / "out.csv"
    res = CliRunner().invoke(app, ["detect", str(src), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "600 rows scored" in res.output
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == ["timestamp", "value", "anomaly_score", "is_anomaly"]
    assert [r["timestamp"] for r in rows] == stamps
    scores = np.array([float(r["anomaly_score"]) for r in rows])
    flags = np.array([int(r["is_anomaly"]) for r in rows])
    assert np.all((scores >= 0) & (scores <= 1))
    assert flags[450] == 1 and int(np.argmax(scores)) == 450
    assert np.array_equal(flags, (scores >= NAB_THRESHOLD).astype(int))  # the NAB-tuned default
    # the CLI writes the scores of the online ensemble (10 decimals)
    _, t, vals = read_nab_csv(src)
    np.testing.assert_allclose(scores, score_series(t, vals), atol=1e-10)
    res = CliRunner().invoke(app, ["detect", str(src), "--out", str(out), "--threshold", "0.99"])
    assert res.exit_code == 0, res.output
    strict = np.array([int(r["is_anomaly"]) for r in csv.DictReader(out.open())])
    assert strict.sum() < flags.sum() and np.array_equal(strict, (scores >= 0.99).astype(int))


def test_threshold_option_and_help(tmp_path, app):
    stamps, v = _series()
    src = _write(tmp_path / "in.csv", zip(stamps, v))
    summary = detect_csv(src, tmp_path / "o.csv", threshold=0.0)
    assert summary["flags"] == 600
    res = CliRunner().invoke(app, ["detect", "--help"])
    assert res.exit_code == 0 and "--out" in res.output and "only earlier rows" in res.output


@pytest.mark.parametrize("content, message", [
    ("", "is empty"),
    ("time,val\n2014-04-01 00:00:00,1\n", "no 'timestamp' and 'value'"),
    ("timestamp,value\n", "no rows"),
    ("timestamp,value\n2014-04-01 00:00:00,abc\n", ":2: value 'abc' is not a number"),
    ("timestamp,value\nyesterday,1\n", ":2: cannot read timestamp 'yesterday'"),
    ("timestamp,value\n2014-04-01 00:00:00,1\n2014-04-01 00:05:00\n", ":3: expected 2 fields"),
    ("timestamp,value\n2014-04-01 00:00:00,inf\n", "is infinite"),
])
def test_bad_csv_is_a_clear_error(tmp_path, content, message):
    src = tmp_path / "bad.csv"
    src.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        detect_csv(src, tmp_path / "o.csv")
    assert err.value.hint and "timestamp,value" in err.value.hint


def test_missing_file_and_unwritable_output(tmp_path):
    with pytest.raises(InputError, match="cannot open"):
        detect_csv(tmp_path / "nope.csv", tmp_path / "o.csv")
    stamps, v = _series(200, spike=150)
    src = _write(tmp_path / "in.csv", zip(stamps, v))
    with pytest.raises(InputError, match="cannot write"):
        detect_csv(src, tmp_path / "no-such-dir" / "o.csv")
    with pytest.raises(InputError, match="threshold"):
        detect_csv(src, tmp_path / "o.csv", threshold=2.0)


def test_empty_values_are_missing_samples(tmp_path):
    stamps, v = _series(300, spike=250)
    rows = [(s, "" if 200 <= i < 210 else x) for i, (s, x) in enumerate(zip(stamps, v))]
    src = _write(tmp_path / "in.csv", rows)
    _, _, vals = read_nab_csv(src)
    assert np.isnan(vals[200:210]).all() and np.isfinite(vals[:200]).all()
    detect_csv(src, tmp_path / "o.csv")
    out = list(csv.DictReader((tmp_path / "o.csv").open()))
    assert out[205]["value"] == ""
