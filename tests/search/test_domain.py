"""search.domain.Domain.index: the table row of a cell, and a clear error for a cell outside the table."""

from __future__ import annotations

import numpy as np
import pytest

from search.domain import Domain


def test_index_is_the_table_row_of_equal_cells(nb201_bench, nb201_domain):
    space = nb201_bench.space
    rng = np.random.default_rng(0)
    for _ in range(20):
        i = int(rng.integers(len(nb201_domain)))
        cell = nb201_domain.archs[i]
        assert nb201_domain.index(space.from_string(space.to_string(cell))) == i


def test_index_of_a_cell_outside_the_table_names_it(nb101_graphs1k):
    import datasets

    bench = datasets.load("nasbench101", path=nb101_graphs1k)
    domain = Domain(bench)
    space = bench.space
    rng = np.random.default_rng(1)
    outside = next(c for c in (space.sample(rng) for _ in range(1000)) if c not in domain)
    with pytest.raises(KeyError, match="not a cell of this benchmark table"):
        domain.index(outside)
