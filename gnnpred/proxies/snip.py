"""SNIP (Lee et al., ICLR 2019, https://arxiv.org/abs/1810.02340) as a zero-cost proxy."""

from __future__ import annotations

from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy, weight_grads


@register_proxy("snip", needs_data=True, heavy_tailed=True, paper="https://arxiv.org/abs/1810.02340")
def snip(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """Sum over conv/linear weights of ``|theta * dL/dtheta|`` on one minibatch (train-mode BN)."""
    with proxy_mode(net, batchnorm=True):
        layers, grads = weight_grads(net, inputs, targets, loss_fn)
        return float(
            sum(
                (m.weight.detach() * g).abs().sum()
                for m, g in zip(layers, grads, strict=True)
                if g is not None
            )
        )
