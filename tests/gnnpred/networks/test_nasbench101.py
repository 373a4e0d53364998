"""NB101Network: channel rules, parameter counts against the benchmark, forward shapes."""

from __future__ import annotations

import csv
import json

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase

from gnnpred.networks import NB101Network
from gnnpred.networks.nasbench101 import vertex_channels
from gnnpred.spaces import get_space

SPACE = get_space("nasbench101")


def test_vertex_channels_split_and_propagate() -> None:
    # 0 -> 1 -> 2 -> 4, 0 -> 3 -> 4 : vertices 2 and 3 feed the output; 1 feeds only 2.
    m = [[0, 1, 0, 1, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert vertex_channels(128, 257, m) == [128, 129, 129, 128, 257]
    assert vertex_channels(64, 32, [[0, 1], [0, 0]]) == [64, 32]


@pytest.fixture()
def no_init(monkeypatch: pytest.MonkeyPatch) -> None:
    # Parameter counting needs no initialisation: skip it to keep the test fast.
    for cls in (nn.Conv2d, nn.Linear, _NormBase):
        monkeypatch.setattr(cls, "reset_parameters", lambda self: None)


def test_parameter_counts_equal_trainable_parameters(
    nb101_graphs1k, nb101_sample20k, no_init
) -> None:
    with open(nb101_sample20k, newline="") as f:
        expected = {r["hash"]: int(r["trainable_parameters"]) for r in csv.DictReader(f)}
    rows = json.loads(nb101_graphs1k.read_text())[:200]
    mismatches = []
    for r in rows:
        net = NB101Network(SPACE.make(matrix=r["matrix"], ops=r["ops"]))
        got = sum(p.numel() for p in net.parameters())
        if got != expected[r["hash"]]:
            mismatches.append((r["hash"], got, expected[r["hash"]]))
    assert len(rows) == 200 and not mismatches


def test_forward_shape_and_direct_input_output() -> None:
    # smallest cell: input -> conv3x3 -> output plus the direct input -> output projection
    cell = ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    net = NB101Network(cell, num_classes=5, stem_channels=8)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    assert "out" in net.layers[1].proj


def test_space_to_network(nb101_graphs1k) -> None:
    r = json.loads(nb101_graphs1k.read_text())[0]
    arch = SPACE.make(matrix=r["matrix"], ops=r["ops"])
    net = SPACE.to_network(arch, num_classes=10, stem_channels=16)
    assert isinstance(net, NB101Network)
    assert net(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_unpruned_or_bad_cells_raise() -> None:
    dangling = ([[0, 1, 1], [0, 0, 0], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
    with pytest.raises(ValueError, match="no output"):
        NB101Network(dangling)
    with pytest.raises(ValueError, match="ops must be"):
        NB101Network(([[0, 1], [0, 0]], ["input", "conv5x5"]))
