"""The DARTS evaluation network: a genotype's normal and reduction cells stacked on a CIFAR stem.

Paper: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019
(https://arxiv.org/abs/1806.09055), Section 3.2 and Appendix A.2.

A cell reads the outputs of the two previous cells (``c_{k-2}``, ``c_{k-1}``), brings both to
``C`` channels (1x1 ReLU-Conv-BN, or :class:`~gnnpred.networks.darts_ops.FactorizedReduce` when
``c_{k-2}`` is twice the size of ``c_{k-1}``), computes its four intermediate nodes, each the sum
of its input edges' operations, and concatenates them (``4C`` channels). Reduction cells sit at
1/3 and 2/3 of the depth; they double ``C`` and apply stride 2 to the edges leaving their input
nodes. The paper evaluates 20 cells of 36 channels on CIFAR-10 (about 3.3 M parameters); the
defaults here (8 cells, 16 channels: the paper's search network) train on a CPU.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gnnpred._common import check_positive_int
from gnnpred.networks._image import ImageClassifier
from gnnpred.networks.darts_ops import FactorizedReduce, Identity, ReLUConvBN, make_op

__all__ = ["DARTSNetwork", "DARTSCellModule", "AuxiliaryHead", "drop_path"]

#: Nodes of one cell: for each intermediate node, its ``(op, input)`` pairs.
Nodes = Sequence[Sequence[tuple[str, int]]]


def drop_path(x: Tensor, prob: float) -> Tensor:
    """Zero whole samples of ``x`` with probability ``prob`` and rescale the rest (ScheduledDropPath
    of NASNet, used by DARTS on every non-identity edge while training).

    The mask is drawn from torch's generator like ``nn.Dropout`` (seeded by the training loop).
    """
    keep = 1.0 - prob
    mask = torch.empty(x.shape[0], 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x * mask / keep


class DARTSCellModule(nn.Module):
    """One cell of a DARTS network.

    Args:
        nodes: For each intermediate node (``2, 3, ...``), its ``(op, input)`` pairs; input
            ``0`` is ``c_{k-2}``, ``1`` is ``c_{k-1}`` and ``j >= 2`` an earlier intermediate node.
        c_prev_prev: Channels of ``c_{k-2}``.
        c_prev: Channels of ``c_{k-1}``.
        channels: ``C``, the channels of every node.
        reduction: Whether this is a reduction cell (stride 2 on edges from inputs 0 and 1).
        reduction_prev: Whether the previous cell reduced (``c_{k-2}`` is then twice as large).
    """

    def __init__(
        self, nodes: Nodes, c_prev_prev: int, c_prev: int, channels: int, reduction: bool,
        reduction_prev: bool,
    ) -> None:
        super().__init__()
        self.reduction = reduction
        self.channels = channels
        self.preprocess0 = (
            FactorizedReduce(c_prev_prev, channels)
            if reduction_prev
            else ReLUConvBN(c_prev_prev, channels, 1, 1, 0)
        )
        self.preprocess1 = ReLUConvBN(c_prev, channels, 1, 1, 0)
        self.inputs: list[list[int]] = [[int(j) for _, j in node] for node in nodes]
        self.ops = nn.ModuleList(
            nn.ModuleList(
                make_op(op, channels, 2 if reduction and j < 2 else 1) for op, j in node
            )
            for node in nodes
        )
        self.multiplier = len(self.inputs)  # every intermediate node is concatenated

    def forward(self, s0: Tensor, s1: Tensor, drop_prob: float = 0.0) -> Tensor:
        """``[B, c_prev_prev, 2H or H, .]``, ``[B, c_prev, H, W]`` -> ``[B, multiplier*C, H', W']``
        with ``H' = H/2`` in a reduction cell."""
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for inputs, ops in zip(self.inputs, self.ops, strict=True):
            total: Tensor | None = None
            for j, op in zip(inputs, ops, strict=True):
                h = op(states[j])
                if self.training and drop_prob > 0.0 and not isinstance(op, Identity):
                    h = drop_path(h, drop_prob)
                total = h if total is None else total + h
            states.append(total)
        return torch.cat(states[2:], dim=1)


class AuxiliaryHead(nn.Sequential):
    """The DARTS/NASNet auxiliary classifier for 8x8 feature maps (at 2/3 depth of a 32x32
    input): ReLU, 5x5 average pool stride 3 (to 2x2), 1x1 conv to 128, 2x2 conv to 768, linear."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__(
            nn.ReLU(inplace=False),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=False),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=False),
            nn.Flatten(),
            nn.Linear(768, num_classes),
        )


class DARTSNetwork(ImageClassifier):
    """The DARTS evaluation network of one genotype (paper: https://arxiv.org/abs/1806.09055).

    Stem (3x3 conv to ``stem_multiplier * channels``, BN) -> ``layers`` cells, the ones at
    indices ``layers // 3`` and ``2 * layers // 3`` reduction cells -> global average pooling ->
    linear classifier. :meth:`forward` returns the logits only, so the network trains with
    :func:`gnnpred.training.train_network` like the other spaces' networks; with
    ``auxiliary=True`` :meth:`forward_with_aux` also returns the auxiliary head's logits (taken
    after cell ``2 * layers // 3``) for a caller that adds the auxiliary loss.

    Args:
        arch: A ``DARTSCell`` (anything with ``normal`` and ``reduce`` attributes, each one
            sequence per intermediate node of ``(op, input)`` pairs).
        num_classes: Output classes.
        in_channels: Input image channels.
        channels: ``C`` of the first cells (36 in the paper's evaluation, 16 in its search).
        layers: Number of cells (20 in the paper's evaluation, 8 in its search).
        auxiliary: Build the auxiliary head (it expects 32x32 inputs).
        drop_path: Probability of dropping a non-identity edge's output per sample while training
            (0.2 in the paper's evaluation); 0 disables it.
        stem_multiplier: The stem has ``stem_multiplier * channels`` filters.

    Raises:
        ValueError: If a size or probability is out of range, or an op is unknown.
    """

    input_shape: tuple[int, int, int] = (3, 32, 32)

    def __init__(
        self,
        arch: Any,
        num_classes: int = 10,
        *,
        in_channels: int = 3,
        channels: int = 16,
        layers: int = 8,
        auxiliary: bool = False,
        drop_path: float = 0.0,
        stem_multiplier: int = 3,
    ) -> None:
        super().__init__()
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                            ("channels", channels), ("layers", layers),
                            ("stem_multiplier", stem_multiplier)):
            check_positive_int(name, value)
        if isinstance(drop_path, bool) or not isinstance(drop_path, int | float) or not (
            0.0 <= drop_path < 1.0
        ):
            raise ValueError(f"drop_path must be a float in [0, 1). Got {drop_path!r} instead.")
        self.arch = arch
        self.num_classes = num_classes
        self.drop_path = float(drop_path)
        self.input_shape = (in_channels, 32, 32)
        c_curr = stem_multiplier * channels
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False), nn.BatchNorm2d(c_curr)
        )
        c_pp, c_p, c = c_curr, c_curr, channels
        reductions = {layers // 3, 2 * layers // 3}
        self.aux_index = 2 * layers // 3
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = c_p
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                c *= 2
            cell = DARTSCellModule(
                arch.reduce if reduction else arch.normal, c_pp, c_p, c, reduction,
                reduction_prev,
            )
            self.cells.append(cell)
            reduction_prev = reduction
            c_pp, c_p = c_p, cell.multiplier * c
            if i == self.aux_index:
                c_aux = c_p
        self.auxiliary_head = AuxiliaryHead(c_aux, num_classes) if auxiliary else None
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, num_classes)

    def _run(self, x: Tensor, with_aux: bool) -> tuple[Tensor, Tensor | None]:
        s0 = s1 = self.stem(x)  # [B, stem_multiplier*C, H, W]
        aux = None
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path)
            if with_aux and i == self.aux_index and self.auxiliary_head is not None:
                aux = self.auxiliary_head(s1)
        return self.classifier(self.pool(s1).flatten(1)), aux

    def forward_with_aux(self, x: Tensor) -> tuple[Tensor, Tensor | None]:
        """Logits ``[B, num_classes]`` and, while training with ``auxiliary=True``, the
        auxiliary logits ``[B, num_classes]`` (else ``None``)."""
        return self._run(x, self.training)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, num_classes]`` of images ``x`` ``[B, in_channels, H, W]``."""
        return self._run(x, False)[0]

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, drop_path={self.drop_path}"
