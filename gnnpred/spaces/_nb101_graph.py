"""NAS-Bench-101 cell graph algorithms: checks, pruning, the official hash, canonical form.

Everything here works on plain Python/NumPy values (a matrix as nested tuples, ops as names or
integer labels) so that the bulk enumeration in ``_nb101_enum`` can share it.
"""

from __future__ import annotations

import hashlib
import itertools
import numbers
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

try:  # CPython's builtin MD5 is about twice as fast as OpenSSL's for the short strings hashed here.
    from _md5 import md5 as _md5
except ImportError:  # pragma: no cover - other interpreters
    _md5 = hashlib.md5

INPUT, OUTPUT = "input", "output"
CONV3X3, CONV1X1, MAXPOOL3X3 = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"
#: Operations allowed on interior vertices.
HIDDEN_OPS: tuple[str, ...] = (CONV3X3, CONV1X1, MAXPOOL3X3)
#: Node-feature vocabulary of graphs and encodings (one-hot column order).
OP_VOCAB: tuple[str, ...] = (INPUT, CONV1X1, CONV3X3, MAXPOOL3X3, OUTPUT)
OP_INDEX = {op: i for i, op in enumerate(OP_VOCAB)}
#: Integer labels of the official hash (``graph_util.hash_module``).
HASH_LABEL = {INPUT: -1, OUTPUT: -2, CONV3X3: 0, CONV1X1: 1, MAXPOOL3X3: 2}
MAX_VERTICES = 7
MAX_EDGES = 9
#: The 21 upper-triangular slots ``(i, j)``, ``i < j < 7``, in row-major order.
PAIRS: tuple[tuple[int, int], ...] = tuple(itertools.combinations(range(MAX_VERTICES), 2))

Matrix = tuple[tuple[int, ...], ...]


def check_spec(matrix: object, ops: object) -> tuple[np.ndarray, list[str]]:
    """Check a user ``(matrix, ops)`` pair before pruning.

    Args:
        matrix: Square 0/1 adjacency (nested lists/tuples or a NumPy array), ``matrix[i][j] = 1``
            for an edge ``i -> j``.
        ops: One op name per vertex, ``input`` first and ``output`` last.

    Returns:
        The matrix as an ``int64`` array and the ops as a list of str.

    Raises:
        ValueError: Saying what is wrong (ops not a sequence of str, a non-numeric, ragged or
            non-square matrix, values other than 0/1, a backward edge, an unknown op, ...).
    """
    if isinstance(ops, (str, bytes)) or not isinstance(ops, Sequence | np.ndarray):
        raise ValueError(f"ops must be a sequence of op names. Got {ops!r} instead.")
    ops = [str(o) if isinstance(o, np.str_) else o for o in ops]
    if not all(isinstance(o, str) for o in ops):
        raise ValueError(f"ops must be op names (str). Got {ops!r} instead.")
    try:
        arr = np.asarray(matrix)
    except ValueError as exc:  # ragged nested lists
        raise ValueError(f"matrix must be a square 0/1 array; {matrix!r} is ragged.") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"matrix must hold 0/1 numbers. Got {matrix!r} instead.")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise ValueError(f"matrix must be square (V x V). Got shape {arr.shape} for {matrix!r}.")
    if not np.isin(arr, (0, 1)).all():
        raise ValueError(f"matrix entries must be 0 or 1. Got {matrix!r}.")
    arr = arr.astype(np.int64)
    n = arr.shape[0]
    if n != len(ops):
        raise ValueError(
            f"matrix is {n} x {n} but there are {len(ops)} ops ({ops!r}); give one op per vertex."
        )
    if n < 2:
        raise ValueError(
            f"A cell needs at least an input and an output vertex. Got {n} vertex(es)."
        )
    back = np.argwhere(np.tril(arr) != 0)
    if len(back):
        i, j = (int(v) for v in back[0])
        raise ValueError(
            f"matrix must be strictly upper-triangular (edges i -> j with i < j, so no cycles); "
            f"it has an edge {i} -> {j}. Order vertices topologically."
        )
    for i, op in enumerate(ops):
        if op not in HASH_LABEL:
            raise ValueError(
                f"Unknown op {op!r} at vertex {i}. Valid ops: {[INPUT, *HIDDEN_OPS, OUTPUT]}."
            )
    if ops[0] != INPUT or ops[-1] != OUTPUT:
        raise ValueError(f"The first op must be 'input' and the last 'output'. Got {ops!r}.")
    inner = [o for o in ops[1:-1] if o in (INPUT, OUTPUT)]
    if inner:
        raise ValueError(
            f"Only the first vertex may be 'input' and the last 'output'. Got {ops!r}."
        )
    return arr, ops


def prune(matrix: np.ndarray, ops: list[str]) -> tuple[np.ndarray, list[str]] | None:
    """Drop vertices that are not on an input -> output path, as the official ``ModelSpec`` does.

    Args:
        matrix: ``[V, V]`` strictly upper-triangular 0/1 array.
        ops: ``V`` op names.

    Returns:
        The pruned ``(matrix, ops)``, or ``None`` when the output is not reachable from the input.
    """
    n = matrix.shape[0]
    fwd = np.zeros(n, bool)
    fwd[0] = True
    for v in range(1, n):  # topological order: predecessors of v come before it
        fwd[v] = bool((matrix[:v, v].astype(bool) & fwd[:v]).any())
    bwd = np.zeros(n, bool)
    bwd[n - 1] = True
    for v in range(n - 2, -1, -1):
        bwd[v] = bool((matrix[v, v + 1 :].astype(bool) & bwd[v + 1 :]).any())
    keep = fwd & bwd
    if not keep[0]:  # input does not reach output
        return None
    idx = np.flatnonzero(keep)
    return matrix[np.ix_(idx, idx)], [ops[i] for i in idx]


def size_problem(matrix: np.ndarray) -> str | None:
    """Why a pruned matrix exceeds the benchmark's limits, or ``None`` when it fits."""
    n, e = matrix.shape[0], int(matrix.sum())
    if n > MAX_VERTICES:
        return f"it has {n} vertices after pruning; NAS-Bench-101 allows at most {MAX_VERTICES}"
    if e > MAX_EDGES:
        return f"it has {e} edges after pruning; NAS-Bench-101 allows at most {MAX_EDGES}"
    return None


def as_tuples(matrix: np.ndarray) -> Matrix:
    """A matrix as nested tuples of Python ints (the stored form)."""
    return tuple(tuple(int(v) for v in row) for row in matrix)


# ------------------------------------------------------------------------------- official hash
_SEED_CACHE: dict[tuple[int, int, int], str] = {}


#: ``(degrees, neighbours)``: per vertex ``(out_degree, in_degree)`` and ``(ins, outs, vertex)``.
Program = tuple[
    tuple[tuple[int, int], ...], tuple[tuple[tuple[int, ...], tuple[int, ...], int], ...]
]


def structure_program(matrix: Matrix) -> Program:
    """What the hash needs from a matrix: degrees and neighbour lists of every vertex."""
    r = range(len(matrix))
    ins = [tuple(u for u in r if matrix[u][v]) for v in r]
    outs = [tuple(w for w in r if matrix[v][w]) for v in r]
    return tuple((len(outs[v]), len(ins[v])) for v in r), tuple(zip(ins, outs, r, strict=True))


def hash_program(program: Program, labels: Sequence[int]) -> str:
    """The official module hash from a :func:`structure_program` and integer labels.

    The algorithm of ``nasbench/lib/graph_util.py::hash_module``: every vertex starts from the
    MD5 of ``str((out_degree, in_degree, label))``; then, ``V`` times, each vertex becomes the MD5
    of its sorted in-neighbour hashes, ``|``, its sorted out-neighbour hashes, ``|``, its own
    hash; the module hash is the MD5 of ``str(sorted(vertex_hashes))``.
    """
    degrees, neighbours = program
    cur = []
    for (o, i), lab in zip(degrees, labels, strict=True):
        key = (o, i, int(lab))
        seed = _SEED_CACHE.get(key)
        if seed is None:
            seed = _SEED_CACHE[key] = _md5(str(key).encode()).hexdigest()
        cur.append(seed)
    for _ in range(len(degrees)):
        nxt = []
        for ins, outs, v in neighbours:
            a = cur[ins[0]] if len(ins) == 1 else "".join(sorted([cur[u] for u in ins]))
            b = cur[outs[0]] if len(outs) == 1 else "".join(sorted([cur[w] for w in outs]))
            nxt.append(_md5(f"{a}|{b}|{cur[v]}".encode()).hexdigest())
        cur = nxt
    return _md5(str(sorted(cur)).encode()).hexdigest()


@lru_cache(maxsize=1 << 14)
def module_hash(matrix: Matrix, ops: tuple[str, ...]) -> str:
    """The official 32-hex NAS-Bench-101 module hash of a (pruned) cell."""
    return hash_program(structure_program(matrix), [HASH_LABEL[o] for o in ops])


# ------------------------------------------------------------------------------- canonical form
@lru_cache(maxsize=8)
def middle_perms(n: int) -> np.ndarray:
    """All ``[(n-2)!, n]`` vertex permutations that keep input (0) and output (n-1) in place."""
    perms = list(itertools.permutations(range(1, n - 1)))
    mids = np.array(perms, dtype=np.int64).reshape(len(perms), n - 2)
    first = np.zeros((len(mids), 1), np.int64)
    last = np.full((len(mids), 1), n - 1, np.int64)
    return np.concatenate([first, mids, last], axis=1)


@lru_cache(maxsize=8)
def _pair_weights(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows/cols of the ``i < j < n`` slots and their bit weights (row-major, first is highest)."""
    pairs = [(i, j) for i, j in PAIRS if j < n]
    rows = np.array([p[0] for p in pairs], np.int64)
    cols = np.array([p[1] for p in pairs], np.int64)
    weights = np.left_shift(1, np.arange(len(pairs))[::-1]).astype(np.int64)
    return np.stack([rows, cols]), weights


def structure_codes(mats: np.ndarray) -> np.ndarray:
    """Integer code of ``[..., n, n]`` 0/1 matrices (bits of the upper triangle, row-major)."""
    (rows, cols), weights = _pair_weights(mats.shape[-1])
    return (mats[..., rows, cols].astype(np.int64) * weights).sum(-1)


def upper_ok(mats: np.ndarray) -> np.ndarray:
    """``True`` for ``[..., n, n]`` matrices with nothing on or below the diagonal."""
    n = mats.shape[-1]
    low = np.tril(np.ones((n, n), bool))
    return ~(mats.astype(bool) & low).any(axis=(-2, -1))


def label_codes(labels: np.ndarray) -> np.ndarray:
    """Integer code of ``[..., n]`` interior labels ``0..2`` (vertex 1 is the most significant)."""
    inner = labels[..., 1:-1]
    weights = 3 ** np.arange(inner.shape[-1])[::-1]
    return (inner.astype(np.int64) * weights).sum(-1)


def canonical_form(matrix: Matrix, ops: tuple[str, ...]) -> tuple[Matrix, tuple[str, ...]]:
    """The canonical relabelling of a pruned cell.

    Among the orderings of the interior vertices that keep the matrix upper-triangular, the one
    with the smallest structure code (:func:`structure_codes`), then the smallest label code
    (:func:`label_codes`, labels ``HIDDEN_OPS`` indices) is chosen. Isomorphic cells get the
    same form; :func:`~gnnpred.spaces._nb101_enum.build_table` uses the same rule, so the
    enumeration yields exactly these forms.
    """
    n = len(ops)
    if n <= 3:
        return matrix, ops
    mat = np.asarray(matrix, np.int64)
    lab = np.array([0] + [HIDDEN_OPS.index(o) for o in ops[1:-1]] + [0], np.int64)
    perms = middle_perms(n)  # [P, n]
    pm = mat[perms[:, :, None], perms[:, None, :]]  # [P, n, n]: pm[p, a, b] = mat[perm[a], perm[b]]
    ok = upper_ok(pm)
    key = structure_codes(pm) * 3 ** (n - 2) + label_codes(lab[perms])
    key[~ok] = np.iinfo(np.int64).max
    best = perms[int(np.argmin(key))]
    return as_tuples(mat[np.ix_(best, best)]), tuple(ops[int(v)] for v in best)


def check_mutation_rate(rate: object) -> float:
    """``rate`` as a float in ``(0, 7)``: each of the 21 edge slots flips with probability
    ``rate / 7``, so at 7 or more every slot flips and every draw has the same edges.

    Raises:
        ValueError: If ``rate`` is not a real number in ``(0, 7)``.
    """
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0 < rate < MAX_VERTICES:
        raise ValueError(f"mutation_rate must be a number in (0, {MAX_VERTICES}): each edge slot "
                         f"flips with probability mutation_rate / {MAX_VERTICES}. Got {rate!r} "
                         "instead.")
    return float(rate)
