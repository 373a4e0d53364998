"""Context managers that put a network in the state a proxy needs and restore it afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm


def _identity(x: Tensor) -> Tensor:
    return x


@contextmanager
def proxy_mode(net: nn.Module, *, batchnorm: bool) -> Iterator[nn.Module]:
    """Train mode with dropout off; with ``batchnorm=False`` every BatchNorm layer is bypassed.

    Batch statistics (train mode) are what the reference implementation uses for the
    data-dependent proxies; dropout is switched off so that scores are deterministic. On exit
    the modes (and any patched ``forward``) of all modules and the buffers (BatchNorm running
    statistics) are restored, and gradients cleared.
    """
    modes = {m: m.training for m in net.modules()}
    buffers = [(b, b.detach().clone()) for b in net.buffers()]
    patched: list[tuple[nn.Module, object]] = []
    try:
        net.train()
        for m in net.modules():
            if isinstance(m, nn.modules.dropout._DropoutNd):
                m.eval()
            elif isinstance(m, _BatchNorm) and not batchnorm:
                patched.append((m, m.__dict__.get("forward")))
                m.forward = _identity  # instance attribute shadows the class's forward
        yield net
    finally:
        for m, own in patched:
            if own is None:
                del m.forward
            else:
                m.forward = own
        for m, mode in modes.items():
            m.training = mode
        with torch.no_grad():
            for b, saved in buffers:
                if b.dtype == saved.dtype:  # synflow may have left the network in float64
                    b.copy_(saved)
        net.zero_grad(set_to_none=True)
