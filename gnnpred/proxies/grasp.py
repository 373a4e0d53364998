"""GraSP (Wang et al., ICLR 2020, https://arxiv.org/abs/2002.07376) as a zero-cost proxy."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy, weight_layers


@register_proxy("grasp", needs_data=True, heavy_tailed=True, paper="https://arxiv.org/abs/2002.07376")
def grasp(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """Sum over conv/linear weights of ``-theta * (H g)``, with ``g = dL/dtheta`` and ``H`` the
    Hessian of the loss, from a Hessian-vector product on one minibatch (train-mode BN)."""
    with proxy_mode(net, batchnorm=True):
        weights = [m.weight for m in weight_layers(net)]
        g = torch.autograd.grad(loss_fn(net(*inputs), targets), weights, allow_unused=True)
        g_f = torch.autograd.grad(loss_fn(net(*inputs), targets), weights, create_graph=True,
                                  allow_unused=True)
        z = sum((a.detach() * b).sum() for a, b in zip(g, g_f, strict=True)
                if a is not None and b is not None and b.requires_grad)
        if not isinstance(z, Tensor):  # no weight reaches the loss through a differentiable path
            return 0.0
        hg = torch.autograd.grad(z, weights, allow_unused=True)
        return float(
            sum((-w.detach() * h).sum() for w, h in zip(weights, hg, strict=True) if h is not None)
        )
