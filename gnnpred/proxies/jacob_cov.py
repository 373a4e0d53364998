"""Jacobian covariance (Mellor et al., 2020 v1 of https://arxiv.org/abs/2006.04647), as
evaluated by Abdelfattah et al. (ICLR 2021)."""

from __future__ import annotations

import numpy as np
from torch import Tensor, nn

from gnnpred.proxies._mode import proxy_mode
from gnnpred.proxies.base import register_proxy


@register_proxy("jacob_cov", needs_data=True, heavy_tailed=False, paper="https://arxiv.org/abs/2006.04647")
def jacob_cov(net: nn.Module, inputs: tuple[Tensor, ...], targets: Tensor | None, loss_fn) -> float:
    """``-sum_i log(v_i + k) + 1 / (v_i + k)`` over the eigenvalues ``v_i`` of the correlation
    matrix of the per-sample input gradients of the summed outputs (``k = 1e-5``).

    Needs at least two samples (rows of ``inputs[0]``; graph nodes for GNNs). Returns NaN when
    the correlation is undefined (e.g. a network whose output ignores its input).
    """
    x = inputs[0].detach().clone().requires_grad_(True)
    if x.shape[0] < 2:
        raise ValueError(f"jacob_cov needs a minibatch of at least 2 samples. Got {x.shape[0]}.")
    with proxy_mode(net, batchnorm=True):
        out = net(x, *inputs[1:])
        if out.requires_grad:
            out.backward(gradient=out.new_ones(out.shape))
    if x.grad is None:  # the output does not depend on the input: correlation undefined
        return float("nan")
    jac = x.grad.reshape(x.shape[0], -1).double().cpu().numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(jac)
    if not np.all(np.isfinite(corr)):
        return float("nan")
    v = np.linalg.eigvalsh(corr)
    k = 1e-5
    return float(-np.sum(np.log(v + k) + 1.0 / (v + k)))
