"""Fixtures of the search tests: NB201 tables (embedded and shared), fast assessor settings, and
a driver that runs an algorithm through its public ask/tell methods."""

from __future__ import annotations

import numpy as np
import pytest

#: Small assessor settings so a whole assessor-guided test search takes seconds on 2 CPU cores.
FAST_ASSESSOR = {
    "n_init": 8, "per_round": 4, "pool_size": 1500, "exhaustive_max": 0, "n_candidates": 300,
    "assessor_params": {"pretrain_steps": 60, "gcn_epochs": 30, "regressor_steps": 30,
                        "n_heads": 1, "batch_size": 128, "device": "cpu"},
}
#: Small SemiNAS settings: a short autoencoder pretraining on part of the table, small rounds.
FAST_SEMINAS = {
    "n_init": 6, "per_round": 3, "pool_size": 1500, "pretrain_steps": 30, "n_pseudo": 200,
    "predictor_steps": 60,
}

FAST = {"assessor": FAST_ASSESSOR, "seminas": FAST_SEMINAS}


@pytest.fixture(scope="session")
def nb201_bench(nb201_csv):
    """The official NB201 CIFAR-10 table from ../shared/data (skips without it)."""
    import datasets

    return datasets.load("nasbench201", path=nb201_csv)


@pytest.fixture(scope="session")
def nb201_domain(nb201_bench):
    from search.domain import Domain

    return Domain(nb201_bench)


@pytest.fixture(scope="session")
def embedded_bench():
    """The embedded NB201 table that ships with the install (no shared data needed)."""
    import datasets

    return datasets.load("nasbench201")


@pytest.fixture(scope="session")
def embedded_domain(embedded_bench):
    from search.domain import Domain

    return Domain(embedded_bench)


def algorithm_params(name: str) -> dict:
    """Parameters used by the tests for each algorithm (fast ones for the model-based ones)."""
    return dict(FAST.get(name, {}))


def with_failures(bench, rows) -> object:
    """A copy of ``bench`` whose search metric is NaN (a failed evaluation) at ``rows``."""
    from datasets.base import Benchmark

    values = np.array(bench.values(), dtype=float)
    values[np.asarray(rows, dtype=int)] = np.nan
    return Benchmark(bench.name, bench.space, bench.archs(), {bench.metric: values},
                     dataset=bench.dataset, source="test table with failures")


def drive(algo, bench, budget: int, *, seed: int = 0, domain=None, on_observe=None):
    """Set ``algo`` up and run ``budget`` propose/query/observe steps; returns (archs, values).

    ``on_observe(algo, arch, value)`` is called after each observation, when given.
    """
    from search.domain import Domain

    algo.setup(domain if domain is not None else Domain(bench), seed, budget, device="cpu")
    archs, values = [], []
    for _ in range(budget):
        arch = algo.propose()
        value = bench.query(arch)
        algo.observe(arch, value)
        archs.append(arch)
        values.append(value)
        if on_observe is not None:
            on_observe(algo, arch, value)
    return archs, values
