"""Random search: every equivalence class of the table once, in a seeded order."""

from __future__ import annotations

import pytest

from search.algorithms import RandomSearch
from tests.search.conftest import drive


def test_walks_every_key_once_then_stops(embedded_bench, embedded_domain):
    algo = RandomSearch().setup(embedded_domain, seed=0, budget=embedded_domain.n_keys)
    keys = []
    for _ in range(embedded_domain.n_keys):
        arch = algo.propose()
        keys.append(embedded_domain.key(arch))
        algo.observe(arch, 0.0)
    assert sorted(keys) == sorted(set(embedded_domain.key(a) for a in embedded_domain.archs))
    with pytest.raises(RuntimeError, match="Every cell of the benchmark has been queried"):
        algo.propose()


def test_order_ignores_the_values(embedded_bench, embedded_domain):
    archs, _ = drive(RandomSearch(), embedded_bench, 30, seed=4, domain=embedded_domain)
    algo = RandomSearch().setup(embedded_domain, seed=4, budget=30)
    for i, expected in enumerate(archs):
        arch = algo.propose()
        assert arch == expected
        algo.observe(arch, float(i % 3) if i % 2 else float("nan"))
