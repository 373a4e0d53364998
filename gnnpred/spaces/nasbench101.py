"""NAS-Bench-101: a cell DAG of at most 7 vertices and 9 edges with 3 interior operations.

Paper: Ying et al., "NAS-Bench-101: Towards Reproducible Neural Architecture Search", ICML 2019
(https://arxiv.org/abs/1902.09635).

Cells are always stored pruned (vertices not on an input -> output path removed, as the
official ``ModelSpec`` does); the benchmark key is the official module hash, shared by
isomorphic cells. The 423,624 unique cells are enumerated once and cached on disk (see
:mod:`gnnpred.spaces._nb101_enum`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data

from gnnpred.spaces import _nb101_enum
from gnnpred.spaces._nb101_batch import NB101BatchOps
from gnnpred.spaces._nb101_enum import NUM_CELLS, NB101Table, load_table
from gnnpred.spaces._nb101_graph import (
    HIDDEN_OPS,
    INPUT,
    MAX_VERTICES,
    OP_INDEX,
    OP_VOCAB,
    OUTPUT,
    PAIRS,
    Matrix,
    as_tuples,
    canonical_form,
    check_mutation_rate,
    check_spec,
    module_hash,
    prune,
    size_problem,
)
from gnnpred.spaces._nb101_tensors import cells_to_batch, edge_list, encode_cells, problem
from gnnpred.spaces.base import one_hot, register_space

__all__ = ["NASBench101Cell", "NASBench101Space", "HIDDEN_OPS", "OP_VOCAB"]

_ROWS = np.array([p[0] for p in PAIRS])
_COLS = np.array([p[1] for p in PAIRS])


@dataclass(frozen=True)
class NASBench101Cell:
    """A pruned NAS-Bench-101 cell.

    Build cells with ``NASBench101Space().make(matrix=..., ops=...)`` or ``.from_string(...)``,
    which validate and prune; the constructor itself only turns lists/arrays into tuples.

    Attributes:
        matrix: ``V x V`` strictly upper-triangular 0/1 adjacency, ``matrix[i][j] = 1`` for an
            edge ``i -> j``; vertex 0 is the input and ``V - 1`` the output.
        ops: ``V`` op names: ``input``, then ``conv3x3-bn-relu`` / ``conv1x1-bn-relu`` /
            ``maxpool3x3``, then ``output``.
    """

    matrix: Matrix
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.matrix, tuple) or not all(isinstance(r, tuple) for r in self.matrix):
            object.__setattr__(self, "matrix", as_tuples(np.asarray(self.matrix)))
        if not isinstance(self.ops, tuple):
            object.__setattr__(self, "ops", tuple(str(o) for o in self.ops))

    @cached_property
    def _problem(self) -> str | None:
        """What makes the cell invalid (``None`` if valid); computed once per cell."""
        return problem(self.matrix, self.ops)

    @cached_property
    def _hash(self) -> str:
        """The official module hash, computed once per cell."""
        return module_hash(self.matrix, self.ops)

    @classmethod
    def _trusted(cls, matrix: Matrix, ops: tuple[str, ...]) -> NASBench101Cell:
        """A cell known to be valid (built by the space itself): validation is skipped later."""
        cell = cls(matrix, ops)
        cell.__dict__["_problem"] = None
        return cell


def _table_cell(table: NB101Table, row: int) -> NASBench101Cell:
    """Row ``row`` of the enumeration as a cell, its hash already known."""
    cell = NASBench101Cell._trusted(*table.cell_args(row))
    cell.__dict__["_hash"] = table.hex(row)
    return cell


@register_space("nasbench101")
class NASBench101Space(NB101BatchOps):
    """The NAS-Bench-101 cell space (423,624 unique cells).

    Graph form (:meth:`to_graph`): the cell itself, one node per vertex (one-hot op over
    :data:`OP_VOCAB`), one directed edge per matrix entry.

    String form (:meth:`to_string`): the matrix rows as 0/1 digits joined by ``|``, a ``;``,
    then the op names joined by ``,``, e.g. ``"011|001|000;input,conv3x3-bn-relu,output"``.

    Args:
        cache_dir: Directory of the enumeration cache (default ``$GNNPRED_CACHE_DIR`` or
            ``platformdirs.user_cache_dir("gnnpred")``).

    Example:
        >>> space = NASBench101Space()
        >>> cell = space.make(matrix=[[0, 1, 1], [0, 0, 1], [0, 0, 0]],
        ...                   ops=["input", "conv3x3-bn-relu", "output"])
        >>> space.to_graph(cell).x.shape
        torch.Size([3, 5])
    """

    arch_type = NASBench101Cell
    op_vocab = OP_VOCAB
    max_nodes = MAX_VERTICES

    def __init__(self, cache_dir: str | os.PathLike | None = None) -> None:
        self.cache_dir = cache_dir

    @cached_property
    def _cache_path(self) -> Path:
        return _nb101_enum.cache_file(self.cache_dir)

    # ----------------------------------------------------------------------------- sampling
    def sample(self, rng: np.random.Generator) -> NASBench101Cell:
        """Draw a cell as the paper's random search does: each of the 21 upper-triangular
        entries of a 7 x 7 matrix is 1 with probability 1/2 and each interior op is uniform;
        draws are repeated until the pruned cell is valid."""
        while True:
            mat = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int64)
            mat[_ROWS, _COLS] = rng.integers(0, 2, size=len(PAIRS))
            ops = [
                INPUT,
                *(HIDDEN_OPS[i] for i in rng.integers(0, 3, size=MAX_VERTICES - 2)),
                OUTPUT,
            ]
            cell = self._try(mat, ops)
            if cell is not None:
                return cell

    def sample_many(self, n: int, rng: np.random.Generator) -> list[NASBench101Cell]:
        """``n`` cells drawn as :meth:`sample` draws one (with replacement), in tensor batches
        on the CPU (:meth:`sample_batch` keeps them as tensors).

        Raises:
            ValueError: If ``n`` is not a non-negative int.
        """
        return self.sample_batch(n, rng, device="cpu").cells()

    def sample_unique(self, n: int, rng: np.random.Generator) -> list[NASBench101Cell]:
        """Draw ``n`` distinct cells uniformly from the 423,624 unique ones (their canonical
        forms; uses the cached enumeration). Unlike :meth:`sample`, small cells are not
        over-represented.

        Raises:
            ValueError: If ``n`` is not an int in ``[0, 423624]``.
        """
        if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 0 <= n <= NUM_CELLS:
            raise ValueError(f"n must be an int between 0 and {NUM_CELLS}. Got {n!r} instead.")
        table = self.table()
        return [
            _table_cell(table, int(r)) for r in rng.choice(len(table), size=int(n), replace=False)
        ]

    def mutate(
        self, arch: NASBench101Cell, rng: np.random.Generator, mutation_rate: float = 1.0
    ) -> NASBench101Cell:
        """Mutate as the paper's regularized evolution: on the 7-vertex view of ``arch`` (extra
        vertices, unconnected, with random ops, inserted before the output), flip each of the 21
        edge slots with probability ``mutation_rate / 7`` and change each interior op to another
        one with probability ``mutation_rate / 5``; repeat until the result is valid and has a
        different hash.

        Raises:
            ValueError: If ``mutation_rate`` is not a number in ``(0, 7)``.
        """
        self.validate(arch)
        mutation_rate = check_mutation_rate(mutation_rate)
        fill = [HIDDEN_OPS[i] for i in rng.integers(0, 3, size=MAX_VERTICES)]
        base_mat, base_ops = self._padded(arch, fill)
        own = self.hash(arch)
        for _ in range(100_000):
            mat = base_mat.copy()
            flip = rng.random(len(PAIRS)) < mutation_rate / MAX_VERTICES
            mat[_ROWS[flip], _COLS[flip]] ^= 1
            ops = list(base_ops)
            for v in (
                np.flatnonzero(rng.random(MAX_VERTICES - 2) < mutation_rate / (MAX_VERTICES - 2))
                + 1
            ):
                others = [o for o in HIDDEN_OPS if o != ops[v]]
                ops[v] = others[int(rng.integers(len(others)))]
            cell = self._try(mat, ops)
            if cell is not None and cell._hash != own:
                return cell
        raise RuntimeError(
            f"No valid different mutation of {arch!r} found; mutation_rate={mutation_rate} is too "
            "small."
        )

    def neighbours(self, arch: NASBench101Cell) -> list[NASBench101Cell]:
        """Valid cells one edge flip (21 slots of the 7-vertex view) or one interior op change
        away, pruned, one per hash, without ``arch``'s own hash; edge flips first, then ops."""
        self.validate(arch)
        base_mat, base_ops = self._padded(arch, [HIDDEN_OPS[0]] * MAX_VERTICES)
        seen = {self.hash(arch)}
        out = []
        candidates = []
        for i, j in PAIRS:
            mat = base_mat.copy()
            mat[i, j] ^= 1
            candidates.append((mat, base_ops))
        for v in range(1, MAX_VERTICES - 1):
            for op in HIDDEN_OPS:
                if op != base_ops[v]:
                    candidates.append((base_mat, base_ops[:v] + [op] + base_ops[v + 1 :]))
        for mat, ops in candidates:
            cell = self._try(mat, ops)
            if cell is not None:
                h = cell._hash
                if h not in seen:
                    seen.add(h)
                    out.append(cell)
        return out

    # ----------------------------------------------------------------------------- validity
    def validate(self, arch: Any) -> None:
        """Check that ``arch`` is a valid, pruned :class:`NASBench101Cell`.

        Raises:
            TypeError: If ``arch`` is not an ``NASBench101Cell``.
            ValueError: Saying what is wrong (shape, backward edge, op, size, not pruned).
        """
        if not isinstance(arch, NASBench101Cell):
            raise TypeError(
                f"Expected a NASBench101Cell, got {type(arch).__name__} ({arch!r}); build one "
                "with "
                "NASBench101Space().make(matrix=..., ops=...) or .from_string(...)."
            )
        try:
            msg = arch._problem
        except TypeError:  # unhashable contents
            msg = f"matrix and ops must be tuples of ints / op names, got {arch!r}"
        if msg is not None:
            raise ValueError(f"Invalid NASBench101Cell {arch!r}: {msg}.")

    def enumerate(self) -> Iterator[NASBench101Cell]:
        """Yield all 423,624 unique cells (their canonical forms, in hash order).

        The first call enumerates the space (about a minute on 2 cores) and caches it on disk;
        later calls load the cache in well under a second.
        """
        table = self.table()
        for row in range(len(table)):
            yield _table_cell(table, row)

    def __len__(self) -> int:
        return NUM_CELLS

    def table(self, rebuild: bool = False, verbose: bool = True) -> NB101Table:
        """The cached enumeration (built on first use).

        Args:
            rebuild: Enumerate again even if a cache file exists.
            verbose: Progress bar while building.

        Returns:
            The :class:`~gnnpred.spaces._nb101_enum.NB101Table` sorted by hash.
        """
        return load_table(self.cache_dir, rebuild=rebuild, verbose=verbose)

    def cell_for_hash(self, hash_: str) -> NASBench101Cell:
        """The canonical cell with an official module hash.

        Raises:
            KeyError: Naming the hash if no NAS-Bench-101 cell has it.
            ValueError: If ``hash_`` is not a 32-character hex string.
        """
        return self.cells_for_hashes([hash_])[0]

    def cells_for_hashes(
        self, hashes: Sequence[str], missing: str = "raise"
    ) -> list[NASBench101Cell | None]:
        """Bulk :meth:`cell_for_hash` (a binary search in the cached enumeration).

        Args:
            hashes: 32-hex module hashes.
            missing: ``"raise"`` (KeyError naming the first unknown hash) or ``"none"``
                (``None`` in its place).

        Returns:
            One cell (or ``None``) per hash, in order.

        Raises:
            KeyError: For an unknown hash when ``missing="raise"``.
            ValueError: For a malformed hash or a bad ``missing``.
        """
        if missing not in ("raise", "none"):
            raise ValueError(f"missing must be 'raise' or 'none'. Got {missing!r} instead.")
        hashes = [hashes] if isinstance(hashes, str) else list(hashes)
        table = self.table()
        rows = table.rows_of(hashes)
        if missing == "raise" and (rows < 0).any():
            bad = hashes[int(np.flatnonzero(rows < 0)[0])]
            raise KeyError(f"No NAS-Bench-101 cell has the hash {bad!r}.")
        return [_table_cell(table, int(r)) if r >= 0 else None for r in rows]

    # ----------------------------------------------------------------------------- identity
    def make(self, *, matrix: Any, ops: Sequence[str]) -> NASBench101Cell:
        """Build a validated, pruned cell from the benchmark's ``ModelSpec`` arguments.

        Args:
            matrix: ``V x V`` 0/1 adjacency (nested lists or a NumPy array), strictly
                upper-triangular; vertex 0 is the input and ``V - 1`` the output.
            ops: ``V`` op names, ``"input"`` first and ``"output"`` last.

        Returns:
            The cell with vertices not on an input -> output path removed (as the official
            ``ModelSpec`` prunes them).

        Raises:
            TypeError: If an argument is missing or another keyword is given (Python's check).
            ValueError: If the spec is invalid (saying why), including after pruning.
        """
        mat, names = check_spec(matrix, ops)
        pruned = prune(mat, names)
        if pruned is None:
            raise ValueError(
                f"No path from input to output in the cell matrix={mat.tolist()}, ops={names}."
            )
        why = size_problem(pruned[0])
        if why is not None:
            raise ValueError(f"Invalid cell matrix={mat.tolist()}, ops={names}: {why}.")
        return NASBench101Cell._trusted(as_tuples(pruned[0]), tuple(pruned[1]))

    def hash(self, arch: NASBench101Cell) -> str:
        """The official 32-hex module hash (``graph_util.hash_module``).

        Isomorphic cells share it, as they share one entry of the benchmark.
        """
        self.validate(arch)
        return arch._hash

    def canonical(self, arch: NASBench101Cell) -> NASBench101Cell:
        """The representative of ``arch``'s isomorphism class (the same for every cell with
        its hash), as yielded by :meth:`enumerate`: interior vertices reordered to the
        smallest upper-triangular adjacency code, ties broken by the smallest op code. Once the
        enumeration is loaded (:meth:`table`), it is read from there by hash."""
        self.validate(arch)
        table = _nb101_enum._LOADED.get(self._cache_path)
        if table is not None:  # the enumeration is in memory: the representative is a look-up
            row = table.row_of(arch._hash)
            if row >= 0:
                matrix, ops = table.cell_args(row)
                if (matrix, ops) == (arch.matrix, arch.ops):
                    return arch
                return _table_cell(table, row)
        matrix, ops = canonical_form(arch.matrix, arch.ops)
        return (
            arch
            if (matrix, ops) == (arch.matrix, arch.ops)
            else NASBench101Cell._trusted(matrix, ops)
        )

    def to_string(self, arch: NASBench101Cell) -> str:
        """``"<row>|<row>|...;<op>,<op>,..."`` (see the class docstring)."""
        self.validate(arch)
        rows = "|".join("".join(str(v) for v in row) for row in arch.matrix)
        return f"{rows};{','.join(arch.ops)}"

    def from_string(self, text: str) -> NASBench101Cell:
        """Parse :meth:`to_string` output (unpruned matrices are accepted and pruned).

        Raises:
            TypeError: If ``text`` is not a str.
            ValueError: Naming ``text`` if it is malformed or the cell is invalid.
        """
        if not isinstance(text, str):
            raise TypeError(f"Expected an NB101 string, got {type(text).__name__} ({text!r}).")
        hint = "expected '0110|0011|0001|0000;input,conv3x3-bn-relu,maxpool3x3,output'"
        rows, sep, ops = text.strip().partition(";")
        digits = rows.split("|")
        if not sep or not all(d and set(d) <= {"0", "1"} for d in digits):
            raise ValueError(f"Bad NB101 string {text!r}: {hint}.")
        if any(len(d) != len(digits) for d in digits):
            raise ValueError(f"Bad NB101 string {text!r}: the matrix must be square; {hint}.")
        try:
            return self.make(matrix=[[int(c) for c in d] for d in digits], ops=ops.split(","))
        except ValueError as exc:
            raise ValueError(f"Bad NB101 string {text!r}: {exc}") from exc

    # ----------------------------------------------------------------------------- tensors
    def to_graph(self, arch: NASBench101Cell) -> Data:
        """One node per vertex (``x`` one-hot over :data:`OP_VOCAB`), edges along the matrix."""
        self.validate(arch)
        return Data(
            x=one_hot(np.array([OP_INDEX[o] for o in arch.ops]), len(OP_VOCAB)),
            edge_index=torch.tensor(edge_list(arch.matrix), dtype=torch.long).reshape(2, -1),
            num_nodes=len(arch.ops),
        )

    def to_batch(self, archs: Sequence[NASBench101Cell]) -> Batch:
        """All graphs as one batch, built with array ops (same result as ``Batch.from_data_list``).

        Raises:
            ValueError: If ``archs`` is empty or holds an invalid cell.
        """
        archs = self.check_archs(archs)
        if not archs:
            raise ValueError("to_batch needs at least one architecture; got an empty sequence.")
        return cells_to_batch(archs)

    def encode(self, archs: Sequence[NASBench101Cell]) -> np.ndarray:
        """Flat features ``[len(archs), 56]`` float32 on a 7-slot view: vertex ``v < V - 1`` in
        slot ``v``, the output in slot 6, unused slots empty. Columns ``0..20``: adjacency of
        the slots ``(i, j)``, ``i < j``, row-major ``(0,1), (0,2), ..., (5,6)``; columns
        ``21 + 5 * s + k``: slot ``s`` has op ``OP_VOCAB[k]``."""
        return encode_cells(self.check_archs(archs))

    def to_network(self, arch: NASBench101Cell, **kwargs: Any) -> torch.nn.Module:
        """A real NAS-Bench-101 network (``gnnpred.networks.nasbench101.NB101Network``)."""
        self.validate(arch)
        from gnnpred.networks.nasbench101 import NB101Network

        return NB101Network(arch, **kwargs)

    # ----------------------------------------------------------------------------- helpers
    @staticmethod
    def _try(mat: np.ndarray, ops: list[str]) -> NASBench101Cell | None:
        """The pruned cell of a well-formed 7-vertex spec, or ``None`` if it is invalid."""
        pruned = prune(mat, ops)
        if pruned is None or size_problem(pruned[0]) is not None:
            return None
        return NASBench101Cell._trusted(as_tuples(pruned[0]), tuple(pruned[1]))

    @staticmethod
    def _padded(arch: NASBench101Cell, fill: list[str]) -> tuple[np.ndarray, list[str]]:
        """7-vertex view: vertices ``0..V-2`` in place, the output at 6, ``fill`` ops between."""
        n = len(arch.ops)
        slots = [*range(n - 1), MAX_VERTICES - 1]
        mat = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int64)
        mat[np.ix_(slots, slots)] = arch.matrix
        ops = [INPUT, *fill[1 : MAX_VERTICES - 1], OUTPUT]
        for v, s in enumerate(slots):
            ops[s] = arch.ops[v]
        return mat, ops
