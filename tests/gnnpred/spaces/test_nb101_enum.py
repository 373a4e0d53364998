"""The cached enumeration of all 423,624 NAS-Bench-101 cells and the lookups built on it.

Tests marked ``slow`` need the whole enumeration: about a minute and a half on 2 cores the
first time, then loaded from the on-disk cache in well under a second.
"""

from __future__ import annotations

import csv
import itertools
import shutil

import numpy as np
import pytest

from gnnpred.spaces import NASBench101Cell, NASBench101Space, get_space
from gnnpred.spaces import _nb101_enum as enum_mod
from tests.gnnpred.spaces.test_nasbench101 import HIDDEN, fresh


@pytest.fixture(scope="module")
def space() -> NASBench101Space:
    return get_space("nasbench101")


@pytest.fixture(scope="module")
def table(space):
    return space.table(verbose=False)


@pytest.fixture
def calls(table, monkeypatch) -> list[dict]:
    """Rebuilds of the cache: ``build_table`` is replaced by one returning ``table``'s arrays."""
    arrays = {
        "hash": table.hash,
        "num_vertices": table.num_vertices,
        "adjacency": table.adjacency,
        "ops": table.ops,
        "version": np.array(enum_mod.CACHE_VERSION),
    }
    calls: list[dict] = []
    monkeypatch.setattr(enum_mod, "build_table", lambda **kw: calls.append(kw) or arrays)
    return calls


@pytest.fixture(scope="module")
def cells(space) -> list[NASBench101Cell]:
    """200 distinct sampled cells."""
    found: dict[str, NASBench101Cell] = {}
    for cell in space.sample_many(1000, np.random.default_rng(0)):
        found.setdefault(space.hash(cell), cell)
    return list(found.values())[:200]


def test_small_enumeration_matches_brute_force(space):
    """Bulk enumeration up to 5 vertices against hashing every 5-vertex spec."""
    table = enum_mod.NB101Table(enum_mod.build_table(n_jobs=1, verbose=False, max_vertices=5))
    got = {table.hex(r) for r in range(len(table))}
    assert len(got) == len(table)
    brute = set()
    rows, cols = np.triu_indices(5, 1)
    for code in range(1 << len(rows)):
        m = np.zeros((5, 5), int)
        m[rows, cols] = [(code >> k) & 1 for k in range(len(rows))]
        for mid in itertools.product(HIDDEN, repeat=3):
            try:
                brute.add(space.hash(space.make(matrix=m, ops=["input", *mid, "output"])))
            except ValueError:
                pass
    assert got == brute
    for r in range(0, len(table), 37):
        cell = NASBench101Cell(*table.cell_args(r))
        assert space.canonical(cell) == cell and space.hash(cell) == table.hex(r)
        space.validate(cell)


@pytest.mark.slow
def test_enumeration_is_complete_and_canonical(space, table):
    assert len(table) == 423_624
    keys = table.hash
    assert (
        (keys[1:, 0] > keys[:-1, 0])
        | ((keys[1:, 0] == keys[:-1, 0]) & (keys[1:, 1] > keys[:-1, 1]))
    ).all()
    cells = list(itertools.islice(space.enumerate(), 0, None, 211))
    for row, cell in zip(range(0, len(table), 211), cells, strict=True):
        assert space.hash(fresh(cell)) == space.hash(cell) == table.hex(row)
        assert space.canonical(cell) == cell


@pytest.mark.slow
def test_all_sample20k_hashes_are_enumerated(space, table, nb101_sample20k):
    with open(nb101_sample20k, newline="") as fh:
        hashes = [r["hash"] for r in csv.DictReader(fh)]
    assert len(hashes) == 20_001
    found = space.cells_for_hashes(hashes)
    for h, cell in list(zip(hashes, found, strict=True))[::97]:
        assert space.hash(fresh(cell)) == h


@pytest.mark.slow
def test_sample_unique_is_uniform_over_unique_cells(space, table):
    a = space.sample_unique(2000, np.random.default_rng(3))
    assert a == space.sample_unique(2000, np.random.default_rng(3))
    assert len({space.hash(fresh(c)) for c in a}) == 2000
    # under uniform sampling the share of 7-vertex cells matches the enumeration's
    share = float(np.mean(table.num_vertices == 7))
    assert abs(np.mean([len(c.ops) == 7 for c in a]) - share) < 0.05
    with pytest.raises(ValueError, match="n must be"):
        space.sample_unique(-1, np.random.default_rng(0))


@pytest.mark.slow
def test_cell_for_hash(space, table, cells):
    for cell in cells[:200]:
        assert space.cell_for_hash(space.hash(cell)) == space.canonical(cell)
    with pytest.raises(KeyError, match="0" * 32):
        space.cell_for_hash("0" * 32)
    found = space.cells_for_hashes(["0" * 32, space.hash(cells[0])], missing="none")
    assert found[0] is None and found[1] == space.canonical(cells[0])
    with pytest.raises(ValueError, match="32-character"):
        space.cell_for_hash("abc")
    with pytest.raises(ValueError, match="hexadecimal"):
        space.cell_for_hash("z" * 32)


@pytest.mark.slow
def test_cache_is_rebuilt_when_corrupt(calls, tmp_path):
    path = enum_mod.cache_file(tmp_path)
    path.write_bytes(b"not an npz file")
    other = NASBench101Space(cache_dir=tmp_path)
    assert len(other.table()) == 423_624 and len(calls) == 1
    enum_mod._LOADED.pop(path)
    assert (
        len(NASBench101Space(cache_dir=tmp_path).table()) == 423_624 and len(calls) == 1
    )  # read from disk
    shutil.rmtree(tmp_path)
    enum_mod._LOADED.pop(path)


@pytest.mark.slow
def test_cache_that_is_endless_or_unpacks_too_large_is_rebuilt(calls, tmp_path, monkeypatch):
    path = enum_mod.cache_file(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")
    assert len(NASBench101Space(cache_dir=tmp_path).table()) == 423_624 and len(calls) == 1
    enum_mod._LOADED.pop(path)
    assert path.is_file() and not path.is_symlink()  # the rebuilt cache replaced the link
    monkeypatch.setattr(enum_mod, "CACHE_MAX_BYTES", path.stat().st_size + 1)
    assert len(NASBench101Space(cache_dir=tmp_path).table()) == 423_624 and len(calls) == 2
    enum_mod._LOADED.pop(path)
