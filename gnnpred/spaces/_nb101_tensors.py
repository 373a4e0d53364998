"""Fast per-cell checks and array conversions of NAS-Bench-101 cells (batches, encodings).

Results that depend only on a cell's matrix or ops are memoised: search and training convert
the same cells over and over, and NB101 has few distinct matrices.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch_geometric.data import Batch

from gnnpred.spaces._nb101_graph import (
    HIDDEN_OPS,
    INPUT,
    MAX_EDGES,
    MAX_VERTICES,
    OP_INDEX,
    OP_VOCAB,
    OUTPUT,
    PAIRS,
    Matrix,
)
from gnnpred.spaces.base import one_hot

if TYPE_CHECKING:
    from gnnpred.spaces.nasbench101 import NASBench101Cell

ENCODING_DIM = len(PAIRS) + MAX_VERTICES * len(OP_VOCAB)  # 21 + 35 = 56
_PAIR_INDEX = {p: k for k, p in enumerate(PAIRS)}


@lru_cache(maxsize=1 << 12)
def problem(matrix: Matrix, ops: tuple[str, ...]) -> str | None:
    """What is wrong with a stored (pruned) cell, or ``None`` when it is valid."""
    if not isinstance(ops, tuple) or not all(isinstance(o, str) for o in ops):
        return f"ops must be a tuple of op names, got {ops!r}"
    n = len(ops)
    if (
        not isinstance(matrix, tuple)
        or len(matrix) != n
        or any(not isinstance(r, tuple) or len(r) != n for r in matrix)
    ):
        return f"matrix must be a {n} x {n} tuple of tuples (one row and column per op)"
    if not 2 <= n <= MAX_VERTICES:
        return f"it has {n} vertices; NAS-Bench-101 cells have 2 to {MAX_VERTICES}"
    if any(v not in (0, 1) or isinstance(v, float) for row in matrix for v in row):
        return "matrix entries must be the ints 0 or 1"
    for i, row in enumerate(matrix):
        for j in range(i + 1):
            if row[j]:
                return f"matrix must be strictly upper-triangular but has the edge {i} -> {j}"
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        return "the first op must be 'input' and the last 'output'"
    bad = [o for o in ops[1:-1] if o not in HIDDEN_OPS]
    if bad:
        return f"unknown interior op(s) {bad}; valid: {list(HIDDEN_OPS)}"
    edges = sum(sum(row) for row in matrix)
    if edges > MAX_EDGES:
        return f"it has {edges} edges; NAS-Bench-101 allows at most {MAX_EDGES}"
    for v in range(n - 1):  # upper-triangular: a path input -> output through v exists iff
        if not any(matrix[v]):  # every vertex but the output has a successor and
            return (
                f"vertex {v} has no outgoing edge (not pruned; build cells with make(), "
                "which prunes)"
            )
    for v in range(1, n):  # every vertex but the input has a predecessor
        if not any(row[v] for row in matrix):
            return (
                f"vertex {v} has no incoming edge (not pruned; build cells with make(), "
                "which prunes)"
            )
    return None


@lru_cache(maxsize=1 << 16)
def edge_list(matrix: Matrix) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Sources and targets of the edges, row-major."""
    pairs = [(i, j) for i, row in enumerate(matrix) for j, v in enumerate(row) if v]
    return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)


def cells_to_batch(archs: Sequence[NASBench101Cell]) -> Batch:
    """Concatenate cells into a PyG :class:`Batch` with array ops (no per-graph ``Data``).

    The result equals ``Batch.from_data_list([to_graph(a) for a in archs])``: same ``x``,
    ``edge_index``, ``batch``, ``ptr`` and slicing metadata (indexing, ``to_data_list`` work).
    """
    g = len(archs)
    sizes = np.fromiter((len(a.ops) for a in archs), np.int64, count=g)
    ptr = np.zeros(g + 1, np.int64)
    np.cumsum(sizes, out=ptr[1:])
    types = np.fromiter((OP_INDEX[o] for a in archs for o in a.ops), np.int64, count=int(ptr[-1]))
    edges = [edge_list(a.matrix) for a in archs]
    counts = np.fromiter((len(e[0]) for e in edges), np.int64, count=g)
    total = int(counts.sum())
    src = np.fromiter(itertools.chain.from_iterable(e[0] for e in edges), np.int64, count=total)
    dst = np.fromiter(itertools.chain.from_iterable(e[1] for e in edges), np.int64, count=total)
    shift = np.repeat(ptr[:-1], counts)  # node offset of each edge's graph
    eptr = np.zeros(g + 1, np.int64)
    np.cumsum(counts, out=eptr[1:])
    ptr_t = torch.from_numpy(ptr)
    batch = Batch(
        x=one_hot(types, len(OP_VOCAB)),
        edge_index=torch.from_numpy(np.stack([src + shift, dst + shift])),
        batch=torch.repeat_interleave(torch.arange(g), torch.from_numpy(sizes)),
        ptr=ptr_t,
    )
    batch.num_nodes = int(ptr[-1])
    batch._store._num_nodes = sizes.tolist()  # lets batch[i] / to_data_list restore num_nodes
    batch._num_graphs = g
    batch._slice_dict = {"x": ptr_t, "edge_index": torch.from_numpy(eptr)}
    batch._inc_dict = {"x": torch.zeros(g, dtype=torch.long), "edge_index": ptr_t[:-1].clone()}
    return batch


@lru_cache(maxsize=1 << 16)
def _adjacency_columns(matrix: Matrix) -> tuple[int, ...]:
    """Encoding columns of the edges of one matrix (7-slot view, output in slot 6)."""
    n = len(matrix)
    slot = [*range(n - 1), MAX_VERTICES - 1]
    return tuple(
        _PAIR_INDEX[(slot[i], slot[j])]
        for i, row in enumerate(matrix)
        for j, v in enumerate(row)
        if v
    )


def encode_cells(archs: Sequence[NASBench101Cell]) -> np.ndarray:
    """``[len(archs), 56]`` float32: 21 adjacency slots then 7 x 5 one-hot ops (7-slot view)."""
    g = len(archs)
    out = np.zeros((g, ENCODING_DIM), np.float32)
    adj = [_adjacency_columns(a.matrix) for a in archs]
    counts = np.fromiter((len(c) for c in adj), np.int64, count=g)
    cols = np.fromiter(itertools.chain.from_iterable(adj), np.int64, count=int(counts.sum()))
    out[np.repeat(np.arange(g), counts), cols] = 1.0
    sizes = np.fromiter((len(a.ops) for a in archs), np.int64, count=g)
    types = np.fromiter(
        (OP_INDEX[o] for a in archs for o in a.ops), np.int64, count=int(sizes.sum())
    )
    owner = np.repeat(np.arange(g), sizes)
    pos = np.arange(len(types)) - np.repeat(
        np.cumsum(sizes) - sizes, sizes
    )  # vertex index in its cell
    slot = np.where(pos == sizes[owner] - 1, MAX_VERTICES - 1, pos)  # the output goes to slot 6
    out[owner, len(PAIRS) + len(OP_VOCAB) * slot + types] = 1.0
    return out
