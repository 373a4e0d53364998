"""What every one-shot super-net offers the search driver (:mod:`gnnpred.supernets.search`).

A super-net holds two groups of parameters: the operation weights (trained on the training
split) and the architecture parameters (trained on the validation split), and derives the
current cell of its search space from the latter. ``algorithm`` decides how the architecture
parameters mix the operations:

- ``"darts"``: DARTS (Liu, Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055): every
  cell an Engine-cell, ``softmax`` mixing, the hand-made derivation rule;
- ``"entrannas"``: EnTranNAS (Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342):
  Engine-cells and Transit-cells, feature sharing, sparse weights whose support is the derived
  cell (:mod:`gnnpred.supernets.mixing`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from torch import Tensor, nn

from gnnpred._common import check_positive_int

__all__ = ["ALGORITHMS", "SuperNet", "check_algorithm", "check_positive_int"]

#: One-shot algorithms the super-nets implement.
ALGORITHMS: tuple[str, ...] = ("entrannas", "darts")


def check_algorithm(algorithm: Any) -> str:
    """The algorithm name, or ``ValueError`` listing the known ones."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {ALGORITHMS}. Got {algorithm!r} instead.")
    return str(algorithm)


class SuperNet(nn.Module, ABC):
    """Base of the super-nets: parameter groups, temperature, derivation.

    Attributes:
        algorithm: ``"entrannas"`` or ``"darts"``.
        temperature: Divides the architecture parameters before EnTranNAS's sparse projection
            (the search driver lowers it epoch by epoch; DARTS ignores it).
        engine: For each searchable cell, whether it is an Engine-cell.
    """

    algorithm: str
    temperature: float
    engine: tuple[bool, ...]

    @abstractmethod
    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters (the valid-split optimiser's)."""

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every other parameter (the train-split optimiser's)."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    @abstractmethod
    def mixing_weights(self) -> dict[str, Tensor]:
        """Cell type -> ``[edges, ops]`` weights the Engine-cells apply (differentiable)."""

    @abstractmethod
    def derive(self) -> Any:
        """The cell of the search space derived from the current parameters."""

    @abstractmethod
    def is_consistent(self) -> bool:
        """Whether the derived cell is exactly what the Engine-cells compute (its operations are
        the non-zero weights). Always ``False`` for DARTS, whose weights are never zero."""

    def arch_state(self) -> dict[str, Any]:
        """Plain lists for a history: raw parameters and mixing weights per cell type."""
        weights = self.mixing_weights()
        return {
            "temperature": float(self.temperature),
            "parameters": {n: p.detach().cpu().tolist() for n, p in self.named_arch()},
            "weights": {k: w.detach().cpu().tolist() for k, w in weights.items()},
        }

    def named_arch(self) -> list[tuple[str, nn.Parameter]]:
        """``(name, parameter)`` of the architecture parameters."""
        arch = {id(p) for p in self.arch_parameters()}
        return [(n, p) for n, p in self.named_parameters() if id(p) in arch]
