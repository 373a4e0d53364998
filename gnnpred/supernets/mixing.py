"""Architecture weights of the one-shot super-nets: DARTS's softmax and EnTranNAS's sparse weights.

DARTS (Liu, Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055) mixes the candidate
operations of an edge with ``softmax(alpha)``: every weight is positive, so the super-net always
computes every operation and a hand-made rule (argmax op, top-2 inputs per node) derives the cell.

EnTranNAS (Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342) replaces that rule with a
differentiable sparsification: the weights themselves reach exact zeros, and the derived cell is
the set of non-zero weights, which is what the Engine-cell computes.

- :func:`node_threshold` is the paper's EnTranNAS-DST (as Heuillet, Nasser, Arioui & Tabia,
  "Efficient Automation of Neural Network Design: A Survey on Differentiable Neural Architecture
  Search", restate it in their Eqs. 20-22): ``p = softmax(alpha / tau)`` per edge, divided by
  the largest ``p`` among all candidates of all edges into the node, minus the node's learned
  threshold ``t_j = sigmoid(beta_j)``, clipped at zero, then normalised per edge:
  ``q = relu(p / max_node p - t_j)``, weights ``q / sum_k q`` (an edge with no non-zero ``q``
  is absent). The node's strongest candidate keeps ``1 - t_j > 0``, so every node keeps an
  input; any number of others survive, which is topology search.
- :func:`capped_simplex` serves the standard DARTS space, whose nodes must keep exactly two
  inputs. The paper derives that space's cells with the top-2 rule; issue 18 asks for exact
  zeros there too, so this package projects the edge scores of a node onto
  ``{w : 0 <= w <= 1, sum(w) = 2}`` (``w = clip(z - tau, 0, 1)``, ``tau`` chosen so the weights
  sum to ``k``): entries below the threshold are exactly zero, and the projection is
  differentiable almost everywhere. ``k = 1`` is sparsemax (Martins & Astudillo, ICML 2016,
  https://arxiv.org/abs/1602.02068), which weighs that space's operations on an edge. Dividing
  the scores by a temperature that decreases during the search moves the weights from
  near-uniform (every candidate trained, as in DARTS) to exactly ``k`` ones.

Cost: ``O(n * 60)`` per row for the capped simplex's bisection, ``O(n)`` for the threshold;
negligible next to the convolutions.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

__all__ = ["capped_simplex", "node_threshold", "sparsemax", "support"]

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


def node_threshold(p: Tensor, into: Sequence[Sequence[int]], beta: Tensor) -> Tensor:
    """EnTranNAS-DST's sparse weights of a cell (see the module docstring).

    Args:
        p: ``[edges, ops]`` softmax weights of each edge's candidates.
        into: For each intermediate node, the indices of its incoming edges (every edge in one).
        beta: ``[nodes]`` threshold parameters (``t_j = sigmoid(beta_j)``).

    Returns:
        ``[edges, ops]`` weights: per edge summing to 1 or all zero; exact zeros below the
        node's threshold. Gradients reach ``p`` and ``beta`` through the non-zero entries of the
        edges with more than one of them.
    """
    out = torch.zeros_like(p)
    t = torch.sigmoid(beta)
    for n, edges in enumerate(into):
        index = torch.tensor(list(edges), device=p.device)
        pj = p[index]  # [edges into node n, ops]
        q = torch.relu(pj / pj.max() - t[n])
        total = q.sum(dim=-1, keepdim=True)
        q = torch.where(total > 0, q / total.clamp(min=torch.finfo(q.dtype).tiny), q)
        out = out.index_put((index,), q)
    return out


def support(weights: Tensor) -> list[list[int]]:
    """Indices of the non-zero entries of each row of a ``[rows, n]`` weight matrix."""
    nz = (weights.detach() != 0).cpu()
    return [torch.nonzero(row).flatten().tolist() for row in nz]
