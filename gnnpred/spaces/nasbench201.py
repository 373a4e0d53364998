"""NAS-Bench-201: a cell of 4 nodes whose 6 edges each carry one of 5 operations.

Paper: Dong & Yang, "NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture
Search", ICLR 2020 (https://arxiv.org/abs/2001.00326).

Edges are kept in the official order ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``; node 0 is the cell
input and node 3 its output. All ``5**6 = 15,625`` cells are distinct benchmark entries, so
:meth:`NASBench201Space.hash` is the official string itself. Many of them compute the same
network (an edge cut off by ``none`` edges does nothing): :meth:`NASBench201Space.canonical`
maps those to one representative so that a search can avoid paying twice for one network.

For a GNN the cell is drawn with its operations on nodes (as arch2vec does): every cell then
has the same 8-node graph and differs only in node features, which batches cheaply.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from gnnpred.spaces._nb201_batch import NB201BatchOps
from gnnpred.spaces.base import (
    check_count,
    fixed_structure_batch,
    one_hot,
    register_space,
    trainable_parameters,
)

#: The five edge operations, in benchmark order (their index is the op code used below).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: ``(source, target)`` cell nodes of each of the six edges, in the official order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_EDGES = len(EDGES)
_OP_INDEX = {op: i for i, op in enumerate(OPS)}
_OP_SET = frozenset(OPS)


@dataclass(frozen=True)
class NASBench201Cell:
    """A NAS-Bench-201 cell: the operation on each of the six edges, in the official edge order.

    Build cells with ``NASBench201Space().make(ops=[...])`` or ``.from_string(...)``, which
    validate; the constructor itself only turns a list into a tuple.

    Attributes:
        ops: Six op names for edges ``1<-0, 2<-0, 2<-1, 3<-0, 3<-1, 3<-2``.
    """

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.ops, list):
            object.__setattr__(self, "ops", tuple(self.ops))


def _graph_template() -> tuple[np.ndarray, np.ndarray]:
    """Edge list of the 8-node op-on-node graph shared by every cell.

    Node 0 is the cell input, nodes ``1..6`` are the six edges' operations (official edge
    order), node 7 the cell output. Op node ``a`` feeds op node ``b`` when edge ``a`` ends
    where edge ``b`` starts; edges starting at cell node 0 are fed by the input node and edges
    ending at cell node 3 feed the output node.

    Returns:
        ``edge_index`` ``[2, 10]`` and the number of nodes (8) as a 0-d array.
    """
    src, dst = [], []
    for b, (s, _) in enumerate(EDGES):
        if s == 0:
            src.append(0)
            dst.append(b + 1)
    for a, (_, t) in enumerate(EDGES):
        for b, (s, _) in enumerate(EDGES):
            if t == s:
                src.append(a + 1)
                dst.append(b + 1)
    for a, (_, t) in enumerate(EDGES):
        if t == 3:
            src.append(a + 1)
            dst.append(NUM_EDGES + 1)
    order = np.lexsort((np.asarray(dst), np.asarray(src)))
    return np.stack([np.asarray(src)[order], np.asarray(dst)[order]]), np.asarray(NUM_EDGES + 2)


_TEMPLATE_EDGES, _TEMPLATE_NODES = _graph_template()


@functools.cache
def _param_table() -> tuple[np.ndarray, int]:
    """:func:`_count_param_table`, computed once, leaving torch's global random state as it was
    (building the modules draws their initial weights)."""
    with torch.random.fork_rng(devices=[]):
        return _count_param_table()


def _count_param_table() -> tuple[np.ndarray, int]:
    """The parameter counts that :meth:`NASBench201Space.param_counts` adds up.

    An edge's parameters depend only on its op and its stage's width, so a cell's count is a
    sum over its edges; both parts are read off the modules that
    :meth:`NASBench201Space.to_network` builds, so the sum equals counting the built network.

    Returns:
        ``(per_op, outside)``: ``per_op[k]`` is the parameters of one edge with op ``OPS[k]``
        summed over every cell of the default network (``[5]`` int64); ``outside`` is the
        parameters outside the cells (stem, reductions, last BN, classifier).
    """
    from gnnpred.networks.nasbench201 import NB201Network, _make_op

    net = NB201Network(("none",) * NUM_EDGES)
    # stem, reductions, last BN and classifier: every cell of the all-none network is empty
    outside = trainable_parameters(net)
    widths = [m.channels for m in net.cells if hasattr(m, "channels")]
    per_op = np.array(
        [sum(trainable_parameters(_make_op(op, c)) for c in widths) for op in OPS], dtype=np.int64
    )
    return per_op, outside


@register_space("nasbench201")
class NASBench201Space(NB201BatchOps):
    """The NAS-Bench-201 cell space (15,625 cells).

    Graph form (:meth:`to_graph`): the arch2vec-style "operations on nodes" DAG with 8 nodes:
    node 0 ``input``, nodes ``1..6`` the six edge operations in official edge order (their op
    name as node type, ``none`` included so every cell has the same structure), node 7
    ``output``. Op node ``a`` feeds op node ``b`` when edge ``a`` ends at the cell node where
    edge ``b`` starts; the input node feeds the three edges leaving cell node 0 and the three
    edges entering cell node 3 feed the output node (10 directed edges in all).

    Example:
        >>> space = NASBench201Space()
        >>> cell = space.from_string(
        ...     "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|avg_pool_3x3~2|"
        ... )
        >>> space.to_graph(cell).x.shape
        torch.Size([8, 7])
    """

    arch_type = NASBench201Cell
    op_vocab = ("input", *OPS, "output")
    max_nodes = 8  # input, the six edge operations, output
    #: The five edge operations (:data:`OPS`).
    ops = OPS
    #: ``(source, target)`` cell nodes of the six edges, in official order (:data:`EDGES`).
    edges = EDGES

    # ----------------------------------------------------------------------------- sampling
    def sample(self, rng: np.random.Generator) -> NASBench201Cell:
        """Draw one cell uniformly from the 15,625."""
        return self._from_indices(rng.integers(0, len(OPS), size=NUM_EDGES))

    def sample_many(self, n: int, rng: np.random.Generator) -> list[NASBench201Cell]:
        """Draw ``n`` cells uniformly with replacement (vectorised)."""
        n = check_count(n)
        codes = rng.integers(0, len(OPS), size=(int(n), NUM_EDGES))
        return [self._from_indices(row) for row in codes]

    def mutate(self, arch: NASBench201Cell, rng: np.random.Generator) -> NASBench201Cell:
        """Change the op of one random edge to a different random op."""
        self.validate(arch)
        edge = int(rng.integers(NUM_EDGES))
        current = _OP_INDEX[arch.ops[edge]]
        new = (current + 1 + int(rng.integers(len(OPS) - 1))) % len(OPS)
        ops = list(arch.ops)
        ops[edge] = OPS[new]
        return NASBench201Cell(tuple(ops))

    def neighbours(self, arch: NASBench201Cell) -> list[NASBench201Cell]:
        """The 24 cells differing from ``arch`` in exactly one edge (edge-major, op order)."""
        self.validate(arch)
        out = []
        for edge in range(NUM_EDGES):
            for op in OPS:
                if op != arch.ops[edge]:
                    out.append(NASBench201Cell(arch.ops[:edge] + (op,) + arch.ops[edge + 1 :]))
        return out

    # ----------------------------------------------------------------------------- validity
    def validate(self, arch: Any) -> None:
        """Check that ``arch`` is an :class:`NASBench201Cell` with six known edge ops.

        Raises:
            TypeError: If ``arch`` is not an ``NASBench201Cell`` or its ops are not a tuple of str.
            ValueError: If there are not six ops or an op is unknown.
        """
        if not isinstance(arch, NASBench201Cell):
            raise TypeError(
                f"Expected a NASBench201Cell, got {type(arch).__name__} ({arch!r}); build one with "
                "NASBench201Space().make(ops=[...]) or .from_string('|op~0|+|op~0|op~1|+|...|')."
            )
        ops = arch.ops
        if not isinstance(ops, tuple) or not all(isinstance(o, str) for o in ops):
            raise TypeError(
                f"NASBench201Cell.ops must be a tuple of op names (str). Got {ops!r} instead."
            )
        if len(ops) != NUM_EDGES:
            raise ValueError(
                f"An NB201 cell has {NUM_EDGES} edge ops (edges 1<-0, 2<-0, 2<-1, 3<-0, 3<-1, "
                f"3<-2). Got {len(ops)}: {ops!r}."
            )
        bad = [o for o in ops if o not in _OP_SET]
        if bad:
            raise ValueError(f"Unknown NB201 op(s) {bad!r} in {ops!r}. Valid ops: {list(OPS)}.")

    def enumerate(self) -> Iterator[NASBench201Cell]:
        """Yield all 15,625 cells: ``itertools.product`` over the ops in :data:`OPS` order."""
        for ops in itertools.product(OPS, repeat=NUM_EDGES):
            yield NASBench201Cell(ops)

    def __len__(self) -> int:
        return len(OPS) ** NUM_EDGES

    # ----------------------------------------------------------------------------- identity
    def make(self, *, ops: Sequence[str]) -> NASBench201Cell:
        """Build a validated cell from its six edge ops.

        Args:
            ops: The six edge op names in official edge order (``1<-0, 2<-0, 2<-1, 3<-0,
                3<-1, 3<-2``), each one of :data:`OPS`.

        Returns:
            The cell.

        Raises:
            TypeError: If ``ops`` is missing or another keyword is given (Python's own check).
            ValueError: If ``ops`` is not a sequence of six known op names (saying which).
        """
        if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence | np.ndarray):
            raise ValueError(
                f"ops must be a sequence of {NUM_EDGES} op names. Got {ops!r} instead."
            )
        cell = NASBench201Cell(tuple(str(o) if isinstance(o, np.str_) else o for o in ops))
        try:
            self.validate(cell)
        except TypeError as exc:  # a non-str op: a bad value of ops
            raise ValueError(str(exc)) from None
        return cell

    def hash(self, arch: NASBench201Cell) -> str:
        """The official string (the benchmark key; every one of the 15,625 cells is distinct)."""
        return self.to_string(arch)

    def canonical(self, arch: NASBench201Cell) -> NASBench201Cell:
        """One representative of the cells computing the same function as ``arch``.

        Two rules, applied in this order:

        1. Dead edges become ``none``. An edge ``i -> j`` is dead when cell node ``i`` cannot be
           reached from node 0, or node 3 cannot be reached from node ``j``, through edges whose
           op is not ``none``. A cell whose output is unreachable maps to the all-``none`` cell.
        2. Isomorphism: when edge ``2<-1`` is ``none``, nodes 1 and 2 are interchangeable
           (both read only node 0 and feed node 3), so swapping edges ``1<-0``/``2<-0`` and
           ``3<-1``/``3<-2`` gives the same network; the form with the smaller op-code tuple
           (codes in :data:`OPS` order) is kept.

        Equalities that hold only numerically (e.g. sums of parallel convolutions) are not merged.

        Args:
            arch: A cell.

        Returns:
            The canonical cell (``arch`` itself when it is already canonical).
        """
        self.validate(arch)
        live = [o != "none" for o in arch.ops]
        fwd = {0}  # nodes reachable from 0
        for (s, t), ok in zip(EDGES, live, strict=True):  # EDGES are in topological order
            if ok and s in fwd:
                fwd.add(t)
        bwd = {3}  # nodes that reach 3
        for (s, t), ok in reversed(list(zip(EDGES, live, strict=True))):
            if ok and t in bwd:
                bwd.add(s)
        ops = [
            o if ok and s in fwd and t in bwd else "none"
            for (s, t), o, ok in zip(EDGES, arch.ops, live, strict=True)
        ]
        if ops[2] == "none":
            swapped = [ops[1], ops[0], ops[2], ops[3], ops[5], ops[4]]
            if [_OP_INDEX[o] for o in swapped] < [_OP_INDEX[o] for o in ops]:
                ops = swapped
        out = tuple(ops)
        return arch if out == arch.ops else NASBench201Cell(out)

    def to_string(self, arch: NASBench201Cell) -> str:
        """The official string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        self.validate(arch)
        o = arch.ops
        return f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"

    def from_string(self, text: str) -> NASBench201Cell:
        """Parse the official string.

        Raises:
            TypeError: If ``text`` is not a str.
            ValueError: Naming ``text`` if it is not a well-formed NB201 string.
        """
        if not isinstance(text, str):
            raise TypeError(f"Expected an NB201 string, got {type(text).__name__} ({text!r}).")
        hint = "expected the form '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'"
        parts = text.strip().split("+")
        if len(parts) != 3:
            raise ValueError(f"Bad NB201 string {text!r}: {hint}.")
        ops = []
        for target, part in enumerate(parts, start=1):
            if not (part.startswith("|") and part.endswith("|")):
                raise ValueError(f"Bad NB201 string {text!r}: {hint}.")
            tokens = part[1:-1].split("|")
            if len(tokens) != target:
                raise ValueError(
                    f"Bad NB201 string {text!r}: node {target} needs {target} inputs; {hint}."
                )
            for source, tok in enumerate(tokens):
                op, sep, src = tok.partition("~")
                if not sep or src != str(source):
                    raise ValueError(
                        f"Bad NB201 string {text!r}: token {tok!r} should be 'op~{source}'."
                    )
                if op not in _OP_SET:
                    raise ValueError(
                        f"Bad NB201 string {text!r}: unknown op {op!r}; valid ops: {list(OPS)}."
                    )
                ops.append(op)
        return NASBench201Cell(tuple(ops))

    # ----------------------------------------------------------------------------- tensors
    def op_indices(self, archs: Sequence[NASBench201Cell]) -> np.ndarray:
        """Op codes (indices into :data:`OPS`) of each edge, ``[len(archs), 6]`` int64."""
        archs = self.check_archs(archs)
        out = np.fromiter(
            (_OP_INDEX[o] for a in archs for o in a.ops),
            dtype=np.int64,
            count=len(archs) * NUM_EDGES,
        )
        return out.reshape(len(archs), NUM_EDGES)

    def _node_types(self, codes: np.ndarray) -> np.ndarray:
        """``[n, 8]`` indices into :attr:`op_vocab` (input, six ops shifted by one, output)."""
        n = codes.shape[0]
        return np.concatenate(
            [
                np.zeros((n, 1), np.int64),
                codes + 1,
                np.full((n, 1), len(self.op_vocab) - 1, np.int64),
            ],
            axis=1,
        )

    def to_graph(self, arch: NASBench201Cell) -> Data:
        """The 8-node op-on-node graph described in the class docstring."""
        types = self._node_types(self.op_indices([arch]))[0]
        return Data(
            x=one_hot(types, len(self.op_vocab)),
            edge_index=torch.as_tensor(_TEMPLATE_EDGES, dtype=torch.long),
            num_nodes=int(_TEMPLATE_NODES),
        )

    def to_batch(self, archs: Sequence[NASBench201Cell]) -> Batch:
        """All graphs as one batch, built with array ops (equal to ``Batch.from_data_list``)."""
        codes = self.op_indices(archs)
        if len(codes) == 0:
            raise ValueError("to_batch needs at least one architecture; got an empty sequence.")
        return fixed_structure_batch(self._node_types(codes), _TEMPLATE_EDGES, len(self.op_vocab))

    def encode(self, archs: Sequence[NASBench201Cell]) -> np.ndarray:
        """One-hot op of each edge, ``[len(archs), 30]`` float32 (edge-major, ops in OPS order)."""
        codes = self.op_indices(archs)
        return np.eye(len(OPS), dtype=np.float32)[codes].reshape(len(codes), NUM_EDGES * len(OPS))

    def param_counts(self, archs: Sequence[NASBench201Cell]) -> np.ndarray:
        """Trainable parameters of ``to_network(canonical(arch))``, ``[len(archs)]`` int64.

        Closed form, with no network built: the default network's parameters outside the cells
        plus, for every live edge, its op's parameters at each stage's width (dead edges carry no
        parameters in the canonical cell). Equal to counting the built network.
        """
        table = _param_table()
        codes = self.op_indices([self.canonical(a) for a in self.check_archs(archs)])
        return table[1] + table[0][codes].sum(1)

    def to_network(self, arch: NASBench201Cell, **kwargs: Any) -> torch.nn.Module:
        """A real NAS-Bench-201 network (``gnnpred.networks.nasbench201.NB201Network``)."""
        self.validate(arch)
        from gnnpred.networks.nasbench201 import NB201Network

        return NB201Network(arch, **kwargs)

    def _from_indices(self, row: np.ndarray) -> NASBench201Cell:
        return NASBench201Cell(tuple(OPS[int(i)] for i in row))
