"""The NAS-Bench-101 network: a cell DAG stacked on the benchmark's fixed skeleton.

Reference: Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search",
ICML 2019, https://arxiv.org/abs/1902.09635 (Section 2.1 and its Figure 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from gnnpred._common import check_positive_int
from gnnpred.networks._image import ImageClassifier

__all__ = ["NB101Network", "vertex_channels"]

_CONV = {"conv3x3-bn-relu": 3, "conv1x1-bn-relu": 1}
_OPS = ("input", "output", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")


class ConvBNReLU(nn.Sequential):
    """Conv2d (no bias, 'same' padding) -> BatchNorm2d -> ReLU, as in the benchmark's TF code."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2, bias=False),
            # TF's batch norm: decay 0.997 (PyTorch momentum 1 - 0.997), epsilon 1e-5.
            nn.BatchNorm2d(c_out, eps=1e-5, momentum=0.003),
            nn.ReLU(inplace=False),
        )


def vertex_channels(
    in_channels: int, out_channels: int, matrix: Sequence[Sequence[int]]
) -> list[int]:
    """Channels of every vertex of a (pruned) NAS-Bench-101 cell.

    The output's channels are split evenly among the vertices feeding it (the first
    ``out_channels % k`` of them get one extra); every other interior vertex takes the largest
    channel count among its successors, walking backwards.

    Args:
        in_channels: Channels entering the cell (vertex 0).
        out_channels: Channels leaving the cell (last vertex).
        matrix: Upper-triangular 0/1 adjacency, input first, output last.

    Returns:
        One channel count per vertex.
    """
    n = len(matrix)
    ch = [0] * n
    ch[0], ch[-1] = in_channels, out_channels
    if n == 2:
        return ch
    feeders = [v for v in range(1, n - 1) if matrix[v][n - 1]]
    base, extra = divmod(out_channels, len(feeders))
    for i, v in enumerate(feeders):
        ch[v] = base + (1 if i < extra else 0)
    for v in range(n - 3, 0, -1):
        if not matrix[v][n - 1]:
            ch[v] = max(ch[d] for d in range(v + 1, n - 1) if matrix[v][d])
    return ch


class CellModule(nn.Module):
    """One NAS-Bench-101 cell (the benchmark's "module").

    Vertex ``t`` sums its inputs: other vertices' outputs (sliced to its channel count) and, if
    the input feeds it, a 1x1 conv-BN-ReLU projection of the input. The output concatenates the
    vertices feeding it and adds a projection of the input when the input feeds it directly.
    """

    def __init__(
        self, matrix: Sequence[Sequence[int]], ops: Sequence[str], c_in: int, c_out: int
    ) -> None:
        super().__init__()
        self.matrix = tuple(tuple(int(v) for v in row) for row in matrix)
        n = len(self.matrix)
        self.ch = vertex_channels(c_in, c_out, self.matrix)
        self.proj = nn.ModuleDict()  # vertex index (or "out") -> projection of the input
        self.vertex_ops = nn.ModuleDict()
        for t in range(1, n - 1):
            if self.matrix[0][t]:
                self.proj[str(t)] = ConvBNReLU(c_in, self.ch[t], 1)
            op = ops[t]
            if op in _CONV:
                self.vertex_ops[str(t)] = ConvBNReLU(self.ch[t], self.ch[t], _CONV[op])
            else:  # maxpool3x3 keeps the channel count of its (already sized) input
                self.vertex_ops[str(t)] = nn.MaxPool2d(3, stride=1, padding=1)
        if self.matrix[0][n - 1] or n == 2:
            self.proj["out"] = ConvBNReLU(c_in, c_out, 1)

    def forward(self, x: Tensor) -> Tensor:  # [B, c_in, H, W] -> [B, c_out, H, W]
        n = len(self.matrix)
        values: list[Tensor] = [x]
        concat: list[Tensor] = []
        for t in range(1, n - 1):
            terms = [values[s][:, : self.ch[t]] for s in range(1, t) if self.matrix[s][t]]
            if self.matrix[0][t]:
                terms.append(self.proj[str(t)](x))
            h = terms[0]
            for term in terms[1:]:
                h = h + term
            values.append(self.vertex_ops[str(t)](h))
            if self.matrix[t][n - 1]:
                concat.append(values[t])
        if not concat:  # the input feeds the output directly and nothing else does
            return self.proj["out"](x)
        out = concat[0] if len(concat) == 1 else torch.cat(concat, dim=1)
        if self.matrix[0][n - 1]:
            out = out + self.proj["out"](x)
        return out


class NB101Network(ImageClassifier):
    """A NAS-Bench-101 network for one cell, on the benchmark's macro skeleton.

    Stem (3x3 conv-BN-ReLU, ``stem_channels`` filters) -> ``num_stacks`` stacks of
    ``cells_per_stack`` cells, with 2x2 max-pooling and channel doubling between stacks ->
    global average pooling -> linear classifier. Parameter counts with the defaults equal the
    benchmark's ``trainable_parameters`` (TensorFlow's BN has 2 trainable parameters per
    channel, as here). Paper: https://arxiv.org/abs/1902.09635

    Args:
        arch: A ``NASBench101Cell`` value (``matrix`` and ``ops`` attributes; pruned, with
            ``input`` / ``output`` ops) or a ``(matrix, ops)`` pair.
        num_classes: Output classes.
        stem_channels: Stem width (128 in the benchmark).
        num_stacks: Number of stacks (3).
        cells_per_stack: Cells per stack (3).
        in_channels: Input image channels.

    Raises:
        ValueError: If the cell is malformed (matrix not square/upper-triangular, unknown ops,
            a vertex without inputs) or a size is not a positive int.
    """

    def __init__(
        self,
        arch: Any,
        num_classes: int = 10,
        *,
        stem_channels: int = 128,
        num_stacks: int = 3,
        cells_per_stack: int = 3,
        in_channels: int = 3,
    ) -> None:
        super().__init__()
        matrix, ops = (arch.matrix, arch.ops) if hasattr(arch, "matrix") else arch
        matrix = tuple(tuple(int(v) for v in row) for row in matrix)
        ops = tuple(ops)
        _check_cell(matrix, ops)
        for name, value in (("num_classes", num_classes), ("stem_channels", stem_channels),
                            ("num_stacks", num_stacks), ("cells_per_stack", cells_per_stack),
                            ("in_channels", in_channels)):
            check_positive_int(name, value)
        self.matrix, self.ops, self.num_classes = matrix, ops, num_classes
        self.input_shape = (in_channels, 32, 32)
        layers: list[nn.Module] = [ConvBNReLU(in_channels, stem_channels, 3)]
        c_in = c_out = stem_channels
        for stack in range(num_stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                c_out *= 2
            for _ in range(cells_per_stack):
                layers.append(CellModule(matrix, ops, c_in, c_out))
                c_in = c_out
        self.layers = nn.Sequential(*layers)
        self.classifier = nn.Linear(c_out, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, num_classes]`` of images ``x`` ``[B, in_channels, H, W]``."""
        return self.classifier(self.layers(x).mean(dim=(2, 3)))

    def extra_repr(self) -> str:
        return f"ops={self.ops}, num_classes={self.num_classes}"


def _check_cell(matrix: tuple[tuple[int, ...], ...], ops: tuple[str, ...]) -> None:
    n = len(matrix)
    if n < 2 or any(len(row) != n for row in matrix) or len(ops) != n:
        raise ValueError(
            f"A NAS-Bench-101 cell needs a square n x n matrix (n >= 2) and n ops. "
            f"Got a {n}-row matrix and {len(ops)} ops: {matrix!r}, {ops!r}."
        )
    if any(
        matrix[i][j] not in (0, 1) or (j <= i and matrix[i][j]) for i in range(n) for j in range(n)
    ):
        raise ValueError(
            f"The NAS-Bench-101 matrix must be 0/1 and strictly upper-triangular. Got {matrix!r}."
        )
    if ops[0] != "input" or ops[-1] != "output" or any(op not in _OPS[2:] for op in ops[1:-1]):
        raise ValueError(
            f"NAS-Bench-101 ops must be 'input', then {_OPS[2:]}, then 'output'. Got {ops!r}."
        )
    for t in range(1, n):
        if not any(matrix[s][t] for s in range(t)):
            raise ValueError(
                f"Vertex {t} of the NAS-Bench-101 cell has no input; prune the cell first "
                f"(e.g. with get_space('nasbench101').make(matrix=..., ops=...)). Got {matrix!r}."
            )
    for t in range(1, n - 1):
        if not any(matrix[t][d] for d in range(t + 1, n)):
            raise ValueError(
                f"Vertex {t} of the NAS-Bench-101 cell has no output; prune the cell first "
                f"(e.g. with get_space('nasbench101').make(matrix=..., ops=...)). Got {matrix!r}."
            )
