"""Fixtures of the search tests: the real NB201 CIFAR-10 table and fast assessor settings."""

from __future__ import annotations

import pytest

#: Small assessor settings so a whole assessor-guided test search takes seconds on 2 CPU cores.
FAST_ASSESSOR = {
    "n_init": 8, "per_round": 4, "pool_size": 1500, "exhaustive_max": 0, "n_candidates": 300,
    "assessor_params": {"pretrain_steps": 60, "gcn_epochs": 30, "regressor_steps": 30, "n_heads": 1,
                        "batch_size": 128, "device": "cpu"},
}


@pytest.fixture(scope="session")
def nb201_bench(nb201_csv):
    import datasets

    return datasets.load("nasbench201", path=nb201_csv)


@pytest.fixture(scope="session")
def nb201_domain(nb201_bench):
    from search.domain import Domain

    return Domain(nb201_bench)


def algorithm_params(name: str) -> dict:
    """Parameters used by the tests for each algorithm (fast ones for the assessor)."""
    return dict(FAST_ASSESSOR) if name == "assessor" else {}
