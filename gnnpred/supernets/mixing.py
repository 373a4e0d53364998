"""Architecture weights of the one-shot super-nets: DARTS's softmax and EnTranNAS's sparse weights.

DARTS (Liu, Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055) mixes the candidate
operations of an edge with ``softmax(alpha)``: every weight is positive, so the super-net always
computes every operation and a hand-made rule (argmax op, top-2 inputs per node) derives the cell.

EnTranNAS (Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342) replaces that rule with a
differentiable sparsification: the weights themselves reach exact zeros, and the derived cell is
the set of non-zero weights, which is what the Engine-cell computes. :func:`capped_simplex`
gives such weights: the Euclidean projection of ``z`` onto ``{w : 0 <= w <= 1, sum(w) = k}``,
``w = clip(z - tau, 0, 1)`` with the threshold ``tau`` chosen so that the weights sum to ``k``.
Entries below the threshold are exactly zero; the projection is differentiable almost everywhere
(the threshold depends on the entries strictly between 0 and 1). ``k = 1`` is sparsemax
(Martins & Astudillo, ICML 2016, https://arxiv.org/abs/1602.02068). Dividing ``z`` by a
temperature that decreases during the search moves the weights from near-uniform (every
candidate trained, as in DARTS) to exactly ``k`` ones and zeros elsewhere.

Cost: ``O(n * 60)`` per row for the threshold's bisection, negligible next to the convolutions.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["capped_simplex", "sparsemax", "support"]

_BISECTION_STEPS = 60


def capped_simplex(z: Tensor, k: float | Tensor) -> Tensor:
    """Project each row of ``z`` onto ``{w : 0 <= w <= 1, sum(w) = k}`` (last dimension).

    Args:
        z: Scores ``[..., n]``.
        k: Sum of each row's weights, a float or a tensor broadcastable to ``z.shape[:-1]``,
            in ``(0, n]``.

    Returns:
        Weights ``[..., n]`` in ``[0, 1]`` summing to ``k`` per row, exact zeros below the
        row's threshold. Gradients flow to ``z`` (and to ``k`` when it is a tensor) through the
        entries strictly between 0 and 1.

    Raises:
        ValueError: If ``k`` is not in ``(0, n]``.
    """
    n = z.shape[-1]
    k_t = torch.as_tensor(k, dtype=z.dtype, device=z.device).expand(z.shape[:-1])
    if bool((k_t <= 0).any()) or bool((k_t > n).any()):
        raise ValueError(f"k must be in (0, {n}] for rows of {n} scores. Got {k!r} instead.")
    with torch.no_grad():  # bisection for tau: sum(clip(z - tau, 0, 1)) decreases with tau
        zd, kd = z.detach().double(), k_t.detach().double()
        lo = zd.min(dim=-1).values - 1.0  # every entry clipped at 1: sum n >= k
        hi = zd.max(dim=-1).values  # every entry clipped at 0: sum 0 <= k
        for _ in range(_BISECTION_STEPS):
            mid = (lo + hi) / 2
            above = (zd - mid[..., None]).clamp(0.0, 1.0).sum(dim=-1) > kd
            lo = torch.where(above, mid, lo)
            hi = torch.where(above, hi, mid)
        tau0 = ((lo + hi) / 2)[..., None].to(z.dtype)
        free = ((z - tau0) > 0) & ((z - tau0) < 1)
        ones = (z - tau0) >= 1
    # tau again, now as a function of z: sum over free entries of (z - tau) + #ones = k
    n_free = free.sum(dim=-1)
    z_free = torch.where(free, z, torch.zeros_like(z)).sum(dim=-1)
    tau = torch.where(
        n_free > 0,
        (z_free + ones.sum(dim=-1).to(z.dtype) - k_t) / n_free.clamp(min=1).to(z.dtype),
        tau0[..., 0],
    )
    return (z - tau[..., None]).clamp(0.0, 1.0)


def sparsemax(z: Tensor) -> Tensor:
    """Sparsemax of each row (last dimension): :func:`capped_simplex` with ``k = 1``."""
    return capped_simplex(z, 1.0)


def support(weights: Tensor) -> list[list[int]]:
    """Indices of the non-zero entries of each row of a ``[rows, n]`` weight matrix."""
    nz = (weights.detach() != 0).cpu()
    return [torch.nonzero(row).flatten().tolist() for row in nz]
