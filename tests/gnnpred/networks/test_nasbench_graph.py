"""GraphNetwork: the NAS-Bench-Graph DAG, parameter counts against the benchmark's 'para'."""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path

import pytest
import torch

from gnnpred.networks import GraphNetwork
from gnnpred.networks.nasbench_graph import DATASET_SETTINGS, GRAPH_OPS
from gnnpred.spaces import get_space

SPACE = get_space("nasbench-graph")
# The benchmark's key: link-pattern index, then the four op indices in base 10.
LINKS = [(0, 0, 0, 0), (0, 0, 0, 1), (0, 0, 1, 1), (0, 0, 1, 2), (0, 0, 1, 3),
         (0, 1, 1, 1), (0, 1, 1, 2), (0, 1, 2, 2), (0, 1, 2, 3)]


def decode(key: int) -> tuple[tuple[int, ...], tuple[str, ...]]:
    ops = []
    for _ in range(4):
        key, r = divmod(key, 10)
        ops.append(GRAPH_OPS[r])
    return LINKS[key], tuple(reversed(ops))


def bench(name: str) -> dict:
    spec = importlib.util.find_spec("nas_bench_graph")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("nas-bench-graph is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "light" / f"{name}.bench"
    with open(path, "rb") as f:
        return pickle.load(f)


@pytest.mark.parametrize("dataset", ["cora", "pubmed", "arxiv"])
def test_parameter_counts_equal_the_benchmark(dataset: str) -> None:
    table = bench(dataset)
    keys = sorted(table)[:: len(table) // 40][:40]
    for key in keys:
        with torch.device("meta"):
            net = GraphNetwork.for_dataset(decode(key), dataset)
        assert sum(p.numel() for p in net.parameters()) == round(table[key]["para"] * 1e6), decode(
            key
        )


def test_forward_shape_on_a_small_graph() -> None:
    arch = SPACE.make(link=[0, 0, 1, 2], ops=["gcn", "gat", "skip", "sage"])
    net = GraphNetwork(arch, in_channels=5, num_classes=3, hidden=16)
    x, edge_index = net.example_inputs(generator=torch.Generator().manual_seed(0), num_nodes=10)
    assert x.shape == (10, 5) and edge_index.shape[0] == 2
    assert net(x, edge_index).shape == (10, 3)
    assert net.leaves == (3, 4)


def test_every_op_runs_and_skip_from_the_input_keeps_its_width() -> None:
    x, ei = torch.randn(6, 5), torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])
    for op in GRAPH_OPS[:-1]:
        net = GraphNetwork(((0, 1, 2, 3), (op, op, op, op)), 5, 2, hidden=8, num_post=0)
        assert net(x, ei).shape == (6, 2)
    net = GraphNetwork(((0, 0, 1, 2), ("skip", "gcn", "gcn", "fc")), 5, 2, hidden=8)
    assert net.cell_out.in_features == 8 + 8 and net(x, ei).shape == (6, 2)


def test_bad_cells_and_datasets_raise() -> None:
    with pytest.raises(ValueError, match="4 links"):
        GraphNetwork(((0, 2, 0, 0), ("gcn",) * 4), 5, 2)
    with pytest.raises(ValueError, match="Unknown NAS-Bench-Graph dataset"):
        GraphNetwork.for_dataset(((0, 0, 0, 0), ("gcn",) * 4), "mnist")
    assert set(DATASET_SETTINGS) >= {"cora", "citeseer", "pubmed"}
