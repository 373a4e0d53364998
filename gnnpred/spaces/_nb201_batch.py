"""NAS-Bench-201 cells in tensor batches (see :mod:`gnnpred.spaces._batched`).

Encoding: ``{"ops": [n, 6]}`` int64 op codes (indices into ``OPS``) in the official edge order.
The key of a cell is its base-5 number (edge ``1<-0`` most significant), which is also its
position in :meth:`NASBench201Space.enumerate`.
"""

from __future__ import annotations

import functools
import itertools
from typing import Any

import numpy as np
import torch

from gnnpred.spaces._batched import BatchedSpace, CellBatch

N_OPS, N_EDGES = 5, 6
_WEIGHTS = N_OPS ** np.arange(N_EDGES - 1, -1, -1)


@functools.cache
def _strings() -> tuple[list[str], dict[str, int]]:
    """Official strings of all 15,625 cells by key, and the inverse map."""
    from gnnpred.spaces.nasbench201 import OPS

    out = [f"|{o[0]}~0|+|{o[1]}~0|{o[2]}~1|+|{o[3]}~0|{o[4]}~1|{o[5]}~2|"
           for o in itertools.product(OPS, repeat=N_EDGES)]
    return out, {s: i for i, s in enumerate(out)}


@functools.cache
def _cells(cell: type) -> list:
    """All 15,625 cells by key, built once (cells are immutable, so batches share them)."""
    from gnnpred.spaces.nasbench201 import OPS

    return [cell(ops) for ops in itertools.product(OPS, repeat=N_EDGES)]


class NB201BatchOps(BatchedSpace):
    """Batched operations of :class:`~gnnpred.spaces.nasbench201.NASBench201Space`."""

    def _tensors_from(self, cells: list, device: torch.device) -> dict[str, torch.Tensor]:
        return {"ops": torch.as_tensor(self.op_indices(cells), device=device)}

    def _cells_from(self, batch: CellBatch) -> list:
        cells = _cells(self.arch_type)
        return [cells[k] for k in batch.keys.tolist()]

    def _keys_of(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        ops = tensors["ops"]
        return (ops * torch.as_tensor(_WEIGHTS, device=ops.device)).sum(1)  # no int matmul on GPU

    def _hashes_from(self, batch: CellBatch) -> list[str]:
        table = _strings()[0]
        return [table[k] for k in batch.keys.tolist()]

    def _key_of_hashes(self, hashes: list[str]) -> np.ndarray:
        index = _strings()[1]
        return np.array([index.get(h, -1) for h in hashes], dtype=np.int64)

    def _sample_tensors(self, n: int, gen: torch.Generator,
                        device: torch.device) -> dict[str, torch.Tensor]:
        return {"ops": torch.randint(0, N_OPS, (n, N_EDGES), generator=gen, device=device)}

    def _mutate_tensors(self, batch: CellBatch, gen: torch.Generator,
                        **kwargs: Any) -> dict[str, torch.Tensor]:
        """As :meth:`mutate`: one uniform edge gets one of the four other ops, uniformly."""
        if kwargs:
            raise TypeError(f"NB201 mutation takes no options. Got {sorted(kwargs)}.")
        ops = batch.tensors["ops"]
        n, dev = ops.shape[0], ops.device
        edge = torch.randint(0, N_EDGES, (n,), generator=gen, device=dev)
        shift = torch.randint(1, N_OPS, (n,), generator=gen, device=dev)
        rows = torch.arange(n, device=dev)
        out = ops.clone()
        out[rows, edge] = (ops[rows, edge] + shift) % N_OPS
        return {"ops": out}

    def _neighbour_tensors(self, batch: CellBatch) -> tuple[dict[str, torch.Tensor],
                                                             torch.Tensor]:
        """The 24 single-edge changes of each cell, edge-major then in op order."""
        ops = batch.tensors["ops"]
        n, dev = ops.shape[0], ops.device
        edges = torch.arange(N_EDGES, device=dev).repeat_interleave(N_OPS - 1)  # [24]
        rank = torch.arange(N_OPS - 1, device=dev).repeat(N_EDGES)  # [24]
        current = ops[:, edges]  # [n, 24]
        new = rank + (rank >= current).long()  # the rank-th op other than the current one
        out = ops.repeat_interleave(N_EDGES * (N_OPS - 1), dim=0)  # [n * 24, 6]
        rows = torch.arange(out.shape[0], device=dev)
        out[rows, edges.repeat(n)] = new.reshape(-1)
        owner = torch.arange(n, device=dev).repeat_interleave(N_EDGES * (N_OPS - 1))
        return {"ops": out}, owner
