"""The NAS-Bench-201 network: a cell repeated on the benchmark's fixed ResNet-like skeleton.

Reference: Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020, https://arxiv.org/abs/2001.00326 (the skeleton of its Figure 1).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gnnpred._common import check_positive_int
from gnnpred.networks._image import ImageClassifier

__all__ = ["NB201Network", "NB201_OPS"]

#: Operation names of the NAS-Bench-201 cell, in the benchmark's order.
NB201_OPS: tuple[str, ...] = (
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
)
# Edge k joins node _EDGES[k][1] <- node _EDGES[k][0]:
# official order 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2.
_EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d, the benchmark's convolution unit."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False
            ),
            nn.BatchNorm2d(c_out),
        )


class ResidualReduction(nn.Module):
    """Stride-2 residual block between stages: two ReLU-Conv-BN units plus an
    average-pool + 1x1-conv shortcut (NAS-Bench-201's ``ResNetBasicblock``)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride=2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3)
        self.shortcut = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2), nn.Conv2d(c_in, c_out, 1, bias=False)
        )

    def forward(self, x: Tensor) -> Tensor:  # [B, c_in, H, W] -> [B, c_out, H/2, W/2]
        return self.conv_b(self.conv_a(x)) + self.shortcut(x)


def _make_op(name: str, channels: int) -> nn.Module | None:
    if name == "none":
        return None  # contributes exactly zero: left out of the sum
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"Unknown NAS-Bench-201 operation {name!r}; expected one of {NB201_OPS}.")


class CellModule(nn.Module):
    """One NAS-Bench-201 cell: 4 nodes, node j = sum over i < j of op_{j<-i}(node i).

    ``none`` edges are dropped from the sum (they output zeros); a node without any
    live input edge is a zero tensor, as in the benchmark.
    """

    def __init__(self, ops: Sequence[str], channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.edges = nn.ModuleDict()
        self._inputs: list[list[tuple[int, str]]] = [[], [], [], []]  # node -> [(src, edge key)]
        for (src, dst), name in zip(_EDGES, ops, strict=True):
            op = _make_op(name, channels)
            if op is not None:
                key = f"{dst}<-{src}"
                self.edges[key] = op
                self._inputs[dst].append((src, key))

    def forward(self, x: Tensor) -> Tensor:
        nodes = [x]
        for j in range(1, 4):
            terms = [self.edges[key](nodes[src]) for src, key in self._inputs[j]]
            if not terms:
                nodes.append(torch.zeros_like(x))
            else:
                out = terms[0]
                for t in terms[1:]:
                    out = out + t
                nodes.append(out)
        return nodes[3]


def skeleton(
    in_channels: int, channels: int, cells_per_stage: int, make_cell: Callable[[int], nn.Module]
) -> tuple[nn.Sequential, list[nn.Module], int]:
    """The benchmark's macro skeleton around a cell, shared by the network and its super-net.

    The stem (3x3 conv, ``channels`` filters, BN) feeds three stages of ``cells_per_stage``
    cells, ``make_cell(width)`` each, joined by stride-2 :class:`ResidualReduction` blocks that
    double the width. Modules are built in network order, so a seed gives the same weights
    whichever caller builds them.

    Args:
        in_channels: Input image channels.
        channels: Stem / first-stage width.
        cells_per_stage: Cells per stage.
        make_cell: Builds one cell of the given width.

    Returns:
        The stem, the cells and reductions in network order, and the last stage's width.
    """
    stem = nn.Sequential(
        nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels)
    )
    layers: list[nn.Module] = []
    c = channels
    for stage in range(3):
        if stage > 0:
            layers.append(ResidualReduction(c, 2 * c))
            c *= 2
        layers.extend(make_cell(c) for _ in range(cells_per_stage))
    return stem, layers, c


class NB201Network(ImageClassifier):
    """A NAS-Bench-201 network for one cell, on the benchmark's macro skeleton.

    Stem (3x3 conv, ``channels`` filters, BN) -> 3 stages of ``cells_per_stage`` cells with
    ``channels``, ``2*channels``, ``4*channels`` filters, joined by stride-2 residual blocks ->
    BN-ReLU -> global average pooling -> linear classifier. With the defaults (16 channels,
    5 cells per stage) parameter counts are those of NAS-Bench-201's CIFAR networks (e.g.
    0.073306 M for the all-``none`` cell and 1.531546 M for the all-``nor_conv_3x3`` cell with 10
    classes). Paper: https://arxiv.org/abs/2001.00326

    Args:
        arch: A ``NASBench201Cell`` value (anything with an ``ops`` attribute holding the six edge
            operation names in the official edge order) or the six names themselves.
        num_classes: Output classes (10 for CIFAR-10, 100 for CIFAR-100, 120 for ImageNet16-120).
        channels: Stem / first-stage width (16 in the benchmark).
        cells_per_stage: Cells per stage (5 in the benchmark).
        in_channels: Input image channels.

    Raises:
        ValueError: If the operations or sizes are invalid.
    """

    #: Shape of one input image (CIFAR), used by data-free proxies.
    input_shape: tuple[int, int, int] = (3, 32, 32)

    def __init__(
        self,
        arch: Any,
        num_classes: int = 10,
        *,
        channels: int = 16,
        cells_per_stage: int = 5,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        ops = tuple(getattr(arch, "ops", arch))
        if len(ops) != 6 or any(op not in NB201_OPS for op in ops):
            raise ValueError(
                f"A NAS-Bench-201 cell needs 6 edge operations from {NB201_OPS}. "
                f"Got {ops!r} instead."
            )
        for name, value in (("num_classes", num_classes), ("channels", channels),
                            ("cells_per_stage", cells_per_stage), ("in_channels", in_channels)):
            check_positive_int(name, value)
        self.ops = ops
        self.num_classes = num_classes
        self.input_shape = (in_channels, 32, 32)
        self.stem, layers, c = skeleton(
            in_channels, channels, cells_per_stage, lambda width: CellModule(ops, width)
        )
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, num_classes]`` of images ``x`` ``[B, in_channels, H, W]``."""
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.pool(x).flatten(1))

    def extra_repr(self) -> str:
        return f"ops={self.ops}, num_classes={self.num_classes}"
