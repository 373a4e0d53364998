"""NAS-Bench-101 batches: official hashes without MD5, and the one-cell distributions."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest
from scipy.stats import chi2_contingency

from gnnpred.spaces import get_space
from gnnpred.spaces._nb101_batch import _table_keys


@pytest.fixture(scope="module")
def space():
    return get_space("nasbench101")


def _same_distribution(a: list, b: list, min_count: int = 10) -> float:
    """p-value of a chi-square test that two samples share one distribution (outcomes rarer
    than ``min_count`` in the pooled sample share one bucket)."""
    ca, cb = collections.Counter(a), collections.Counter(b)
    pooled = ca + cb
    keys = sorted((k for k in pooled if pooled[k] >= min_count), key=repr)
    rows = np.array([[c[k] for k in keys] + [sum(v for k, v in c.items() if pooled[k] < min_count)]
                     for c in (ca, cb)])
    return chi2_contingency(rows[:, rows.sum(0) > 0])[1]


def _fresh_hash(space, cell) -> str:
    """The official hash computed again from the spec (no cached value)."""
    return space.hash(space.make(matrix=cell.matrix, ops=cell.ops))


def test_hashes_equal_official_module_hash(space):
    rng = np.random.default_rng(0)
    batch = space.sample_batch(1500, rng, device="cpu")
    cells = batch.cells()
    assert batch.hashes() == [_fresh_hash(space, c) for c in cells]
    mutants = space.mutate_many(cells, rng, device="cpu")
    assert mutants.hashes() == [_fresh_hash(space, c) for c in mutants.cells()]
    for cell in cells + mutants.cells():
        assert space.make(matrix=cell.matrix, ops=cell.ops) == cell  # valid and pruned


def test_enumeration_cells_and_isomorphic_relabellings_share_keys(space):
    table = space.table()
    rows = np.random.default_rng(1).choice(len(table), size=800, replace=False)
    cells = space.cells_for_hashes([table.hex(int(r)) for r in rows])
    assert space.hash_many(cells) == [table.hex(int(r)) for r in rows]
    # the same cells with their interior vertices reordered: other matrices, same hash
    flipped = []
    for c in cells:
        n = len(c.ops)
        for mids in itertools.permutations(range(1, n - 1)):
            order = [0, *mids, n - 1]
            mat = np.asarray(c.matrix)[np.ix_(order, order)]
            if mids != tuple(sorted(mids)) and np.triu(mat, 1).sum() == mat.sum():
                flipped.append((c, space.make(matrix=mat, ops=[c.ops[i] for i in order])))
                break
    assert sum(a != b for a, b in flipped) > 100
    batch = space.to_tensors([b for _, b in flipped], device="cpu")
    assert batch.hashes() == [space.hash(a) for a, _ in flipped]
    kept, _ = space.dedupe([a for a, _ in flipped] + [b for _, b in flipped], device="cpu")
    assert kept.cells() == [a for a, _ in flipped]


def test_table_keys_are_unique():
    keys, order = _table_keys(get_space("nasbench101").table())
    assert len(keys) == 423_624 and (np.diff(keys) > 0).all()
    assert sorted(order.tolist()) == list(range(len(keys)))


@pytest.mark.parametrize("rate", [1.0, 2.5])
def test_mutate_many_distribution_equals_mutate(space, rate):
    cell = space.from_string("0110010|0011000|0000100|0000010|0000001|0000001|0000000;"
                             "input,conv3x3-bn-relu,conv1x1-bn-relu,maxpool3x3,conv3x3-bn-relu,"
                             "conv1x1-bn-relu,output")
    rng = np.random.default_rng(2)
    loop = [space.hash(space.mutate(cell, rng, mutation_rate=rate)) for _ in range(3000)]
    batched = space.mutate_many([cell] * 15000, rng, device="cpu", mutation_rate=rate).hashes()
    assert space.hash(cell) not in batched
    assert _same_distribution(loop, batched) > 1e-3
    for bad in (0, 7, "1"):
        with pytest.raises(ValueError, match=r"mutation_rate must be a number in \(0, 7\)"):
            space.mutate_many([cell], rng, mutation_rate=bad)


def test_mutate_many_per_edge_and_op_change_frequencies(space):
    """Small cells keep unused slots: the fill ops and extra vertices must match too."""
    cell = space.make(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]],
                      ops=["input", "maxpool3x3", "output"])
    rng = np.random.default_rng(3)
    loop = space.encode([space.mutate(cell, rng) for _ in range(3000)])
    enc = space.encode(space.mutate_many([cell] * 15000, rng, device="cpu").cells())
    for col in range(enc.shape[1]):
        a, b = loop[:, col].sum(), enc[:, col].sum()
        if min(a + b, len(loop) + len(enc) - a - b) >= 20:
            table = [[a, len(loop) - a], [b, len(enc) - b]]
            assert chi2_contingency(table)[1] > 1e-4, col


def test_sample_batch_distribution_equals_sample(space):
    rng = np.random.default_rng(4)
    loop = [space.sample(rng) for _ in range(3000)]
    batched = space.sample_batch(15000, rng, device="cpu").cells()
    for stat in (lambda c: len(c.ops), lambda c: int(np.sum(c.matrix)), lambda c: c.ops[1]):
        assert _same_distribution([stat(c) for c in loop], [stat(c) for c in batched]) > 1e-3
    assert space.sample_many(5, np.random.default_rng(5)) == space.sample_many(
        5, np.random.default_rng(5))


def test_canonical_from_the_loaded_table_equals_canonical_form(space):
    from gnnpred.spaces._nb101_graph import canonical_form

    space.table()  # loaded: canonical() reads representatives from it
    cells = space.mutate_many(space.sample_many(400, np.random.default_rng(6)),
                              np.random.default_rng(7), device="cpu").cells()
    for cell in cells:
        canon = space.canonical(cell)
        assert (canon.matrix, canon.ops) == canonical_form(cell.matrix, cell.ops)
        assert space.hash(canon) == space.hash(cell)
        assert space.canonical(canon) is canon


def test_row_of_equals_rows_of(space):
    table = space.table()
    hexes = [table.hex(int(r)) for r in np.random.default_rng(9).integers(0, len(table), 300)]
    hexes += ["0" * 32, "f" * 32, hexes[0][:16] + "0" * 16]
    assert [table.row_of(h) for h in hexes] == table.rows_of(hexes).tolist()
