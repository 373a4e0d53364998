"""NAS-Bench-201 space: contract, canonical forms, graphs, and the real CIFAR-10 table."""

from __future__ import annotations

import collections
import csv
import itertools

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from gnnpred.spaces import NASBench201Cell, NASBench201Space, get_space
from gnnpred.spaces.nasbench201 import EDGES, OPS

BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)


@pytest.fixture(scope="module")
def space() -> NASBench201Space:
    return get_space("nasbench201")


@pytest.fixture(scope="module")
def all_cells(space) -> list[NASBench201Cell]:
    return list(space.enumerate())


def _diff(a: NASBench201Cell, b: NASBench201Cell) -> int:
    return sum(x != y for x, y in zip(a.ops, b.ops, strict=True))


# ----------------------------------------------------------------------------------- identity
def test_enumerate_covers_space_once_in_product_order(space, all_cells):
    assert len(space) == len(OPS) ** 6 == len(all_cells) == len(set(all_cells))
    assert all_cells == [NASBench201Cell(ops) for ops in itertools.product(OPS, repeat=6)]
    assert len({space.hash(a) for a in all_cells}) == len(all_cells)


def test_string_round_trip_every_cell(space, all_cells):
    for cell in all_cells:
        text = space.to_string(cell)
        assert space.from_string(text) == cell
        assert space.hash(cell) == text
    cell = space.from_string(BEST)
    assert cell.ops == (
        "nor_conv_3x3",
        "nor_conv_3x3",
        "nor_conv_3x3",
        "skip_connect",
        "nor_conv_3x3",
        "nor_conv_3x3",
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "|none~0|+|none~0|none~1|",
        "|none~0|+|none~0|none~1|+|none~0|none~1|",
        "|none~1|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        "|none0|+|none~0|none~1|+|none~0|none~1|none~2|",
    ],
)
def test_from_string_rejects_bad_strings_naming_them(space, text):
    with pytest.raises(ValueError, match="Bad NB201 string") as info:
        space.from_string(text)
    assert repr(text) in str(info.value)


def test_from_string_wrong_type(space):
    with pytest.raises(TypeError, match="NB201 string"):
        space.from_string(12)


def test_make_validates(space):
    cell = space.make(
        ops=["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3", "none"]
    )
    assert isinstance(cell.ops, tuple) and hash(cell) == hash(NASBench201Cell(tuple(cell.ops)))
    with pytest.raises(ValueError, match="6 edge ops"):
        space.make(ops=["none"] * 5)
    with pytest.raises(ValueError, match="Valid ops") as info:
        space.make(ops=["none"] * 5 + ["conv5x5"])
    assert "conv5x5" in str(info.value) and "avg_pool_3x3" in str(info.value)
    with pytest.raises(ValueError, match="sequence"):
        space.make(ops="none")
    with pytest.raises(ValueError, match="op names"):
        space.make(ops=["none"] * 5 + [3])


def test_make_signature_is_keyword_only(space):
    """A missing, extra or positional argument is Python's own TypeError."""
    with pytest.raises(TypeError, match="unexpected keyword argument 'matrix'"):
        space.make(ops=["none"] * 6, matrix=[[0]])
    with pytest.raises(TypeError, match="'ops'"):
        space.make()
    with pytest.raises(TypeError, match="positional"):
        space.make(["none"] * 6)


def test_validate_and_is_valid(space):
    with pytest.raises(TypeError, match="NASBench201Cell"):
        space.validate(("none",) * 6)
    with pytest.raises(TypeError, match="tuple of op names"):
        space.validate(NASBench201Cell((1, 2, 3, 4, 5, 6)))
    assert space.is_valid(NASBench201Cell(("none",) * 6))
    assert not space.is_valid(NASBench201Cell(("none",) * 7))
    with pytest.raises(TypeError, match=r"archs\[1\]"):
        space.check_archs([NASBench201Cell(("none",) * 6), "x"])


# ----------------------------------------------------------------------------------- sampling
def test_sample_is_seeded_and_uniform(space):
    a = space.sample_many(6000, np.random.default_rng(3))
    b = space.sample_many(6000, np.random.default_rng(3))
    assert a == b and a != space.sample_many(6000, np.random.default_rng(4))
    assert all(space.is_valid(c) for c in a)
    assert space.sample(np.random.default_rng(5)) == space.sample(np.random.default_rng(5))
    counts = space.encode(a).reshape(len(a), 6, len(OPS)).sum(axis=0)  # [edge, op]
    expected = len(a) / len(OPS)
    # chi-square per edge with 4 dof: p < 1e-4 above 23.5
    chi2 = ((counts - expected) ** 2 / expected).sum(axis=1)
    assert (chi2 < 23.5).all(), chi2


def test_mutate_changes_exactly_one_edge(space):
    rng = np.random.default_rng(0)
    cell = space.from_string(BEST)
    seen = set()
    for _ in range(600):
        m = space.mutate(cell, rng)
        assert _diff(cell, m) == 1 and space.is_valid(m)
        seen.add(m)
    assert seen == set(space.neighbours(cell))
    r1, r2 = np.random.default_rng(9), np.random.default_rng(9)
    assert [space.mutate(cell, r1) for _ in range(5)] == [space.mutate(cell, r2) for _ in range(5)]


def test_neighbours(space):
    cell = space.from_string(BEST)
    nbrs = space.neighbours(cell)
    assert len(nbrs) == len(set(nbrs)) == 6 * (len(OPS) - 1)
    assert all(_diff(cell, n) == 1 for n in nbrs)
    assert nbrs == space.neighbours(cell)


# ----------------------------------------------------------------------------------- canonical
def _path_pruned(ops: tuple[str, ...]) -> list[str]:
    """Independent liveness: an edge is live iff it is on an input->output path of live ops."""
    paths = [[3], [0, 4], [1, 5], [0, 2, 5]]  # edge indices of the four 0 -> 3 paths
    live = {e for p in paths if all(ops[e] != "none" for e in p) for e in p}
    return [o if i in live else "none" for i, o in enumerate(ops)]


def test_canonical_matches_path_liveness_on_every_cell(space, all_cells):
    code = {o: i for i, o in enumerate(OPS)}
    for cell in all_cells:
        pruned = _path_pruned(cell.ops)
        options = [pruned]
        if pruned[2] == "none":
            options.append([pruned[1], pruned[0], "none", pruned[3], pruned[5], pruned[4]])
        expected = min(options, key=lambda ops: [code[o] for o in ops])
        canon = space.canonical(cell)
        assert list(canon.ops) == expected, cell
        assert space.canonical(canon) == canon


def test_canonical_examples(space):
    dead_out = space.make(ops=["nor_conv_3x3", "none", "none", "none", "none", "none"])
    assert space.canonical(dead_out) == space.make(ops=["none"] * 6)
    dead_in = space.make(
        ops=["none", "none", "nor_conv_1x1", "skip_connect", "avg_pool_3x3", "none"]
    )
    assert space.canonical(dead_in).ops == ("none", "none", "none", "skip_connect", "none", "none")
    twin = space.make(
        ops=["nor_conv_3x3", "skip_connect", "none", "none", "nor_conv_1x1", "avg_pool_3x3"]
    )
    swapped = space.make(
        ops=["skip_connect", "nor_conv_3x3", "none", "none", "avg_pool_3x3", "nor_conv_1x1"]
    )
    assert space.canonical(twin) == space.canonical(swapped) == swapped
    best = space.from_string(BEST)
    assert space.canonical(best) is best


def test_canonical_is_a_projection_onto_fewer_classes(space, all_cells):
    canon = [space.canonical(c) for c in all_cells]
    classes = set(canon)
    assert all(space.canonical(c) == c for c in classes)  # representatives are fixed points
    assert classes == {c for c in all_cells if space.canonical(c) == c}
    assert 1000 < len(classes) < len(space)
    empty = space.make(ops=["none"] * 6)
    assert empty in classes and canon.count(empty) > 1  # every cut-off cell is the empty one


def test_canonical_classes_share_accuracy(space, nb201_csv):
    with open(nb201_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(space)
    groups: dict[NASBench201Cell, list[float]] = collections.defaultdict(list)
    for row in rows:
        groups[space.canonical(space.from_string(row["arch"]))].append(float(row["test_accuracy"]))
    n_classes = len(groups)
    assert n_classes == sum(space.canonical(c) == c for c in space.enumerate())
    assert 1000 < n_classes < len(space)
    accs = np.array([float(r["test_accuracy"]) for r in rows])
    within = np.array([np.std(v) for v in groups.values() if len(v) > 1])
    # Accuracies of the members of a class differ only by training noise.
    assert np.median(within) < 0.02 * accs.std()
    assert np.quantile(within, 0.99) < 0.1 * accs.std()
    # A random grouping of the same sizes would not be this tight.
    rng = np.random.default_rng(0)
    perm = rng.permutation(accs)
    sizes = [len(v) for v in groups.values() if len(v) > 1]
    splits = np.split(perm[: sum(sizes)], np.cumsum(sizes)[:-1])
    assert np.median([s.std() for s in splits]) > 10 * np.median(within)


# ----------------------------------------------------------------------------------- tensors
def test_to_graph_structure(space):
    cell = space.from_string(BEST)
    g = space.to_graph(cell)
    assert g.num_nodes == 8 and g.x.shape == (8, len(space.op_vocab)) and g.x.dtype == torch.float32
    assert torch.equal(g.x.sum(1), torch.ones(8))
    names = [space.op_vocab[i] for i in g.x.argmax(1).tolist()]
    assert names == ["input", *cell.ops, "output"]
    src, dst = g.edge_index.tolist()
    assert (
        g.edge_index.dtype == torch.long
        and len(src) == 10
        and all(s < d for s, d in zip(src, dst, strict=True))
    )
    # Op node a (edge s->t) feeds op node b (edge s'->t') exactly when t == s'.
    pairs = set(zip(src, dst, strict=True))
    for a, (_, t) in enumerate(EDGES):
        for b, (s, _) in enumerate(EDGES):
            assert ((a + 1, b + 1) in pairs) == (t == s)
        assert ((0, a + 1) in pairs) == (EDGES[a][0] == 0)
        assert ((a + 1, 7) in pairs) == (t == 3)


def test_to_batch_matches_from_data_list(space):
    cells = space.sample_many(50, np.random.default_rng(1))
    fast = space.to_batch(cells)
    ref = Batch.from_data_list([space.to_graph(c) for c in cells])
    for key in ("x", "edge_index", "batch", "ptr"):
        assert torch.equal(getattr(fast, key), getattr(ref, key)), key
    assert fast.num_graphs == 50
    assert torch.equal(fast[7].x, ref[7].x) and torch.equal(fast[7].edge_index, ref[7].edge_index)
    assert len(fast.to_data_list()) == 50
    with pytest.raises(ValueError, match="at least one"):
        space.to_batch([])


def test_to_batch_whole_space(space, all_cells):
    batch = space.to_batch(all_cells)
    assert batch.num_graphs == len(all_cells) and batch.x.shape == (8 * len(all_cells), 7)
    assert batch.edge_index.shape == (2, 10 * len(all_cells))


def test_encode(space, all_cells):
    enc = space.encode(all_cells)
    assert enc.shape == (len(all_cells), 30) and enc.dtype == np.float32
    decoded = enc.reshape(-1, 6, len(OPS)).argmax(-1)
    assert [tuple(OPS[i] for i in row) for row in decoded[:500]] == [c.ops for c in all_cells[:500]]
    assert np.unique(enc, axis=0).shape[0] == len(all_cells)
    with pytest.raises(TypeError):
        space.encode(["|none~0|"])


def test_to_network(space):
    pytest.importorskip("gnnpred.networks.nasbench201")
    net = space.to_network(space.from_string(BEST))
    assert isinstance(net, torch.nn.Module)


def test_param_counts_match_the_built_networks(space):
    from gnnpred.spaces.base import SearchSpace

    cells = space.sample_many(40, np.random.default_rng(3)) + [space.from_string(BEST)]
    # node 3 is unreachable: every edge is dead
    dead = space.make(ops=["nor_conv_3x3", "none", "nor_conv_3x3", "none", "none", "none"])
    cells.append(dead)
    fast = space.param_counts(cells)
    assert fast.dtype == np.int64 and fast.shape == (len(cells),)
    np.testing.assert_array_equal(fast, SearchSpace.param_counts(space, cells))
    built = space.to_network(space.canonical(cells[5]))
    assert fast[5] == sum(p.numel() for p in built.parameters())
    empty = space.make(ops=["none"] * 6)
    # dead edges carry no parameters: the cell counts as the empty one
    assert (
        fast[-1]
        == space.param_counts([empty])[0]
        < sum(p.numel() for p in space.to_network(dead).parameters())
    )
