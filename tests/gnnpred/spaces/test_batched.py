"""Batched candidates (CellBatch, *_many, dedupe) against the one-cell operations, every space."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from gnnpred.spaces import get_space
from gnnpred.spaces._batched import CellBatch, cat

SPACES = ["nasbench101", "nasbench201", "nasbench-graph"]


@pytest.fixture(scope="module", params=SPACES)
def space(request):
    return get_space(request.param)


@pytest.fixture(scope="module")
def cells(space) -> list:
    """300 cells drawn one at a time (the reference sampler)."""
    rng = np.random.default_rng(11)
    return [space.sample(rng) for _ in range(300)]


def test_round_trip_keeps_cells_and_hashes(space, cells):
    batch = space.to_tensors(cells, device="cpu")
    assert len(batch) == len(cells) and batch.device == torch.device("cpu")
    fresh = CellBatch(space, batch.tensors, batch.keys)  # cells rebuilt from the tensors
    assert fresh.cells() == cells
    assert fresh.hashes() == space.hash_many(cells) == [space.hash(c) for c in cells]
    assert all(t.dtype in (torch.long, torch.uint8) for t in batch.tensors.values())


def test_keys_equal_exactly_when_hashes_are(space, cells):
    keys = space.to_tensors(cells, device="cpu").keys.tolist()
    hashes = [space.hash(c) for c in cells]
    assert len(set(zip(keys, hashes, strict=True))) == len(set(keys)) == len(set(hashes))


def test_sample_batch_valid_reproducible(space):
    a = space.sample_batch(500, np.random.default_rng(3), device="auto")
    b = space.sample_batch(500, np.random.default_rng(3), device="cpu")
    assert a.cells() == b.cells()
    assert a.cells() != space.sample_batch(500, np.random.default_rng(4), device="cpu").cells()
    for cell, h in zip(a.cells(), a.hashes(), strict=True):
        space.validate(cell)
        assert space.hash(cell) == h
    assert len(space.sample_batch(0, np.random.default_rng(0))) == 0
    with pytest.raises(ValueError, match="non-negative int. Got -1"):
        space.sample_batch(-1, np.random.default_rng(0))


def test_mutate_many_valid_and_different(space, cells):
    out = space.mutate_many(cells, np.random.default_rng(5), device="cpu")
    assert len(out) == len(cells)
    for parent, child, h in zip(cells, out.cells(), out.hashes(), strict=True):
        space.validate(child)
        assert space.hash(child) == h != space.hash(parent)
    again = space.mutate_many(space.to_tensors(cells), np.random.default_rng(5), device="cpu")
    assert again.cells() == out.cells()


def test_neighbours_many_equal_one_cell_neighbours(space, cells):
    nbrs, owner = space.neighbours_many(cells[:120], device="cpu")
    assert owner.shape == (len(nbrs),) and bool((owner[1:] >= owner[:-1]).all())
    got = nbrs.cells()
    for i, cell in enumerate(cells[:120]):
        mine = [got[int(j)] for j in torch.nonzero(owner == i).flatten()]
        assert mine == space.neighbours(cell)


def test_dedupe_drops_excluded_and_repeats(space, cells):
    rng = np.random.default_rng(8)
    pool = [cells[int(i)] for i in rng.integers(0, 60, size=200)]  # many repeats
    exclude = {space.hash(c) for c in cells[:10]} | {"not-a-hash", "f" * 32, "123456789"}
    kept, index = space.dedupe(pool, exclude=exclude, device="cpu")
    seen, expected = set(exclude), []
    for i, cell in enumerate(pool):
        if space.hash(cell) not in seen:
            seen.add(space.hash(cell))
            expected.append(i)
    assert index.tolist() == expected
    assert kept.cells() == [pool[i] for i in expected]
    assert len(space.dedupe(pool)[0]) == len({space.hash(c) for c in pool})
    assert space.dedupe(pool, exclude=None)[1].tolist() == space.dedupe(pool)[1].tolist()
    with pytest.raises(TypeError, match="not one string"):  # it would drop nothing
        space.dedupe(pool, exclude=space.hash(pool[0]))


def test_cellbatch_indexing_and_cat(space, cells):
    batch = space.to_tensors(cells[:10], device="cpu")
    assert batch[3] == cells[3] and list(batch) == cells[:10]
    assert batch[2:5].cells() == cells[2:5]
    assert batch[torch.tensor([True] * 5 + [False] * 5)].cells() == cells[:5]
    assert cat([batch[:4], batch[4:]]).cells() == cells[:10]
    with pytest.raises(ValueError, match="at least one"):
        cat([])


def test_batch_of_another_space_rejected(space):
    other = get_space("nasbench201" if space.name != "nasbench201" else "nasbench101")
    batch = other.sample_batch(3, np.random.default_rng(0), device="cpu")
    with pytest.raises(TypeError, match="holds cells of"):
        space.mutate_many(batch, np.random.default_rng(0))


def test_bad_cells_rejected_naming_them(space):
    with pytest.raises(TypeError, match=r"archs\[1\]"):
        space.to_tensors([space.sample(np.random.default_rng(0)), "cell"])
    with pytest.raises(TypeError, match="takes no options|unexpected keyword"):
        space.mutate_many([space.sample(np.random.default_rng(0))], np.random.default_rng(0),
                          bogus=1)
