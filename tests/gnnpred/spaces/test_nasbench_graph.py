"""NAS-Bench-Graph space: contract, canonical keys against the wheel's benchmark tables, graphs."""

from __future__ import annotations

import importlib.util
import itertools
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from gnnpred.spaces import NASBenchGraphCell, NASBenchGraphSpace, get_space
from gnnpred.spaces.nasbench_graph import FULL_OPS, LINKS, PROTEINS_OPS

ALL_LINKS = list(itertools.product(*[range(i + 1) for i in range(4)]))  # 24 topological patterns


def _bench_keys(name: str) -> set[str]:
    """The keys of the wheel's ``light/<name>.bench`` file, as :meth:`hash` spells them."""
    spec = importlib.util.find_spec("nas_bench_graph")  # locates the wheel without importing it
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("the nas-bench-graph wheel is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "light" / f"{name}.bench"
    with open(path, "rb") as f:
        return {str(k) for k in pickle.load(f)}


@pytest.fixture(scope="module")
def space() -> NASBenchGraphSpace:
    return get_space("nasbench-graph")


@pytest.fixture(scope="module")
def proteins() -> NASBenchGraphSpace:
    return get_space("nasbench-graph", op_set="proteins")


def _relabel(cell: NASBenchGraphCell, rng: np.random.Generator) -> NASBenchGraphCell:
    """The same cell with its nodes listed in another random topological order."""
    placed: list[int] = []  # old 1-based node ids in new order
    while len(placed) < 4:
        ready = [
            n
            for n in range(1, 5)
            if n not in placed and (cell.link[n - 1] == 0 or cell.link[n - 1] in placed)
        ]
        placed.append(int(rng.choice(ready)))
    new_id = {old: i + 1 for i, old in enumerate(placed)}
    new_id[0] = 0
    return NASBenchGraphCell(
        tuple(new_id[cell.link[o - 1]] for o in placed), tuple(cell.ops[o - 1] for o in placed)
    )


# ----------------------------------------------------------------------------------- keys
@pytest.mark.parametrize(
    ("op_set", "bench", "size"), [("full", "cora", 26206), ("proteins", "proteins", 2021)]
)
def test_enumerate_gives_exactly_the_benchmark_keys(op_set, bench, size):
    sp = NASBenchGraphSpace(op_set=op_set)
    cells = list(sp.enumerate())
    keys = [sp.hash(c) for c in cells]
    assert len(sp) == len(cells) == len(set(keys)) == size
    assert all(isinstance(k, str) for k in keys) and keys == sorted(keys, key=int)
    assert set(keys) == _bench_keys(bench)
    assert all(c.link in LINKS and sp.canonical(c) == c for c in cells)
    assert all(sp.from_key(k) == c for k, c in zip(keys, cells, strict=True))


def test_every_valid_cell_has_a_benchmark_key(space):
    keys = _bench_keys("cora")
    rng = np.random.default_rng(0)
    for _ in range(3000):
        link = ALL_LINKS[int(rng.integers(len(ALL_LINKS)))]
        ops = tuple(rng.choice(FULL_OPS, size=4))
        if ops == ("skip",) * 4:
            continue
        cell = space.make(link=link, ops=ops)
        assert space.hash(cell) in keys
        assert space.hash(space.canonical(cell)) == space.hash(cell)


def test_hash_ignores_node_order(space):
    rng = np.random.default_rng(1)
    # gcn feeds gin and cheb, gin feeds fc; listed in two orders (the benchmark README's
    # second listing of this example, ops gcn,cheb,gin,fc, makes fc read cheb instead).
    a = space.make(link=[0, 1, 2, 1], ops=["gcn", "gin", "fc", "cheb"])
    b = space.make(link=[0, 1, 1, 2], ops=["gcn", "gin", "cheb", "fc"])
    assert space.hash(a) == space.hash(b)
    assert space.hash(
        space.make(link=[0, 1, 1, 2], ops=["gcn", "cheb", "gin", "fc"])
    ) != space.hash(a)
    for cell in space.sample_many(500, rng):
        assert space.hash(_relabel(cell, rng)) == space.hash(cell)


def test_skip_semantics(space):
    h = space.hash
    chain = space.make(link=[0, 1, 2, 3], ops=["gcn", "gat", "skip", "skip"])
    parked = space.make(link=[0, 1, 2, 3], ops=["skip", "skip", "gcn", "gat"])
    assert h(chain) == h(parked)
    # two skip leaves under gat put gat twice in the output sum: not the plain chain
    assert h(space.make(link=[0, 1, 2, 2], ops=["gcn", "gat", "skip", "skip"])) != h(chain)
    # a skip read by another node is contracted
    assert h(space.make(link=[0, 1, 2, 0], ops=["gcn", "skip", "gat", "sage"])) == h(
        space.make(link=[0, 1, 0, 0], ops=["gcn", "gat", "sage", "skip"])
    )
    # a skip leaf beside a real sibling adds its parent to the output: a different network
    assert h(space.make(link=[0, 1, 1, 0], ops=["gcn", "gat", "skip", "sage"])) != h(
        space.make(link=[0, 1, 0, 0], ops=["gcn", "gat", "sage", "skip"])
    )
    # different ops or multiplicities stay distinct
    assert h(space.make(link=[0, 0, 0, 0], ops=["gcn", "gcn", "gcn", "gat"])) != h(
        space.make(link=[0, 0, 0, 0], ops=["gcn", "gcn", "gat", "gat"])
    )


# ------------------------------------------------------------ strings, validity
def test_string_round_trip(space):
    for cell in list(space.enumerate())[::7]:
        assert space.from_string(space.to_string(cell)) == cell
    cell = space.make(link=[0, 0, 1, 2], ops=["gcn", "gat", "skip", "sage"])
    assert space.to_string(cell) == "0,0,1,2|gcn,gat,skip,sage"
    assert space.from_string(" 0, 0, 1, 2|gcn, gat, skip, sage ") == cell


@pytest.mark.parametrize(
    "text",
    [
        "",
        "0,0,1|gcn,gat,skip",
        "0,0,1,2",
        "0,0,1,5|gcn,gat,skip,sage",
        "0,0,1,2|gcn,gat,skip,conv",
        "a|b",
    ],
)
def test_from_string_errors_name_the_string(space, text):
    with pytest.raises(ValueError, match="Bad NAS-Bench-Graph string") as info:
        space.from_string(text)
    assert repr(text) in str(info.value)


def test_validate_messages(space, proteins):
    with pytest.raises(TypeError, match="NASBenchGraphCell"):
        space.validate(((0, 0, 0, 0), ("gcn",) * 4))
    with pytest.raises(TypeError, match="tuple of ints"):
        space.validate(NASBenchGraphCell((0.0, 0, 0, 0), ("gcn",) * 4))
    with pytest.raises(ValueError, match=r"link\[2\]=3"):
        space.make(link=[0, 0, 3, 0], ops=["gcn"] * 4)
    with pytest.raises(ValueError, match="4 links and 4 ops"):
        space.make(link=[0, 0, 0], ops=["gcn"] * 3)
    with pytest.raises(ValueError, match="Valid ops") as info:
        proteins.make(link=[0, 0, 0, 0], ops=["gat", "gcn", "gcn", "gcn"])
    assert "'gat'" in str(info.value) and "proteins" in str(info.value)
    with pytest.raises(ValueError, match="skip"):
        space.make(link=[0, 1, 2, 3], ops=["skip"] * 4)
    with pytest.raises(ValueError, match="4 links and 4 ops"):
        space.make(link=[0, 0, 0, 0, 0], ops=["gcn"] * 4)
    with pytest.raises(ValueError, match="op_set"):
        NASBenchGraphSpace(op_set="tiny")
    assert proteins.is_valid(proteins.make(link=[0, 0, 0, 0], ops=list(PROTEINS_OPS[:4])))


def test_from_key(space, proteins):
    cell = space.make(link=[0, 1, 2, 3], ops=["gcn", "gat", "sage", "fc"])
    assert space.from_key(space.hash(cell)) == space.canonical(cell)
    gat_key = space.hash(space.make(link=[0, 0, 0, 0], ops=["gat"] * 4))
    with pytest.raises(ValueError, match="proteins"):
        proteins.from_key(gat_key)
    assert space.from_key(int(space.hash(cell))) == space.canonical(cell)  # the file's int key
    for bad in (8, "8", "abc", True, 1.5):  # 8: a valid encoding but not a representative
        with pytest.raises(ValueError, match="not a NAS-Bench-Graph key"):
            space.from_key(bad)


def test_make_signature_is_keyword_only(space):
    cell = space.make(link=[0, 0, 1, 2], ops=["gcn", "gat", "skip", "sage"])
    with pytest.raises(TypeError, match="positional"):
        space.make([0, 0, 1, 2], ["gcn", "gat", "skip", "sage"])
    with pytest.raises(TypeError, match="'ops'"):
        space.make(link=cell.link)
    with pytest.raises(TypeError, match="unexpected keyword argument 'matrix'"):
        space.make(link=cell.link, ops=cell.ops, matrix=1)
    with pytest.raises(ValueError, match="link must be a sequence"):
        space.make(link="0012", ops=cell.ops)
    with pytest.raises(ValueError, match="ops must be a sequence"):
        space.make(link=cell.link, ops=None)
    with pytest.raises(ValueError, match="tuple of ints"):
        space.make(link=[0, 0, 1.0, 2], ops=cell.ops)
    with pytest.raises(ValueError, match="op names"):
        space.make(link=cell.link, ops=["gcn", "gat", 3, "sage"])


def test_hash_is_a_str_of_the_benchmark_key(space):
    cell = space.make(link=[0, 0, 1, 2], ops=["gcn", "gat", "skip", "sage"])
    key = space.hash(cell)
    assert isinstance(key, str) and key.isdigit()
    assert space.from_key(key) == space.canonical(cell)


def test_remembered_keys_never_admit_a_cell_that_only_compares_equal(space, proteins):
    cell = space.make(link=[0, 0, 1, 2], ops=["gcn", "gat", "skip", "sage"])
    key = space.hash(cell)
    assert [space.hash(cell) for _ in range(3)] == [key] * 3
    for twin in (NASBenchGraphCell((0, False, 1, 2), cell.ops),  # == cell, as False == 0
                 NASBenchGraphCell((0, 0.0, 1, 2), cell.ops)):
        assert twin == cell
        with pytest.raises((TypeError, ValueError), match="link"):
            space.hash(twin)
    with pytest.raises(ValueError, match="Valid ops"):  # 'gat' is not a proteins op
        proteins.hash(cell)
    copy = pickle.loads(pickle.dumps(space))  # a worker's copy: same keys
    assert copy.hash(cell) == key and copy.canonical(cell) == space.canonical(cell)


def test_a_used_space_still_pickles_small():
    space = NASBenchGraphSpace()
    small = len(pickle.dumps(space))
    for c in space.sample_many(2000, np.random.default_rng(0)):  # fills the space's caches
        space.hash(space.mutate(c, np.random.default_rng(1)))
    assert len(pickle.dumps(space)) == small  # what Ray workers and subprocesses receive
    assert pickle.loads(pickle.dumps(space)).sample_many(3, np.random.default_rng(0)) == \
        space.sample_many(3, np.random.default_rng(0))


# ----------------------------------------------------------------------------------- sampling
def test_sample_seeded_canonical_and_spread(space, proteins):
    a = space.sample_many(2000, np.random.default_rng(3))
    assert a == space.sample_many(2000, np.random.default_rng(3))
    assert all(space.canonical(c) == c for c in a)
    assert len(set(a)) > 1800  # uniform over 26,206 cells: about 1,925 distinct expected
    assert all(
        set(c.ops) <= set(PROTEINS_OPS) for c in proteins.sample_many(200, np.random.default_rng(0))
    )


def test_neighbours_and_mutate(space, proteins):
    rng = np.random.default_rng(5)
    for sp in (space, proteins):
        for cell in sp.sample_many(20, rng):
            nbrs = sp.neighbours(cell)
            keys = [sp.hash(n) for n in nbrs]
            assert nbrs and keys == sorted(set(keys), key=int) and sp.hash(cell) not in keys
            assert all(sp.canonical(n) == n and sp.is_valid(n) for n in nbrs)
            assert sp.neighbours(_relabel(cell, rng)) == nbrs
            for _ in range(5):
                assert sp.mutate(cell, rng) in nbrs
    cell = space.sample(rng)
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [space.mutate(cell, r1) for _ in range(5)] == [space.mutate(cell, r2) for _ in range(5)]


# ----------------------------------------------------------------------------------- tensors
def test_to_graph(space):
    cell = space.make(link=[0, 1, 1, 0], ops=["gcn", "gat", "skip", "sage"])
    g = space.to_graph(cell)
    assert g.num_nodes == 6 and g.x.shape == (6, len(space.op_vocab)) and g.x.dtype == torch.float32
    names = [space.op_vocab[i] for i in g.x.argmax(1).tolist()]
    assert names == ["input", "gcn", "gat", "skip", "sage", "output"]
    edges = set(zip(*g.edge_index.tolist(), strict=True))
    assert edges == {(0, 1), (1, 2), (1, 3), (0, 4), (2, 5), (3, 5), (4, 5)}


def test_to_batch_matches_from_data_list(space):
    cells = space.sample_many(300, np.random.default_rng(2)) + [
        space.make(link=[0, 0, 1, 2], ops=["gcn"] * 4)
    ]
    fast = space.to_batch(cells)
    ref = Batch.from_data_list([space.to_graph(c) for c in cells])
    for key in ("x", "edge_index", "batch", "ptr"):
        assert torch.equal(getattr(fast, key), getattr(ref, key)), key
    assert fast.num_graphs == len(cells)
    assert torch.equal(fast[10].edge_index, ref[10].edge_index)
    # every op node is reached from the input and reaches the output
    for data in fast.to_data_list()[:50]:
        src, dst = data.edge_index
        assert set(src.tolist()) | set(dst.tolist()) == set(range(6)) and (dst == 5).sum() >= 1


def test_encode(space):
    cells = list(space.enumerate())
    enc = space.encode(cells)
    assert enc.shape == (len(cells), 52) and enc.dtype == np.float32
    links = enc[:, :16].reshape(-1, 4, 4).argmax(-1)
    ops = enc[:, 16:].reshape(-1, 4, 9).argmax(-1)
    decoded = [
        NASBenchGraphCell(tuple(map(int, lk)), tuple(FULL_OPS[i] for i in op))
        for lk, op in zip(links, ops, strict=True)
    ]
    assert decoded == cells


def test_to_network(space):
    pytest.importorskip("gnnpred.networks.nasbench_graph")
    net = space.to_network(
        space.make(link=[0, 1, 2, 3], ops=["gcn", "gat", "sage", "fc"]),
        in_channels=8,
        num_classes=3,
    )
    assert isinstance(net, torch.nn.Module)
    with pytest.raises(TypeError, match="NASBenchGraphCell"):
        space.to_network("0,1,2,3|gcn,gat,sage,fc", in_channels=8, num_classes=3)
