"""Summaries, tables and plots of finished searches; other benchmarks through the same loop."""

from __future__ import annotations

import numpy as np
import pytest

from search.engine import run_search
from search.report import aggregate, best_curves, format_table, plot, summary


@pytest.fixture(scope="module")
def results(nb201_bench, nb201_domain):
    return [run_search(a, nb201_bench, 120, s, domain=nb201_domain, stop_at_optimum=True)
            for a in ("random", "local") for s in range(3)]


def test_aggregate_matches_runs(results):
    agg = aggregate(results)
    assert set(agg) == {"random", "local"}
    local = [r for r in results if r.algorithm == "local"]
    assert agg["local"]["n_runs"] == 3
    assert agg["local"]["best_value_median"] == pytest.approx(np.median([r.best_value for r in local]))
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


def test_summary_table_and_plot(results, nb201_bench, tmp_path):
    summ = summary(results, nb201_bench.space, {"budget": 120})
    assert len(summ["runs"]) == 6 and summ["config"] == {"budget": 120}
    text = format_table(summ, optimum=94.3733)
    assert "94.3733" in text and text.count("\nlocal ") == 4  # 3 runs + 1 aggregate row
    path = plot(results, tmp_path / "p.png", optimum=94.3733)
    assert path.read_bytes()[:4] == b"\x89PNG"


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
