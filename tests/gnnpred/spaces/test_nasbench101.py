"""Tests of the NAS-Bench-101 space, on cells built here and on official reference cells.

Behaviour is tested on cells sampled in the tests; the official module hashes of a few cells
are written below, and the 1,000 cells of ``../shared/data`` (when present) are checked too.
The enumeration of all cells is tested in ``test_nb101_enum.py``.
"""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from gnnpred.spaces import NASBench101Cell, NASBench101Space, get_space

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
HIDDEN = (C3, C1, MP)


@pytest.fixture(scope="module")
def space() -> NASBench101Space:
    return get_space("nb101")


@pytest.fixture(scope="module")
def rows(nb101_graphs1k) -> list[dict]:
    return json.loads(nb101_graphs1k.read_text())


@pytest.fixture(scope="module")
def cells(space) -> list[NASBench101Cell]:
    """400 distinct cells (one per hash) drawn with the paper's sampler, larger ones first."""
    found: dict[str, NASBench101Cell] = {}
    for cell in space.sample_many(3000, np.random.default_rng(0)):
        found.setdefault(space.hash(cell), cell)
    out = sorted(found.values(), key=lambda c: -len(c.ops))[:400]
    assert len(out) == 400
    return out


#: Cells of the official table with their module hashes (``nasbench_only108.tfrecord``).
OFFICIAL = [
    (
        "00005c142e6f48ac74fdcf73e3439874",
        [
            [0, 1, 0, 0, 1, 1, 0],
            [0, 0, 1, 0, 0, 0, 0],
            [0, 0, 0, 1, 0, 0, 1],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        ["input", C3, MP, C3, C3, C1, "output"],
    ),
    (
        "004b07b2b05fd53372686c5712726f0d",
        [
            [0, 1, 1, 0, 0, 0, 0],
            [0, 0, 1, 0, 0, 1, 0],
            [0, 0, 0, 1, 1, 0, 0],
            [0, 0, 0, 0, 1, 0, 0],
            [0, 0, 0, 0, 0, 1, 0],
            [0, 0, 0, 0, 0, 0, 1],
            [0, 0, 0, 0, 0, 0, 0],
        ],
        ["input", MP, C3, MP, C3, C3, "output"],
    ),
    (
        "001a6fcc8b38cbc515be788a86bdc804",
        [[0, 1, 1, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0]],
        ["input", MP, MP, "output"],
    ),
]


def reference_prune(matrix, ops):
    """Independent set-based version of the official pruning rule, for comparison."""
    n = len(ops)
    fwd, stack = {0}, [0]
    while stack:
        u = stack.pop()
        for v in range(n):
            if matrix[u][v] and v not in fwd:
                fwd.add(v)
                stack.append(v)
    bwd, stack = {n - 1}, [n - 1]
    while stack:
        v = stack.pop()
        for u in range(n):
            if matrix[u][v] and u not in bwd:
                bwd.add(u)
                stack.append(u)
    keep = sorted(fwd & bwd)
    return [[matrix[i][j] for j in keep] for i in keep], [ops[i] for i in keep]


def relabel(cell: NASBench101Cell, perm: list[int]) -> tuple[list[list[int]], list[str]]:
    """The cell with vertices reordered (vertex ``a`` of the result is ``perm[a]``)."""
    m = np.asarray(cell.matrix)[np.ix_(perm, perm)]
    return m.tolist(), [cell.ops[p] for p in perm]


def fresh(cell: NASBench101Cell) -> NASBench101Cell:
    """A new instance of ``cell`` (no memoised hash or validity)."""
    return NASBench101Cell(tuple(map(tuple, cell.matrix)), tuple(cell.ops))


def topological_relabels(cell: NASBench101Cell):
    n = len(cell.ops)
    for mid in itertools.permutations(range(1, n - 1)):
        perm = [0, *mid, n - 1]
        m, o = relabel(cell, perm)
        if not np.tril(m).any():
            yield m, o


# ------------------------------------------------------------------------------ make / validate
def test_registry_and_size(space):
    assert isinstance(space, NASBench101Space)
    assert len(space) == 423_624
    assert space.op_vocab == ("input", C1, C3, MP, "output")


def test_make_prunes_like_the_official_model_spec(space):
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 300:
        m = np.triu(rng.integers(0, 2, size=(7, 7)), 1)
        ops = ["input", *rng.choice(HIDDEN, size=5).tolist(), "output"]
        ref_m, ref_ops = reference_prune(m.tolist(), ops)
        if len(ref_ops) < 2 or np.sum(ref_m) > 9:
            with pytest.raises(ValueError):
                space.make(matrix=m, ops=ops)
            continue
        cell = space.make(matrix=m, ops=ops)
        assert [list(r) for r in cell.matrix] == ref_m and list(cell.ops) == ref_ops
        checked += 1


def test_make_accepts_lists_and_arrays(space):
    _, matrix, ops = OFFICIAL[0]
    r = {"matrix": matrix, "ops": ops}
    a = space.make(matrix=r["matrix"], ops=r["ops"])
    b = space.make(matrix=np.array(r["matrix"], dtype=np.int32), ops=np.array(r["ops"]))
    c = space.make(matrix=np.array(r["matrix"], dtype=bool), ops=tuple(r["ops"]))
    assert a == b == c
    assert isinstance(a.matrix[0], tuple) and isinstance(a.matrix[0][0], int)
    assert hash(a) == hash(b)


def _spec(edges, ops, n=None):
    n = n or len(ops)
    m = np.zeros((n, n), int)
    for i, j in edges:
        m[i, j] = 1
    return m, ops


@pytest.mark.parametrize(
    "matrix, ops, match",
    [
        (*_spec([(0, 1), (1, 2), (2, 1)], ["input", C3, "output"]), "upper-triangular"),
        (*_spec([(0, 1), (1, 1), (1, 2)], ["input", C3, "output"]), "upper-triangular"),
        (
            *_spec([(0, 2), (1, 2)], ["input", C3, "output", "output"][:3]),
            None,
        ),  # valid after pruning
        (*_spec([(0, 1), (2, 3)], ["input", C3, C3, "output"]), "No path"),
        (*_spec([(0, 1), (1, 2)], ["input", "conv5x5", "output"]), "Unknown op 'conv5x5'"),
        (*_spec([(0, 1), (1, 2)], [C3, C3, "output"]), "first op must be 'input'"),
        (*_spec([(0, 1), (1, 2)], ["input", C3, C3]), "last 'output'"),
        (*_spec([(0, 1), (1, 2), (2, 3)], ["input", "output", C3, "output"]), "Only the first"),
        (np.zeros((3, 3), int), ["input", C3], "3 x 3 but there are 2 ops"),
        (np.zeros((3, 2), int), ["input", C3, "output"], "square"),
        ([[0, 2], [0, 0]], ["input", "output"], "0 or 1"),
        (*_spec([(i, i + 1) for i in range(7)], ["input", *[C3] * 6, "output"]), "8 vertices"),
        (
            *_spec(
                [(0, j) for j in range(1, 6)] + [(j, 5) for j in range(1, 5)] + [(1, 2)],
                ["input", *[C1] * 4, "output"],
            ),
            "10 edges",
        ),
    ],
)
def test_make_rejects_invalid_cells_saying_why(space, matrix, ops, match):
    if match is None:
        cell = space.make(matrix=matrix, ops=ops)
        assert cell.ops == ("input", "output") and cell.matrix == ((0, 1), (0, 0))
        return
    with pytest.raises(ValueError, match=match):
        space.make(matrix=matrix, ops=ops)


def test_make_argument_errors(space):
    """Missing, extra or positional arguments are Python's TypeError; bad values ValueError."""
    with pytest.raises(TypeError, match="'ops'"):
        space.make(matrix=[[0, 1], [0, 0]])
    with pytest.raises(TypeError, match="unexpected keyword argument 'link'"):
        space.make(matrix=[[0, 1], [0, 0]], ops=["input", "output"], link=[0])
    with pytest.raises(TypeError, match="positional"):
        space.make([[0, 1], [0, 0]], ["input", "output"])
    with pytest.raises(ValueError, match="op names"):
        space.make(matrix=[[0, 1], [0, 0]], ops="input,output")
    with pytest.raises(ValueError, match="op names"):
        space.make(matrix=[[0, 1], [0, 0]], ops=["input", 7])
    with pytest.raises(ValueError, match="0/1 numbers"):
        space.make(matrix=[["a", "b"], ["c", "d"]], ops=["input", "output"])


def test_validate_rejects_unpruned_and_foreign_values(space):
    assert space.is_valid(NASBench101Cell(((0, 1), (0, 0)), ("input", "output")))
    dangling = NASBench101Cell(((0, 1, 1), (0, 0, 0), (0, 0, 0)), ("input", C3, "output"))
    with pytest.raises(ValueError, match="not pruned"):
        space.validate(dangling)
    with pytest.raises(TypeError, match="NASBench101Cell"):
        space.validate("0110;input,output")
    with pytest.raises(ValueError, match="upper-triangular"):
        space.validate(NASBench101Cell(((0, 1), (1, 0)), ("input", "output")))
    with pytest.raises(ValueError, match="archs\\[1\\]|not pruned"):
        space.check_archs([NASBench101Cell(((0, 1), (0, 0)), ("input", "output")), dangling])
    assert not space.is_valid(NASBench101Cell(((0, 1), (0, 0)), ("input", "conv7x7")))


# ------------------------------------------------------------------------------ identity
@pytest.mark.parametrize(("expected", "matrix", "ops"), OFFICIAL)
def test_hash_reproduces_official_hashes(space, expected, matrix, ops):
    assert space.hash(space.make(matrix=matrix, ops=ops)) == expected


def test_hash_reproduces_all_official_hashes_of_the_shared_sample(space, rows):
    assert len(rows) == 1000
    for r in rows:
        assert space.hash(space.make(matrix=r["matrix"], ops=r["ops"])) == r["hash"], r


def test_hash_and_canonical_are_isomorphism_invariant(space, cells):
    for cell in cells[:40]:
        forms = {
            space.canonical(space.make(matrix=m, ops=o)) for m, o in topological_relabels(cell)
        }
        hashes = {space.hash(space.make(matrix=m, ops=o)) for m, o in topological_relabels(cell)}
        assert len(forms) == 1 and hashes == {space.hash(cell)}
        canon = forms.pop()
        assert space.canonical(canon) is canon
        assert space.is_valid(fresh(canon))


def test_string_round_trip(space, cells):
    for cell in cells:
        text = space.to_string(cell)
        assert space.from_string(text) == cell
    assert space.to_string(
        space.make(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]], ops=["input", MP, "output"])
    ) == ("011|001|000;input,maxpool3x3,output")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "011|001|000",
        "011|001;input,output",
        "0a1|001|000;input,conv3x3-bn-relu,output",
        "011|001|000;input,conv9x9,output",
    ],
)
def test_from_string_rejects_bad_strings(space, text):
    with pytest.raises(ValueError, match="Bad NB101 string"):
        space.from_string(text)


# ------------------------------------------------------------------------------ sampling
def _assert_valid_pruned(space, cell):
    space.validate(fresh(cell))  # includes: pruned, <= 7 vertices, <= 9 edges, known ops
    assert len(cell.ops) <= 7 and sum(map(sum, cell.matrix)) <= 9


def test_sample_is_valid_reproducible_and_varied(space):
    a = space.sample_many(300, np.random.default_rng(1))
    b = space.sample_many(300, np.random.default_rng(1))
    assert a == b
    for cell in a:
        _assert_valid_pruned(space, cell)
    # The paper's sampler is not uniform over unique cells: pruning often shrinks the 7-vertex
    # draw (the bare input -> output cell comes out ~9% of the time).
    assert len({space.hash(c) for c in a}) > 150
    assert len({len(c.ops) for c in a}) >= 4


def test_mutate_returns_a_different_valid_cell(space, cells):
    rng = np.random.default_rng(2)
    for cell in cells[:150]:
        new = space.mutate(cell, rng)
        _assert_valid_pruned(space, new)
        assert space.hash(fresh(new)) != space.hash(cell)
    small = space.make(matrix=[[0, 1], [0, 0]], ops=["input", "output"])
    assert space.hash(space.mutate(small, rng)) != space.hash(small)
    for bad in (0, 7, 8.5, "1", True):  # at 7 every edge slot flips: one graph, always
        with pytest.raises(ValueError, match=r"mutation_rate must be a number in \(0, 7\)"):
            space.mutate(cell, rng, mutation_rate=bad)


def test_neighbours(space, cells):
    for cell in cells[:25]:
        nbrs = space.neighbours(cell)
        hashes = [space.hash(fresh(c)) for c in nbrs]
        assert len(set(hashes)) == len(hashes) and space.hash(cell) not in hashes
        for c in nbrs:
            _assert_valid_pruned(space, c)
        # every single-op change is a neighbour
        for v in range(1, len(cell.ops) - 1):
            for op in HIDDEN:
                if op != cell.ops[v]:
                    other = space.make(
                        matrix=cell.matrix, ops=[*cell.ops[:v], op, *cell.ops[v + 1 :]]
                    )
                    if space.hash(other) != space.hash(cell):
                        assert space.hash(other) in hashes
        # every edge removal that leaves a valid cell is a neighbour
        for i, j in zip(*np.nonzero(cell.matrix), strict=True):
            m = np.array(cell.matrix)
            m[i, j] = 0
            try:
                other = space.make(matrix=m, ops=cell.ops)
            except ValueError:
                continue
            assert space.hash(other) in hashes
        assert space.neighbours(cell) == nbrs


# ------------------------------------------------------------------------------ tensors
def test_to_graph_matches_cell(space, cells):
    for cell in cells[:50]:
        g = space.to_graph(cell)
        assert g.num_nodes == len(cell.ops) and g.x.shape == (len(cell.ops), 5)
        assert [space.op_vocab[i] for i in g.x.argmax(1).tolist()] == list(cell.ops)
        assert torch.all(g.x.sum(1) == 1)
        edges = {tuple(e) for e in g.edge_index.t().tolist()}
        assert edges == {
            (i, j) for i, row in enumerate(cell.matrix) for j, v in enumerate(row) if v
        }


def test_to_batch_equals_from_data_list(space, cells):
    some = cells[:200]
    ours = space.to_batch(some)
    ref = Batch.from_data_list([space.to_graph(c) for c in some])
    for key in ("x", "edge_index", "batch", "ptr"):
        assert torch.equal(ours[key], ref[key]), key
    assert ours.num_graphs == ref.num_graphs == 200
    for i in (0, 7, 199):
        g, h = ours[i], ref[i]
        assert (
            torch.equal(g.x, h.x)
            and torch.equal(g.edge_index, h.edge_index)
            and g.num_nodes == h.num_nodes
        )
    assert len(ours.to_data_list()) == 200
    with pytest.raises(ValueError, match="at least one"):
        space.to_batch([])


def test_encode_layout(space, cells):
    enc = space.encode(cells)
    assert enc.shape == (len(cells), 56) and enc.dtype == np.float32
    pairs = list(itertools.combinations(range(7), 2))
    for cell, row in zip(cells[:100], enc[:100], strict=True):
        n = len(cell.ops)
        slot = [*range(n - 1), 6]
        adj = np.zeros((7, 7))
        for k, (i, j) in enumerate(pairs):
            adj[i, j] = row[k]
        np.testing.assert_array_equal(adj[np.ix_(slot, slot)], np.array(cell.matrix))
        assert adj.sum() == np.sum(cell.matrix)
        onehot = row[21:].reshape(7, 5)
        assert [space.op_vocab[int(onehot[s].argmax())] for s in slot] == list(cell.ops)
        assert onehot.sum() == n


def test_cells_pickle_and_compare_by_value(space, cells):
    import pickle

    for cell in cells[:20]:
        back = pickle.loads(pickle.dumps(cell))
        assert back == cell and hash(back) == hash(cell) and space.hash(back) == space.hash(cell)
    a, b = cells[0], fresh(cells[0])
    space.hash(a)
    assert a == b and {a: 1}[b] == 1  # memoised values do not take part in equality


def test_to_network_builds_a_module(space, cells):
    pytest.importorskip("gnnpred.networks.nasbench101")
    net = space.to_network(cells[0])
    assert isinstance(net, torch.nn.Module)


def test_param_counts_build_the_networks(space, cells):
    counts = space.param_counts(cells[:2])
    built = [space.to_network(space.canonical(c)) for c in cells[:2]]
    assert counts.tolist() == [sum(p.numel() for p in net.parameters()) for net in built]
