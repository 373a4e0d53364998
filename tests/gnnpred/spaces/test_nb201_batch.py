"""NAS-Bench-201 batches: same distribution as the one-cell sampler and mutation."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from gnnpred.spaces import get_space


@pytest.fixture(scope="module")
def space():
    return get_space("nasbench201")


def _same_distribution(a: list, b: list) -> float:
    """p-value of a chi-square test that two samples of outcomes share one distribution."""
    ca, cb = collections.Counter(a), collections.Counter(b)
    keys = sorted(set(ca) | set(cb), key=repr)
    return chi2_contingency([[ca[k] for k in keys], [cb[k] for k in keys]])[1]


def test_mutate_many_distribution_equals_mutate(space):
    cell = space.from_string(
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
    )
    rng = np.random.default_rng(0)
    loop = [space.mutate(cell, rng) for _ in range(4000)]
    batched = space.mutate_many([cell] * 20000, rng, device="cpu").cells()
    assert set(batched) == set(space.neighbours(cell))  # all 24, nothing else
    assert _same_distribution(loop, batched) > 1e-3
    biased = [m for m in loop if m.ops[5] == cell.ops[5]]  # never the last edge: must fail
    assert _same_distribution(biased, batched) < 1e-6


def test_sample_batch_uniform_per_edge(space):
    codes = space.sample_batch(30000, np.random.default_rng(1), device="cpu").tensors["ops"]
    loop = space.op_indices(space.sample_many(6000, np.random.default_rng(2)))
    for edge in range(6):
        assert _same_distribution(codes[:, edge].tolist(), loop[:, edge].tolist()) > 1e-3


def test_keys_are_enumeration_positions(space):
    cells = list(space.enumerate())[::97]
    batch = space.to_tensors(cells, device="cpu")
    assert batch.keys.tolist() == list(range(0, len(space), 97))
