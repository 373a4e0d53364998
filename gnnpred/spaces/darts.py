"""The DARTS cell space: a normal and a reduction cell of 4 intermediate nodes each.

Paper: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019
(https://arxiv.org/abs/1806.09055). Topology search: Yang, You et al., "Towards Improving the
Consistency, Efficiency, and Flexibility of Differentiable Neural Architecture Search" (EnTranNAS-
DST), CVPR 2021 (https://arxiv.org/abs/2101.11342).

A cell has two input nodes (``0`` = ``c_{k-2}``, ``1`` = ``c_{k-1}``) and four intermediate
nodes ``2..5``; node ``i`` sums ``op(node j)`` over its input edges ``(op, j)``, ``j < i``, at most
one edge per input node, and the cell outputs the concatenation of nodes ``2..5``. In the standard
space every intermediate node has exactly two input edges (DARTS keeps the top two); with
``topology=True`` (EnTranNAS-DST) a node has any number of them, at least one.

The ops are the seven of :data:`~gnnpred.networks.darts_ops.EVAL_PRIMITIVES`. ``none`` is a
search-only operation (it lets a mixed op switch an edge off); a derived genotype never keeps it,
so cells here cannot contain it: an edge that is off is simply not listed.

Forms of a cell:

- value: :class:`DARTSCell`, ``normal``/``reduce`` each a tuple (one per intermediate node) of
  tuples of ``(op, input)`` pairs, stored in the order given;
- spec for :meth:`DARTSSpace.make`: DARTS's flat genotype list (two consecutive pairs per node,
  ``[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ...]``) or a nested list, one list of pairs per
  node (needed when nodes have other than two inputs);
- string: DARTS's ``Genotype(normal=[...], normal_concat=range(2, 6), reduce=[...],
  reduce_concat=range(2, 6))`` notation (nested lists in the topology space), parsed without
  ``eval``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Data

from gnnpred.networks.darts_ops import EVAL_PRIMITIVES
from gnnpred.spaces._darts_genotype import CONCAT, NUM_NODES, nested_spec, parse_genotype
from gnnpred.spaces.base import SearchSpace, one_hot, register_space, trainable_parameters

#: Operations a cell may use (DARTS's primitives without ``none``).
OPS: tuple[str, ...] = EVAL_PRIMITIVES
#: Possible ``(input, node)`` edges of a cell: node ``i`` (``2..5``) reads inputs ``0..i-1``.
EDGES: tuple[tuple[int, int], ...] = tuple((j, i) for i in CONCAT for j in range(i))
_OP_INDEX = {op: k for k, op in enumerate(OPS)}
_EDGE_INDEX = {e: k for k, e in enumerate(EDGES)}
_CELLS = ("normal", "reduce")

Node = tuple[tuple[str, int], ...]
Nodes = tuple[Node, ...]


def _freeze(nodes: Any) -> Any:
    """Lists to tuples, two levels deep (leave anything else for validation to reject)."""
    if isinstance(nodes, list | tuple):
        return tuple(
            tuple(tuple(p) if isinstance(p, list) else p for p in n) if isinstance(n, list | tuple)
            else n
            for n in nodes
        )
    return nodes


@dataclass(frozen=True)
class DARTSCell:
    """A DARTS genotype: the normal and the reduction cell.

    Build cells with ``DARTSSpace().make(normal=..., reduce=...)`` or ``.from_string(...)``,
    which validate; the constructor only turns lists into tuples.

    Attributes:
        normal: For each intermediate node ``2..5``, its ``(op, input)`` pairs.
        reduce: The same for the reduction cell (edges from inputs 0 and 1 have stride 2).
    """

    normal: Nodes
    reduce: Nodes

    def __post_init__(self) -> None:
        object.__setattr__(self, "normal", _freeze(self.normal))
        object.__setattr__(self, "reduce", _freeze(self.reduce))


def _sorted_node(node: Sequence[tuple[str, int]]) -> Node:
    return tuple(sorted(node, key=lambda p: (p[1], _OP_INDEX[p[0]])))


def _canonical_nodes(nodes: Nodes) -> Nodes:
    """The smallest relabelling of the intermediate nodes that keeps every input earlier.

    Nodes that do not read each other can swap places: only the order of the output
    concatenation changes, which the next 1x1 convolution (or the classifier) absorbs.
    """
    best_key, best = None, nodes
    for perm in itertools.permutations(range(len(nodes))):  # perm[new] = old
        pos = {old + 2: new + 2 for new, old in enumerate(perm)} | {0: 0, 1: 1}
        if any(pos[j] >= new + 2 for new, old in enumerate(perm) for _, j in nodes[old]):
            continue
        cand = tuple(_sorted_node([(op, pos[j]) for op, j in nodes[old]]) for old in perm)
        key = tuple(tuple((j, _OP_INDEX[op]) for op, j in n) for n in cand)
        if best_key is None or key < best_key:
            best_key, best = key, cand
    return best


@functools.cache
def _param_table() -> tuple[np.ndarray, int]:
    """:func:`_count_param_table`, computed once, leaving torch's global random state as it was
    (building the modules draws their initial weights)."""
    with torch.random.fork_rng(devices=[]):
        return _count_param_table()


def _count_param_table() -> tuple[np.ndarray, int]:
    """The parameter counts that :meth:`DARTSSpace.param_counts` adds up.

    An edge's parameters depend only on its op, its cell's width and its stride, and the rest of
    the network (stem, preprocessing, classifier) does not depend on the genotype (every cell
    concatenates four nodes), so a genotype's count is a constant plus a sum over its edges; both
    parts are read off the modules that :meth:`DARTSSpace.to_network` builds.

    Returns:
        ``(per_op, outside)``: ``per_op[kind, k]`` is the parameters of one edge with op
        ``OPS[k]`` summed over every cell of the default network, for ``kind`` 0 (normal cell),
        1 (reduction cell, edge from an intermediate node) and 2 (reduction cell, stride-2 edge
        from input 0 or 1), ``[3, 7]`` int64; ``outside`` is every other parameter.
    """
    from gnnpred.networks.darts import DARTSNetwork
    from gnnpred.networks.darts_ops import make_op

    probe = ((("skip_connect", 0), ("skip_connect", 1)),) * NUM_NODES
    net = DARTSNetwork(DARTSCell(probe, probe))
    outside = trainable_parameters(net) - sum(
        trainable_parameters(op) for cell in net.cells for ops in cell.ops for op in ops
    )
    per_op = np.zeros((3, len(OPS)), dtype=np.int64)
    for cell in net.cells:
        kinds = ((1, 1), (2, 2)) if cell.reduction else ((0, 1),)
        for kind, stride in kinds:
            per_op[kind] += [trainable_parameters(make_op(op, cell.channels, stride)) for op in OPS]
    return per_op, outside


def _compact(nodes: Nodes) -> str:
    return "+".join("|" + "".join(f"{op}~{j}|" for op, j in n) for n in nodes)


@register_space("darts")
class DARTSSpace(SearchSpace):
    """The DARTS CNN cell space (standard, or EnTranNAS-DST topology search).

    Graph form (:meth:`to_graph`), operations on nodes: node 0 ``c_{k-2}``, node 1 ``c_{k-1}``,
    then one node per edge of the normal cell (node type ``normal/<op>``, nodes in order, each
    node's edges sorted by input), the normal cell's ``output`` (the concatenation), then the
    reduction cell's edges (``reduce/<op>``) and its ``output``. The graph is a normal cell
    followed by a reduction cell as in the network: the reduction cell's ``c_{k-2}`` is node 1 and
    its ``c_{k-1}`` the normal output. An edge node reading input 0 or 1 is fed by that input; one
    reading intermediate node ``j`` is fed by every edge node of ``j`` (their sum); every edge
    node feeds its cell's output. Standard cells have 20 graph nodes, topology cells up to 32.

    Args:
        topology: Let an intermediate node take any number (>= 1) of input edges instead of
            exactly two (EnTranNAS-DST topology search).

    Example:
        >>> space = DARTSSpace()
        >>> cell = space.sample(np.random.default_rng(0))
        >>> space.from_string(space.to_string(cell)) == cell
        True
    """

    arch_type = DARTSCell
    op_vocab = (
        "c_{k-2}", "c_{k-1}", *(f"normal/{o}" for o in OPS), *(f"reduce/{o}" for o in OPS),
        "output",
    )
    ops = OPS

    def __init__(self, topology: bool = False) -> None:
        if not isinstance(topology, bool):
            raise TypeError(f"topology must be a bool. Got {topology!r} instead.")
        self.topology = topology

    def __repr__(self) -> str:
        return f"DARTSSpace(topology={self.topology})"

    @property
    def max_nodes(self) -> int:  # type: ignore[override]
        """20 graph nodes for standard cells; 32 in the topology space (see the class doc)."""
        return 32 if self.topology else 20

    # ----------------------------------------------------------------------------- sampling
    def sample(self, rng: np.random.Generator) -> DARTSCell:
        """Draw a genotype uniformly: per node, its input set (two distinct inputs, or a
        non-empty subset in the topology space) and an op for each input."""
        return DARTSCell(self._sample_nodes(rng), self._sample_nodes(rng))

    def _sample_nodes(self, rng: np.random.Generator) -> Nodes:
        nodes = []
        for i in CONCAT:
            if self.topology:
                mask = np.zeros(i, dtype=bool)
                while not mask.any():  # rejection: uniform over non-empty subsets
                    mask = rng.random(i) < 0.5
                inputs = np.flatnonzero(mask)
            else:
                inputs = np.sort(rng.choice(i, size=2, replace=False))
            ops = rng.integers(len(OPS), size=len(inputs))
            nodes.append(tuple((OPS[int(k)], int(j)) for k, j in zip(ops, inputs, strict=True)))
        return tuple(nodes)

    def mutate(self, arch: DARTSCell, rng: np.random.Generator) -> DARTSCell:
        """A uniformly drawn one of :meth:`neighbours` (always a different genotype)."""
        edits = self._edits(arch)
        return self._apply(arch, *edits[int(rng.integers(len(edits)))])

    def neighbours(self, arch: DARTSCell) -> list[DARTSCell]:
        """Genotypes one edit away, in a deterministic order (cell, node, edit).

        Edits, for each cell and node: change one edge's op; move one edge to another input not
        yet used by the node (same op); in the topology space also add an edge (any unused
        input, any op) and remove an edge when the node keeps at least one. Different edits give
        different node input sets or ops, so the neighbours are distinct by :meth:`hash`.
        """
        return [self._apply(arch, *e) for e in self._edits(arch)]

    def _edits(self, arch: DARTSCell) -> list[tuple[str, int, Node]]:
        """``(cell, node index, new node)`` for every single edit of ``arch``."""
        self.validate(arch)
        out = []
        for which in _CELLS:
            for n, node in enumerate(getattr(arch, which)):
                used = {j for _, j in node}
                free = [j for j in range(n + 2) if j not in used]
                variants: list[Node] = []
                for s, (op, j) in enumerate(node):
                    variants += [node[:s] + ((o, j),) + node[s + 1 :] for o in OPS if o != op]
                    variants += [node[:s] + ((op, f),) + node[s + 1 :] for f in free]
                if self.topology:
                    variants += [node + ((o, f),) for f in free for o in OPS]
                    if len(node) > 1:
                        variants += [node[:s] + node[s + 1 :] for s in range(len(node))]
                out += [(which, n, v) for v in variants]
        return out

    @staticmethod
    def _apply(arch: DARTSCell, which: str, n: int, node: Node) -> DARTSCell:
        nodes = getattr(arch, which)
        nodes = nodes[:n] + (node,) + nodes[n + 1 :]
        return DARTSCell(nodes, arch.reduce) if which == "normal" else DARTSCell(arch.normal, nodes)

    # ----------------------------------------------------------------------------- validity
    def validate(self, arch: Any) -> None:
        """Check that ``arch`` is a well-formed genotype of this space.

        Raises:
            TypeError: If ``arch`` is not a :class:`DARTSCell`.
            ValueError: Naming the cell and node, if a cell does not have 4 nodes, a pair is not
                ``(op, input)``, an op is unknown or ``none``, an input is not an earlier node, a
                node reads one input twice, or a node's edge count is wrong for the space.
        """
        if not isinstance(arch, DARTSCell):
            raise TypeError(
                f"Expected a DARTSCell, got {type(arch).__name__} ({arch!r}); build one with "
                "DARTSSpace().make(normal=[...], reduce=[...]) or .from_string('Genotype(...)')."
            )
        for which in _CELLS:
            nodes = getattr(arch, which)
            if not isinstance(nodes, tuple) or len(nodes) != NUM_NODES:
                raise ValueError(
                    f"The {which} cell needs {NUM_NODES} intermediate nodes (one sequence of "
                    f"(op, input) pairs each). Got {nodes!r}."
                )
            for n, node in enumerate(nodes):
                self._check_node(node, which, n + 2)

    def _check_node(self, node: Any, which: str, i: int) -> None:
        where = f"node {i} of the {which} cell"
        if not isinstance(node, tuple):
            raise ValueError(f"{where} must be a sequence of (op, input) pairs. Got {node!r}.")
        if self.topology and not node:
            raise ValueError(f"{where} has no input edge; every node needs at least one.")
        if not self.topology and len(node) != 2:
            raise ValueError(
                f"{where} has {len(node)} input edges {node!r}; the standard DARTS space takes "
                "exactly 2 (use DARTSSpace(topology=True) for any number)."
            )
        for pair in node:
            if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)
                    and isinstance(pair[1], int) and not isinstance(pair[1], bool)):
                raise ValueError(f"{where}: {pair!r} is not an (op: str, input: int) pair.")
            op, j = pair
            if op == "none":
                raise ValueError(
                    f"{where} uses 'none', a search-only op; leave the edge out instead."
                )
            if op not in _OP_INDEX:
                raise ValueError(f"{where}: unknown op {op!r}. Valid ops: {list(OPS)}.")
            if not 0 <= j < i:
                raise ValueError(
                    f"{where}: input {j} is not an earlier node (valid inputs: 0..{i - 1})."
                )
        inputs = [j for _, j in node]
        if len(set(inputs)) != len(inputs):
            raise ValueError(
                f"{where} reads one input twice {node!r}; each input node has one edge."
            )

    # ----------------------------------------------------------------------------- identity
    def make(self, *, normal: Sequence[Any], reduce: Sequence[Any]) -> DARTSCell:
        """Build a validated genotype.

        Args:
            normal: The normal cell, either DARTS's flat list of ``(op, input)`` pairs (two
                consecutive pairs per node: ``[('sep_conv_3x3', 0), ('skip_connect', 1), ...]``,
                8 pairs) or a nested list with one list of pairs per intermediate node.
            reduce: The reduction cell, in the same forms.

        Returns:
            The genotype.

        Raises:
            TypeError: If an argument is missing or unknown (Python's own check).
            ValueError: If a cell is malformed (saying where).
        """
        cell = DARTSCell(nested_spec(normal, "normal"), nested_spec(reduce, "reduce"))
        self.validate(cell)
        return cell

    def hash(self, arch: DARTSCell) -> str:
        """``normal=|op~j|op~j|+...;reduce=...`` with each node's edges sorted by input (the
        order of a node's inputs does not matter); the same string in both variants."""
        self.validate(arch)
        n, r = (tuple(_sorted_node(node) for node in getattr(arch, w)) for w in _CELLS)
        return f"normal={_compact(n)};reduce={_compact(r)}"

    def canonical(self, arch: DARTSCell) -> DARTSCell:
        """One representative of the genotypes computing the same network family as ``arch``.

        Each node's edges are sorted by input, and the intermediate nodes of each cell are
        relabelled (among orders in which every node still reads only earlier nodes) to the
        smallest form: nodes that do not read each other can swap, changing only the channel
        order of the concatenation, which the following 1x1 convolutions absorb. Equalities that
        hold only numerically are not merged.
        """
        self.validate(arch)
        out = DARTSCell(_canonical_nodes(arch.normal), _canonical_nodes(arch.reduce))
        return arch if out == arch else out

    def to_string(self, arch: DARTSCell) -> str:
        """DARTS's ``Genotype(...)`` notation (nested per-node lists in the topology space)."""
        self.validate(arch)
        parts = []
        for which in _CELLS:
            nodes = getattr(arch, which)
            value = ([list(n) for n in nodes] if self.topology
                     else [p for n in nodes for p in n])
            parts.append(f"{which}={value!r}, {which}_concat=range(2, {2 + NUM_NODES})")
        return f"Genotype({', '.join(parts)})"

    def from_string(self, text: str) -> DARTSCell:
        """Parse DARTS's ``Genotype(normal=..., normal_concat=..., reduce=..., reduce_concat=...)``
        (keywords or the four fields in this order; concat as ``range(2, 6)`` or ``[2, 3, 4,
        5]``), with flat or nested cell lists, using :mod:`ast` (no ``eval``).

        Raises:
            TypeError: If ``text`` is not a str.
            ValueError: Naming ``text`` if it is not a genotype of this space.
        """
        if not isinstance(text, str):
            raise TypeError(f"Expected a DARTS genotype string, got {type(text).__name__}.")
        fields = parse_genotype(text)
        try:
            return self.make(normal=fields["normal"], reduce=fields["reduce"])
        except ValueError as exc:
            raise ValueError(f"Bad DARTS genotype string {text!r}: {exc}") from None

    # ----------------------------------------------------------------------------- tensors
    def to_graph(self, arch: DARTSCell) -> Data:
        """The operations-on-nodes graph described in the class docstring."""
        self.validate(arch)
        types, src, dst = [0, 1], [], []
        feeds = (0, 1)  # graph nodes of the cell's inputs c_{k-2}, c_{k-1}
        for c, which in enumerate(_CELLS):
            node_ids: list[list[int]] = []
            for node in getattr(arch, which):
                ids = []
                for op, j in _sorted_node(node):
                    me = len(types)
                    types.append(2 + c * len(OPS) + _OP_INDEX[op])
                    sources = [feeds[j]] if j < 2 else node_ids[j - 2]
                    src += sources
                    dst += [me] * len(sources)
                    ids.append(me)
                node_ids.append(ids)
            out = len(types)
            types.append(len(self.op_vocab) - 1)
            members = [k for ids in node_ids for k in ids]
            src += members
            dst += [out] * len(members)
            feeds = (1, out)  # the reduction cell follows the normal cell
        return Data(
            x=one_hot(np.asarray(types), len(self.op_vocab)),
            edge_index=torch.as_tensor(np.array([src, dst], dtype=np.int64)),
            num_nodes=len(types),
        )

    def encode(self, archs: Sequence[DARTSCell]) -> np.ndarray:
        """One-hot op of each possible edge (all zeros when absent), ``[len(archs), 196]``
        float32: normal cell then reduction cell, edges in :data:`EDGES` order, ops in
        :data:`OPS` order."""
        archs = self.check_archs(archs)
        width = len(EDGES) * len(OPS)
        out = np.zeros((len(archs), 2 * width), dtype=np.float32)
        for r, a in enumerate(archs):
            for c, which in enumerate(_CELLS):
                for n, node in enumerate(getattr(a, which)):
                    for op, j in node:
                        col = c * width + _EDGE_INDEX[(j, n + 2)] * len(OPS) + _OP_INDEX[op]
                        out[r, col] = 1.0
        return out

    def param_counts(self, archs: Sequence[DARTSCell]) -> np.ndarray:
        """Trainable parameters of ``to_network(canonical(arch))``, ``[len(archs)]`` int64.

        Closed form, with no network built: the default network's genotype-independent
        parameters plus each edge's op parameters at its cells' widths and strides. Equal to
        counting the built network.
        """
        per_op, outside = _param_table()
        archs = self.check_archs(archs)  # a list: any iterable is taken
        out = np.full(len(archs), outside, dtype=np.int64)
        for r, a in enumerate(archs):
            for op, _ in itertools.chain.from_iterable(a.normal):
                out[r] += per_op[0, _OP_INDEX[op]]
            for op, j in itertools.chain.from_iterable(a.reduce):
                out[r] += per_op[2 if j < 2 else 1, _OP_INDEX[op]]
        return out

    def to_network(self, arch: DARTSCell, **kwargs: Any) -> torch.nn.Module:
        """The DARTS evaluation network (:class:`gnnpred.networks.darts.DARTSNetwork`; keywords
        ``num_classes``, ``in_channels``, ``channels``, ``layers``, ``auxiliary``,
        ``drop_path``, ``stem_multiplier``)."""
        self.validate(arch)
        from gnnpred.networks.darts import DARTSNetwork

        return DARTSNetwork(arch, **kwargs)
