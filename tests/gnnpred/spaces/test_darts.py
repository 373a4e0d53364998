"""The DARTS cell space: contract methods, genotype strings, hashing, graphs and the Assessor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from gnnpred import Assessor
from gnnpred.spaces import DARTSCell, DARTSSpace, get_space
from gnnpred.spaces.base import trainable_parameters
from gnnpred.spaces.darts import EDGES, OPS

#: DARTS (second order) as printed in the paper's code (genotypes.py, ``DARTS_V2``).
DARTS_V2 = (
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), "
    "('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), "
    "('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), "
    "('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), "
    "('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])"
)
FLAT = [("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_5x5", 2), ("max_pool_3x3", 0),
        ("avg_pool_3x3", 1), ("sep_conv_5x5", 3), ("skip_connect", 4), ("dil_conv_3x3", 2)]

SPACES = [DARTSSpace(), DARTSSpace(topology=True)]


@pytest.fixture(params=SPACES, ids=["standard", "topology"])
def space(request: pytest.FixtureRequest) -> DARTSSpace:
    return request.param


def cells(space: DARTSSpace, n: int = 20, seed: int = 0) -> list[DARTSCell]:
    return space.sample_many(n, np.random.default_rng(seed))


def test_registry_and_variant() -> None:
    assert isinstance(get_space("darts"), DARTSSpace)
    assert get_space("DARTS").topology is False
    assert get_space("darts", topology=True).topology is True
    with pytest.raises(TypeError, match="topology"):
        DARTSSpace(topology="yes")  # type: ignore[arg-type]


def test_enumerate_and_len_are_unavailable(space: DARTSSpace) -> None:
    with pytest.raises(NotImplementedError, match="darts"):
        next(space.enumerate())
    with pytest.raises(TypeError, match="darts"):
        len(space)


def test_samples_are_valid_and_seeded(space: DARTSSpace) -> None:
    a, b = cells(space, seed=3), cells(space, seed=3)
    assert a == b and a != cells(space, seed=4)
    for cell in a:
        space.validate(cell)
        hash(cell)  # frozen, hashable values
    counts = {len(node) for c in a for node in (*c.normal, *c.reduce)}
    if space.topology:
        assert len(counts) >= 3
    else:
        assert counts == {2}


def test_make_flat_and_nested_forms_agree() -> None:
    space = DARTSSpace()
    nested = [FLAT[k : k + 2] for k in range(0, 8, 2)]
    a = space.make(normal=FLAT, reduce=FLAT)
    b = space.make(normal=nested, reduce=np.array(FLAT, dtype=object).tolist())
    assert a == b
    assert a.normal[2] == (("avg_pool_3x3", 1), ("sep_conv_5x5", 3))
    # NumPy strings and ints (e.g. from a saved array) make the same cell, which round-trips
    c = space.make(normal=[(np.str_(op), np.int64(j)) for op, j in FLAT], reduce=FLAT)
    assert c == a and space.from_string(space.to_string(c)) == a


@pytest.mark.parametrize(
    ("normal", "message"),
    [
        (FLAT[:6], "8 .op, input. pairs"),
        ([*FLAT[:7], ("conv_7x7", 0)], "unknown op 'conv_7x7'"),
        ([*FLAT[:7], ("none", 0)], "'none', a search-only op"),
        ([("sep_conv_3x3", 2), *FLAT[1:]], "input 2 is not an earlier node"),
        ([("sep_conv_3x3", 1), *FLAT[1:]], "reads one input twice"),
        ([[FLAT[0]], FLAT[2:4], FLAT[4:6], FLAT[6:8]], "exactly 2"),
        ([FLAT[0:2], FLAT[2:4], FLAT[4:6]], "4 intermediate nodes"),
        ("sep_conv_3x3", "list of .op, input. pairs"),
        ([("sep_conv_3x3", "0"), *FLAT[1:]], "not an .op: str, input: int. pair"),
    ],
)
def test_make_rejects_bad_cells(normal: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DARTSSpace().make(normal=normal, reduce=FLAT)


def test_topology_space_takes_any_positive_number_of_inputs() -> None:
    nested = [[FLAT[0]], [("skip_connect", 0), ("sep_conv_3x3", 1), ("max_pool_3x3", 2)],
              FLAT[4:6], [("skip_connect", 4)]]
    cell = DARTSSpace(topology=True).make(normal=nested, reduce=FLAT)
    assert [len(n) for n in cell.normal] == [1, 3, 2, 1]
    assert not DARTSSpace().is_valid(cell)
    with pytest.raises(ValueError, match="no input edge"):
        DARTSSpace(topology=True).make(normal=[[], *nested[1:]], reduce=FLAT)


def test_validate_and_make_argument_errors() -> None:
    space = DARTSSpace()
    with pytest.raises(TypeError, match="Expected a DARTSCell"):
        space.validate(FLAT)
    with pytest.raises(TypeError):
        space.make(normal=FLAT)  # type: ignore[call-arg]
    assert not space.is_valid("Genotype()")


def test_string_round_trip(space: DARTSSpace) -> None:
    for cell in cells(space):
        text = space.to_string(cell)
        assert text.startswith("Genotype(normal=[") and "normal_concat=range(2, 6)" in text
        assert space.from_string(text) == cell


def test_published_genotype_parses() -> None:
    space = DARTSSpace()
    cell = space.from_string(DARTS_V2)
    assert cell.reduce[1] == (("skip_connect", 2), ("max_pool_3x3", 1))
    again = space.from_string(space.to_string(cell))  # printed with range(2, 6)
    assert again == cell
    assert DARTSSpace(topology=True).from_string(DARTS_V2) == cell  # flat lists in both spaces


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Genotype(normal=[", "Bad DARTS genotype"),
        ("Foo" + DARTS_V2[8:], "Bad DARTS genotype"),
        (DARTS_V2.replace(", reduce_concat=[2, 3, 4, 5]", ""), "missing \\['reduce_concat'\\]"),
        (DARTS_V2.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[2, 3, 5]"),
         "reduce_concat must be range"),
        (DARTS_V2.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(0, 1000000000000)"),
         "normal_concat must be range"),
        (DARTS_V2.replace("normal=[", "normal=__import__('os').getcwd() or ["),
         "normal is not a literal"),
        (DARTS_V2.replace("'dil_conv_3x3', 2", "'dil_conv_3x3', 5"), "input 5 is not an earlier"),
        (DARTS_V2.replace("Genotype(", "Genotype(foo=1, "), "field 'foo'"),
    ],
)
def test_from_string_rejects_bad_strings(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DARTSSpace().from_string(text)


def test_from_string_needs_a_str() -> None:
    with pytest.raises(TypeError):
        DARTSSpace().from_string(b"Genotype()")  # type: ignore[arg-type]


def test_hash_ignores_the_order_of_a_nodes_inputs(space: DARTSSpace) -> None:
    for cell in cells(space):
        flipped = DARTSCell(tuple(n[::-1] for n in cell.normal),
                            tuple(n[::-1] for n in cell.reduce))
        h = space.hash(cell)
        assert isinstance(h, str) and space.hash(flipped) == h
    hashes = {space.hash(c) for c in cells(space, 50)}
    assert len(hashes) == len({c for c in cells(space, 50)})  # distinct cells, distinct keys


def test_hash_is_the_same_in_both_variants() -> None:
    cell = DARTSSpace().from_string(DARTS_V2)
    assert DARTSSpace().hash(cell) == DARTSSpace(topology=True).hash(cell)


def _relabel(nodes: tuple, perm: tuple[int, ...]) -> tuple:
    """Nodes in the order ``perm`` (``perm[new] = old``), inputs renamed accordingly."""
    pos = {old + 2: new + 2 for new, old in enumerate(perm)} | {0: 0, 1: 1}
    return tuple(tuple((op, pos[j]) for op, j in nodes[old]) for old in perm)


def test_canonical_merges_swapped_independent_nodes(space: DARTSSpace) -> None:
    base = [FLAT[0:2], [("sep_conv_5x5", 0), ("skip_connect", 1)], FLAT[4:6], FLAT[6:8]]
    cell = space.make(normal=base, reduce=FLAT)
    swapped = DARTSCell(_relabel(cell.normal, (1, 0, 2, 3)), cell.reduce)  # nodes 2, 3 swap
    space.validate(swapped)
    assert space.hash(swapped) != space.hash(cell)
    assert space.canonical(swapped) == space.canonical(cell)
    assert space.param_counts([swapped])[0] == space.param_counts([cell])[0]


def test_canonical_is_idempotent_and_keeps_the_network(space: DARTSSpace) -> None:
    for cell in cells(space):
        canon = space.canonical(cell)
        assert space.canonical(canon) == canon
        space.validate(canon)
        for node in (*canon.normal, *canon.reduce):
            assert [j for _, j in node] == sorted(j for _, j in node)
        assert space.param_counts([canon])[0] == space.param_counts([cell])[0]


def test_canonical_keeps_dependent_nodes_apart() -> None:
    space = DARTSSpace()
    chain = space.make(normal=[FLAT[0:2], [("sep_conv_3x3", 0), ("skip_connect", 2)],
                               [("sep_conv_3x3", 0), ("skip_connect", 3)],
                               [("sep_conv_3x3", 0), ("skip_connect", 4)]], reduce=FLAT)
    other = space.make(normal=[FLAT[0:2], [("sep_conv_3x3", 0), ("skip_connect", 2)],
                               [("sep_conv_3x3", 0), ("skip_connect", 2)],
                               [("sep_conv_3x3", 0), ("skip_connect", 2)]], reduce=FLAT)
    assert space.canonical(chain) != space.canonical(other)


def test_neighbours_are_single_valid_edits(space: DARTSSpace) -> None:
    for cell in cells(space, 5):
        out = space.neighbours(cell)
        keys = [space.hash(n) for n in out]
        assert len(set(keys)) == len(keys) and space.hash(cell) not in keys
        for n in out:
            space.validate(n)
            changed = [a != b for a, b in zip((*cell.normal, *cell.reduce),
                                              (*n.normal, *n.reduce), strict=True)]
            assert sum(changed) == 1
        if not space.topology:  # per node i: 2 slots x (6 other ops + (i - 2) free inputs)
            assert len(out) == 2 * sum(2 * (len(OPS) - 1 + i - 2) for i in range(2, 6))


def test_mutate_returns_a_seeded_neighbour(space: DARTSSpace) -> None:
    cell = cells(space, 1)[0]
    keys = {space.hash(n) for n in space.neighbours(cell)}
    a = [space.mutate(cell, np.random.default_rng(s)) for s in range(10)]
    assert a == [space.mutate(cell, np.random.default_rng(s)) for s in range(10)]
    assert all(space.hash(m) in keys for m in a) and len(set(a)) > 1


def test_to_graph_structure(space: DARTSSpace) -> None:
    for cell in cells(space, 10):
        g = space.to_graph(cell)
        edges = sum(len(n) for n in (*cell.normal, *cell.reduce))
        assert g.num_nodes == 2 + edges + 2 and g.x.shape == (g.num_nodes, len(space.op_vocab))
        assert torch.equal(g.x.sum(1), torch.ones(g.num_nodes))
        assert bool((g.edge_index[0] < g.edge_index[1]).all())  # a DAG in node order
        flipped = DARTSCell(tuple(n[::-1] for n in cell.normal), cell.reduce)
        h = space.to_graph(flipped)
        assert torch.equal(h.x, g.x) and torch.equal(h.edge_index, g.edge_index)
    batch = space.to_batch(cells(space, 3))
    assert batch.num_graphs == 3


def test_to_graph_of_a_known_cell() -> None:
    space = DARTSSpace()
    g = space.to_graph(space.from_string(DARTS_V2))
    vocab = space.op_vocab
    types = [vocab[k] for k in g.x.argmax(1).tolist()]
    assert types[:4] == ["c_{k-2}", "c_{k-1}", "normal/sep_conv_3x3", "normal/sep_conv_3x3"]
    assert types[10] == "output" and types[-1] == "output" and len(types) == 20
    src = g.edge_index[0].tolist()
    dst = g.edge_index[1].tolist()
    # normal node 5 = skip_connect(0) + dil_conv_3x3(2): the dil conv node (graph node 9) is fed
    # by both edge nodes of intermediate node 2 (graph nodes 2 and 3)
    assert sorted(s for s, d in zip(src, dst, strict=True) if d == 9) == [2, 3]
    # reduction edge max_pool_3x3(1) reads the normal cell's output (graph node 10)
    assert (10, 12) in set(zip(src, dst, strict=True))


def test_encode(space: DARTSSpace) -> None:
    batch = cells(space, 6)
    x = space.encode(batch)
    assert x.shape == (6, 2 * len(EDGES) * len(OPS)) and x.dtype == np.float32
    counts = [sum(len(n) for n in (*c.normal, *c.reduce)) for c in batch]
    assert x.sum(1).tolist() == counts


def test_param_counts_equal_the_built_networks(space: DARTSSpace) -> None:
    batch = cells(space, 3)
    built = [trainable_parameters(space.to_network(space.canonical(c))) for c in batch]
    assert space.param_counts(batch).tolist() == built


def test_assessor_learns_the_parameter_count() -> None:
    """Labels are a real property of each cell: log of its default network's parameter count."""
    space = DARTSSpace()
    batch = cells(space, 200, seed=1)
    y = np.log(space.param_counts(batch).astype(float))
    small = dict(pretrain_steps=40, n_heads=1, gcn_epochs=20, regressor_steps=30,
                 hidden_channels=32, embedding_dim=16, num_layers=2, k=5, device="cpu")
    est = Assessor("darts", **small, random_state=0)
    assert est.fit(batch[:100], y[:100], unlabeled=200) is est
    pred = est.predict(batch[100:])
    assert pred.shape == (100,) and np.isfinite(pred).all()
    assert spearmanr(pred, y[100:]).statistic > 0.4  # chance level is 0
