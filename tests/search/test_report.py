"""Summaries, tables and plots of finished searches; other benchmarks through the same loop."""

from __future__ import annotations

import json

import numpy as np
import pytest

from search.engine import SearchResult, run_search
from search.report import (
    aggregate,
    best_curves,
    format_table,
    plot,
    strict_json,
    summary,
    write_summary,
)


@pytest.fixture(scope="module")
def results(embedded_bench, embedded_domain):
    return [run_search(a, embedded_bench, 120, s, domain=embedded_domain, stop_at_optimum=True)
            for a in ("random", "local") for s in range(3)]


def test_aggregate_matches_runs(results):
    agg = aggregate(results)
    assert set(agg) == {"random", "local"}
    local = [r for r in results if r.algorithm == "local"]
    assert agg["local"]["n_runs"] == 3
    median = np.median([r.best_value for r in local])
    assert agg["local"]["best_value_median"] == pytest.approx(median)
    reached = sum(r.queries_to_optimum is not None for r in local)
    assert agg["local"]["reached_optimum"] == reached
    if reached < 2:
        assert agg["local"]["queries_to_optimum_median"] is None


def test_best_curves_carry_the_last_value(results):
    curves = best_curves(results, 120)
    assert curves.shape == (6, 120)
    assert np.all(np.diff(curves, axis=1) >= 0)
    for row, r in zip(curves, results, strict=True):
        assert row[-1] == r.best_value


def test_summary_table_and_plot(results, embedded_bench, tmp_path):
    summ = summary(results, embedded_bench.space, {"budget": 120})
    assert len(summ["runs"]) == 6 and summ["config"] == {"budget": 120}
    optimum = embedded_bench.optimum
    text = format_table(summ, optimum=optimum, benchmark="the test table")
    assert f"{optimum:.4f}" in text and "the test table" in text
    assert text.count("\nlocal ") == 4  # 3 runs + 1 aggregate row
    path = plot(results, tmp_path / "p.png", optimum=optimum)
    assert path.read_bytes()[:4] == b"\x89PNG"


def _result(values, name="random", seed=0):
    n = len(values)
    return SearchResult(name, seed, [f"cell{i}" for i in range(n)], np.array(values, dtype=float),
                        np.linspace(0.1, 1.0, n), optimum=3.0)


class _Space:
    @staticmethod
    def to_string(arch):
        return arch


def test_failed_queries_are_never_best(tmp_path):
    nan = float("nan")
    runs = [_result([nan, 1.0, nan, 2.0, nan]), _result([nan, nan, nan], seed=1),
            _result([2.5, nan, 3.0], seed=2)]
    assert [r.best_index for r in runs] == [3, None, 2]
    assert [r.n_failed for r in runs] == [3, 3, 1]
    assert runs[0].best_after(2) == 1.0 and np.isnan(runs[1].best_after(3))
    assert runs[2].queries_to_optimum == 3 and runs[1].queries_to_optimum is None
    summ = summary(runs, _Space(), {"budget": 5})
    assert [r["best_value"] for r in summ["runs"]] == [2.0, None, 3.0]
    assert summ["runs"][1]["best_arch"] is None
    agg = summ["aggregate"]["random"]
    assert agg["best_value_median"] == 2.5 and agg["n_failed"] == 7
    write_summary(summ, tmp_path / "s.json")
    json.loads((tmp_path / "s.json").read_text(), parse_constant=_no_constant)
    assert "-" in format_table(summ)
    assert plot(runs, tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    assert plot(runs[1:2], tmp_path / "none.png").read_bytes()[:4] == b"\x89PNG"


def test_strict_json_replaces_non_finite_numbers():
    obj = {"a": [float("nan"), 1.0, np.float64("inf")], "b": {"c": -float("inf")}, "d": "x"}
    assert strict_json(obj) == {"a": [None, 1.0, None], "b": {"c": None}, "d": "x"}


def _no_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def test_partial_table_stays_inside(nb101_graphs1k):
    import datasets
    from search.domain import Domain

    bench = datasets.load("nasbench101", path=nb101_graphs1k)
    domain = Domain(bench)
    for name in ("evolution", "local"):
        res = run_search(name, bench, 40, seed=0, domain=domain)
        assert res.n_queries == 40 and all(a in bench for a in res.archs)
        assert len({domain.key(a) for a in res.archs}) == 40


def test_report_metric_is_recorded():
    import datasets

    bench = datasets.load("nasbench-graph", dataset="cora")
    res = run_search("evolution", bench, 30, seed=0, metric="valid_perf", report_metrics=("perf",))
    assert res.extra["perf"].tolist() == [bench.query(a, "perf") for a in res.archs]
    entry = res.summary(bench.space)
    assert entry["best_perf"] == bench.query(res.archs[res.best_index], "perf")
