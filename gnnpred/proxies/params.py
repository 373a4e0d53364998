"""Parameter count, the simplest baseline proxy."""

from __future__ import annotations

from torch import Tensor, nn

from gnnpred.proxies.base import register_proxy
from gnnpred.spaces.base import trainable_parameters


@register_proxy("params", needs_data=False, heavy_tailed=True)
def params(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """Number of trainable parameters (``requires_grad``) of the network."""
    return float(trainable_parameters(net))
