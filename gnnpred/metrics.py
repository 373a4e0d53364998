"""Ranking metrics for performance predictors: Kendall tau, Spearman rho, top-k precision, regret.

All functions take the true and predicted scores of the same cells (higher is better) and
return plain Python floats. :data:`kendall_scorer` wraps :func:`kendall_tau` as a scikit-learn
scorer for ``cross_val_score`` and ``GridSearchCV`` (an estimator's ``score`` is R^2).
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
from scipy import stats
from sklearn.metrics import make_scorer

__all__ = ["kendall_tau", "spearman", "top_k_precision", "regret", "ranking_report",
           "kendall_scorer"]


def _vector(name: str, values) -> np.ndarray:
    """``values`` as a 1-D float array; a single row or column counts, a table does not (its
    flattening would pair unrelated entries)."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim > 1 and sum(d > 1 for d in arr.shape) > 1:
        raise ValueError(f"{name} must be 1-D (one score per architecture). Got shape "
                         f"{arr.shape} instead.")
    return arr.ravel()


def _check_pair(y_true, y_pred, min_len: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = _vector("y_true", y_true), _vector("y_pred", y_pred)
    if a.shape != b.shape:
        raise ValueError(
            f"y_true and y_pred must have the same length. Got {a.size} and {b.size} instead."
        )
    if a.size < min_len:
        raise ValueError(f"At least {min_len} scores are needed. Got {a.size} instead.")
    for name, arr in (("y_true", a), ("y_pred", b)):
        if not np.isfinite(arr).all():
            bad = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise ValueError(f"{name} contains a non-finite value ({arr[bad]}) at index {bad}.")
    return a, b


def kendall_tau(y_true, y_pred) -> float:
    """Kendall's tau-b rank correlation.

    Args:
        y_true: True scores, shape ``[n]``.
        y_pred: Predicted scores, shape ``[n]``.

    Returns:
        tau in ``[-1, 1]`` (``0.0`` when one side is constant).

    Raises:
        ValueError: On length mismatch, fewer than two scores, or non-finite values.
    """
    a, b = _check_pair(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # handled: returns 0.0
        tau = stats.kendalltau(a, b).statistic
    return 0.0 if np.isnan(tau) else float(tau)


def spearman(y_true, y_pred) -> float:
    """Spearman's rank correlation (average ranks for ties).

    Args:
        y_true: True scores, shape ``[n]``.
        y_pred: Predicted scores, shape ``[n]``.

    Returns:
        rho in ``[-1, 1]`` (``0.0`` when one side is constant).

    Raises:
        ValueError: On length mismatch, fewer than two scores, or non-finite values.
    """
    a, b = _check_pair(y_true, y_pred)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)  # handled: returns 0.0
        rho = stats.spearmanr(a, b).statistic
    return 0.0 if np.isnan(rho) else float(rho)


def _top_count(n: int, k: float | int, name: str = "k") -> int:
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise TypeError(
            f"{name} must be a fraction in (0, 1] or a positive int. Got {k!r} instead.")
    if isinstance(k, numbers.Integral):
        if k < 1:
            raise ValueError(
                f"{name} must be a fraction in (0, 1] or a positive int. Got {k} instead.")
        return min(int(k), n)
    if not 0 < k <= 1:
        raise ValueError(f"{name} must be a fraction in (0, 1] or a positive int. Got {k} instead.")
    return max(1, int(round(k * n)))


def top_k_precision(y_true, y_pred, k: float | int = 0.05) -> float:
    """Fraction of the predicted top-k cells that are among the true top-k cells.

    Ties in ``y_true`` at the cut-off are counted in the cells' favour: a predicted cell counts
    as a hit when its true score is at least the k-th best true score.

    Args:
        y_true: True scores, shape ``[n]``.
        y_pred: Predicted scores, shape ``[n]``.
        k: A fraction of the cells in ``(0, 1]`` (default 5%) or an int count.

    Returns:
        Precision in ``[0, 1]``.

    Raises:
        ValueError: On bad ``k``, length mismatch or non-finite values.
        TypeError: If ``k`` is not a number.
    """
    a, b = _check_pair(y_true, y_pred, min_len=1)
    m = _top_count(a.size, k)
    threshold = np.sort(a)[::-1][m - 1]
    chosen = np.argsort(-b, kind="stable")[:m]
    return float(np.mean(a[chosen] >= threshold))


def regret(y_true, y_pred, k: int = 1) -> float:
    """Best true score minus the best true score among the ``k`` best-predicted cells.

    Args:
        y_true: True scores, shape ``[n]``.
        y_pred: Predicted scores, shape ``[n]``.
        k: How many predicted-best cells are "evaluated".

    Returns:
        A non-negative regret in the units of ``y_true``.

    Raises:
        ValueError: On bad ``k``, length mismatch or non-finite values.
    """
    a, b = _check_pair(y_true, y_pred, min_len=1)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise ValueError(f"k must be a positive int. Got {k!r} instead.")
    chosen = np.argsort(-b, kind="stable")[: int(k)]
    return float(a.max() - a[chosen].max())


def ranking_report(y_true, y_pred, top: float = 0.05) -> dict[str, float]:
    """Kendall, Spearman and top-``top`` precision in one dict (keys ``kendall``, ``spearman``,
    ``top_precision``)."""
    return {
        "kendall": kendall_tau(y_true, y_pred),
        "spearman": spearman(y_true, y_pred),
        "top_precision": top_k_precision(y_true, y_pred, top),
    }


#: Scikit-learn scorer of :func:`kendall_tau` (greater is better): e.g.
#: ``cross_val_score(Assessor(), archs, y, scoring=kendall_scorer)``.
kendall_scorer = make_scorer(kendall_tau)
