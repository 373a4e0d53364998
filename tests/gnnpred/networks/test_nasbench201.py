"""NB201Network: skeleton, parameter counts, forward shapes."""

from __future__ import annotations

import pytest
import torch

from gnnpred.networks import NB201Network
from gnnpred.spaces import get_space

SPACE = get_space("nasbench201")
CONV3 = ("nor_conv_3x3",) * 6
NONE = ("none",) * 6
MIXED = ("skip_connect", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3", "none", "skip_connect")


def n_params(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


def test_parameter_counts_match_the_benchmark() -> None:
    # NAS-Bench-201's smallest and largest CIFAR-10 networks: 0.073306 M and 1.531546 M.
    assert n_params(NB201Network(SPACE.make(ops=list(NONE)))) == 73306
    assert n_params(NB201Network(SPACE.make(ops=list(CONV3)))) == 1531546


def test_parameter_count_by_hand_for_a_mixed_cell() -> None:
    base = n_params(NB201Network(NONE))
    # per cell: one 1x1 and one 3x3 ReLU-Conv-BN (conv weights + BN affine), 5 cells per stage
    extra = sum(5 * ((c * c + 2 * c) + (9 * c * c + 2 * c)) for c in (16, 32, 64))
    assert n_params(NB201Network(MIXED)) == base + extra


@pytest.mark.parametrize("ops", [CONV3, NONE, MIXED])
def test_forward_shape_and_classes(ops: tuple[str, ...]) -> None:
    net = NB201Network(SPACE.make(ops=list(ops)), num_classes=7)
    out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 7)
    assert torch.isfinite(out).all()


def test_dead_cell_output_ignores_the_input() -> None:
    net = NB201Network(NONE).eval()
    a, b = net(torch.randn(1, 3, 32, 32)), net(torch.randn(1, 3, 32, 32))
    torch.testing.assert_close(a, b)


def test_space_to_network_and_reset_parameters() -> None:
    arch = SPACE.make(ops=list(MIXED))
    net = SPACE.to_network(arch, num_classes=10)
    assert isinstance(net, NB201Network) and net.ops == MIXED
    before = [p.detach().clone() for p in net.parameters()]
    net.reset_parameters()
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters(), strict=True))


def test_example_inputs_are_seeded() -> None:
    net = NB201Network(MIXED)
    (a,) = net.example_inputs(3, generator=torch.Generator().manual_seed(1))
    (b,) = net.example_inputs(3, generator=torch.Generator().manual_seed(1))
    assert a.shape == (3, 3, 32, 32) and torch.equal(a, b)


@pytest.mark.parametrize("bad", [("nor_conv_3x3",) * 5, ("conv",) * 6])
def test_bad_ops_raise(bad: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="6 edge operations"):
        NB201Network(bad)


def test_bad_sizes_raise() -> None:
    with pytest.raises(ValueError, match="num_classes"):
        NB201Network(MIXED, num_classes=0)
