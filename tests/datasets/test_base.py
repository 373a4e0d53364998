"""Benchmark table behaviour, on the embedded NAS-Bench-201 table (no shared data needed)."""

from __future__ import annotations

import numpy as np
import pytest

from datasets import Benchmark, load
from gnnpred.spaces import get_space


@pytest.fixture(scope="module")
def table():
    return load("nasbench201")


@pytest.fixture(scope="module")
def small(table):
    archs, values = table.archs()[:100], table.values()[:100]
    return Benchmark(
        "nasbench201", table.space, archs, {"acc": values, "neg": -values}, source="subset"
    )


def test_alignment_and_iteration(table):
    archs, values = table.archs(), table.values()
    assert len(archs) == len(values) == len(table) == 15625
    pairs = list(table)
    assert [a for a, _ in pairs] == archs
    assert np.array_equal([v for _, v in pairs], values)
    for i in (0, 7, 15624):
        assert table.query(archs[i]) == values[i]
    np.testing.assert_array_equal(table.query_many(archs[:50]), values[:50])


def test_best_optimum_and_minimize(small):
    values = small.values("acc")
    arch, best = small.best()
    assert best == values.max() == small.optimum
    assert small.query(arch) == best
    arch_min, low = small.best("acc", minimize=True)
    assert low == values.min() and small.query(arch_min) == low
    assert small.best("neg")[1] == -values.min()


def test_unknown_cell_raises_key_error_naming_it(small, table):
    outside = table.archs()[500]
    assert outside not in small
    with pytest.raises(KeyError, match=r"\|.*~0\|"):
        small.query(outside)
    assert "not a cell" not in small  # wrong types are simply absent


def test_unknown_metric_lists_available(small):
    with pytest.raises(ValueError, match=r"'nope'.*\['acc', 'neg'\]"):
        small.query(small.archs()[0], metric="nope")
    with pytest.raises(ValueError, match="nope"):
        small.values("nope")
    with pytest.raises(ValueError, match="nope"):
        Benchmark("x", small.space, small.archs(), {"acc": small.values("acc")}, metric="nope")


def test_values_cached_and_read_only(small):
    v = small.values()
    assert v is small.values("acc")
    with pytest.raises(ValueError):
        v[0] = 0.0


def test_with_metric_and_repr(small):
    other = small.with_metric("neg")
    assert other.metric == "neg" and small.metric == "acc"
    assert other.query(small.archs()[3]) == -small.query(small.archs()[3])
    assert repr(small) == "Benchmark(name='nasbench201', size=100, metric='acc', source='subset')"


def test_constructor_rejects_bad_tables(small):
    archs = small.archs()
    with pytest.raises(ValueError, match="Duplicate"):
        Benchmark("x", small.space, archs[:2] * 2, {"acc": np.zeros(4)})
    with pytest.raises(ValueError, match="3 values for 100 cells"):
        Benchmark("x", small.space, archs, {"acc": np.zeros(3)})
    with pytest.raises(ValueError, match="no metric"):
        Benchmark("x", small.space, archs, {})


def test_nan_is_kept_and_skipped_by_best():
    space = get_space("nasbench201")
    archs = [space.make(ops=["nor_conv_3x3"] * 6), space.make(ops=["skip_connect"] * 6)]
    bench = Benchmark("x", space, archs, {"acc": [np.nan, 50.0]})
    assert np.isnan(bench.query(archs[0]))
    assert bench.best() == (archs[1], 50.0)
    with pytest.raises(ValueError, match="no finite"):
        Benchmark("x", space, archs, {"acc": [np.nan, np.nan]}).best()


@pytest.mark.parametrize("bad", [np.inf, -np.inf])
def test_an_infinite_value_is_a_failed_evaluation_never_the_best(bad):
    space = get_space("nasbench201")
    archs = [space.make(ops=["nor_conv_3x3"] * 6), space.make(ops=["skip_connect"] * 6)]
    bench = Benchmark("x", space, archs, {"acc": [bad, 50.0]})
    assert bench.query(archs[0]) == bad  # kept as measured
    assert bench.best() == (archs[1], 50.0) == bench.best(minimize=True)
    assert bench.optimum == 50.0
    with pytest.raises(ValueError, match="no finite"):
        Benchmark("x", space, archs, {"acc": [bad, np.nan]}).best()
