"""Multiply-accumulate count of one forward pass (the "FLOPs" of NAS benchmarks' tables)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn

from gnnpred.proxies.base import register_proxy, weight_layers


@contextmanager
def count_macs(net: nn.Module) -> Iterator[list[int]]:
    """Count conv/linear multiply-accumulates of the forward passes run inside the block.

    Yields a one-element list whose item is the running count (for the whole batch).
    """
    total = [0]

    def hook(module: nn.Module, args: tuple, out: Tensor) -> None:
        w = module.weight
        per_out = (
            math.prod(w.shape[1:]) if isinstance(module, nn.modules.conv._ConvNd) else w.shape[1]
        )
        total[0] += out.numel() * per_out

    handles = [m.register_forward_hook(hook) for m in weight_layers(net)]
    try:
        yield total
    finally:
        for h in handles:
            h.remove()


@register_proxy("flops", needs_data=False, heavy_tailed=True)
def flops(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """Multiply-accumulates of convolutions and linear layers for one input sample.

    Counted as NAS-Bench-101/201 count "FLOPs": ``out_elements * in_channels/groups *
    kernel_area`` per convolution and ``out_elements * in_features`` per linear layer (no factor
    2; BN, pooling, additions and graph message passing are not counted). Single-tensor inputs
    are reduced to one sample; for graphs the count is for the whole given graph. Costs one
    forward pass without gradients (none when computed together with synflow by
    :func:`~gnnpred.proxies.compute`, which counts during synflow's forward pass).
    """
    sample = (inputs[0][:1],) if len(inputs) == 1 else inputs
    was_training = net.training
    try:
        net.eval()
        with count_macs(net) as total, torch.no_grad():
            net(*sample)
    finally:
        net.train(was_training)
    return float(total[0])
