"""The space registry and the behaviour SearchSpace gives every space."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from gnnpred.spaces import (
    NASBench101Space,
    NASBench201Space,
    NASBenchGraphSpace,
    SearchSpace,
    available_spaces,
    get_space,
    register_space,
)
from gnnpred.spaces import base as base_module


def test_available_spaces_lists_the_three_benchmarks():
    assert {"nasbench101", "nasbench201", "nasbench-graph"} <= set(available_spaces())
    assert available_spaces() == sorted(available_spaces())


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("nasbench201", NASBench201Space), ("nb201", NASBench201Space), ("NB201", NASBench201Space), ("NasBench-201", NASBench201Space),
        ("nasbench101", NASBench101Space), ("nb101", NASBench101Space),
        ("nasbench-graph", NASBenchGraphSpace), ("nbg", NASBenchGraphSpace), ("nasbench_graph", NASBenchGraphSpace),
    ],
)
def test_get_space_names_and_aliases(name, cls):
    space = get_space(name)
    assert type(space) is cls and space.name == get_space(cls.name).name
    assert isinstance(space, SearchSpace)


def test_get_space_passes_keyword_arguments():
    assert len(get_space("nasbench-graph", op_set="proteins")) < len(get_space("nasbench-graph"))
    with pytest.raises(ValueError, match="op_set"):
        get_space("nasbench-graph", op_set="nope")


def test_unknown_space_names_the_available_ones():
    with pytest.raises(ValueError, match="Unknown search space 'darts'") as info:
        get_space("darts")
    for name in ("nasbench101", "nasbench201", "nasbench-graph"):
        assert name in str(info.value)


@dataclass(frozen=True)
class _Bit:
    value: int


def test_register_space_and_base_defaults(monkeypatch):
    monkeypatch.setattr(base_module, "_REGISTRY", dict(base_module._REGISTRY))

    @register_space("toy-bits")
    class ToySpace(SearchSpace):
        arch_type = _Bit
        op_vocab = ("zero", "one")

        def sample(self, rng):
            return _Bit(int(rng.integers(2)))

        def mutate(self, arch, rng):
            return _Bit(1 - arch.value)

        def neighbours(self, arch):
            return [_Bit(1 - arch.value)]

        def validate(self, arch):
            if not isinstance(arch, _Bit):
                raise TypeError(f"not a bit: {arch!r}")
            if arch.value not in (0, 1):
                raise ValueError(f"bad bit {arch.value}")

        def make(self, **spec):
            return _Bit(spec["value"])

        def hash(self, arch):
            return arch.value

        def to_string(self, arch):
            return str(arch.value)

        def from_string(self, text):
            return _Bit(int(text))

        def to_graph(self, arch):
            from torch_geometric.data import Data

            from gnnpred.spaces.base import one_hot

            return Data(x=one_hot(np.array([arch.value]), 2), edge_index=np.zeros((2, 0), dtype=np.int64), num_nodes=1)

        def encode(self, archs):
            return np.array([[a.value] for a in archs], dtype=np.float32)

    space = get_space("toy-bits")
    assert isinstance(space, ToySpace) and space.name == "toy-bits" and "toy-bits" in available_spaces()
    assert space.is_valid(_Bit(1)) and not space.is_valid(_Bit(2)) and not space.is_valid(3)
    assert space.canonical(_Bit(1)) == _Bit(1)
    assert len(space.sample_many(5, np.random.default_rng(0))) == 5
    with pytest.raises(NotImplementedError, match="toy-bits"):
        space.enumerate()
    with pytest.raises(TypeError, match="no known size"):
        len(space)
    with pytest.raises(NotImplementedError, match="to_network"):
        space.to_network(_Bit(0))
    with pytest.raises(TypeError, match="sequence"):
        space.check_archs(_Bit(0))
    with pytest.raises(TypeError, match=r"archs\[1\] is a int"):
        space.check_archs([_Bit(0), 1])
    with pytest.raises(ValueError, match="bad bit"):
        space.check_archs([_Bit(5)])


@pytest.mark.parametrize("name", ["nasbench101", "nasbench201", "nasbench-graph"])
def test_every_space_meets_the_shared_contract(name):
    space = get_space(name)
    rng = np.random.default_rng(0)
    cells = space.sample_many(8, rng)
    assert all(space.is_valid(c) and isinstance(c, space.arch_type) for c in cells)
    for cell in cells:
        assert hash(cell) == hash(space.from_string(space.to_string(cell)))
        assert space.from_string(space.to_string(cell)) == cell
        graph = space.to_graph(cell)
        assert graph.x.shape == (graph.num_nodes, len(space.op_vocab))
        assert int(graph.edge_index.max()) < graph.num_nodes
        mutant = space.mutate(cell, rng)
        assert space.hash(mutant) != space.hash(cell)
    batch = space.to_batch(cells)
    assert batch.num_graphs == len(cells)
    enc = space.encode(cells)
    assert enc.ndim == 2 and enc.shape[0] == len(cells) and np.isfinite(enc).all()
