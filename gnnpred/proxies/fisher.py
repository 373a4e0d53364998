"""Fisher pruning saliency (Theis et al., 2018, https://arxiv.org/abs/1801.05787; Turner et al.,
ICLR 2020) as a zero-cost proxy."""

from __future__ import annotations

from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy, weight_layers


@register_proxy("fisher", needs_data=True, heavy_tailed=True, paper="https://arxiv.org/abs/1801.05787")
def fisher(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """Sum over the output channels ``c`` of every conv/linear layer of
    ``0.5 * mean_n (sum_spatial a_nc * dL/da_nc)^2`` (``a``: the layer's output activation,
    ``n``: the samples of one minibatch; train-mode BN)."""
    total = [0.0]

    def on_forward(module: nn.Module, args: tuple, out: Tensor) -> None:
        if not out.requires_grad:
            return
        act = out.detach()

        def on_grad(grad: Tensor) -> None:
            g = act * grad  # [N, C, *spatial] or [N, C]
            if g.dim() > 2:
                g = g.flatten(2).sum(2)
            total[0] += float(0.5 * g.pow(2).mean(0).sum())

        out.register_hook(on_grad)

    with proxy_mode(net, batchnorm=True):
        handles = [m.register_forward_hook(on_forward) for m in weight_layers(net)]
        try:
            loss_fn(net(*inputs), targets).backward()
        finally:
            for h in handles:
                h.remove()
    return total[0]
