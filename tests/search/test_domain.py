"""search.domain.Domain: table rows, dedupe keys, and a clear error for a cell outside the table."""

from __future__ import annotations

import numpy as np
import pytest

from search.domain import Domain


def test_index_is_the_table_row_of_equal_cells(embedded_bench, embedded_domain):
    space = embedded_bench.space
    rng = np.random.default_rng(0)
    for _ in range(20):
        i = int(rng.integers(len(embedded_domain)))
        cell = embedded_domain.archs[i]
        assert embedded_domain.index(space.from_string(space.to_string(cell))) == i


def test_hash_dedupe_keeps_equivalent_cells_apart(embedded_bench, embedded_domain):
    plain = Domain(embedded_bench, dedupe="hash")
    assert plain.n_keys == len(embedded_bench) > embedded_domain.n_keys
    with pytest.raises(ValueError, match="dedupe must be 'canonical' or 'hash'. Got 'iso'"):
        Domain(embedded_bench, dedupe="iso")


def test_mutations_and_neighbours_stay_in_the_table(embedded_domain):
    rng = np.random.default_rng(2)
    cell = embedded_domain.sample(rng)
    seen = {embedded_domain.key(cell)}
    for _ in range(20):
        child = embedded_domain.mutate(cell, rng, seen)
        assert child in embedded_domain and embedded_domain.key(child) not in seen
    assert all(n in embedded_domain for n in embedded_domain.neighbours(cell))
    unseen = embedded_domain.unseen(seen)
    assert len(unseen) == embedded_domain.n_keys - 1
    assert len({embedded_domain.key(c) for c in unseen}) == len(unseen)


def test_index_of_a_cell_outside_the_table_names_it(nb101_graphs1k):
    import datasets

    bench = datasets.load("nasbench101", path=nb101_graphs1k)
    domain = Domain(bench)
    space = bench.space
    rng = np.random.default_rng(1)
    outside = next(c for c in (space.sample(rng) for _ in range(1000)) if c not in domain)
    with pytest.raises(KeyError, match="not a cell of this benchmark table"):
        domain.index(outside)
