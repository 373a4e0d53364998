"""Label propagation on an architecture-similarity graph: a semi-supervised predictor without a
network, the baseline the assessor's GCN heads must beat.

The graph is a kNN table (``neighbours[i]`` are the rows row ``i`` chose, as built by
:func:`gnnpred.similarity.knn` or held by the assessor's ``pool_``), made symmetric:
``W[i, j] = W[j, i] = w(d_ij)`` whenever ``j`` is among the neighbours of ``i`` or ``i`` among
those of ``j``, with ``w(d) = exp(-d^2 / (2 sigma^2))`` and ``sigma`` the median kNN distance
(``w = 1`` without distances). Two classic algorithms are offered:

- *propagation* (Zhu & Ghahramani, 2002; Zhu et al., ICML 2003, "harmonic functions"): labelled
  rows keep their labels; every other row takes the weighted mean of its neighbours' values,
  ``f_u = D_uu^-1 (W_uu f_u + W_ul y)``. Solved exactly as the sparse system
  ``(D_uu - W_uu) f_u = W_ul y`` (conjugate gradients).
- *spreading* (Zhou et al., NeurIPS 2004, "Learning with local and global consistency"): with
  ``S = D^-1/2 W D^-1/2`` and ``P = (1 - alpha) (I - alpha S)^-1``, each row's value is the
  ``P``-weighted mean of the labels, ``f_i = sum_l P_il y_l / sum_l P_il``; labelled rows are
  smoothed too, which suits noisy labels. (Zhou's unnormalised ``P y`` shrinks towards 0 far
  from the labels; normalising keeps predictions in label units.)

Rows of a connected component without labels get the mean label. Cost: one sparse
matrix-vector product per (Jacobi-preconditioned) CG iteration, ``O(n k)`` each; 26,000 rows
with ``k = 10`` and 50 labels take 1-2 CPU seconds.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import cg

__all__ = ["propagate_labels"]


def _affinity(neighbours: np.ndarray, distances: np.ndarray | None) -> sp.csr_matrix:
    """Symmetric weight matrix ``[n, n]`` of a kNN table (the larger weight where both chose)."""
    n, k = neighbours.shape
    rows = np.repeat(np.arange(n), k)
    if distances is None:
        w = np.ones(n * k)
    else:
        d = distances.reshape(-1).astype(np.float64)
        sigma = float(np.median(d))
        w = np.exp(-(d**2) / (2 * sigma**2)) if sigma > 0 else np.ones_like(d)
    a = sp.csr_matrix((w, (rows, neighbours.reshape(-1))), shape=(n, n))
    a.sum_duplicates()
    return a.maximum(a.T).tocsr()


def _check(neighbours, distances, labelled, y) -> tuple:
    nbr = np.asarray(neighbours)
    if nbr.ndim != 2 or not np.issubdtype(nbr.dtype, np.integer):
        raise ValueError("neighbours must be an integer [n, k] table, as returned by "
                         f"gnnpred.similarity.knn. Got shape {nbr.shape}, dtype {nbr.dtype}.")
    n = nbr.shape[0]
    if nbr.size and (nbr.min() < 0 or nbr.max() >= n):
        raise ValueError(f"neighbours holds row numbers outside [0, {n}): min {nbr.min()}, "
                         f"max {nbr.max()}.")
    dist = None
    if distances is not None:
        dist = np.asarray(distances, dtype=np.float64)
        if dist.shape != nbr.shape or not np.isfinite(dist).all() or (dist < 0).any():
            raise ValueError("distances must be finite, >= 0 and shaped like neighbours "
                             f"{nbr.shape}. Got shape {dist.shape}.")
    idx = np.asarray(labelled)
    if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
        raise ValueError("labelled must be a non-empty 1-D array of row numbers. "
                         f"Got {labelled!r}.")
    if idx.min() < 0 or idx.max() >= n or len(np.unique(idx)) != len(idx):
        raise ValueError(f"labelled must hold distinct row numbers in [0, {n}). Got min "
                         f"{idx.min()}, max {idx.max()}, {len(idx) - len(np.unique(idx))} "
                         "repeated.")
    vals = np.asarray(y, dtype=np.float64)
    if vals.shape != idx.shape or not np.isfinite(vals).all():
        raise ValueError(f"y must hold {len(idx)} finite labels, one per labelled row. Got "
                         f"shape {vals.shape}.")
    return nbr.astype(np.int64), dist, idx.astype(np.int64), vals


def propagate_labels(neighbours, labelled, y, *, distances=None, alpha: float | None = None,
                     tol: float = 1e-8, max_iter: int = 2000) -> np.ndarray:
    """Predict every row of a kNN graph from the labels of a few (see the module docstring).

    Args:
        neighbours: Integer ``[n, k]`` kNN table (row ``i``'s neighbours).
        labelled: Row numbers ``[m]`` of the labelled rows (distinct).
        y: Their labels ``[m]``.
        distances: Optional ``[n, k]`` distances matching ``neighbours``; edges are then weighted
            ``exp(-d^2 / (2 sigma^2))`` (``sigma``: median distance), else all weigh 1.
        alpha: ``None`` for propagation (labelled rows keep their labels exactly: for exact
            labels such as benchmark tables), or a float in ``(0, 1)`` for spreading (labels
            smoothed with weight ``alpha`` on the graph: for noisy labels; 0.9 is usual).
        tol: Relative residual at which conjugate gradients stop.
        max_iter: Most conjugate-gradient iterations per solve.

    Returns:
        ``float64 [n]`` predictions in label units.

    Raises:
        ValueError: On malformed tables or labels, or a bad ``alpha``, ``tol`` or ``max_iter``.

    Warns:
        RuntimeWarning: When a solve stops at ``max_iter`` before reaching ``tol``.
    """
    if alpha is not None and (isinstance(alpha, bool) or not isinstance(alpha, numbers.Real)
                              or not 0 < alpha < 1):
        raise ValueError(f"alpha must be None (propagation) or a float in (0, 1) (spreading). "
                         f"Got {alpha!r} instead.")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"max_iter must be a positive int. Got {max_iter!r} instead.")
    if isinstance(tol, bool) or not isinstance(tol, numbers.Real) or not tol > 0:
        raise ValueError(f"tol must be a positive float. Got {tol!r} instead.")
    nbr, dist, idx, vals = _check(neighbours, distances, labelled, y)
    n = nbr.shape[0]
    w = _affinity(nbr, dist)
    out = np.full(n, vals.mean())
    _, comp = connected_components(w, directed=False)
    live = np.isin(comp, np.unique(comp[idx]))  # rows some label can reach
    if alpha is None:
        out[idx] = vals
        free = np.flatnonzero(live & ~np.isin(np.arange(n), idx))
        if free.size:
            deg = np.asarray(w.sum(1)).ravel()
            lap = sp.diags(deg[free]) - w[free][:, free]
            rhs = w[free][:, idx] @ vals
            out[free] = _solve(lap, rhs, out[free], tol, max_iter)
        return out
    rows = np.flatnonzero(live)
    sub = w[rows][:, rows]
    deg = np.asarray(sub.sum(1)).ravel()
    inv = 1 / np.sqrt(deg)
    system = sp.identity(len(rows)) - alpha * sp.diags(inv) @ sub @ sp.diags(inv)
    pos = np.searchsorted(rows, idx)
    num_rhs, den_rhs = np.zeros(len(rows)), np.zeros(len(rows))
    num_rhs[pos], den_rhs[pos] = vals - vals.mean(), 1.0
    num = _solve(system, num_rhs, None, tol, max_iter)
    den = _solve(system, den_rhs, None, tol, max_iter)
    out[rows] = vals.mean() + num / np.maximum(den, np.finfo(float).tiny)
    return out


def _solve(a, b: np.ndarray, x0: np.ndarray | None, tol: float, max_iter: int) -> np.ndarray:
    """``a^-1 b`` by conjugate gradients with a Jacobi preconditioner (``a`` is symmetric
    positive definite here); warns when ``max_iter`` iterations do not reach ``tol``."""
    a = sp.csr_matrix(a)
    x, info = cg(a, b, x0=x0, rtol=tol, atol=0.0, maxiter=max_iter,
                 M=sp.diags(1.0 / a.diagonal()))
    if info > 0:
        res = np.linalg.norm(a @ x - b) / max(np.linalg.norm(b), np.finfo(float).tiny)
        warnings.warn(f"label propagation stopped after max_iter={max_iter} conjugate-gradient "
                      f"iterations at relative residual {res:.1e} (tol={tol}); raise max_iter "
                      "for a converged answer.", RuntimeWarning, stacklevel=3)
    return x
