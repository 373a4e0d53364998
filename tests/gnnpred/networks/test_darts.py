"""DARTS operations and evaluation networks: shapes, the paper's size, drop-path, training."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from gnnpred.networks import DARTSNetwork
from gnnpred.networks.darts import DARTSCellModule
from gnnpred.networks.darts_ops import (
    EVAL_PRIMITIVES,
    PRIMITIVES,
    FactorizedReduce,
    Identity,
    Zero,
    make_op,
)
from gnnpred.spaces import DARTSSpace
from gnnpred.spaces.base import trainable_parameters
from gnnpred.training import DigitsDataModule, train_network
from tests.gnnpred.spaces.test_darts import DARTS_V2

SMALL = dict(channels=4, layers=3)


# --------------------------------------------------------------------------------- operations
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("side", [8, 7])
@pytest.mark.parametrize("name", PRIMITIVES)
def test_every_op_keeps_channels_and_divides_the_side(name: str, stride: int, side: int) -> None:
    x = torch.randn(2, 6, side, side)
    out = -(-side // stride)
    for op in (make_op(name, 6, stride), make_op(name, 6, stride, False, pool_bn=True)):
        assert op(x).shape == (2, 6, out, out)


def test_op_details() -> None:
    assert EVAL_PRIMITIVES == tuple(p for p in PRIMITIVES if p != "none")
    assert isinstance(make_op("skip_connect", 4, 1), Identity)
    assert isinstance(make_op("skip_connect", 4, 2), FactorizedReduce)
    zero = make_op("none", 4, 2)
    assert isinstance(zero, Zero) and not zero(torch.randn(1, 4, 6, 6)).any()
    pool = make_op("avg_pool_3x3", 4, 1, pool_bn=True)
    assert isinstance(pool[-1], nn.BatchNorm2d) and not pool[-1].affine
    assert trainable_parameters(make_op("max_pool_3x3", 4, 1)) == 0
    # the separable conv is applied twice: 2 x (depthwise 3x3 + pointwise 1x1 + BN scale/shift)
    assert trainable_parameters(make_op("sep_conv_3x3", 4, 1)) == 2 * (4 * 9 + 4 * 4 + 2 * 4)
    assert trainable_parameters(make_op("dil_conv_5x5", 4, 1, affine=False)) == 4 * 25 + 4 * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [(("conv_7x7", 4, 1), "Unknown DARTS operation"), (("none", 4, 3), "stride must be 1 or 2"),
     (("none", 0, 1), "channels must be a positive int")],
)
def test_make_op_rejects_bad_arguments(args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_op(*args)


def test_factorized_reduce_needs_even_channels() -> None:
    with pytest.raises(ValueError, match="even c_out"):
        FactorizedReduce(4, 5)


# --------------------------------------------------------------------------------- cells
def test_normal_and_reduction_cell_shapes() -> None:
    cell = DARTSSpace().from_string(DARTS_V2)
    normal = DARTSCellModule(cell.normal, 6, 10, 4, reduction=False, reduction_prev=False)
    assert normal(torch.randn(2, 6, 8, 8), torch.randn(2, 10, 8, 8)).shape == (2, 16, 8, 8)
    reduce = DARTSCellModule(cell.reduce, 6, 10, 4, reduction=True, reduction_prev=False)
    assert reduce(torch.randn(2, 6, 8, 8), torch.randn(2, 10, 8, 8)).shape == (2, 16, 4, 4)
    after = DARTSCellModule(cell.normal, 6, 10, 4, reduction=False, reduction_prev=True)
    assert isinstance(after.preprocess0, FactorizedReduce)  # c_{k-2} is twice as large
    assert after(torch.randn(2, 6, 8, 8), torch.randn(2, 10, 4, 4)).shape == (2, 16, 4, 4)


def test_published_genotype_has_the_papers_size() -> None:
    """DARTS (2nd order) on CIFAR-10: 20 cells, 36 channels, 3.3 M parameters (paper, Table 1;
    the auxiliary head is not counted)."""
    net = DARTSSpace().to_network(DARTSSpace().from_string(DARTS_V2), channels=36, layers=20,
                                  auxiliary=True)
    count = sum(p.numel() for n, p in net.named_parameters() if not n.startswith("auxiliary"))
    assert round(count / 1e6, 1) == 3.3
    assert sum(isinstance(c, DARTSCellModule) and c.reduction for c in net.cells) == 2
    assert [i for i, c in enumerate(net.cells) if c.reduction] == [6, 13]


@pytest.mark.parametrize("topology", [False, True])
def test_forward_shapes_of_sampled_cells(topology: bool) -> None:
    space = DARTSSpace(topology=topology)
    for cell in space.sample_many(3, np.random.default_rng(0)):
        net = space.to_network(cell, num_classes=7, in_channels=1, **SMALL)
        assert net(torch.randn(2, 1, 16, 16)).shape == (2, 7)
        assert net.input_shape == (1, 32, 32)


def test_auxiliary_head_only_while_training() -> None:
    net = DARTSNetwork(DARTSSpace().from_string(DARTS_V2), num_classes=5, auxiliary=True, **SMALL)
    x = torch.randn(2, 3, 32, 32)
    logits, aux = net.train().forward_with_aux(x)
    assert logits.shape == aux.shape == (2, 5)
    assert net.eval().forward_with_aux(x)[1] is None
    assert isinstance(net(x), torch.Tensor)


def test_drop_path_only_while_training() -> None:
    cell = DARTSSpace().from_string(DARTS_V2)
    x = torch.randn(8, 3, 16, 16)
    torch.manual_seed(0)
    plain, dropped = DARTSNetwork(cell, **SMALL), DARTSNetwork(cell, drop_path=0.5, **SMALL)
    dropped.load_state_dict(plain.state_dict())
    plain.eval(), dropped.eval()
    assert torch.equal(dropped(x), plain(x))
    plain.train(), dropped.train()  # batch statistics: the same input gives the same output
    assert torch.equal(plain(x), plain(x))
    assert not torch.equal(dropped(x), plain(x))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"channels": 0}, "channels"), ({"layers": 0}, "layers"), ({"num_classes": 1.5}, "num_cl"),
     ({"drop_path": 1.0}, "drop_path"), ({"in_channels": True}, "in_channels")],
)
def test_bad_sizes_raise(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DARTSNetwork(DARTSSpace().from_string(DARTS_V2), **kwargs)


def test_one_epoch_on_digits() -> None:
    data = DigitsDataModule(batch_size=64, image_size=16)
    space = DARTSSpace()
    net = space.to_network(space.from_string(DARTS_V2), **data.network_kwargs(), **SMALL)
    result = train_network(net, data, epochs=1, lr=0.05, device="cpu")
    assert result.epochs == 1
    assert 0.0 <= result.test_accuracy <= 100.0 and np.isfinite(result.train_loss)
