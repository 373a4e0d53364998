"""GRAF: neural graph features of a cell, cheap structural predictors of its accuracy.

Kadlecová et al., "Surprisingly Strong Performance Prediction with Neural Graph Features",
ICML 2024 (https://arxiv.org/abs/2404.16551). Simple counts on the cell graph (how many ops of
each type, how long the paths from input to output are when only some op types may be used,
how many ops of those types touch the input and output) are, with zero-cost proxies and a random
forest, among the strongest performance predictors from few labels.

Every cell is first viewed as a DAG of *op nodes* between an input and an output node:

- NAS-Bench-201: one op node per edge (``none`` edges are dropped); the op node of edge
  ``a -> b`` feeds the op nodes of the edges leaving ``b``; edges leaving node 0 read the input,
  edges entering node 3 feed the output.
- NAS-Bench-101: the cell's own vertices; interior vertices are the op nodes.
- NAS-Bench-Graph: op node ``i`` reads node ``link[i]``; the leaves feed the output.

Columns (:func:`graf_feature_names` gives their names, in this order):

1. ``count:<op>`` for each op type of the space: number of op nodes of that type;
2. ``edges``: number of edges of the op-node DAG (input and output included);
3. for each op subset ``S`` (all non-empty subsets when the space has at most 4 op types, else
   each op alone and all ops together), four columns:

   - ``min_path:<S>``: fewest op nodes on an input -> output path whose op nodes all have a type
     in ``S`` (0 for a direct input -> output edge; ``max_ops + 1`` when there is no such path,
     ``max_ops`` being the space's largest number of op nodes in a cell);
   - ``max_path:<S>``: most op nodes on such a path (0 when there is none);
   - ``input_degree:<S>``: op nodes of a type in ``S`` that read the input (the input's
     out-degree restricted to ``S``);
   - ``output_degree:<S>``: op nodes of a type in ``S`` that feed the output (the output's
     in-degree restricted to ``S``).

Cost: a dynamic programme over the nodes in topological order for each subset, in pure Python:
about 0.1 ms per NB101 or NAS-Bench-Graph cell and 0.25 ms per NB201 cell (15 subsets).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["graf_features", "graf_feature_names"]

_NONE_201 = "none"


def _space_ops(space: Any) -> tuple[tuple[str, ...], int]:
    """The op types of ``space`` and its largest number of op nodes per cell."""
    name = getattr(space, "name", None)
    if name == "nasbench201":
        from gnnpred.spaces.nasbench201 import NUM_EDGES, OPS

        return tuple(o for o in OPS if o != _NONE_201), NUM_EDGES
    if name == "nasbench101":
        from gnnpred.spaces._nb101_graph import HIDDEN_OPS, MAX_VERTICES

        return tuple(HIDDEN_OPS), MAX_VERTICES - 2
    if name == "nasbench-graph":
        from gnnpred.spaces._nbgraph_keys import N_NODES

        return tuple(space.ops), N_NODES
    raise ValueError(
        f"graf_features supports the nasbench201, nasbench101 and nasbench-graph spaces. "
        f"Got {name!r}; pass one of those spaces (gnnpred.spaces.get_space(name))."
    )


def _subsets(ops: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The op subsets of the path and degree columns (see the module docstring)."""
    if len(ops) <= 4:
        return [s for r in range(1, len(ops) + 1) for s in itertools.combinations(ops, r)]
    return [(o,) for o in ops] + [ops]


def graf_feature_names(space: Any) -> list[str]:
    """Names of the columns :func:`graf_features` returns for ``space``, in order.

    Args:
        space: A NAS-Bench-201, NAS-Bench-101 or NAS-Bench-Graph space instance.

    Returns:
        One name per column, e.g. ``"count:nor_conv_3x3"`` or
        ``"min_path:skip_connect+nor_conv_3x3"``.

    Raises:
        ValueError: For another space.
    """
    ops, _ = _space_ops(space)
    names = [f"count:{o}" for o in ops] + ["edges"]
    for s in _subsets(ops):
        tag = "+".join(s)
        names += [f"min_path:{tag}", f"max_path:{tag}", f"input_degree:{tag}",
                  f"output_degree:{tag}"]
    return names


def _op_dag(space: Any, arch: Any) -> tuple[list[str], list[list[int]]]:
    """``(node ops, predecessors)`` of the op-node DAG in topological order: node 0 is the
    input (op ``"input"``), the last node the output (op ``"output"``)."""
    name = space.name
    if name == "nasbench201":
        from gnnpred.spaces.nasbench201 import EDGES

        live = [i for i, o in enumerate(arch.ops) if o != _NONE_201]
        row = {e: k + 1 for k, e in enumerate(live)}  # edge index -> node (EDGES is topological)
        ops = ["input", *(arch.ops[e] for e in live), "output"]
        preds: list[list[int]] = [[]]
        for e in live:
            src = EDGES[e][0]
            preds.append([0] if src == 0 else [row[f] for f in live if EDGES[f][1] == src])
        preds.append([row[e] for e in live if EDGES[e][1] == 3])
        return ops, preds
    if name == "nasbench101":
        m = arch.matrix
        return list(arch.ops), [[i for i in range(j) if m[i][j]] for j in range(len(m))]
    links = list(arch.link)
    n = len(links)
    read = set(links)
    preds = [[]] + [[links[i]] for i in range(n)] + [[i for i in range(1, n + 1) if i not in read]]
    return ["input", *arch.ops, "output"], preds


def _cell_features(ops: list[str], preds: list[list[int]], op_types: tuple[str, ...],
                   subsets: list[tuple[str, ...]], max_ops: int) -> list[float]:
    out_node = len(ops) - 1
    row: list[float] = [float(sum(o == t for o in ops)) for t in op_types]
    row.append(float(sum(len(p) for p in preds)))
    for s in subsets:
        allowed = set(s)
        # fewest / most op nodes on an allowed path from the input to each node (None: no path)
        lo: list[int | None] = [0] + [None] * out_node
        hi: list[int | None] = [0] + [None] * out_node
        for v in range(1, out_node + 1):
            if v != out_node and ops[v] not in allowed:
                continue
            here = 0 if v == out_node else 1
            reach = [u for u in preds[v] if lo[u] is not None]
            if reach:
                lo[v] = min(lo[u] for u in reach) + here
                hi[v] = max(hi[u] for u in reach) + here
        in_deg = sum(1 for v in range(1, out_node) if ops[v] in allowed and 0 in preds[v])
        out_deg = sum(1 for u in preds[out_node] if u != 0 and ops[u] in allowed)
        row += [float(max_ops + 1 if lo[out_node] is None else lo[out_node]),
                float(hi[out_node] or 0), float(in_deg), float(out_deg)]
    return row


def graf_features(space: Any, archs: Sequence[Any]) -> np.ndarray:
    """GRAF neural graph features of cells (see the module docstring for the columns).

    Args:
        space: A NAS-Bench-201, NAS-Bench-101 or NAS-Bench-Graph space instance.
        archs: Cells of that space. They are used as given: pass ``space.canonical(a)`` to get
            the same features for cells that compute the same function.

    Returns:
        ``float64 [len(archs), len(graf_feature_names(space))]``.

    Raises:
        ValueError: For another space, or invalid cells (the space's own message).
        TypeError: For cells of another space.
    """
    op_types, max_ops = _space_ops(space)
    subsets = _subsets(op_types)
    archs = space.check_archs(archs)
    width = len(graf_feature_names(space))
    out = np.empty((len(archs), width), dtype=np.float64)
    for i, arch in enumerate(archs):
        ops, preds = _op_dag(space, arch)
        out[i] = _cell_features(ops, preds, op_types, subsets, max_ops)
    return out
