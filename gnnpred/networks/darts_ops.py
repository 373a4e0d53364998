"""The candidate operations of the DARTS cell space, and the units that join cells.

Paper: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019
(https://arxiv.org/abs/1806.09055), Section 3 and Appendix A.1.

Every operation maps ``[B, C, H, W]`` to ``[B, C, H/stride, W/stride]`` (``stride`` 1 or 2; odd
sides round up, as a padded 3x3 stride-2 convolution does). Convolutions are ReLU-first
("ReLU-Conv-BN"), without bias, and a separable convolution is applied twice, as the paper
specifies. The same builder serves the evaluation networks (:mod:`gnnpred.networks.darts`, with
``affine=True``) and the one-shot super-nets (:mod:`gnnpred.supernets`), which build every
candidate with ``affine=False`` and append a non-affine BatchNorm to the pooling ops
(``pool_bn=True``) so that the parameter-free pools are on the same scale as the convolutions
inside a mixed operation.

Stable API (imported by the super-nets): :data:`PRIMITIVES`, :data:`EVAL_PRIMITIVES`,
:func:`make_op` and the module classes below.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnpred._common import check_positive_int

__all__ = [
    "PRIMITIVES",
    "EVAL_PRIMITIVES",
    "ReLUConvBN",
    "SepConv",
    "DilConv",
    "FactorizedReduce",
    "Zero",
    "Identity",
    "make_op",
]

#: The eight candidate operations of the DARTS search space, in the paper's order.
PRIMITIVES: tuple[str, ...] = (
    "none",
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: The operations a derived (evaluated) cell can contain: every primitive but ``none``.
EVAL_PRIMITIVES: tuple[str, ...] = tuple(p for p in PRIMITIVES if p != "none")


class ReLUConvBN(nn.Sequential):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d.

    Args:
        c_in: Input channels.
        c_out: Output channels.
        kernel_size: Square kernel side.
        stride: Convolution stride.
        padding: Zero padding on each side.
        affine: Whether the BatchNorm has a learnable scale and shift.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int,
        affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """ReLU -> dilated depthwise conv -> pointwise 1x1 conv -> BatchNorm2d.

    Args:
        c_in: Input channels.
        c_out: Output channels.
        kernel_size: Depthwise kernel side.
        stride: Depthwise stride.
        padding: Zero padding (``dilation * (kernel_size - 1) // 2`` keeps the size).
        dilation: Depthwise dilation.
        affine: Whether the BatchNorm has a learnable scale and shift.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int,
        dilation: int, affine: bool = True,
    ) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_in, kernel_size, stride=stride, padding=padding,
                      dilation=dilation, groups=c_in, bias=False),
            nn.Conv2d(c_in, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out, affine=affine),
        )


class SepConv(nn.Sequential):
    """Two stacked depthwise-separable units, the first carrying the stride.

    ``[ReLU, depthwise kxk (stride), pointwise 1x1, BN] -> [ReLU, depthwise kxk, pointwise 1x1,
    BN]``: the DARTS paper applies every separable convolution twice.

    Args:
        c_in: Input channels.
        c_out: Output channels (of the second unit; the first keeps ``c_in``).
        kernel_size: Depthwise kernel side.
        stride: Stride of the first depthwise convolution.
        padding: Zero padding of both depthwise convolutions.
        affine: Whether the BatchNorms have a learnable scale and shift.
    """

    def __init__(
        self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int,
        affine: bool = True,
    ) -> None:
        super().__init__(
            DilConv(c_in, c_in, kernel_size, stride, padding, 1, affine=affine),
            DilConv(c_in, c_out, kernel_size, 1, padding, 1, affine=affine),
        )


class Zero(nn.Module):
    """The ``none`` operation: zeros of the output shape (it cuts an edge in a mixed op).

    Args:
        stride: 1 keeps the spatial size; 2 halves it (rounding up).
    """

    def __init__(self, stride: int) -> None:
        super().__init__()
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:  # [B, C, H, W] -> [B, C, ceil(H/s), ceil(W/s)]
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)

    def extra_repr(self) -> str:
        return f"stride={self.stride}"


class Identity(nn.Identity):
    """The ``skip_connect`` operation at stride 1 (a named class so that cells can tell it apart:
    drop-path is not applied to identity edges)."""


class FactorizedReduce(nn.Module):
    """Halve the spatial size with two stride-2 1x1 convolutions offset by one pixel.

    ReLU, then ``c_out // 2`` channels from the even pixels and ``c_out // 2`` from the odd ones,
    concatenated and batch-normalised: unlike one strided conv, no pixel is skipped. The input is
    zero-padded by one row and column before the shift so that odd sides also work (both halves
    are then ``ceil(H/2)`` high).

    Args:
        c_in: Input channels.
        c_out: Output channels (even).
        affine: Whether the BatchNorm has a learnable scale and shift.

    Raises:
        ValueError: If ``c_out`` is odd.
    """

    def __init__(self, c_in: int, c_out: int, affine: bool = True) -> None:
        super().__init__()
        if c_out % 2:
            raise ValueError(f"FactorizedReduce needs an even c_out. Got {c_out} instead.")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=affine)

    def forward(self, x: Tensor) -> Tensor:  # [B, c_in, H, W] -> [B, c_out, ceil(H/2), ceil(W/2)]
        x = self.relu(x)
        shifted = F.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]  # same size, one pixel down-right
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(shifted)], dim=1))


def make_op(
    name: str, channels: int, stride: int, affine: bool = True, *, pool_bn: bool = False
) -> nn.Module:
    """Build one candidate operation of the DARTS space.

    Args:
        name: One of :data:`PRIMITIVES`.
        channels: Input and output channels.
        stride: 1, or 2 on the edges that leave a reduction cell's input nodes.
        affine: Learnable BatchNorm scale and shift (``True`` in evaluation networks, ``False``
            in DARTS super-nets).
        pool_bn: Append a non-affine BatchNorm to ``max_pool_3x3`` and ``avg_pool_3x3``, as the
            DARTS super-net does inside mixed operations (evaluation networks do not).

    Returns:
        The module, mapping ``[B, channels, H, W]`` to ``[B, channels, H/stride, W/stride]``.

    Raises:
        ValueError: If the name, channel count or stride is invalid.
    """
    if stride not in (1, 2) or isinstance(stride, bool):
        raise ValueError(f"A DARTS op's stride must be 1 or 2. Got {stride!r} instead.")
    check_positive_int("channels", channels)
    c = channels
    if name == "none":
        return Zero(stride)
    if name in ("max_pool_3x3", "avg_pool_3x3"):
        pool: nn.Module = (
            nn.MaxPool2d(3, stride=stride, padding=1)
            if name == "max_pool_3x3"
            else nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
        )
        return nn.Sequential(pool, nn.BatchNorm2d(c, affine=False)) if pool_bn else pool
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(c, c, affine=affine)
    if name == "sep_conv_3x3":
        return SepConv(c, c, 3, stride, 1, affine=affine)
    if name == "sep_conv_5x5":
        return SepConv(c, c, 5, stride, 2, affine=affine)
    if name == "dil_conv_3x3":
        return DilConv(c, c, 3, stride, 2, 2, affine=affine)
    if name == "dil_conv_5x5":
        return DilConv(c, c, 5, stride, 4, 2, affine=affine)
    raise ValueError(f"Unknown DARTS operation {name!r}; expected one of {list(PRIMITIVES)}.")
