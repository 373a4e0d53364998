"""NAS-Bench-101 cells in tensor batches (see :mod:`gnnpred.spaces._batched`).

Encoding, the 7-slot view of :meth:`NASBench101Space.encode`: ``{"matrix": [n, 7, 7]}`` uint8
adjacency and ``{"ops": [n, 7]}`` int64 indices into ``OP_VOCAB``; vertex ``v < V - 1`` of a
pruned ``V``-vertex cell sits in slot ``v``, the output in slot 6, unused slots have no edge and
op ``-1``. Work in progress (a sample, a mutation) is a full 7-vertex spec that
:func:`check_specs` and :func:`compact` turn into this form exactly as the one-cell
``prune`` does.

The key of a cell identifies its isomorphism class, and so its official module hash, without
any MD5: among the orderings of its interior vertices that keep the matrix upper-triangular it
is the smallest ``structure_code * 3**5 + label_code`` (21 edge bits row-major, then interior
labels), the rule by which the cached enumeration stores each class's representative. One
matrix product scores the 120 orderings of every cell at once (penalties push out those that
break the upper triangle or the compact layout); a binary search in the enumeration's keys then
gives the official hash.
"""

from __future__ import annotations

import functools
import itertools
import re

import numpy as np
import torch

from gnnpred.spaces._batched import BatchedSpace, CellBatch, first_occurrences, paused_gc
from gnnpred.spaces._nb101_enum import NB101Table, _decode_matrix
from gnnpred.spaces._nb101_graph import (
    HIDDEN_OPS,
    MAX_EDGES,
    OP_INDEX,
    OP_VOCAB,
    PAIRS,
    check_mutation_rate,
)
from gnnpred.spaces._nb101_tensors import encode_cells

V7 = 7
_ROWS = torch.tensor([p[0] for p in PAIRS])
_COLS = torch.tensor([p[1] for p in PAIRS])
_PAIR = {p: t for t, p in enumerate(PAIRS)}
#: OP_VOCAB index of each HIDDEN_OPS label, and the label of each OP_VOCAB index (ends: 0).
_VOCAB_OF_LABEL = torch.tensor([OP_INDEX[o] for o in HIDDEN_OPS])
_LABEL_OF_VOCAB = torch.tensor([HIDDEN_OPS.index(o) if o in HIDDEN_OPS else 0 for o in OP_VOCAB])
_INPUT, _OUTPUT = OP_INDEX["input"], OP_INDEX["output"]
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")


# ------------------------------------------------------------------------------- pruning
_INTO = [[t for t, (_, j) in enumerate(PAIRS) if j == v] for v in range(V7)]
_OUT_OF = [[t for t, (i, _) in enumerate(PAIRS) if i == v] for v in range(V7)]


def check_specs(bits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Prune full 7-vertex specs as the official ``ModelSpec`` does, and check them.

    Args:
        bits: ``[n, 21]`` bool edge slots (``PAIRS`` order).

    Returns:
        ``(valid, keep, bits)``: ``valid`` ``[n]`` bool (the output is reachable from the input
        and at most 9 edges remain), ``keep`` ``[n, 7]`` bool (the vertices on an input ->
        output path) and the edge slots between kept vertices.
    """
    n, dev = bits.shape[0], bits.device
    fwd = torch.zeros(n, V7, dtype=torch.bool, device=dev)
    fwd[:, 0] = True
    for v in range(1, V7):  # topological order: the predecessors of v are done
        fwd[:, v] = (bits[:, _INTO[v]] & fwd[:, :v]).any(1)
    bwd = torch.zeros_like(fwd)
    bwd[:, V7 - 1] = True
    for v in range(V7 - 2, -1, -1):
        bwd[:, v] = (bits[:, _OUT_OF[v]] & bwd[:, v + 1 :]).any(1)
    keep = fwd & bwd
    bits = bits & keep[:, _ROWS.to(dev)] & keep[:, _COLS.to(dev)]
    return keep[:, 0] & (bits.sum(1) <= MAX_EDGES), keep, bits


def compact(bits: torch.Tensor, labels: torch.Tensor, keep: torch.Tensor) -> dict:
    """Checked specs (:func:`check_specs`) as pruned cells in the 7-slot view.

    Args:
        bits: ``[n, 21]`` bool edge slots between kept vertices.
        labels: ``[n, 7]`` long ``HIDDEN_OPS`` indices of the interior vertices (ends unused).
        keep: ``[n, 7]`` bool kept vertices.
    """
    n, dev = bits.shape[0], bits.device
    adj = torch.zeros(n, V7, V7, dtype=torch.uint8, device=dev)
    adj[:, _ROWS.to(dev), _COLS.to(dev)] = bits.to(torch.uint8)
    # kept interior vertices move to slots 1.. in order; the output stays in slot 6
    inner = torch.argsort((~keep[:, 1:-1]).long() * V7 + torch.arange(1, V7 - 1, device=dev),
                          dim=1) + 1
    ends = torch.zeros(n, 1, dtype=torch.long, device=dev)
    perm = torch.cat([ends, inner, ends + V7 - 1], 1)  # [n, 7]: new slot -> old vertex
    ops = _VOCAB_OF_LABEL.to(dev)[labels]
    ops[:, 0], ops[:, -1] = _INPUT, _OUTPUT
    ops = torch.where(keep, ops, -1)
    rows = torch.arange(n, device=dev)
    matrix = adj[rows[:, None, None], perm[:, :, None], perm[:, None, :]]
    return {"matrix": matrix, "ops": ops.gather(1, perm)}


def _spec(tensors: dict, fill: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Pruned cells as full specs: ``[n, 21]`` bool edge slots and ``[n, 7]`` labels, ``fill``
    (``[n, 7]`` labels) on unused slots."""
    ops = tensors["ops"]
    dev = ops.device
    labels = torch.where(ops >= 0, _LABEL_OF_VOCAB.to(dev)[ops.clamp(min=0)], fill)
    return tensors["matrix"][:, _ROWS.to(dev), _COLS.to(dev)].bool(), labels


# ------------------------------------------------------------------------------- keys
#: Penalties that put the orderings :func:`spec_keys` must skip above every real key (< 2**29);
#: every sum stays below 2**51, so float64 arithmetic is exact.
_LOW_PENALTY, _PLACE_PENALTY = 2.0**40, 2.0**46


@functools.cache
def _perm_table(device: str) -> torch.Tensor:
    """``[31, 120]`` float64 scores of the 120 orderings of the interior slots 1..5.

    Rows: the 21 edge slots, the 5 interior labels, the 5 interior "kept" flags. Column ``p``:
    the key of the spec reordered by ordering ``p`` (edge bit weights times 3**5, plus label
    weights); an edge landing on or below the diagonal adds ``_LOW_PENALTY``; each kept vertex
    adds ``_PLACE_PENALTY`` times its new slot, a sum that is smallest (``k * (k + 1) / 2``
    times the penalty) exactly when the ``k`` kept vertices fill slots ``1..k``, as in the
    compact form.
    """
    perms = list(itertools.permutations(range(1, V7 - 1)))
    inner = V7 - 2
    table = np.zeros((len(PAIRS) + 2 * inner, len(perms)))
    for p, mids in enumerate(perms):
        new = {0: 0, V7 - 1: V7 - 1, **{old: pos + 1 for pos, old in enumerate(mids)}}
        for t, (i, j) in enumerate(PAIRS):
            a, b = new[i], new[j]
            table[t, p] = (2.0 ** (len(PAIRS) - 1 - _PAIR[(a, b)]) * 3**inner if a < b
                           else _LOW_PENALTY)
        for old in range(1, V7 - 1):
            table[len(PAIRS) + old - 1, p] = 3.0 ** (inner - new[old])
            table[len(PAIRS) + inner + old - 1, p] = _PLACE_PENALTY * new[old]
    return torch.tensor(table, device=torch.device(device))


def spec_keys(bits: torch.Tensor, labels: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
    """``[n]`` int64 keys of checked specs (:func:`check_specs`): the key of the pruned cell,
    equal exactly for isomorphic pruned cells.

    Args:
        bits: ``[n, 21]`` bool edge slots between kept vertices.
        labels: ``[n, 7]`` long ``HIDDEN_OPS`` indices (ends and dropped vertices unused).
        keep: ``[n, 7]`` bool kept vertices (every row with input and output kept).
    """
    kept = keep[:, 1:-1]
    x = torch.cat([bits, labels[:, 1:-1] * kept, kept], 1).double()  # [n, 31]
    best = (x @ _perm_table(str(bits.device))).min(1).values  # [n]
    k = kept.sum(1)
    return (best - _PLACE_PENALTY * (k * (k + 1) // 2)).long()


def _keys_where(bits: torch.Tensor, labels: torch.Tensor, keep: torch.Tensor,
                valid: torch.Tensor) -> torch.Tensor:
    """:func:`spec_keys` of the valid rows; ``-1 - row`` (no cell's key) elsewhere."""
    out = -1 - torch.arange(len(valid), device=valid.device)
    rows = torch.nonzero(valid).flatten()
    if len(rows):
        out[rows] = spec_keys(bits[rows], labels[rows], keep[rows])
    return out


def canonical_keys(tensors: dict) -> torch.Tensor:
    """``[n]`` int64 keys of pruned cells (7-slot view): equal exactly for isomorphic cells."""
    ops = tensors["ops"]
    bits, labels = _spec(tensors, torch.zeros_like(ops))
    return spec_keys(bits, labels, ops >= 0)


def _first_success(ok: torch.Tensor, reps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Rows of ``reps`` attempts each: which rows succeeded, and the index of each one's first
    successful attempt (the first success of i.i.d. attempts is a rejection sampler's draw)."""
    grid = ok.reshape(-1, reps)
    done = grid.any(1)
    first = grid.to(torch.int8).argmax(1) + torch.arange(len(grid), device=ok.device) * reps
    return done, first[done]


@functools.cache
def _table_keys(table: NB101Table) -> tuple[np.ndarray, np.ndarray]:
    """Keys of the enumeration's rows (sorted) and the row of each."""
    n = table.num_vertices.astype(np.int64)
    bits = (table.adjacency[:, None].astype(np.int64) >> np.arange(20, -1, -1)) & 1  # top-left
    # slot-view bit weight of each top-left pair, per vertex count: column V-1 goes to slot 6
    weights = np.zeros((V7 + 1, len(PAIRS)))
    for v in range(2, V7 + 1):
        for t, (i, j) in enumerate(PAIRS):
            if j < v:
                weights[v, t] = 2.0 ** (len(PAIRS) - 1 - _PAIR[(i, V7 - 1 if j == v - 1 else j)])
    code = (bits * weights[n]).sum(1).astype(np.int64)
    ops = table.ops.astype(np.int64)
    inner = np.arange(1, V7 - 1)
    lab = _LABEL_OF_VOCAB.numpy()[np.clip(ops[:, 1:-1], 0, None)]
    lab = np.where(inner[None, :] < (n - 1)[:, None], lab, 0)  # slots past the interior
    keys = code * 3 ** (V7 - 2) + (lab * 3 ** (V7 - 2 - inner)).sum(1)
    order = np.argsort(keys, kind="stable")
    return keys[order], order


def _rows_of_keys(table: NB101Table, keys: np.ndarray) -> np.ndarray:
    """Enumeration row of each key (``RuntimeError`` if one is missing: a bug, not user input)."""
    sorted_keys, order = _table_keys(table)
    pos = np.searchsorted(sorted_keys, keys).clip(max=len(sorted_keys) - 1)
    if not (sorted_keys[pos] == keys).all():
        raise RuntimeError("a pruned valid NAS-Bench-101 cell is missing from the enumeration")
    return order[pos]


# ------------------------------------------------------------------------------- the mixin
class NB101BatchOps(BatchedSpace):
    """Batched operations of :class:`~gnnpred.spaces.nasbench101.NASBench101Space`."""

    def _tensors_from(self, cells: list, device: torch.device) -> dict[str, torch.Tensor]:
        enc = torch.as_tensor(encode_cells(cells), device=device)  # [n, 21 + 7 * 5]
        matrix = torch.zeros(len(cells), V7, V7, dtype=torch.uint8, device=device)
        matrix[:, _ROWS.to(device), _COLS.to(device)] = enc[:, : len(PAIRS)].to(torch.uint8)
        onehot = enc[:, len(PAIRS) :].reshape(len(cells), V7, len(OP_VOCAB))
        ops = torch.where(onehot.any(2), onehot.argmax(2), -1)
        return {"matrix": matrix, "ops": ops}

    def _cells_from(self, batch: CellBatch) -> list:
        ops = batch.tensors["ops"].cpu().numpy()
        bits = batch.tensors["matrix"].cpu().numpy()[:, _ROWS.numpy(), _COLS.numpy()]
        n = (ops >= 0).sum(1)
        code = (bits.astype(np.int64) * _top_left_weights()[n]).sum(1)
        hexes = self._hashes_from(batch)
        # each distinct ops row and matrix is converted once
        op_codes = (ops + 1) @ (len(OP_VOCAB) + 1) ** np.arange(V7)
        uops, first, inv_ops = np.unique(op_codes, return_index=True, return_inverse=True)
        names = [tuple(OP_VOCAB[i] for i in (*row[: v - 1], row[-1]))
                 for row, v in zip(ops[first].tolist(), n[first].tolist(), strict=True)]
        umat, inv_mat = np.unique(code * 8 + n, return_inverse=True)
        mats = [_decode_matrix(c % 8, c // 8) for c in umat.tolist()]
        cls, new = self.arch_type, object.__new__
        out = []
        with paused_gc():
            for i, j, h in zip(inv_ops.reshape(-1).tolist(), inv_mat.reshape(-1).tolist(),
                               hexes, strict=True):
                # the fields are already tuples and the cell is valid, pruned and hashed:
                # filling the instance dict skips the frozen dataclass's checks
                cell = new(cls)
                cell.__dict__.update(matrix=mats[j], ops=names[i], _problem=None, _hash=h)
                out.append(cell)
        return out

    def _keys_of(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        return canonical_keys(tensors)

    def _hashes_from(self, batch: CellBatch) -> list[str]:
        table = self.table()
        rows = _rows_of_keys(table, batch.keys.cpu().numpy())
        text = table.hash[rows].astype(">u8").tobytes().hex()
        return [text[i : i + 32] for i in range(0, len(text), 32)]

    def _key_of_hashes(self, hashes: list[str]) -> np.ndarray:
        table = self.table()
        ok = [i for i, h in enumerate(hashes) if isinstance(h, str) and _HEX32.fullmatch(h)]
        rows = np.full(len(hashes), -1, np.int64)
        if ok:
            rows[ok] = table.rows_of([hashes[i] for i in ok])
        sorted_keys, order = _table_keys(table)
        key_of_row = np.empty(len(order), np.int64)
        key_of_row[order] = sorted_keys
        return np.where(rows >= 0, key_of_row[rows.clip(min=0)], -1)

    def _sample_tensors(self, n: int, gen: torch.Generator,
                        device: torch.device) -> dict[str, torch.Tensor]:
        """As :meth:`sample`: 21 fair edge bits and uniform interior ops, redrawn until valid."""
        out = {"matrix": torch.zeros(n, V7, V7, dtype=torch.uint8, device=device),
               "ops": torch.zeros(n, V7, dtype=torch.long, device=device)}
        todo, reps = torch.arange(n, device=device), 2
        while len(todo):
            m = len(todo) * reps
            bits = torch.randint(0, 2, (m, len(PAIRS)), generator=gen, device=device).bool()
            labels = torch.randint(0, len(HIDDEN_OPS), (m, V7), generator=gen, device=device)
            valid, keep, bits = check_specs(bits)
            done, pick = _first_success(valid, reps)
            for name, value in compact(bits[pick], labels[pick], keep[pick]).items():
                out[name][todo[done]] = value
            todo, reps = todo[~done], min(2 * reps, 64)
        return out

    def _mutate_tensors(self, batch: CellBatch, gen: torch.Generator,
                        mutation_rate: float = 1.0) -> dict[str, torch.Tensor]:
        """As :meth:`mutate`: on the 7-vertex view (unused slots get uniform random ops), flip
        each edge slot with probability ``mutation_rate / 7`` and change each interior op with
        probability ``mutation_rate / 5``; redraw until valid with another hash."""
        mutation_rate = check_mutation_rate(mutation_rate)
        dev, n = batch.device, len(batch)
        fill = torch.randint(0, len(HIDDEN_OPS), (n, V7), generator=gen, device=dev)
        base_bits, base_lab = _spec(batch.tensors, fill)
        out = {k: v.clone() for k, v in batch.tensors.items()}
        todo, reps = torch.arange(n, device=dev), 2
        for _ in range(10_000):
            if not len(todo):
                return out
            rows = todo.repeat_interleave(reps)
            m = len(rows)
            flip = torch.rand(m, len(PAIRS), generator=gen, device=dev) < mutation_rate / V7
            change = torch.rand(m, V7 - 2, generator=gen, device=dev) < mutation_rate / (V7 - 2)
            shift = torch.randint(1, len(HIDDEN_OPS), (m, V7 - 2), generator=gen, device=dev)
            labels = base_lab[rows].clone()
            labels[:, 1:-1] = (labels[:, 1:-1] + shift * change) % len(HIDDEN_OPS)
            valid, keep, bits = check_specs(base_bits[rows] ^ flip)
            keys = _keys_where(bits, labels, keep, valid)
            done, pick = _first_success(valid & (keys != batch.keys[rows]), reps)
            for name, value in compact(bits[pick], labels[pick], keep[pick]).items():
                out[name][todo[done]] = value
            todo, reps = todo[~done], min(2 * reps, 64)
        raise RuntimeError(f"No valid different mutation found for {len(todo)} cell(s); "
                           f"mutation_rate={mutation_rate} is too small.")

    def _neighbour_tensors(self, batch: CellBatch) -> tuple[dict[str, torch.Tensor],
                                                             torch.Tensor]:
        """As :meth:`neighbours`: 21 edge flips, then each interior op changed to each other op
        (unused slots hold ``HIDDEN_OPS[0]``); valid results, one per hash, not the cell's own."""
        dev, n = batch.device, len(batch)
        bits, labels = _spec(batch.tensors, torch.zeros(n, V7, dtype=torch.long, device=dev))
        n_edits = len(PAIRS) + 2 * (V7 - 2)
        cand_bits = bits[:, None, :].repeat(1, n_edits, 1)  # [n, 31, 21]
        cand_lab = labels[:, None, :].repeat(1, n_edits, 1)  # [n, 31, 7]
        t = torch.arange(len(PAIRS), device=dev)
        cand_bits[:, t, t] ^= True
        slot = torch.arange(1, V7 - 1, device=dev).repeat_interleave(2)  # [10]
        rank = torch.arange(2, device=dev).repeat(V7 - 2)  # the rank-th other op, in order
        cand_lab[:, len(PAIRS) + torch.arange(len(slot), device=dev), slot] = (
            rank + (rank >= labels[:, slot]).long())
        cand_lab = cand_lab.reshape(-1, V7)
        valid, keep, cand_bits = check_specs(cand_bits.reshape(-1, len(PAIRS)))
        owner = torch.arange(n, device=dev).repeat_interleave(n_edits)
        keys = _keys_where(cand_bits, cand_lab, keep, valid)
        valid &= keys != batch.keys[owner]
        uniq = torch.where(valid, owner * (1 << 32) + keys, keys)
        idx = torch.nonzero(valid & first_occurrences(uniq)).flatten()  # keys < 2**30
        return compact(cand_bits[idx], cand_lab[idx], keep[idx]), owner[idx]


@functools.cache
def _top_left_weights() -> np.ndarray:
    """``[8, 21]``: for a ``V``-vertex cell, the top-left matrix-code weight of each slot pair
    (slot 6 is vertex ``V - 1``; pairs of unused slots weigh 0)."""
    out = np.zeros((V7 + 1, len(PAIRS)), np.int64)
    for v in range(2, V7 + 1):
        where = {**{s: s for s in range(v - 1)}, V7 - 1: v - 1}
        for t, (i, j) in enumerate(PAIRS):
            if i in where and j in where:
                out[v, t] = 1 << (len(PAIRS) - 1 - _PAIR[(where[i], where[j])])
    return out
