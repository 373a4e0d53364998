"""NAS-Bench-Graph: GNN cells of four operation nodes, each reading one earlier node.

Paper: Qin et al., "NAS-Bench-Graph: Benchmarking Graph Neural Architecture Search",
NeurIPS 2022 Datasets and Benchmarks (https://arxiv.org/abs/2206.09166).

A cell is ``link`` (node ``i`` reads node ``link[i]``: 0 is the graph input, ``j`` the output of
op node ``j``; ``0 <= link[i] <= i``) and four op names. Every leaf node (one no other node
reads) feeds the cell output. ``skip`` is the identity. The benchmark stores one entry per
class of cells that compute the same function; :meth:`NASBenchGraphSpace.hash` gives that
entry's integer key as a str (every space's hash is a str), so
``bench[int(space.hash(cell))]`` works on the package's ``light/*.bench``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from gnnpred.spaces._nbgraph_batch import NBGraphBatchOps
from gnnpred.spaces._nbgraph_keys import (
    FULL_OPS,
    LINK_SET,
    LINKS,
    N_NODES,
    OP_INDEX,
    OP_SETS,
    PROTEINS_OPS,
    build_table,
    signature,
)
from gnnpred.spaces.base import check_count, fixed_structure_batch, register_space

__all__ = [
    "FULL_OPS",
    "PROTEINS_OPS",
    "LINKS",
    "OP_SETS",
    "NASBenchGraphCell",
    "NASBenchGraphSpace",
    "signature",
]

_STRING = re.compile(r"^\s*([0-9,\s]+)\|([a-z,\s]+)\s*$")


@dataclass(frozen=True)
class NASBenchGraphCell:
    """A NAS-Bench-Graph cell.

    Attributes:
        link: Four ints; op node ``i`` (0-based) reads node ``link[i]`` (0 = graph input,
            ``j`` = op node ``j``, 1-based), with ``0 <= link[i] <= i``.
        ops: Four op names (see :data:`FULL_OPS`).
    """

    link: tuple[int, ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.link, list):
            object.__setattr__(self, "link", tuple(self.link))
        if isinstance(self.ops, list):
            object.__setattr__(self, "ops", tuple(self.ops))


@functools.cache
def _table() -> tuple[dict[tuple, int], dict[int, NASBenchGraphCell]]:
    """``signature -> key`` and ``key -> representative cell`` for every class (built once)."""
    by_sig, specs = build_table()
    return by_sig, {key: NASBenchGraphCell(*spec) for key, spec in specs.items()}


#: Most keys a space remembers (every valid cell of the full op set fits: 24 links x 9**4 ops).
_KEY_MEMO_MAX = 24 * 9**4


@register_space("nasbench-graph")
class NASBenchGraphSpace(NBGraphBatchOps):
    """The NAS-Bench-Graph space: 26,206 distinct cells (2,021 with the proteins op set).

    Canonical cells (:meth:`canonical`) are the benchmark's own representatives: link one of
    :data:`LINKS`, redundant skips parked in front, equivalent parts ordered. :meth:`sample`,
    :meth:`enumerate`, :meth:`mutate` and :meth:`neighbours` return canonical cells; other
    methods take any valid cell as given.

    Graph form (:meth:`to_graph`): 6 nodes, ``input`` (0), the four op nodes (1-4, typed by
    their op) and ``output`` (5); edges ``link[i] -> i + 1`` and ``leaf -> output`` for every
    op node no other node reads.

    Args:
        op_set: ``"full"`` (9 ops, the 8 node-classification datasets) or ``"proteins"``
            (gcn, sage, arma, fc, skip: ogbn-proteins).

    Raises:
        ValueError: If ``op_set`` is unknown.
    """

    arch_type = NASBenchGraphCell
    op_vocab = ("input", *FULL_OPS, "output")
    max_nodes = 6  # input, four operations, output

    def __init__(self, op_set: str = "full") -> None:
        if op_set not in OP_SETS:
            raise ValueError(f"op_set must be one of {sorted(OP_SETS)}. Got {op_set!r} instead.")
        self.op_set = op_set
        self.ops = OP_SETS[op_set]
        self._op_ok = frozenset(self.ops)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(op_set={self.op_set!r})"

    @functools.cached_property
    def _key_memo(self) -> dict[NASBenchGraphCell, int]:
        """Keys of the valid cells :meth:`_key` has computed (not pickled)."""
        return {}

    @functools.cached_property
    def _cells(self) -> list[NASBenchGraphCell]:
        return [c for c in _table()[1].values() if set(c.ops) <= self._op_ok]

    # ----------------------------------------------------------------------------- sampling
    def sample(self, rng: np.random.Generator) -> NASBenchGraphCell:
        """A canonical cell drawn uniformly from the benchmark's distinct entries."""
        return self._cells[int(rng.integers(len(self._cells)))]

    def sample_many(self, n: int, rng: np.random.Generator) -> list[NASBenchGraphCell]:
        """``n`` uniform canonical cells, with replacement."""
        n = check_count(n)
        return [self._cells[int(i)] for i in rng.integers(len(self._cells), size=int(n))]

    def mutate(self, arch: NASBenchGraphCell, rng: np.random.Generator) -> NASBenchGraphCell:
        """One random edit of ``canonical(arch)``, canonicalised; always in :meth:`neighbours`.

        An edit sets one node's op or one node's input, drawn uniformly among the
        ``4 * n_ops + 10`` choices; choices giving an invalid cell or one equivalent to ``arch``
        are redrawn (so, unlike a uniform pick among neighbours, it costs one key lookup).
        """
        base = self.canonical(arch)
        own = self._key(base)
        edits = [(i, op) for i in range(N_NODES) for op in self.ops] + [
            (i, src) for i in range(N_NODES) for src in range(i + 1)
        ]
        for _ in range(200):
            i, value = edits[int(rng.integers(len(edits)))]
            link, ops = list(base.link), list(base.ops)
            if isinstance(value, str):
                ops[i] = value
            else:
                link[i] = value
            if ops.count("skip") == N_NODES:
                continue
            key = _table()[0][signature(link, ops)]
            if key != own:
                return _table()[1][key]
        nbrs = self.neighbours(base)  # every cell has neighbours; reached only with bad luck
        return nbrs[int(rng.integers(len(nbrs)))]

    def neighbours(self, arch: NASBenchGraphCell) -> list[NASBenchGraphCell]:
        """Canonical cells one edit of ``canonical(arch)`` away, sorted by key.

        An edit changes one op, or the input ``link[i]`` of one node; edits that give an
        invalid or equivalent cell are dropped, equivalent results are listed once.
        """
        base = self.canonical(arch)
        own = self._key(base)
        found: dict[int, NASBenchGraphCell] = {}
        for i in range(N_NODES):
            for op in self.ops:
                if op != base.ops[i]:
                    self._add_edit(found, own, base.link, base.ops[:i] + (op,) + base.ops[i + 1 :])
            for src in range(i + 1):
                if src != base.link[i]:
                    self._add_edit(
                        found, own, base.link[:i] + (src,) + base.link[i + 1 :], base.ops
                    )
        return [found[k] for k in sorted(found)]

    def _add_edit(
        self, found: dict[int, NASBenchGraphCell], own: int, link: tuple, ops: tuple
    ) -> None:
        if ops.count("skip") == N_NODES:
            return
        key = _table()[0][signature(link, ops)]
        if key != own:
            found[key] = _table()[1][key]

    # ----------------------------------------------------------------------------- validity
    def validate(self, arch: Any) -> None:
        """Check types, ``0 <= link[i] <= i``, ops in this op set, and not all ``skip``.

        Raises:
            TypeError: If ``arch`` is not a :class:`NASBenchGraphCell` or its fields have
                wrong types.
            ValueError: If a link or an op is invalid.
        """
        if (  # fast path for the common, valid case
            type(arch) is NASBenchGraphCell
            and type(arch.link) is tuple
            and type(arch.ops) is tuple
            and arch.link in LINK_SET
            and set(map(type, arch.link)) == {int}
            and len(arch.ops) == N_NODES
            and self._op_ok.issuperset(arch.ops)
            and arch.ops.count("skip") < N_NODES
        ):
            return
        if not isinstance(arch, NASBenchGraphCell):
            raise TypeError(
                f"Expected a NASBenchGraphCell, got {type(arch).__name__} ({arch!r}); build one "
                "with "
                "NASBenchGraphSpace().make(link=[...], ops=[...]) or "
                ".from_string('0,0,1,2|gcn,gat,skip,sage')."
            )
        link, ops = arch.link, arch.ops
        if not isinstance(link, tuple) or not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in link
        ):
            raise TypeError(
                f"NASBenchGraphCell.link must be a tuple of ints. Got {link!r} instead."
            )
        if not isinstance(ops, tuple) or not all(isinstance(o, str) for o in ops):
            raise TypeError(
                f"NASBenchGraphCell.ops must be a tuple of op names (str). Got {ops!r} instead."
            )
        if len(link) != N_NODES or len(ops) != N_NODES:
            raise ValueError(
                f"A NAS-Bench-Graph cell has {N_NODES} links and {N_NODES} ops. Got "
                f"link={link!r}, ops={ops!r}."
            )
        bad = [f"link[{i}]={v}" for i, v in enumerate(link) if not 0 <= v <= i]
        if bad:
            raise ValueError(
                f"Invalid link {link!r}: {', '.join(bad)}; node i may read only 0..i (0 = graph "
                "input)."
            )
        unknown = [o for o in ops if o not in self._op_ok]
        if unknown:
            raise ValueError(
                f"Unknown op(s) {unknown!r} in {ops!r} for op_set={self.op_set!r}. Valid ops: "
                f"{list(self.ops)}."
            )
        if ops.count("skip") == N_NODES:
            raise ValueError(
                f"A cell of four 'skip' ops computes nothing; got ops={ops!r}. Use at least one "
                "other op."
            )

    def enumerate(self) -> Iterator[NASBenchGraphCell]:
        """Every canonical cell once, in increasing key order."""
        yield from self._cells

    def __len__(self) -> int:
        return len(self._cells)

    # ----------------------------------------------------------------------------- identity
    def make(self, *, link: Sequence[int], ops: Sequence[str]) -> NASBenchGraphCell:
        """Build a validated cell (as given, not canonicalised).

        Args:
            link: Four ints, the input of each op node (0 = graph input).
            ops: Four op names of this space's op set.

        Returns:
            The cell.

        Raises:
            TypeError: If an argument is missing or another keyword is given (Python's check).
            ValueError: If ``link`` or ``ops`` is not a sequence of four valid items (saying
                which) or the cell is invalid.
        """
        for name, value in (("link", link), ("ops", ops)):
            if isinstance(value, (str, bytes)) or not isinstance(value, Sequence | np.ndarray):
                raise ValueError(
                    f"{name} must be a sequence of {N_NODES} items. Got {value!r} instead."
                )
        cell = NASBenchGraphCell(
            tuple(int(v) if isinstance(v, np.integer) else v for v in link),
            tuple(str(o) if isinstance(o, np.str_) else o for o in ops),
        )
        try:
            self.validate(cell)
        except TypeError as exc:  # a non-int link or a non-str op: a bad value
            raise ValueError(str(exc)) from None
        return cell

    def hash(self, arch: NASBenchGraphCell) -> str:
        """The benchmark key as a str (``bench[int(key)]`` in ``light/<dataset>.bench``).

        Equivalent cells share the key, as they share one entry of the benchmark.
        """
        return str(self._key(arch))

    def _key(self, arch: NASBenchGraphCell) -> int:
        """The benchmark's own integer key of ``arch``.

        Keys of valid cells are remembered (a search asks for the same cells' keys many times
        a round, and computing a :func:`signature` costs about 20 times a look-up); a cell is
        looked up only when its fields have the exact types of a valid cell, so a remembered
        key never lets an invalid cell (a bool in ``link``, say) pass :meth:`validate`.
        """
        memo = self._key_memo
        if (type(arch) is NASBenchGraphCell and type(arch.link) is tuple
                and type(arch.ops) is tuple and set(map(type, arch.link)) == {int}):
            key = memo.get(arch)
            if key is not None:
                return key
        self.validate(arch)
        key = _table()[0][signature(arch.link, arch.ops)]
        if len(memo) < _KEY_MEMO_MAX:
            memo[arch] = key
        return key

    def __getstate__(self) -> dict:
        state = dict(super().__getstate__() or self.__dict__)
        for cache in ("_key_memo", "_cells"):  # rebuilt on use; workers get a small pickle
            state.pop(cache, None)
        return state

    def canonical(self, arch: NASBenchGraphCell) -> NASBenchGraphCell:
        """The benchmark's representative of the cells equivalent to ``arch``.

        Equivalence is that of :func:`signature`: the cells compute the same function.
        """
        return _table()[1][self._key(arch)]

    def from_key(self, key: str | int) -> NASBenchGraphCell:
        """The canonical cell stored under a benchmark key.

        Args:
            key: The key as :meth:`hash` gives it (a str of digits) or as the benchmark's
                ``.bench`` files store it (an int).

        Raises:
            ValueError: If ``key`` is not the key of a cell of this op set.
        """
        number = key
        if isinstance(key, str) and key.isdigit():
            number = int(key)
        cell = None
        if isinstance(number, (int, np.integer)) and not isinstance(number, bool):
            cell = _table()[1].get(int(number))
        if cell is None or not set(cell.ops) <= self._op_ok:
            raise ValueError(f"{key!r} is not a NAS-Bench-Graph key of the {self.op_set!r} op set.")
        return cell

    def to_string(self, arch: NASBenchGraphCell) -> str:
        """``"0,0,1,2|gcn,gat,skip,sage"`` (links, then ops)."""
        self.validate(arch)
        return ",".join(map(str, arch.link)) + "|" + ",".join(arch.ops)

    def from_string(self, text: str) -> NASBenchGraphCell:
        """Parse :meth:`to_string` output.

        Raises:
            TypeError: If ``text`` is not a str.
            ValueError: Naming ``text`` if it is malformed or describes an invalid cell.
        """
        if not isinstance(text, str):
            raise TypeError(
                f"Expected a NAS-Bench-Graph string, got {type(text).__name__} ({text!r})."
            )
        match = _STRING.match(text)
        if match is None:
            raise ValueError(
                f"Bad NAS-Bench-Graph string {text!r}: expected the form "
                "'0,0,1,2|gcn,gat,skip,sage'."
            )
        try:
            link = tuple(int(v) for v in match.group(1).split(","))
            cell = NASBenchGraphCell(link, tuple(o.strip() for o in match.group(2).split(",")))
            self.validate(cell)
        except ValueError as exc:
            raise ValueError(f"Bad NAS-Bench-Graph string {text!r}: {exc}") from exc
        return cell

    # ----------------------------------------------------------------------------- tensors
    def _arrays(self, archs: Sequence[NASBenchGraphCell]) -> tuple[np.ndarray, np.ndarray]:
        archs = self.check_archs(archs)
        links = np.array([a.link for a in archs], dtype=np.int64).reshape(len(archs), N_NODES)
        ops = np.array([OP_INDEX[o] for a in archs for o in a.ops], dtype=np.int64).reshape(
            len(archs), N_NODES
        )
        return links, ops

    def to_graph(self, arch: NASBenchGraphCell) -> Data:
        """The 6-node graph described in the class docstring."""
        batch = self.to_batch([arch])
        return Data(x=batch.x, edge_index=batch.edge_index, num_nodes=N_NODES + 2)

    def to_batch(self, archs: Sequence[NASBenchGraphCell]) -> Batch:
        """All graphs as one batch, built with array ops."""
        links, ops = self._arrays(archs)
        n = len(links)
        if n == 0:
            raise ValueError("to_batch needs at least one architecture; got an empty sequence.")
        types = np.concatenate(
            [np.zeros((n, 1), np.int64), ops + 1, np.full((n, 1), len(self.op_vocab) - 1)], axis=1
        )
        read = np.zeros((n, N_NODES + 1), dtype=bool)
        np.put_along_axis(read, links, True, axis=1)
        leaf = ~read[:, 1:]  # [n, 4]
        nodes = np.broadcast_to(np.arange(1, N_NODES + 1), (n, N_NODES))
        src = np.concatenate([links, np.where(leaf, nodes, -1)], axis=1)  # [n, 8], -1 = padding
        dst = np.concatenate([nodes, np.where(leaf, N_NODES + 1, -1)], axis=1)
        return fixed_structure_batch(types, np.stack([src, dst], axis=1), len(self.op_vocab))

    def encode(self, archs: Sequence[NASBenchGraphCell]) -> np.ndarray:
        """``[n, 52]`` float32: one-hot of each node's input (4 x 4) then of its op (4 x 9)."""
        links, ops = self._arrays(archs)
        n = len(links)
        return np.concatenate(
            [
                np.eye(N_NODES, dtype=np.float32)[links].reshape(n, N_NODES * N_NODES),
                np.eye(len(FULL_OPS), dtype=np.float32)[ops].reshape(n, N_NODES * len(FULL_OPS)),
            ],
            axis=1,
        )

    def to_network(self, arch: NASBenchGraphCell, **kwargs: Any) -> torch.nn.Module:
        """A real GNN of ``arch`` (``gnnpred.networks.nasbench_graph.GraphNetwork``)."""
        self.validate(arch)
        from gnnpred.networks.nasbench_graph import GraphNetwork

        return GraphNetwork(arch, **kwargs)
