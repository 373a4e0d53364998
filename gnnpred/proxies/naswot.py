"""NASWOT, "neural architecture search without training" (Mellor et al., ICML 2021,
https://arxiv.org/abs/2006.04647)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy


@register_proxy("naswot", needs_data=True, heavy_tailed=False, paper="https://arxiv.org/abs/2006.04647")
def naswot(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """``log |det K|`` with ``K = C C^T + (1 - C)(1 - C)^T``, where row ``n`` of ``C`` is the binary
    code of which ReLU units (``nn.ReLU`` modules) sample ``n`` of the minibatch activates.
    Labels are not used. Needs at least two samples (graph nodes for GNNs)."""
    n = inputs[0].shape[0]
    if n < 2:
        raise ValueError(f"naswot needs a minibatch of at least 2 samples. Got {n}.")
    k = torch.zeros(n, n, dtype=torch.float64, device=inputs[0].device)

    def hook(module: nn.Module, args: tuple) -> None:
        c = (args[0].detach().reshape(n, -1) > 0).double()
        k.add_(c @ c.T).add_((1 - c) @ (1 - c).T)

    with proxy_mode(net, batchnorm=True):
        handles = [
            m.register_forward_pre_hook(hook) for m in net.modules() if isinstance(m, nn.ReLU)
        ]
        try:
            with torch.no_grad():
                net(*inputs)
        finally:
            for h in handles:
                h.remove()
    return float(torch.linalg.slogdet(k).logabsdet)
