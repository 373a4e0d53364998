"""NAS-Bench-Graph cells in tensor batches (see :mod:`gnnpred.spaces._batched`).

Encoding: ``{"link": [n, 4], "ops": [n, 4]}`` int64, the cell's own ``link`` and its op codes
(indices into ``FULL_OPS``). The key of a cell is the benchmark's integer key, read from a
table over all ``24 * 9**4`` valid links and op codes (built once from
:func:`~gnnpred.spaces._nbgraph_keys.signature`, a few seconds); sampled, mutated and
neighbouring cells are canonical, as the one-cell operations return them.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import torch

from gnnpred.spaces._batched import BatchedSpace, CellBatch, first_occurrences, paused_gc
from gnnpred.spaces._nbgraph_keys import (
    FULL_OPS,
    LINKS,
    N_NODES,
    OP_INDEX,
    SKIP,
    _signature,
    _structure,
)

N_CODES = len(FULL_OPS)
_BASE = N_CODES + 1  # the benchmark's keys are base-10 numbers
#: Mixed-radix weights of a link (node i reads 0..i) and base-9 weights of op codes.
_LINK_W = np.array([0, 12, 4, 1])
_OP_W = N_CODES ** np.arange(N_NODES - 1, -1, -1)
_N_LINKS = 24


@functools.cache
def _key_table() -> np.ndarray:
    """``[24 * 9**4]`` int64: the benchmark key of every (link, op codes), ``-1`` for the
    invalid all-``skip`` cells; index ``link_index * 9**4 + op_code``."""
    from gnnpred.spaces.nasbench_graph import _table

    by_sig = _table()[0]
    out = np.full(_N_LINKS * N_CODES**N_NODES, -1, np.int64)
    pos = 0
    for link in itertools.product(*[range(i + 1) for i in range(N_NODES)]):
        for codes in itertools.product(range(N_CODES), repeat=N_NODES):
            skip = tuple(c == SKIP for c in codes)
            if not all(skip):
                out[pos] = by_sig[_signature(codes, *_structure(link, skip))]
            pos += 1
    return out


@functools.cache
def _device_table(device: str) -> torch.Tensor:
    return torch.as_tensor(_key_table(), device=torch.device(device))


def _index(link: torch.Tensor, ops: torch.Tensor) -> torch.Tensor:
    """Row of :func:`_key_table` of each cell (any leading shape, last dimension 4)."""
    dev = link.device  # (sums, not matmuls: CUDA has no integer matmul)
    return ((link * torch.as_tensor(_LINK_W, device=dev)).sum(-1) * N_CODES**N_NODES
            + (ops * torch.as_tensor(_OP_W, device=dev)).sum(-1))


def decode(keys: torch.Tensor) -> dict[str, torch.Tensor]:
    """The canonical cells (benchmark representatives) of valid keys, as tensors."""
    dev = keys.device
    digits = keys[:, None] // torch.as_tensor(_BASE ** np.arange(N_NODES - 1, -1, -1),
                                              device=dev) % _BASE
    links = torch.as_tensor(LINKS, device=dev)[keys // _BASE**N_NODES]
    return {"link": links, "ops": digits}


@functools.cache
def _edits(op_codes: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-cell edits in :meth:`mutate`'s order: every (node, op) of the op set, then every
    (node, input); as ``(node, is_op, value)`` arrays."""
    node = [i for i in range(N_NODES) for _ in op_codes] + [
        i for i in range(N_NODES) for _ in range(i + 1)]
    value = [c for _ in range(N_NODES) for c in op_codes] + [
        s for i in range(N_NODES) for s in range(i + 1)]
    is_op = [True] * (N_NODES * len(op_codes)) + [False] * (len(node) - N_NODES * len(op_codes))
    return np.array(node), np.array(is_op), np.array(value)


class NBGraphBatchOps(BatchedSpace):
    """Batched operations of :class:`~gnnpred.spaces.nasbench_graph.NASBenchGraphSpace`."""

    def _tensors_from(self, cells: list, device: torch.device) -> dict[str, torch.Tensor]:
        link = torch.tensor([c.link for c in cells], dtype=torch.long).reshape(-1, N_NODES)
        ops = torch.tensor([OP_INDEX[o] for c in cells for o in c.ops], dtype=torch.long)
        return {"link": link.to(device), "ops": ops.reshape(-1, N_NODES).to(device)}

    def _cells_from(self, batch: CellBatch) -> list:
        from gnnpred.spaces.nasbench_graph import _table

        link, ops = batch.tensors["link"], batch.tensors["ops"]
        canon = decode(batch.keys)  # batches this space makes hold canonical cells: shared
        same = ((canon["link"] == link).all(1) & (canon["ops"] == ops).all(1)).tolist()
        reps = _table()[1]
        with paused_gc():
            out = [reps[k] if s else None for k, s in zip(batch.keys.tolist(), same, strict=True)]
        rest = [i for i, s in enumerate(same) if not s]
        if rest:  # other cells: each distinct one built once
            index = _index(link[rest], ops[rest]).cpu().numpy()
            _, first, inverse = np.unique(index, return_index=True, return_inverse=True)
            rows = [rest[i] for i in first]
            made = [self.arch_type(tuple(li), tuple(FULL_OPS[o] for o in op)) for li, op in
                    zip(link[rows].tolist(), ops[rows].tolist(), strict=True)]
            for i, j in zip(rest, inverse.reshape(-1).tolist(), strict=True):
                out[i] = made[j]
        return out

    def _keys_of(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        link = tensors["link"]
        return _device_table(str(link.device))[_index(link, tensors["ops"])]

    def _hashes_from(self, batch: CellBatch) -> list[str]:
        return [str(k) for k in batch.keys.tolist()]

    def _key_of_hashes(self, hashes: list[str]) -> np.ndarray:
        return np.array([int(h) if isinstance(h, str) and h.isdigit() else -1 for h in hashes],
                        dtype=np.int64)

    def _canonical_keys(self, device: torch.device) -> torch.Tensor:
        """Keys of this op set's canonical cells (what :meth:`sample` draws from)."""
        return _canonical_keys(self.op_set, str(device))

    def _sample_tensors(self, n: int, gen: torch.Generator,
                        device: torch.device) -> dict[str, torch.Tensor]:
        """As :meth:`sample`: canonical cells drawn uniformly."""
        keys = self._canonical_keys(device)
        return decode(keys[torch.randint(0, len(keys), (n,), generator=gen, device=device)])

    def _candidates(self, base: dict, node: torch.Tensor, is_op: torch.Tensor,
                    value: torch.Tensor) -> torch.Tensor:
        """Keys (``-1`` if invalid) of edits ``[n, m]`` of canonical cells ``base`` ``[n, 4]``."""
        link = base["link"][:, None, :].repeat(1, node.shape[1], 1)
        ops = base["ops"][:, None, :].repeat(1, node.shape[1], 1)
        target = torch.where(is_op[..., None], ops, link)
        target.scatter_(2, node[..., None], value[..., None])
        link = torch.where(is_op[..., None], link, target)
        ops = torch.where(is_op[..., None], target, ops)
        return _device_table(str(node.device))[_index(link, ops)]

    def _mutate_tensors(self, batch: CellBatch, gen: torch.Generator,
                        **kwargs: Any) -> dict[str, torch.Tensor]:
        """As :meth:`mutate`: of the canonical cell, one of the ``4 * n_ops + 10`` edits drawn
        uniformly, redrawn while invalid or equivalent (a uniform neighbour after 200 tries)."""
        if kwargs:
            raise TypeError(f"NAS-Bench-Graph mutation takes no options. Got {sorted(kwargs)}.")
        dev, n = batch.device, len(batch)
        base = decode(batch.keys)
        node, is_op, value = (torch.as_tensor(a, device=dev)
                              for a in _edits(tuple(OP_INDEX[o] for o in self.ops)))
        out = torch.full((n,), -1, dtype=torch.long, device=dev)
        todo, reps, used = torch.arange(n, device=dev), 2, 0
        while len(todo) and used < 200:
            reps = min(reps, 200 - used)
            pick = torch.randint(0, len(node), (len(todo), reps), generator=gen, device=dev)
            sub = {k: v[todo] for k, v in base.items()}
            keys = self._candidates(sub, node[pick], is_op[pick], value[pick])  # [m, reps]
            ok = (keys >= 0) & (keys != batch.keys[todo, None])
            done = ok.any(1)
            first = ok.to(torch.int8).argmax(1)
            out[todo[done]] = keys[done, first[done]]
            todo, used, reps = todo[~done], used + reps, min(2 * reps, 64)
        if len(todo):  # every cell has neighbours: reached only with very bad luck
            nbrs, owner = self._neighbour_tensors(batch[todo])
            for row in range(len(todo)):
                mine = torch.nonzero(owner == row).flatten()
                choice = mine[torch.randint(0, len(mine), (1,), generator=gen, device=dev)]
                out[todo[row]] = self._keys_of({k: v[choice] for k, v in nbrs.items()})[0]
        return decode(out)

    def _neighbour_tensors(self, batch: CellBatch) -> tuple[dict[str, torch.Tensor],
                                                             torch.Tensor]:
        """As :meth:`neighbours`: every edit of the canonical cell, valid and not equivalent to
        it, one per key, sorted by key."""
        dev, n = batch.device, len(batch)
        node, is_op, value = (torch.as_tensor(a, device=dev)[None, :].expand(n, -1)
                              for a in _edits(tuple(OP_INDEX[o] for o in self.ops)))
        keys = self._candidates(decode(batch.keys), node, is_op, value)  # [n, E]
        owner = torch.arange(n, device=dev)[:, None].expand_as(keys).reshape(-1)
        keys = keys.reshape(-1)
        valid = (keys >= 0) & (keys != batch.keys[owner])
        combined = torch.where(valid, owner * (1 << 32) + keys, -1)
        order = torch.argsort(combined)
        combined, owner, keys, valid = combined[order], owner[order], keys[order], valid[order]
        keep = valid & first_occurrences(combined)
        return decode(keys[keep]), owner[keep]


@functools.cache
def _canonical_keys(op_set: str, device: str) -> torch.Tensor:
    from gnnpred.spaces.nasbench_graph import NASBenchGraphSpace

    space = NASBenchGraphSpace(op_set)
    return torch.tensor([int(space.hash(c)) for c in space.enumerate()],
                        device=torch.device(device))
