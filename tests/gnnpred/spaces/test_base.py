"""The space registry and the behaviour SearchSpace gives every space."""

from __future__ import annotations

import inspect
import subprocess
import sys
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
    resolve_name,
)
from gnnpred.spaces import base as base_module


def test_available_spaces_lists_the_three_benchmarks():
    assert {"nasbench101", "nasbench201", "nasbench-graph"} <= set(available_spaces())
    assert available_spaces() == sorted(available_spaces())


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("nasbench201", NASBench201Space),
        ("nb201", NASBench201Space),
        ("NB201", NASBench201Space),
        ("NasBench-201", NASBench201Space),
        ("nasbench101", NASBench101Space),
        ("nb101", NASBench101Space),
        ("nasbench-graph", NASBenchGraphSpace),
        ("nbg", NASBenchGraphSpace),
        ("nasbench_graph", NASBenchGraphSpace),
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


def test_unknown_space_names_the_accepted_ones():
    with pytest.raises(ValueError, match="Unknown search space or benchmark 'nb301'") as info:
        get_space("nb301")
    for name in ("nasbench101", "nasbench201", "nasbench-graph", "nb101", "nb201", "nbg"):
        assert name in str(info.value)


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("nasbench201", "nasbench201"),
        ("nb201", "nasbench201"),
        ("NB201", "nasbench201"),
        ("nasbench-201", "nasbench201"),
        ("nasbench_201", "nasbench201"),
        ("NAS-Bench-201", "nasbench201"),
        ("nb101", "nasbench101"),
        ("NASBench_101", "nasbench101"),
        ("nasbench-graph", "nasbench-graph"),
        ("nasbench_graph", "nasbench-graph"),
        ("NAS-Bench-Graph", "nasbench-graph"),
        ("nbgraph", "nasbench-graph"),
        ("nbg", "nasbench-graph"),
    ],
)
def test_resolve_name_accepts_every_spelling(name, canonical):
    assert resolve_name(name) == canonical
    assert get_space(name).name == canonical


@pytest.mark.parametrize("name", ["", "nb", "nasbench", "nasbench-301", "nb201x", "201"])
def test_resolve_name_rejects_others_listing_the_names(name):
    with pytest.raises(ValueError, match=r"Accepted names: nasbench101 \(or nb101\)"):
        resolve_name(name)


def test_resolve_name_rejects_a_non_str():
    with pytest.raises(TypeError, match="must be a str"):
        resolve_name(201)


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

        def make(self, *, value):
            return _Bit(value)

        def hash(self, arch):
            return str(arch.value)

        def to_string(self, arch):
            return str(arch.value)

        def from_string(self, text):
            return _Bit(int(text))

        def to_graph(self, arch):
            from torch_geometric.data import Data

            from gnnpred.spaces.base import one_hot

            return Data(
                x=one_hot(np.array([arch.value]), 2),
                edge_index=np.zeros((2, 0), dtype=np.int64),
                num_nodes=1,
            )

        def encode(self, archs):
            return np.array([[a.value] for a in archs], dtype=np.float32)

    space = get_space("Toy_Bits")  # a registered name is resolved like the built-in ones
    assert resolve_name("toy-bits") == "toy-bits"
    assert (
        isinstance(space, ToySpace)
        and space.name == "toy-bits"
        and "toy-bits" in available_spaces()
    )
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


@pytest.mark.parametrize("name", ["nasbench101", "nasbench201", "nasbench-graph", "darts"])
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
        assert isinstance(space.hash(cell), str)  # one key type in every space
    batch = space.to_batch(cells)
    assert batch.num_graphs == len(cells)
    enc = space.encode(cells)
    assert enc.ndim == 2 and enc.shape[0] == len(cells) and np.isfinite(enc).all()
    # the same answers to edge cases in every space
    assert space.encode([]).shape == (0, enc.shape[1])
    assert max(int(n) for n in batch.ptr.diff()) <= space.max_nodes
    with pytest.raises(ValueError, match="at least one architecture"):
        space.to_batch([])
    for bad in (-1, True, 2.0):
        with pytest.raises(ValueError, match="n must be a non-negative int"):
            space.sample_many(bad, rng)
    assert len(space.sample_many(np.int64(2), rng)) == 2


@pytest.mark.parametrize(
    ("name", "cell_name", "spec"),
    [
        ("nasbench101", "NASBench101Cell", ["matrix", "ops"]),
        ("nasbench201", "NASBench201Cell", ["ops"]),
        ("nasbench-graph", "NASBenchGraphCell", ["link", "ops"]),
    ],
)
def test_cells_are_named_alike_and_make_takes_the_benchmark_spec(name, cell_name, spec):
    space = get_space(name)
    assert space.arch_type.__name__ == cell_name
    params = list(inspect.signature(space.make).parameters.values())
    assert [p.name for p in params] == spec
    assert all(p.kind is p.KEYWORD_ONLY and p.default is p.empty for p in params)
    cell = space.sample(np.random.default_rng(0))
    assert space.make(**{k: getattr(cell, k) for k in spec}) == cell


def test_the_first_parameter_count_leaves_torch_global_random_state_alone():
    # the closed-form tables are built once per process from real modules (random weights)
    code = ("import numpy as np, torch\n"
            "from gnnpred import get_space\n"
            "for name in ('nasbench201', 'darts'):\n"
            "    space = get_space(name)\n"
            "    cells = space.sample_many(2, np.random.default_rng(0))\n"
            "    state = torch.get_rng_state()\n"
            "    space.param_counts(cells)\n"
            "    assert torch.equal(state, torch.get_rng_state()), name\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
