"""One-shot super-net of the DARTS cell space for DARTS and EnTranNAS (standard and DST).

Skeleton of DARTS's search network (Liu, Simonyan & Yang, ICLR 2019,
https://arxiv.org/abs/1806.09055, Section 3.1): a 3x3 stem with ``3 * channels`` filters,
``layers`` cells with reduction cells at ``layers // 3`` and ``2 * layers // 3`` (channels
doubled), each cell preprocessing ``c_{k-2}`` and ``c_{k-1}`` to ``C`` channels and
concatenating its 4 intermediate nodes, global pooling and a linear classifier. Every edge of
a :class:`~gnnpred.supernets.cells.SearchCell` holds the 8 candidates of
:data:`gnnpred.networks.darts_ops.PRIMITIVES`, built without BatchNorm affine parameters and
with a BatchNorm after the pools, as in DARTS's super-net. Normal and reduction cells each
have their own architecture parameters.

- DARTS: ``softmax`` over the 8 ops of each edge; every cell an Engine-cell; the derived node
  keeps its two edges with the strongest non-``none`` op, each with that op.
- EnTranNAS-DST (Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342;
  ``topology=True``): the paper's thresholded weights
  (:func:`~gnnpred.supernets.mixing.node_threshold`): ``softmax(alpha / temperature)`` over the
  7 non-``none`` ops of an edge, a learned threshold ``sigmoid(beta)`` per node, so a node keeps
  any number of inputs (``none`` is the absent edge, not a candidate).
- EnTranNAS on the standard space (exactly two inputs per node): the paper derives these cells
  with the top-2 rule; to keep exact zeros there (issue 18), an edge's op weights are sparsemax
  of ``alpha / temperature`` over the 7 non-``none`` ops and a node's edge weights the
  capped-simplex projection of ``beta / temperature`` with sum 2; the weight of an op on an edge
  is the product (a top-2 rule is used only while a node's support is not two edges).
- Both EnTranNAS variants: exact zeros, the derived cell is the support (its largest op per
  kept edge). The first normal and the first reduction cell are Engine-cells, the others
  Transit-cells; feature sharing is on. A Transit-cell runs the operation modules (the same
  parameters) of the Engine-cell of its type and width; with the default layout only the
  normal cells before the first reduction have one, as DARTS doubles the width at each
  reduction and a module has one width, so the later Transit-cells keep their own
  (``engine_cells`` with an Engine-cell per type and width makes every Transit-cell share, at
  the Engine-cells' cost).

Cost: a DARTS forward runs 7 ops on each of 14 edges in every cell; EnTranNAS runs the non-zero
ones in 2 Engine-cells (on 5 source nodes with feature sharing) and 8 or so ops elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnpred.networks.darts_ops import PRIMITIVES, FactorizedReduce, ReLUConvBN, make_op
from gnnpred.spaces import get_space
from gnnpred.spaces.darts import DARTSCell
from gnnpred.supernets.base import SuperNet, check_algorithm, check_positive_int
from gnnpred.supernets.cells import SearchCell, cell_edges, share_transit_ops
from gnnpred.supernets.mixing import capped_simplex, node_threshold, sparsemax, support

__all__ = ["DARTSSuperNet"]

_EDGES = cell_edges(2, 4)  # 14 edges, grouped by target node 2..5
_INTO = [[e for e, (_, d) in enumerate(_EDGES) if d == t] for t in range(2, 6)]
_TYPES = ("normal", "reduce")


class _Cell(nn.Module):
    """Preprocessing of the two inputs, then the searchable DAG."""

    def __init__(self, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool,
                 share: bool) -> None:
        super().__init__()
        self.reduction = reduction
        self.preprocess0 = (FactorizedReduce(c_pp, c, affine=False) if reduction_prev
                            else ReLUConvBN(c_pp, c, 1, 1, 0, affine=False))
        self.preprocess1 = ReLUConvBN(c_p, c, 1, 1, 0, affine=False)

        def build(name: str, source: int) -> nn.Module:
            stride = 2 if reduction and source < 2 else 1
            return make_op(name, c, stride, affine=False, pool_bn=True)

        self.dag = SearchCell(2, 4, PRIMITIVES, build, share=share, concat=True)

    def forward(self, s0: Tensor, s1: Tensor, weights: Tensor | None,
                active: Sequence[Sequence[int]]) -> Tensor:
        return self.dag([self.preprocess0(s0), self.preprocess1(s1)], weights, active)


class DARTSSuperNet(SuperNet):
    """DARTS-space super-net: Engine- and Transit-cells on DARTS's search skeleton.

    Args:
        algorithm: ``"entrannas"`` or ``"darts"``.
        topology: EnTranNAS-DST: nodes keep any number of inputs (derives cells of
            ``get_space("darts", topology=True)``); EnTranNAS only.
        num_classes: Output classes.
        in_channels: Input image channels.
        channels: ``C`` of the first cells (16 in DARTS's search).
        layers: Cells (8 in DARTS's search; at least 3 so that both cell types occur).
        engine_cells: Indices of the Engine-cells; ``None``: all for DARTS, the first normal
            and the first reduction cell for EnTranNAS.
        feature_sharing: ``None``: on for EnTranNAS, off for DARTS.

    Attributes:
        shares: For each cell, the index of the Engine-cell whose operation modules it runs
            (``None``: no Engine-cell of its type and width, it keeps its own).

    Raises:
        ValueError: If an argument is invalid.
    """

    def __init__(
        self,
        *,
        algorithm: str = "entrannas",
        topology: bool = False,
        num_classes: int = 10,
        in_channels: int = 3,
        channels: int = 16,
        layers: int = 8,
        engine_cells: Sequence[int] | None = None,
        feature_sharing: bool | None = None,
    ) -> None:
        super().__init__()
        self.algorithm = check_algorithm(algorithm)
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                            ("channels", channels), ("layers", layers)):
            check_positive_int(name, value)
        if layers < 3:
            raise ValueError(f"layers must be >= 3 (normal and reduction cells). Got {layers}.")
        if topology and algorithm == "darts":
            raise ValueError("topology=True is EnTranNAS-DST; DARTS derives exactly two inputs "
                             "per node. Use algorithm='entrannas' or topology=False.")
        self.topology = bool(topology)
        self.space = get_space("darts", topology=self.topology)
        reductions = {layers // 3, 2 * layers // 3}
        self.kinds = tuple("reduce" if i in reductions else "normal" for i in range(layers))
        if engine_cells is None:
            engine_cells = (range(layers) if algorithm == "darts"
                            else (self.kinds.index("normal"), self.kinds.index("reduce")))
        engine = set(engine_cells)
        if not engine <= set(range(layers)) or {self.kinds[i] for i in engine} != set(_TYPES):
            raise ValueError(f"engine_cells must index 0..{layers - 1} and include a normal and a "
                             f"reduction cell. Got {list(engine_cells)!r} instead.")
        if algorithm == "darts" and len(engine) != layers:
            raise ValueError(f"DARTS runs every cell as an Engine-cell. Got {sorted(engine)}.")
        self.engine = tuple(i in engine for i in range(layers))
        share = algorithm == "entrannas" if feature_sharing is None else bool(feature_sharing)
        self.temperature = 1.0
        n_ops = len(PRIMITIVES)
        self.alpha_normal = nn.Parameter(1e-3 * torch.randn(len(_EDGES), n_ops))
        self.alpha_reduce = nn.Parameter(1e-3 * torch.randn(len(_EDGES), n_ops))
        self._arch = [self.alpha_normal, self.alpha_reduce]
        if algorithm == "entrannas":
            # DST: one threshold per node, starting at 0.5 (every candidate mixes at first);
            # standard space: one score per edge for the sum-2 projection
            shape = (len(_INTO),) if self.topology else (len(_EDGES),)
            scale = 0.0 if self.topology else 1e-3
            self.beta_normal = nn.Parameter(scale * torch.randn(shape))
            self.beta_reduce = nn.Parameter(scale * torch.randn(shape))
            self._arch += [self.beta_normal, self.beta_reduce]
        c_curr = 3 * channels
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c_curr, 3, padding=1, bias=False),
                                  nn.BatchNorm2d(c_curr))
        c_pp, c_p, c = c_curr, c_curr, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        groups = []
        for kind in self.kinds:
            reduction = kind == "reduce"
            c = 2 * c if reduction else c
            self.cells.append(_Cell(c_pp, c_p, c, reduction, reduction_prev, share))
            groups.append((kind, c))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self.classifier = nn.Linear(c_p, num_classes)
        self.shares = share_transit_ops([cell.dag for cell in self.cells], self.engine, groups)

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self._arch)

    def _edge_weights(self, kind: str) -> Tensor:
        """Standard space: each node's edge weights, projected to sum 2."""
        beta = getattr(self, f"beta_{kind}") / self.temperature
        out = torch.zeros_like(beta)
        for into in _INTO:
            index = torch.tensor(into, device=beta.device)
            out = out.index_put((index,), capped_simplex(beta[index], 2.0))
        return out

    def mixing_weights(self) -> dict[str, Tensor]:
        """``{"normal": [14, 8], "reduce": [14, 8]}`` op weights per edge (``none`` first)."""
        out = {}
        for kind in _TYPES:
            alpha = getattr(self, f"alpha_{kind}")
            if self.algorithm == "darts":
                out[kind] = F.softmax(alpha, dim=-1)
                continue
            if self.topology:  # "none" is an absent edge instead of a candidate
                p = F.softmax(alpha[:, 1:] / self.temperature, dim=-1)
                ops = node_threshold(p, _INTO, getattr(self, f"beta_{kind}"))
            else:
                ops = sparsemax(alpha[:, 1:] / self.temperature)
                ops = self._edge_weights(kind)[:, None] * ops
            out[kind] = torch.cat([torch.zeros_like(ops[:, :1]), ops], dim=1)
        return out

    def _derived(self, weights: Tensor) -> list[list[tuple[int, int]]]:
        """Per node, ``(edge, op)`` of the derived cell, edges in input order."""
        w = weights.detach().cpu()
        strength, best = w[:, 1:].max(dim=-1)  # strongest non-"none" op of each edge
        nodes = []
        for into in _INTO:
            kept = [e for e in into if strength[e] > 0]
            if self.algorithm == "darts" or (not self.topology and len(kept) != 2):
                kept = sorted(sorted(into, key=lambda e: -float(strength[e]))[:2])
            nodes.append([(e, int(best[e]) + 1) for e in kept])
        return nodes

    def _transit_ops(self, nodes: list[list[tuple[int, int]]]) -> list[list[int]]:
        active: list[list[int]] = [[] for _ in _EDGES]
        for node in nodes:
            for e, o in node:
                active[e] = [o]
        return active

    def derive(self) -> DARTSCell:
        """The derived genotype (valid in ``self.space``)."""
        weights = self.mixing_weights()
        cells = {kind: [[(PRIMITIVES[o], _EDGES[e][0]) for e, o in node]
                        for node in self._derived(weights[kind])] for kind in _TYPES}
        return self.space.make(normal=cells["normal"], reduce=cells["reduce"])

    def is_consistent(self) -> bool:
        if self.algorithm == "darts":
            return False
        weights = self.mixing_weights()
        return all(support(weights[k]) == self._transit_ops(self._derived(weights[k]))
                   for k in _TYPES)

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, num_classes]`` of images ``[B, in_channels, H, W]``."""
        weights = self.mixing_weights()
        engine_ops = {k: support(w) for k, w in weights.items()}
        transit_ops = {k: self._transit_ops(self._derived(w)) for k, w in weights.items()}
        s0 = s1 = self.stem(x)
        for i, (cell, kind) in enumerate(zip(self.cells, self.kinds, strict=True)):
            if self.engine[i]:
                out = cell(s0, s1, weights[kind], engine_ops[kind])
            else:
                out = cell(s0, s1, None, transit_ops[kind])
            s0, s1 = s1, out
        return self.classifier(s1.mean(dim=(2, 3)))
