"""Architecture-similarity graphs: k nearest neighbours in embedding space.

On CPU the search is scikit-learn's brute-force :class:`~sklearn.neighbors.NearestNeighbors`;
on CUDA, distances are computed ``chunk_size`` query rows at a time against the whole pool. Both
bound memory by blocks of query rows, and connecting ``N`` new cells to a pool costs
``O(N * pool)`` (:func:`knn_extend`): never ``O(N^2)``.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch

from gnnpred._common import resolve_device

__all__ = ["knn", "knn_extend", "knn_graph", "neighbour_index_to_edge_index"]


def _as_tensor(a, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(a) if not isinstance(a, torch.Tensor) else a)
    if t.dim() != 2:
        raise ValueError(f"{name} must be a 2-D array [n, d]. Got shape {tuple(t.shape)} instead.")
    if not torch.is_floating_point(t):
        t = t.float()
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} contains NaN or inf values; embeddings must be finite.")
    return t


def knn(
    query,
    pool,
    k: int,
    *,
    metric: str = "euclidean",
    exclude_self: bool = False,
    query_start: int | None = None,
    chunk_size: int = 4096,
    device: str | torch.device = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` nearest pool rows of every query row.

    Args:
        query: Query embeddings ``[m, d]`` (array or tensor).
        pool: Pool embeddings ``[n, d]``.
        k: Number of neighbours (``1 <= k <= n``, or ``n - 1`` with ``exclude_self`` or
            ``query_start``).
        metric: ``"euclidean"`` or ``"cosine"`` (distance ``1 - cos``).
        exclude_self: Query row ``i`` is pool row ``i`` (``query is pool``); never return it.
        query_start: Query row ``i`` is pool row ``query_start + i`` (the query is a slice of the
            pool, e.g. cells just appended to it); never return it. ``exclude_self`` is the same
            as ``query_start=0``.
        chunk_size: Query rows per distance block; bounds memory to ``chunk_size * n`` floats.
        device: Where to compute (``"auto"``: CUDA when present). On CPU the search is
            scikit-learn's :class:`~sklearn.neighbors.NearestNeighbors` (brute force, whole
            query at once; ``chunk_size`` does not apply), on CUDA chunked torch products.

    Returns:
        ``(index, dist)``: long ``[m, k]`` pool indices sorted by increasing distance, and the
        float ``[m, k]`` distances, both on CPU.

    Raises:
        ValueError: On bad ``k``, ``metric``, ``chunk_size``, shapes or non-finite embeddings.
    """
    q = _as_tensor(query, "query")
    p = _as_tensor(pool, "pool")
    if q.shape[1] != p.shape[1]:
        raise ValueError(f"query and pool dimensions differ: {q.shape[1]} != {p.shape[1]}.")
    if metric not in ("euclidean", "cosine"):
        raise ValueError(f"metric must be 'euclidean' or 'cosine'. Got {metric!r} instead.")
    if (isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral)
            or chunk_size < 1):
        raise ValueError(f"chunk_size must be a positive int. Got {chunk_size!r} instead.")
    if query_start is not None and (
            isinstance(query_start, bool) or not isinstance(query_start, numbers.Integral)
            or not 0 <= query_start <= p.shape[0] - q.shape[0]):
        raise ValueError(f"query_start must be an int in [0, {p.shape[0] - q.shape[0]}] so "
                         "that the "
                         f"{q.shape[0]} query rows are pool rows. Got {query_start!r} instead.")
    if exclude_self and q.shape[0] != p.shape[0]:
        raise ValueError("exclude_self needs query and pool to be the same rows.")
    offset = 0 if exclude_self else query_start
    n_avail = p.shape[0] - (1 if offset is not None else 0)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= n_avail:
        raise ValueError(f"k must be an int in [1, {n_avail}] for a pool of {p.shape[0]} rows. "
                         f"Got {k!r} instead.")
    dev = resolve_device(device)
    if dev.type == "cpu":
        return _knn_sklearn(q, p, int(k), metric, offset)
    return _knn_torch(q, p, int(k), metric, offset, chunk_size, dev)


def _knn_torch(q: torch.Tensor, p: torch.Tensor, k: int, metric: str, offset: int | None,
               chunk_size: int, dev: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Accelerator path of :func:`knn`: distance blocks of ``chunk_size`` rows and top-k."""
    p = p.to(dev, torch.float32)
    if metric == "cosine":
        p = torch.nn.functional.normalize(p, dim=1)
    p_sq = (p * p).sum(1)  # [n]
    out_idx, out_dist = [], []
    for start in range(0, q.shape[0], chunk_size):
        qc = q[start : start + chunk_size].to(dev, torch.float32)
        if metric == "cosine":
            qc = torch.nn.functional.normalize(qc, dim=1)
            d = 1.0 - qc @ p.T  # [c, n]
        else:
            d = ((qc * qc).sum(1, keepdim=True) - 2.0 * (qc @ p.T) + p_sq).clamp_min_(0.0)
        if offset is not None:
            rows = torch.arange(qc.shape[0], device=dev)
            d[rows, rows + start + offset] = float("inf")
        dist, idx = torch.topk(d, int(k), dim=1, largest=False, sorted=True)
        if metric == "euclidean":
            dist = dist.sqrt()
        out_idx.append(idx.cpu())
        out_dist.append(dist.cpu())
    if not out_idx:
        return torch.empty(0, int(k), dtype=torch.long), torch.empty(0, int(k))
    return torch.cat(out_idx), torch.cat(out_dist)


def _knn_sklearn(q: torch.Tensor, p: torch.Tensor, k: int, metric: str,
                 offset: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """CPU path of :func:`knn`: scikit-learn's brute-force search, faster there than torch's."""
    from sklearn.neighbors import NearestNeighbors

    if q.shape[0] == 0:
        return torch.empty(0, k, dtype=torch.long), torch.empty(0, k)
    if metric == "cosine":  # for unit vectors, 1 - cos = |a - b|^2 / 2: the same order
        q, p = torch.nn.functional.normalize(q, dim=1), torch.nn.functional.normalize(p, dim=1)
    extra = 1 if offset is not None else 0  # the excluded row may be among the nearest k + 1
    nn = NearestNeighbors(n_neighbors=k + extra, algorithm="brute")
    nn.fit(p.numpy().astype(np.float32, copy=False))
    dist, idx = nn.kneighbors(q.numpy().astype(np.float32, copy=False))
    if metric == "cosine":
        dist = dist**2 / 2
    if offset is not None:
        own = np.arange(q.shape[0])[:, None] + offset
        keep = idx != own
        keep[keep.sum(1) > k, -1] = False  # the excluded row was not found: drop the farthest
        idx, dist = idx[keep].reshape(-1, k), dist[keep].reshape(-1, k)
    return torch.from_numpy(idx.astype(np.int64)), torch.from_numpy(dist.astype(np.float32))


def knn_extend(
    index: torch.Tensor,
    dist: torch.Tensor,
    points,
    *,
    metric: str = "euclidean",
    chunk_size: int = 4096,
    device: str | torch.device = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Update a self-excluding kNN table after rows were appended to its points.

    ``index``/``dist`` are ``knn(points[:n], points[:n], k, exclude_self=True)`` for the first
    ``n = len(index)`` rows of ``points``. The result equals ``knn(points, points, k,
    exclude_self=True)`` (up to the order of equally distant neighbours) at a cost of
    ``O(n_new * len(points))`` instead of ``O(len(points)**2)``: the new rows get their
    neighbours among all points, and each old row keeps its nearest ``k`` of its old neighbours
    and the new rows.

    Args:
        index: Long ``[n, k]`` neighbour table of the old rows.
        dist: Float ``[n, k]`` distances matching ``index``, sorted increasingly per row.
        points: ``[n + n_new, d]`` embeddings whose first ``n`` rows are the ones ``index`` was
            computed on (unchanged).
        metric: ``"euclidean"`` or ``"cosine"``, as used for ``index``.
        chunk_size: Rows per distance block.
        device: Where to compute (``"auto"``: CUDA when present).

    Returns:
        ``(index, dist)`` for all ``n + n_new`` rows, on CPU.

    Raises:
        ValueError: If the shapes of ``index``, ``dist`` and ``points`` do not fit together.
    """
    index = torch.as_tensor(index).detach().cpu().long()
    dist = torch.as_tensor(dist).detach().cpu().float()
    pts = _as_tensor(points, "points")
    if index.dim() != 2 or index.shape != dist.shape:
        raise ValueError(f"index and dist must both be [n, k]. Got shapes {tuple(index.shape)} and "
                         f"{tuple(dist.shape)} instead.")
    n, k = index.shape
    if pts.shape[0] < n:
        raise ValueError(
            f"points has {pts.shape[0]} rows, fewer than the {n} rows of the kNN table.")
    n_new = pts.shape[0] - n
    if n_new == 0:
        return index, dist
    new_idx, new_dist = knn(pts[n:], pts, k, metric=metric, query_start=n, chunk_size=chunk_size,
                            device=device)
    if n == 0:
        return new_idx, new_dist
    # each old row's nearest new rows (only k of them can enter its top k)
    to_new_idx, to_new_dist = knn(pts[:n], pts[n:], min(k, n_new), metric=metric,
                                  chunk_size=chunk_size, device=device)
    cat_dist = torch.cat([dist.to(to_new_dist.dtype), to_new_dist], 1)
    cat_idx = torch.cat([index, to_new_idx + n], 1)
    best_dist, pick = torch.topk(cat_dist, k, dim=1, largest=False, sorted=True)
    old_idx = torch.gather(cat_idx, 1, pick)
    return torch.cat([old_idx, new_idx]), torch.cat([best_dist, new_dist])


def neighbour_index_to_edge_index(index: torch.Tensor) -> torch.Tensor:
    """Turn a ``[n, k]`` neighbour table into a PyG ``edge_index`` ``[2, n * k]`` whose edges point
    from each neighbour to the node that chose it (messages flow neighbour -> node)."""
    n, k = index.shape
    target = torch.arange(n).repeat_interleave(k)
    return torch.stack([index.reshape(-1), target])


def knn_graph(
    embeddings,
    k: int,
    *,
    metric: str = "euclidean",
    chunk_size: int = 4096,
    device: str | torch.device = "auto",
) -> torch.Tensor:
    """The directed kNN graph of a set of embeddings (no self loops).

    Args:
        embeddings: ``[n, d]`` array or tensor.
        k: Neighbours per node.
        metric: ``"euclidean"`` or ``"cosine"``.
        chunk_size: Rows per distance block.
        device: Where to compute.

    Returns:
        ``edge_index`` ``[2, n * k]`` (neighbour -> node).

    Raises:
        ValueError: As :func:`knn`.
    """
    index, _ = knn(embeddings, embeddings, k, metric=metric, exclude_self=True,
                   chunk_size=chunk_size, device=device)
    return neighbour_index_to_edge_index(index)
