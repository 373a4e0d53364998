"""NAS-Bench-Graph batches: benchmark keys from the table, and the one-cell distributions."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from gnnpred.spaces import get_space
from gnnpred.spaces.nasbench_graph import FULL_OPS


def _same_distribution(a: list, b: list) -> float:
    ca, cb = collections.Counter(a), collections.Counter(b)
    keys = sorted(set(ca) | set(cb), key=repr)
    return chi2_contingency([[ca[k] for k in keys], [cb[k] for k in keys]])[1]


@pytest.mark.parametrize("op_set", ["full", "proteins"])
def test_mutate_many_distribution_equals_mutate(op_set):
    space = get_space("nasbench-graph", op_set=op_set)
    cell = space.make(link=[0, 0, 1, 2], ops=["gcn", "skip", "sage", "fc"])
    rng = np.random.default_rng(0)
    loop = [space.hash(space.mutate(cell, rng)) for _ in range(4000)]
    batched = space.mutate_many([cell] * 20000, rng, device="cpu").hashes()
    assert set(batched) == {space.hash(c) for c in space.neighbours(cell)}
    assert _same_distribution(loop, batched) > 1e-3
    biased = [h for h in loop if h != loop[0]]  # one outcome never drawn: must fail
    assert _same_distribution(biased, batched) < 1e-6


@pytest.mark.parametrize("op_set", ["full", "proteins"])
def test_sample_batch_uniform_over_canonical_cells(op_set):
    space = get_space("nasbench-graph", op_set=op_set)
    batch = space.sample_batch(20000, np.random.default_rng(1), device="cpu")
    cells = batch.cells()
    assert all(space.canonical(c) == c for c in cells[:2000])
    assert len(set(batch.keys.tolist())) > 0.5 * min(len(space), 20000)
    loop = space.sample_many(4000, np.random.default_rng(2))
    for stat in (lambda c: c.link, lambda c: c.ops[0]):
        assert _same_distribution([stat(c) for c in loop], [stat(c) for c in cells]) > 1e-3


def test_keys_of_every_valid_cell_equal_hash():
    space = get_space("nasbench-graph")
    rng = np.random.default_rng(3)
    links = list(itertools.product(*[range(i + 1) for i in range(4)]))
    cells = []
    for _ in range(3000):  # arbitrary (mostly non-canonical) cells
        ops = [FULL_OPS[int(i)] for i in rng.integers(0, len(FULL_OPS), size=4)]
        if ops.count("skip") < 4:
            cells.append(space.make(link=links[int(rng.integers(len(links)))], ops=ops))
    assert space.hash_many(cells) == [space.hash(c) for c in cells]
    assert space.to_tensors(cells, device="cpu").cells() == cells
