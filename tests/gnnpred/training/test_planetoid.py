"""PlanetoidFolderDataModule on a small graph written in the Planetoid format; GNN training."""

from __future__ import annotations

import pickle
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.io import read_planetoid_data

from gnnpred import get_space
from gnnpred.training import PlanetoidFolderDataModule, train_network
from gnnpred.training.planetoid import read_planetoid
from tests.gnnpred.training.test_cifar10 import Exploit

N_TRAIN, N_ALL, N_TEST, N_FEATURES, N_CLASSES = 30, 530, 100, 24, 3


def write_planetoid(folder: Path, name: str, seed: int = 0, protocol: int = 2) -> None:
    """A homophilous 3-class graph: class c's nodes use feature block c, link within c mostly."""
    rng = np.random.default_rng(seed)
    n = N_ALL + N_TEST
    labels = np.arange(n) % N_CLASSES
    rng.shuffle(labels[N_TRAIN:])
    block = N_FEATURES // N_CLASSES
    feats = (rng.random((n, N_FEATURES)) < 0.05).astype(np.float32)
    feats[np.arange(n)[:, None], labels[:, None] * block + rng.integers(0, block, (n, 2))] = 1
    onehot = np.eye(N_CLASSES, dtype=np.int32)[labels]
    graph: defaultdict[int, list[int]] = defaultdict(list)
    for v in range(n):
        same = np.flatnonzero(labels == labels[v])
        for u in [*rng.choice(same, 3), int(rng.integers(n))]:
            graph[v].append(int(u))
            graph[int(u)].append(v)
    test_ids = np.arange(N_ALL, n)
    order = rng.permutation(test_ids)  # the files list test nodes out of order
    parts = {
        "x": sp.csr_matrix(feats[:N_TRAIN]), "allx": sp.csr_matrix(feats[:N_ALL]),
        "tx": sp.csr_matrix(feats[order]), "y": onehot[:N_TRAIN], "ally": onehot[:N_ALL],
        "ty": onehot[order], "graph": graph,
    }
    folder.mkdir(parents=True, exist_ok=True)
    for part, value in parts.items():
        (folder / f"ind.{name}.{part}").write_bytes(pickle.dumps(value, protocol=protocol))
    (folder / f"ind.{name}.test.index").write_text("".join(f"{i}\n" for i in order))


@pytest.mark.parametrize("protocol", [0, 2, 4])
def test_reads_what_pytorch_geometric_reads(tmp_path: Path, protocol: int) -> None:
    write_planetoid(tmp_path, "toy", protocol=protocol)
    ours = read_planetoid(tmp_path, "toy")
    theirs = read_planetoid_data(str(tmp_path), "toy")  # unrestricted: our own test file
    assert ours.num_nodes == N_ALL + N_TEST
    for key in ("x", "y", "edge_index", "train_mask", "val_mask", "test_mask"):
        assert torch.equal(ours[key], theirs[key]), key
    assert int(ours.train_mask.sum()) == N_TRAIN and int(ours.val_mask.sum()) == 500


def test_data_module_sizes_and_pyg_layout(tmp_path: Path) -> None:
    write_planetoid(tmp_path / "Toy" / "raw", "toy")
    data = PlanetoidFolderDataModule(tmp_path, "Toy")
    assert data.network_kwargs() == {"in_channels": N_FEATURES, "num_classes": N_CLASSES}
    graph = next(iter(data.train_dataloader()))
    assert torch.allclose(graph.x.sum(dim=1), torch.ones(graph.num_nodes))  # row-normalised


def test_a_nasbench_graph_network_learns_the_graph(tmp_path: Path) -> None:
    write_planetoid(tmp_path, "toy")
    data = PlanetoidFolderDataModule(tmp_path, "toy")
    space = get_space("nasbench-graph")
    cell = space.make(link=[0, 0, 1, 1], ops=["gcn", "sage", "gcn", "skip"])
    net = space.to_network(cell, hidden=16, num_post=0, **data.network_kwargs())
    result = train_network(net, data, epochs=30, optimizer="adam", lr=0.01, device="cpu")
    assert result.epochs == 30
    assert result.valid_accuracy > 60.0  # chance is 33 %
    assert result.test_accuracy > 60.0


def test_missing_files_are_named(tmp_path: Path) -> None:
    write_planetoid(tmp_path, "toy")
    (tmp_path / "ind.toy.ty").unlink()
    (tmp_path / "ind.toy.graph").unlink()
    with pytest.raises(FileNotFoundError, match=r"missing ind\.toy\.ty, ind\.toy\.graph\."):
        PlanetoidFolderDataModule(tmp_path, "toy")


def test_a_tampered_file_is_refused_without_running_it(tmp_path: Path) -> None:
    write_planetoid(tmp_path, "toy")
    target = tmp_path / "should_not_exist"
    (tmp_path / "ind.toy.graph").write_bytes(pickle.dumps({0: Exploit(target)}))
    with pytest.raises(ValueError, match=r"ind\.toy\.graph is not a file this loader trusts"):
        PlanetoidFolderDataModule(tmp_path, "toy").setup()
    assert not target.exists()


def test_parts_that_do_not_fit_are_a_value_error(tmp_path: Path) -> None:
    write_planetoid(tmp_path, "toy")
    ally = np.eye(N_CLASSES, dtype=np.int32)[np.zeros(100, dtype=int)]
    (tmp_path / "ind.toy.ally").write_bytes(pickle.dumps(ally))
    with pytest.raises(ValueError, match="do not fit together"):
        read_planetoid(tmp_path, "toy")
