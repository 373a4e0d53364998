"""SynFlow (Tanaka et al., NeurIPS 2020, https://arxiv.org/abs/2006.05467), used as a zero-cost
proxy by Abdelfattah et al. (ICLR 2021, https://arxiv.org/abs/2101.08134)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy, weight_layers


@register_proxy("synflow", needs_data=False, heavy_tailed=True, paper="https://arxiv.org/abs/2006.05467")
def synflow(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn,
            *, restore: bool = True) -> float:
    """Sum over conv/linear weights of ``|theta * dR/dtheta|``, where ``R`` is the sum of the
    outputs of the network with every parameter replaced by its absolute value, evaluated in
    float64 on an input of ones.

    BatchNorm layers are bypassed (the reference computes SynFlow on a copy without BN, since
    normalising would undo the "linearised" positive flow); dropout is off. The input keeps the
    shape of the first sample (``inputs[0][:1]``) for single-tensor inputs; for multi-tensor
    inputs (graphs: features and ``edge_index``) floating tensors become ones and the rest is kept.
    Parameters and dtype are restored afterwards unless ``restore=False`` (faster, for a
    network that is discarded after scoring: it is then left in float64 with ``|theta|``).
    """
    params = list(net.parameters())
    dtype = params[0].dtype if params else torch.float32
    saved = [p.detach().clone() for p in params] if restore else []
    if len(inputs) == 1:
        ones = (torch.ones_like(inputs[0][:1], dtype=torch.float64),)
    else:
        ones = tuple(
            torch.ones_like(t, dtype=torch.float64) if t.is_floating_point() else t for t in inputs
        )
    try:
        with proxy_mode(net, batchnorm=False):
            net.double()
            with torch.no_grad():
                for p in net.parameters():
                    p.abs_()
            net(*ones).sum().backward()
            total = torch.zeros((), dtype=torch.float64, device=ones[0].device)
            for layer in weight_layers(net):
                if layer.weight.grad is not None:
                    total += (layer.weight.detach() * layer.weight.grad).abs().sum()
            return float(total)
    finally:
        if restore:
            net.to(dtype)
            with torch.no_grad():
                for p, s in zip(net.parameters(), saved, strict=True):
                    p.copy_(s)
