"""Non-finite benchmark values are failed evaluations: recorded, never best, strict JSON out."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from search.run import main
from tests.search.cli_helpers import history, strict_load, write_table

ALGOS = ("random", "evolution", "local")


def _every_other(bad: float):
    def edit(values):
        out = values.copy()
        out[::2] = bad  # half the table, the best cell's neighbourhood included
        return out

    return edit


def _run(tmp_path, table, budget=40):
    out = tmp_path / "out"
    code = main(["--path", str(table), "--algorithm", ",".join(ALGOS), "--budget", str(budget),
                 "--seeds", "0-1", "--out", str(out), "--quiet"])
    return code, out


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_values_are_failed_queries(bad, tmp_path, capsys):
    table = write_table(tmp_path / "t.csv", _every_other(bad))
    code, out = _run(tmp_path, table)
    assert code == 0, capsys.readouterr().err
    summ = strict_load(out / "summary.json")  # no NaN / Infinity literals
    finite = np.array([v for v in np.loadtxt(table, delimiter=",", skiprows=1, usecols=1,
                                             converters={1: float}) if math.isfinite(v)])
    assert summ["optimum"] == pytest.approx(finite.max())
    for run in summ["runs"]:
        lines = history(out, run["algorithm"], run["seed"])
        failed = [r for r in lines if r.get("failed")]
        assert failed and all(r["value"] is None for r in failed)
        ok = [r["value"] for r in lines if not r.get("failed")]
        assert all(math.isfinite(v) for v in ok)
        assert run["n_failed"] == len(failed)
        assert run["best_value"] == max(ok)  # a failed query is never the best
        assert lines[run["queries_to_best"] - 1]["value"] == max(ok)
    with open(out / "runs.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 40 * 2 * len(ALGOS)
    assert {r["value"] for r in rows if r["failed"] == "1"} == {""}
    assert (out / "best_vs_queries.png").read_bytes()[:4] == b"\x89PNG"


def test_all_failed_table_reports_no_best(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv", lambda v: np.full_like(v, np.nan))
    code, out = _run(tmp_path, table, budget=10)
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summ = strict_load(out / "summary.json")
    assert summ["optimum"] is None
    for run in summ["runs"]:
        assert run["best_value"] is None and run["best_arch"] is None
        assert run["n_failed"] == run["n_queries"] == 10
    for agg in summ["aggregate"].values():
        assert agg["best_value_median"] is None and agg["n_failed"] == 20
    assert (out / "best_vs_queries.png").read_bytes()[:4] == b"\x89PNG"
    assert "Search summary" in captured.out


def test_failed_queries_resume_exactly(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv", _every_other(math.nan))
    argv = ["--path", str(table), "--algorithm", "evolution", "--budget", "30", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "ref")]) == 0
    hist = tmp_path / "cut" / "evolution" / "seed0" / "history.jsonl"
    assert main([*argv, "--out", str(tmp_path / "cut")]) == 0
    lines = hist.read_text().splitlines(keepends=True)
    hist.write_text("".join(lines[:17]))  # as if killed after 17 queries
    assert main([*argv, "--out", str(tmp_path / "cut"), "--resume"]) == 0, \
        capsys.readouterr().err
    strip = [{k: v for k, v in r.items() if k != "time"}
             for r in history(tmp_path / "cut", "evolution", 0)]
    ref = [{k: v for k, v in r.items() if k != "time"}
           for r in history(tmp_path / "ref", "evolution", 0)]
    assert strip == ref and any(r.get("failed") for r in ref)
