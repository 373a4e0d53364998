"""The searchable cell shared by every super-net: one DAG, run as an Engine- or a Transit-cell.

EnTranNAS (Yang, You et al., "Towards Improving the Consistency, Efficiency, and Flexibility of
Differentiable Neural Architecture Search", CVPR 2021, https://arxiv.org/abs/2101.11342) builds
its super-net from two kinds of cells with the same operations:

- an **Engine-cell** runs every candidate operation whose architecture weight is not zero and
  sums them weighted (DARTS's mixed operation, https://arxiv.org/abs/1806.09055); gradients reach
  the architecture parameters through it;
- a **Transit-cell** runs only the cell currently derived from the parameters, unweighted, exactly
  as the evaluation network would: no architecture gradient, a fraction of the memory and time.

:class:`SearchCell` is both: its ``forward`` takes either weights (Engine) or ``None`` (Transit)
and the operations to run on each edge. :meth:`SearchCell.share_ops` makes a Transit-cell run the
operation modules of an Engine-cell (the same :class:`torch.nn.Parameter` objects): the Transit
positions then train exactly the operations the Engine-cell weighs, so the derived sub-graph the
Transit-cells run is the one the architecture parameters were judged on. A module has one width,
so only cells of the same type and width can share; the super-nets say which cells do.

**Feature sharing** (EnTranNAS, Section 3): with ``share=True`` an operation applied to a node is
one module whose output every later node reuses (key ``"<source>_<op>"``), instead of one module
per edge (key ``"<source>_<target>_<op>"``). Parameter-free operations give the same output on
every edge anyway; sharing the parameterised ones too gives every candidate the same number of
instances (the balance the paper argues for) and computes each once per source node.

Cost of one forward: the sum over edges of the operations run on them (Engine: the non-zero
weights; Transit: the derived operations), each once per source node with feature sharing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

__all__ = ["SearchCell", "cell_edges", "share_transit_ops"]


def cell_edges(n_inputs: int, n_nodes: int) -> tuple[tuple[int, int], ...]:
    """``(source, target)`` of every edge, grouped by target then source (the order of the
    NAS-Bench-201 string and of DARTS's architecture parameters)."""
    return tuple((s, d) for d in range(n_inputs, n_inputs + n_nodes) for s in range(d))


class SearchCell(nn.Module):
    """A cell DAG whose edges hold every candidate operation.

    Node ``d`` (after the ``n_inputs`` input nodes) is the sum over its incoming edges of the
    operations run on them; the output is the last node or the concatenation of the
    intermediate nodes.

    Args:
        n_inputs: Input nodes (1 in NAS-Bench-201, 2 in DARTS).
        n_nodes: Intermediate nodes.
        ops: Candidate operation names, in the space's order; ``"none"`` is never built (it
            contributes exactly zero).
        build: ``build(op_name, source_node) -> nn.Module`` (the source decides the stride).
        share: Feature sharing (one module per source node and op instead of per edge).
        concat: Output the channel concatenation of the intermediate nodes (DARTS) instead of
            the last node (NAS-Bench-201).
    """

    def __init__(
        self,
        n_inputs: int,
        n_nodes: int,
        ops: Sequence[str],
        build: Callable[[str, int], nn.Module],
        *,
        share: bool,
        concat: bool,
    ) -> None:
        super().__init__()
        self.n_inputs, self.n_nodes, self.share, self.concat = n_inputs, n_nodes, share, concat
        self.op_names = tuple(ops)
        self.edges = cell_edges(n_inputs, n_nodes)
        self.ops = nn.ModuleDict()
        self._keys: list[list[str | None]] = []  # edge -> op index -> module key (None: "none")
        for s, d in self.edges:
            keys: list[str | None] = []
            for name in self.op_names:
                if name == "none":
                    keys.append(None)
                    continue
                key = f"{s}_{name}" if share else f"{s}_{d}_{name}"
                if key not in self.ops:
                    self.ops[key] = build(name, s)
                keys.append(key)
            self._keys.append(keys)
        self._into = [[e for e, (_, d) in enumerate(self.edges) if d == t]
                      for t in range(n_inputs, n_inputs + n_nodes)]

    def op_module(self, edge: int, op: int) -> nn.Module:
        """The module that edge ``edge`` runs for operation index ``op`` (shared across edges
        with the same source under feature sharing).

        Raises:
            KeyError: If the operation is ``none`` (it has no module).
        """
        key = self._keys[edge][op]
        if key is None:
            raise KeyError(f"Operation {self.op_names[op]!r} has no module.")
        return self.ops[key]

    def share_ops(self, engine: SearchCell) -> None:
        """Run ``engine``'s operation modules instead of this cell's own (which are dropped).

        Args:
            engine: A cell of the same DAG, candidates, feature sharing and module shapes.

        Raises:
            ValueError: If ``engine`` differs in any of these.
        """
        same = (engine.edges == self.edges and engine.op_names == self.op_names
                and engine._keys == self._keys)
        shapes = {k: [tuple(p.shape) for p in m.parameters()] for k, m in self.ops.items()}
        theirs = {k: [tuple(p.shape) for p in m.parameters()] for k, m in engine.ops.items()}
        if not same or shapes != theirs:
            raise ValueError("share_ops needs a cell with the same edges, candidate operations, "
                             "feature sharing and module shapes (same type and width).")
        self.ops = engine.ops

    def forward(
        self, states: Sequence[Tensor], weights: Tensor | None, active: Sequence[Sequence[int]]
    ) -> Tensor:
        """Run the cell.

        Args:
            states: The input nodes, each ``[B, C, H, W]``.
            weights: ``[edges, ops]`` architecture weights (Engine-cell), or ``None`` for an
                unweighted sum (Transit-cell).
            active: For each edge, the op indices to run (the non-zero weights, or the derived
                cell's ops); ``none`` is skipped.

        Returns:
            The last node ``[B, C, H', W']`` or the concatenation ``[B, n_nodes*C, H', W']``.
        """
        nodes = list(states)
        cache: dict[str, Tensor] = {}  # with feature sharing: one output per source and op
        for into in self._into:
            total: Tensor | None = None
            for e in into:
                for o in active[e]:
                    key = self._keys[e][o]
                    if key is None:
                        continue
                    h = cache.get(key)
                    if h is None:
                        h = self.ops[key](nodes[self.edges[e][0]])
                        cache[key] = h
                    term = h if weights is None else weights[e, o] * h
                    total = term if total is None else total + term
            # a node without any live input is zero (only NAS-Bench-201 cells have such nodes)
            nodes.append(torch.zeros_like(nodes[-1]) if total is None else total)
        if self.concat:
            return torch.cat(nodes[self.n_inputs:], dim=1)
        return nodes[-1]


def share_transit_ops(
    cells: Sequence[SearchCell], engine: Sequence[bool], groups: Sequence[object]
) -> tuple[int | None, ...]:
    """Make each Transit-cell run the operation modules of an Engine-cell of its group.

    Args:
        cells: The searchable cells in network order.
        engine: Whether each cell is an Engine-cell.
        groups: Each cell's type and width; only cells of one group can share modules.

    Returns:
        For each cell, the index of the Engine-cell whose modules it runs (its own index for an
        Engine-cell; the nearest preceding Engine-cell of its group, else the nearest following
        one, for a Transit-cell), or ``None`` for a Transit-cell whose group has no Engine-cell
        (it keeps its own modules).
    """
    out: list[int | None] = []
    for i, cell in enumerate(cells):
        if engine[i]:
            out.append(i)
            continue
        mates = [j for j in range(len(cells)) if engine[j] and groups[j] == groups[i]]
        before = [j for j in mates if j < i]
        j = before[-1] if before else (mates[0] if mates else None)
        if j is not None:
            cell.share_ops(cells[j])
        out.append(j)
    return tuple(out)
