"""Bulk enumeration of the 423,624 NAS-Bench-101 cells and its on-disk cache.

How it works (instead of hashing all ``2**21 * 3**5`` labelled matrices as the benchmark's own
generator does):

1. For each vertex count ``n = 2..7``, every upper-triangular ``n x n`` matrix with at most 9
   edges where all vertices lie on an input -> output path (every row but the last and every
   column but the first is non-empty: such matrices are already pruned) is built with NumPy.
2. Each matrix is compared with its images under the ``(n-2)!`` reorderings of the interior
   vertices that keep it upper-triangular; those whose code is the smallest are the canonical
   unlabelled structures, and the reorderings mapping one onto itself its automorphisms.
3. Labellings (``3**(n-2)``) of a structure are equal cells exactly when an automorphism maps
   one onto the other, so only the smallest labelling of each orbit is kept.
4. The official hash of the surviving cells is computed (in worker processes when allowed)
   and the table is sorted by hash, which makes hash look-ups a binary search.

The result is stored as ``nb101_cells_v{VERSION}.npz`` (about 10 MB) in the cache directory.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
import zipfile
from collections import defaultdict
from concurrent.futures import ProcessPoolExecutor
from functools import lru_cache
from multiprocessing import get_all_start_methods, get_context
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from gnnpred.spaces._nb101_graph import (
    HASH_LABEL,
    HIDDEN_OPS,
    MAX_EDGES,
    MAX_VERTICES,
    OP_INDEX,
    OP_VOCAB,
    Matrix,
    as_tuples,
    hash_program,
    label_codes,
    middle_perms,
    structure_codes,
    structure_program,
    upper_ok,
)

logger = logging.getLogger(__name__)

#: Bump when the file layout or the canonical rule changes.
CACHE_VERSION = 1
#: Number of unique cells (one per module hash) in NAS-Bench-101.
NUM_CELLS = 423_624
#: Largest cache accepted, on disk and unpacked: the real one unpacks to about 20 MB, so a larger
#: (or endless) file is not a cache this code wrote and is rebuilt rather than read.
CACHE_MAX_BYTES = 256 << 20


def cache_file(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where the enumeration is cached.

    Args:
        cache_dir: Directory to use; default ``$GNNPRED_CACHE_DIR`` when set, else
            ``platformdirs.user_cache_dir("gnnpred")``.

    Returns:
        The path of the ``.npz`` file (it may not exist yet).
    """
    if cache_dir is None:
        cache_dir = os.environ.get("GNNPRED_CACHE_DIR")
    if cache_dir is None:
        import platformdirs

        cache_dir = platformdirs.user_cache_dir("gnnpred")
    return Path(cache_dir) / f"nb101_cells_v{CACHE_VERSION}.npz"


# ------------------------------------------------------------------------------- enumeration
def canonical_structures(n: int, max_edges: int = MAX_EDGES) -> tuple[np.ndarray, np.ndarray]:
    """Canonical unlabelled pruned structures with ``n`` vertices and their automorphisms.

    Returns:
        ``mats`` ``[S, n, n]`` int8 and ``aut`` ``[S, P]`` bool, where ``aut[s, p]`` says that
        ``middle_perms(n)[p]`` maps structure ``s`` onto itself.
    """
    m = n * (n - 1) // 2
    codes = np.arange(1 << m, dtype=np.int64)
    bits = ((codes[:, None] >> np.arange(m - 1, -1, -1)) & 1).astype(
        np.int8
    )  # [N, m], first pair = top bit
    keep = bits.sum(1) <= max_edges
    codes, bits = codes[keep], bits[keep]
    rows, cols = np.triu_indices(n, 1)  # row-major, as structure_codes
    mats = np.zeros((len(codes), n, n), np.int8)
    mats[:, rows, cols] = bits
    full = mats[:, :-1, :].any(2).all(1) & mats[:, :, 1:].any(1).all(1)  # no dangling vertex
    mats, codes = mats[full], codes[full]
    perms = middle_perms(n)
    images = np.empty((len(mats), len(perms)), np.int64)
    for p, perm in enumerate(perms):
        pm = mats[:, perm][:, :, perm]
        c = structure_codes(pm)
        c[~upper_ok(pm)] = np.iinfo(np.int64).max
        images[:, p] = c
    canon = images.min(1) == codes
    return mats[canon], images[canon] == codes[canon, None]


def _labellings(n: int) -> np.ndarray:
    """All ``[3**(n-2), n]`` labellings (interior labels 0..2, ends 0), first vertex slowest."""
    rows = list(itertools.product(range(3), repeat=n - 2))
    grid = np.array(rows, np.int64).reshape(len(rows), n - 2)
    ends = np.zeros((len(grid), 1), np.int64)
    return np.concatenate([ends, grid, ends], axis=1)


def enumerate_cells(max_vertices: int = MAX_VERTICES, max_edges: int = MAX_EDGES):
    """Yield ``(structure n x n int8, labellings [k, n])`` groups of unique canonical cells.

    Interior labels index :data:`HIDDEN_OPS`; the ends are 0 and mean input/output.
    """
    for n in range(2, max_vertices + 1):
        mats, aut = canonical_structures(n, max_edges)
        perms = middle_perms(n)
        labs = _labellings(n)
        own = label_codes(labs)
        by_group: dict[bytes, list[int]] = defaultdict(list)
        for s, row in enumerate(aut):
            by_group[row.tobytes()].append(s)
        for members in by_group.values():
            auts = perms[aut[members[0]]]
            if len(auts) == 1:
                kept = labs
            else:
                kept = labs[label_codes(labs[:, auts]).min(1) == own]  # smallest of each orbit
            for s in members:
                yield mats[s], kept


def _hash_group(item: tuple[Matrix, np.ndarray]) -> list[str]:
    """Official hashes of one structure under several labellings."""
    matrix, labs = item
    program = structure_program(matrix)
    n = len(matrix)
    table = np.array([HASH_LABEL[op] for op in HIDDEN_OPS])
    out = []
    for row in labs:
        labels = [-1, *table[row[1:-1]].tolist(), -2] if n > 2 else [-1, -2]
        out.append(hash_program(program, labels))
    return out


def _hex_pairs(hexes: list[str]) -> np.ndarray:
    """32-hex strings -> ``[n, 2]`` uint64 (big-endian halves), the table's key format."""
    raw = bytes.fromhex("".join(hexes))
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 2)


def build_table(
    n_jobs: int | None = None, verbose: bool = True, max_vertices: int = MAX_VERTICES
) -> dict:
    """Enumerate and hash every unique cell.

    Args:
        n_jobs: Worker processes for hashing (default: all CPUs; fork start method only,
            elsewhere hashing runs in this process).
        verbose: Show a progress bar.
        max_vertices: Largest vertex count (smaller values are for tests).

    Returns:
        The table as a dict of arrays (see :class:`NB101Table`).
    """
    start = time.perf_counter()
    groups = [(as_tuples(m), labs) for m, labs in enumerate_cells(max_vertices)]
    total = sum(len(labs) for _, labs in groups)
    logger.info(
        "NB101: %d structures, %d cells in %.1fs; hashing",
        len(groups),
        total,
        time.perf_counter() - start,
    )
    n_jobs = (os.cpu_count() or 1) if n_jobs is None else max(1, int(n_jobs))
    bar = tqdm(total=total, desc="NB101 hashes", unit="cell", disable=not verbose)
    hexes: list[str] = []
    if n_jobs > 1 and "fork" in get_all_start_methods():
        with ProcessPoolExecutor(n_jobs, mp_context=get_context("fork")) as pool:
            for h in pool.map(_hash_group, groups, chunksize=64):
                hexes.extend(h)
                bar.update(len(h))
    else:
        for g in groups:
            hexes.extend(_hash_group(g))
            bar.update(len(g[1]))
    bar.close()
    num_vertices = np.concatenate([np.full(len(labs), len(m), np.uint8) for m, labs in groups])
    adjacency = np.concatenate(
        [np.full(len(labs), _padded_code(m), np.uint32) for m, labs in groups]
    )
    ops = np.full((total, MAX_VERTICES), -1, np.int8)
    hidden = np.array([OP_INDEX[o] for o in HIDDEN_OPS], np.int8)
    pos = 0
    for m, labs in groups:
        n, k = len(m), len(labs)
        ops[pos : pos + k, 0] = OP_INDEX["input"]
        ops[pos : pos + k, 1 : n - 1] = hidden[labs[:, 1:-1]]
        ops[pos : pos + k, n - 1] = OP_INDEX["output"]
        pos += k
    keys = _hex_pairs(hexes)
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    keys = keys[order]
    dup = (keys[1:] == keys[:-1]).all(1)
    if dup.any():  # would mean two non-isomorphic cells share a hash
        logger.warning(
            "NB101: %d hash collisions among enumerated cells; keeping one of each", int(dup.sum())
        )
    first = np.concatenate([[True], ~dup])
    order, keys = order[first], keys[first]
    logger.info("NB101: %d unique cells in %.1fs", len(keys), time.perf_counter() - start)
    return {
        "hash": keys,
        "num_vertices": num_vertices[order],
        "adjacency": adjacency[order],
        "ops": ops[order],
        "version": np.array(CACHE_VERSION),
    }


def _padded_code(matrix: Matrix) -> int:
    """21-bit code of the matrix placed in the top-left corner of a 7 x 7 one."""
    pad = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int64)
    n = len(matrix)
    pad[:n, :n] = matrix
    return int(structure_codes(pad))


@lru_cache(maxsize=1 << 16)
def _decode_matrix(n: int, code: int) -> Matrix:
    """Inverse of :func:`_padded_code` for an ``n``-vertex cell."""
    bits = [(code >> (20 - k)) & 1 for k in range(21)]
    pad = np.zeros((MAX_VERTICES, MAX_VERTICES), np.int64)
    pad[np.triu_indices(MAX_VERTICES, 1)] = bits
    return as_tuples(pad[:n, :n])


class NB101Table:
    """The enumeration, sorted by hash: row ``i`` is one unique cell.

    Attributes:
        hash: ``[N, 2]`` uint64, the 16 MD5 bytes as two big-endian halves, sorted.
        num_vertices: ``[N]`` uint8.
        adjacency: ``[N]`` uint32, upper triangle of the cell padded to 7 x 7 (top-left), 21 bits
            row-major with slot ``(0, 1)`` as bit 20.
        ops: ``[N, 7]`` int8 indices into ``OP_VOCAB``, ``-1`` past the last vertex.
    """

    def __init__(self, arrays: dict) -> None:
        self.hash = np.ascontiguousarray(arrays["hash"], dtype=np.uint64)
        self.num_vertices = np.asarray(arrays["num_vertices"], dtype=np.uint8)
        self.adjacency = np.asarray(arrays["adjacency"], dtype=np.uint32)
        self.ops = np.asarray(arrays["ops"], dtype=np.int8)
        self._op_names: dict[bytes, tuple[str, ...]] = {}

    def __len__(self) -> int:
        return len(self.hash)

    def rows_of(self, hashes: list[str]) -> np.ndarray:
        """Row of each 32-hex hash, ``-1`` where absent.

        Raises:
            ValueError: On a malformed hash.
        """
        for h in hashes:
            if not isinstance(h, str) or len(h) != 32:
                raise ValueError(f"A NAS-Bench-101 hash is a 32-character hex string. Got {h!r}.")
        try:
            keys = _hex_pairs([h.lower() for h in hashes])
        except ValueError as exc:
            raise ValueError(
                f"NAS-Bench-101 hashes must be hexadecimal; got a bad one among {hashes[:5]!r}..."
            ) from exc
        hi = self.hash[:, 0]
        left = np.searchsorted(hi, keys[:, 0], side="left")
        right = np.searchsorted(hi, keys[:, 0], side="right")
        out = np.full(len(hashes), -1, np.int64)
        for q in np.flatnonzero(right > left):  # usually one candidate; scan ties of the top half
            for r in range(left[q], right[q]):
                if self.hash[r, 1] == keys[q, 1]:
                    out[q] = r
        return out

    def row_of(self, hash_: str) -> int:
        """Row of one well-formed 32-hex hash, ``-1`` where absent (:meth:`rows_of` for one,
        without its array set-up: a search asks for one cell at a time)."""
        hi, lo = np.uint64(int(hash_[:16], 16)), int(hash_[16:], 16)
        col = self.hash[:, 0]
        r = int(np.searchsorted(col, hi))
        while r < len(col) and col[r] == hi:
            if int(self.hash[r, 1]) == lo:
                return r
            r += 1
        return -1

    def cell_args(self, row: int) -> tuple[Matrix, tuple[str, ...]]:
        """``(matrix, ops)`` of one row."""
        n = int(self.num_vertices[row])
        raw = self.ops[row, :n].tobytes()
        names = self._op_names.get(raw)
        if names is None:
            names = self._op_names[raw] = tuple(OP_VOCAB[int(i)] for i in self.ops[row, :n])
        return _decode_matrix(n, int(self.adjacency[row])), names

    def hex(self, row: int) -> str:
        """The 32-hex hash of one row."""
        return self.hash[row].astype(">u8").tobytes().hex()


_LOADED: dict[Path, NB101Table] = {}


def load_table(
    cache_dir: str | os.PathLike | None = None,
    rebuild: bool = False,
    n_jobs: int | None = None,
    verbose: bool = True,
) -> NB101Table:
    """Load the enumeration from the cache, building and saving it first when needed.

    Args:
        cache_dir: See :func:`cache_file`.
        rebuild: Ignore an existing cache file and enumerate again.
        n_jobs: Hashing processes for a (re)build.
        verbose: Progress bar during a build.

    Returns:
        The table (kept in memory for later calls with the same path).
    """
    path = cache_file(cache_dir)
    if not rebuild and path in _LOADED:
        return _LOADED[path]
    arrays = None
    if not rebuild and path.exists():
        try:
            if not path.is_file() or path.stat().st_size > CACHE_MAX_BYTES:
                raise ValueError(f"not a regular file of at most {CACHE_MAX_BYTES} bytes")
            with np.load(path) as data:
                if sum(i.file_size for i in data.zip.infolist()) > CACHE_MAX_BYTES:
                    raise ValueError(f"unpacks to more than {CACHE_MAX_BYTES} bytes")
                arrays = {
                    k: data[k] for k in ("hash", "num_vertices", "adjacency", "ops", "version")
                }
            if int(arrays["version"]) != CACHE_VERSION or len(arrays["hash"]) != NUM_CELLS:
                raise ValueError("unexpected version or size")
        except (OSError, EOFError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
            logger.warning("Ignoring unreadable NB101 cache %s (%s); rebuilding it.", path, exc)
            arrays = None
    if arrays is None:
        logger.warning(
            "Enumerating the 423,624 NAS-Bench-101 cells once (about a minute); cache: %s", path
        )
        arrays = build_table(n_jobs=n_jobs, verbose=verbose)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, path)  # atomic: concurrent readers never see a partial file
    table = NB101Table(arrays)
    _LOADED[path] = table
    return table
