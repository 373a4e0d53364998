"""One-shot super-net of the NAS-Bench-201 cell (Dong & Yang, ICLR 2020,
https://arxiv.org/abs/2001.00326) for DARTS and EnTranNAS.

The macro skeleton is the benchmark's (:class:`gnnpred.networks.NB201Network`): stem, three
stages of ``cells_per_stage`` cells joined by residual reductions, classifier; every cell is a
:class:`~gnnpred.supernets.cells.SearchCell` whose six edges hold the five NAS-Bench-201
operations (built by the benchmark network's own builder). One ``[6, 5]`` matrix of
architecture parameters (and for EnTranNAS one threshold per node) is shared by every cell, as in
NAS-Bench-201's DARTS baseline.

- DARTS (https://arxiv.org/abs/1806.09055): ``softmax`` per edge, every cell an Engine-cell,
  derivation by argmax per edge (``none`` included, as in the benchmark's DARTS runs).
- EnTranNAS (https://arxiv.org/abs/2101.11342): EnTranNAS-DST's thresholded weights
  (:func:`~gnnpred.supernets.mixing.node_threshold`: ``softmax(alpha / temperature)`` over the
  four operations of an edge, a learned threshold ``sigmoid(beta)`` per node; exact zeros). An
  edge whose operations are all zero is ``none`` (``none`` is the absent edge, not a
  candidate); once each edge has at most one non-zero weight, the derived cell is exactly what
  the Engine-cells compute. The first cell of each stage is an Engine-cell, the others
  Transit-cells running the derived cell with the operation modules of their stage's
  Engine-cell (shared parameters: a stage has one width), feature sharing. The derived op of an
  edge is its largest weight, ``none`` where all are zero.

Cost: a DARTS forward runs 4 parameterised and non-trivial ops on each of 6 edges per cell;
an EnTranNAS forward runs them in the Engine-cells only (on 3 source nodes with feature
sharing) and one op per edge elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnpred.networks.nasbench201 import NB201_OPS, _make_op, skeleton
from gnnpred.spaces import get_space
from gnnpred.spaces.nasbench201 import NASBench201Cell
from gnnpred.supernets.base import SuperNet, check_algorithm, check_positive_int
from gnnpred.supernets.cells import SearchCell, share_transit_ops
from gnnpred.supernets.mixing import node_threshold, support

__all__ = ["NB201SuperNet"]

_INTO = ((0,), (1, 2), (3, 4, 5))  # edges into nodes 1, 2, 3 in the benchmark's edge order


def _build(channels: int) -> Callable[[str, int], nn.Module]:
    """The op builder of a stage: NAS-Bench-201's own modules, ``channels`` wide."""

    def build(name: str, source: int) -> nn.Module:
        op = _make_op(name, channels)
        if op is None:  # pragma: no cover - SearchCell never builds "none"
            raise ValueError("'none' has no module")
        return op

    return build


class NB201SuperNet(SuperNet):
    """NAS-Bench-201 super-net: Engine- and Transit-cells on the benchmark's skeleton.

    Args:
        algorithm: ``"entrannas"`` or ``"darts"``.
        num_classes: Output classes.
        in_channels: Input image channels.
        channels: First-stage width (16 in the benchmark).
        cells_per_stage: Searchable cells per stage (5 in the benchmark).
        engine_cells: Indices (0-based, over all searchable cells) of the Engine-cells;
            ``None``: every cell for DARTS, the first cell of each stage for EnTranNAS.
        feature_sharing: One module per source node and op; ``None``: on for EnTranNAS, off for
            DARTS.

    Attributes:
        shares: For each searchable cell, the index of the Engine-cell whose operation modules
            it runs (:func:`~gnnpred.supernets.cells.share_transit_ops`; ``None``: a Transit-cell
            in a stage without an Engine-cell keeps its own).

    Raises:
        ValueError: If an argument is invalid, or DARTS is given Transit-cells.
    """

    def __init__(
        self,
        *,
        algorithm: str = "entrannas",
        num_classes: int = 10,
        in_channels: int = 3,
        channels: int = 16,
        cells_per_stage: int = 5,
        engine_cells: Sequence[int] | None = None,
        feature_sharing: bool | None = None,
    ) -> None:
        super().__init__()
        self.algorithm = check_algorithm(algorithm)
        for name, value in (("num_classes", num_classes), ("in_channels", in_channels),
                            ("channels", channels), ("cells_per_stage", cells_per_stage)):
            check_positive_int(name, value)
        n_cells = 3 * cells_per_stage
        if engine_cells is None:
            engine_cells = (range(n_cells) if algorithm == "darts"
                            else range(0, n_cells, cells_per_stage))
        engine = set(engine_cells)
        if not engine or not engine <= set(range(n_cells)):
            raise ValueError(f"engine_cells must be a non-empty subset of 0..{n_cells - 1}. "
                             f"Got {list(engine_cells)!r} instead.")
        if algorithm == "darts" and len(engine) != n_cells:
            raise ValueError(f"DARTS runs every cell as an Engine-cell; engine_cells must cover "
                             f"0..{n_cells - 1}. Got {sorted(engine)} instead.")
        share = algorithm == "entrannas" if feature_sharing is None else bool(feature_sharing)
        self.space = get_space("nasbench201")
        self.temperature = 1.0
        self.engine = tuple(i in engine for i in range(n_cells))
        self.alpha = nn.Parameter(1e-3 * torch.randn(6, len(NB201_OPS)))
        if algorithm == "entrannas":  # thresholds start at 0.5: all candidates mix at first
            self.beta = nn.Parameter(torch.zeros(3))
        self.stem, layers, c = skeleton(
            in_channels, channels, cells_per_stage,
            lambda width: SearchCell(1, 3, NB201_OPS, _build(width), share=share, concat=False),
        )
        self.layers = nn.ModuleList(layers)
        cells = self.searchable_cells()
        self.shares = share_transit_ops(cells, self.engine,
                                        [i // cells_per_stage for i in range(n_cells)])
        self.lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=False))
        self.classifier = nn.Linear(c, num_classes)

    def arch_parameters(self) -> list[nn.Parameter]:
        return [self.alpha, self.beta] if self.algorithm == "entrannas" else [self.alpha]

    def mixing_weights(self) -> dict[str, Tensor]:
        """``{"cell": [6, 5]}``: softmax of ``alpha`` (DARTS) or EnTranNAS-DST's thresholded
        weights (``none``'s column zero)."""
        if self.algorithm == "darts":
            return {"cell": F.softmax(self.alpha, dim=-1)}
        p = F.softmax(self.alpha[:, 1:] / self.temperature, dim=-1)
        w = node_threshold(p, _INTO, self.beta)
        return {"cell": torch.cat([torch.zeros_like(w[:, :1]), w], dim=1)}

    def _derived_ops(self, weights: Tensor) -> list[int]:
        w = weights.detach()
        if self.algorithm == "darts":
            return [int(i) for i in w.argmax(dim=-1).tolist()]
        alive = (w != 0).any(dim=-1).tolist()
        return [int(i) if a else 0 for i, a in zip(w.argmax(dim=-1).tolist(), alive, strict=True)]

    def _transit_ops(self, weights: Tensor) -> list[list[int]]:
        return [[o] if o != 0 else [] for o in self._derived_ops(weights)]

    def derive(self) -> NASBench201Cell:
        """The cell with each edge's largest weight (``none`` where EnTranNAS's are all zero)."""
        ops = self._derived_ops(self.mixing_weights()["cell"])
        return self.space.make(ops=[NB201_OPS[o] for o in ops])

    def is_consistent(self) -> bool:
        weights = self.mixing_weights()["cell"]
        return self.algorithm == "entrannas" and support(weights) == self._transit_ops(weights)

    def searchable_cells(self) -> list[SearchCell]:
        """The searchable cells in network order (index ``i`` is ``engine[i]``)."""
        return [m for m in self.layers if isinstance(m, SearchCell)]

    def forward(self, x: Tensor) -> Tensor:
        """Logits ``[B, num_classes]`` of images ``[B, in_channels, H, W]``."""
        weights = self.mixing_weights()["cell"]
        engine_ops = support(weights)  # every op for DARTS (softmax is never zero)
        derived = self._transit_ops(weights)
        x = self.stem(x)
        i = 0
        for layer in self.layers:
            if isinstance(layer, SearchCell):
                if self.engine[i]:
                    x = layer([x], weights, engine_ops)
                else:
                    x = layer([x], None, derived)
                i += 1
            else:
                x = layer(x)
        x = self.lastact(x)
        return self.classifier(x.mean(dim=(2, 3)))
