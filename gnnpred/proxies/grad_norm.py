"""Gradient norm, a zero-cost proxy of Abdelfattah et al. (ICLR 2021,
https://arxiv.org/abs/2101.08134)."""

from __future__ import annotations

from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy, weight_grads


@register_proxy("grad_norm", needs_data=True, heavy_tailed=True, paper="https://arxiv.org/abs/2101.08134")
def grad_norm(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """Sum over conv/linear layers of the Euclidean norm of ``dL/dweight`` on one minibatch."""
    with proxy_mode(net, batchnorm=True):
        _, grads = weight_grads(net, inputs, targets, loss_fn)
        return float(sum(g.norm() for g in grads if g is not None))
