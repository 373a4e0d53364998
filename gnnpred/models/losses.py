"""Losses that reward correct ranking: MSE on standardised labels plus a pairwise logistic loss
(as in RankNet, Burges et al., ICML 2005), which NAS predictors benefit from because only the order
of architectures matters to search."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["pairwise_ranking_loss", "rank_regression_loss"]


def pairwise_ranking_loss(pred: Tensor, target: Tensor, weight: Tensor | None = None,
                          max_pairs: int = 65536,
                          generator: torch.Generator | None = None) -> Tensor:
    """Mean logistic loss ``log(1 + exp(-(p_i - p_j) * sign(y_i - y_j)))`` over ordered pairs.

    Args:
        pred: Predicted scores ``[n]``.
        target: True scores ``[n]``.
        weight: Optional per-sample weights ``[n]``; a pair weighs ``w_i * w_j``.
        max_pairs: Above ``n * n`` this many, a random subset of pairs is used.
        generator: Generator for that subset.

    Returns:
        A scalar loss (0 when every target is equal).
    """
    n = pred.shape[0]
    if n < 2:
        return pred.sum() * 0.0
    if n * n <= max_pairs:
        i, j = torch.triu_indices(n, n, offset=1, device=pred.device)
    else:
        i = torch.randint(0, n, (max_pairs,), device=pred.device, generator=generator)
        j = torch.randint(0, n, (max_pairs,), device=pred.device, generator=generator)
    sign = torch.sign(target[i] - target[j])
    w = (sign != 0).float()
    if weight is not None:
        w = w * weight[i] * weight[j]
    losses = F.softplus(-(pred[i] - pred[j]) * sign)
    return (losses * w).sum() / w.sum().clamp_min(1e-12)


def rank_regression_loss(pred: Tensor, target: Tensor, rank_weight: float = 1.0,
                         weight: Tensor | None = None) -> Tensor:
    """(Weighted) MSE plus ``rank_weight`` times :func:`pairwise_ranking_loss`."""
    err = (pred - target) ** 2
    mse = err.mean() if weight is None else (err * weight).sum() / weight.sum().clamp_min(1e-12)
    if rank_weight <= 0:
        return mse
    return mse + rank_weight * pairwise_ranking_loss(pred, target, weight)
