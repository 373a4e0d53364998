"""Dense, padded tensors of small architecture graphs, and the directed GIN layer that reads them.

Architecture cells have a handful of nodes (NB201: 8, NB101: <= 7), so a padded dense form
``x [B, N, V]``, ``adj [B, N, N]``, ``mask [B, N]`` is both faster on CPU than sparse message
passing and trivial to slice into mini-batches (no collation).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import to_dense_adj, to_dense_batch

__all__ = ["DenseGraphs", "to_dense", "DirectedGINLayer", "fused_inference"]

_FUSED = [False]


@contextlib.contextmanager
def fused_inference() -> Iterator[None]:
    """Within the block, :class:`DirectedGINLayer` forwards without gradients skip the
    ``[B, N, 3C]`` concatenation (see ``DirectedGINLayer._first_linear``).

    The result equals the plain forward up to float rounding (about 1e-7 relative), so it is
    used where such rounding cannot change a discrete choice: scores, not the embeddings the
    kNN graph is built on.
    """
    old, _FUSED[0] = _FUSED[0], True
    try:
        yield
    finally:
        _FUSED[0] = old


@dataclass
class DenseGraphs:
    """Padded graphs: one-hot node features, adjacency (``adj[b, i, j] = 1`` for an edge
    ``i -> j`` along the data flow) and a node mask."""

    x: Tensor  # [B, N, V] float
    adj: Tensor  # [B, N, N] float
    mask: Tensor  # [B, N] bool

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, idx) -> DenseGraphs:
        return DenseGraphs(self.x[idx], self.adj[idx], self.mask[idx])

    def to(self, device: torch.device | str) -> DenseGraphs:
        return DenseGraphs(self.x.to(device), self.adj.to(device), self.mask.to(device))

    def tensors(self) -> tuple[Tensor, Tensor, Tensor]:
        return self.x, self.adj, self.mask

    @staticmethod
    def cat(parts: list[DenseGraphs]) -> DenseGraphs:
        return DenseGraphs(
            torch.cat([p.x for p in parts]), torch.cat([p.adj for p in parts]),
            torch.cat([p.mask for p in parts]),
        )


def to_dense(batch: Batch, max_nodes: int) -> DenseGraphs:
    """Convert a PyG :class:`~torch_geometric.data.Batch` to :class:`DenseGraphs`.

    Args:
        batch: Graphs with one-hot ``x`` and ``edge_index``.
        max_nodes: Padding size; every graph must have at most this many nodes.

    Returns:
        The padded graphs (float32 on CPU).

    Raises:
        ValueError: If a graph has more than ``max_nodes`` nodes.
    """
    vec = getattr(batch, "batch", None)
    if vec is None:  # a batch built by hand may only carry ptr
        ptr = batch.ptr
        vec = torch.repeat_interleave(torch.arange(ptr.numel() - 1), ptr.diff())
    num_graphs = int(batch.num_graphs)
    counts = torch.bincount(vec, minlength=num_graphs)
    if counts.numel() and int(counts.max()) > max_nodes:
        raise ValueError(
            f"A graph has {int(counts.max())} nodes but the model was built for at most "
            f"{max_nodes} (the largest cell it was fitted on, or its space's max_nodes); "
            f"fit it on cells as large as those to predict, or set max_nodes on the space."
        )
    x, mask = to_dense_batch(batch.x.float(), vec, max_num_nodes=max_nodes, batch_size=num_graphs)
    adj = to_dense_adj(batch.edge_index, vec, max_num_nodes=max_nodes, batch_size=num_graphs)
    return DenseGraphs(x.float(), adj.clamp_(max=1.0).float(), mask)


class DirectedGINLayer(nn.Module):
    """GIN-style layer for DAGs: sums over predecessors and over successors separately, then an
    MLP of ``[h, sum_in, sum_out]`` (Xu et al., ICLR 2019, https://arxiv.org/abs/1810.00826)."""

    def __init__(self, in_channels: int, out_channels: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.mlp = nn.Sequential(
            nn.Linear(3 * in_channels, out_channels), nn.ReLU(),
            nn.Linear(out_channels, out_channels)
        )
        self.norm = nn.LayerNorm(out_channels)
        self.dropout = nn.Dropout(dropout)
        self.residual = in_channels == out_channels

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                m.reset_parameters()
        self.norm.reset_parameters()

    def forward(self, h: Tensor, adj: Tensor, mask: Tensor) -> Tensor:
        # h [B, N, C]; adj [B, N, N] with adj[b, i, j] = edge i -> j.
        if not _FUSED[0] or torch.is_grad_enabled():
            agg_in = adj.transpose(1, 2) @ h  # node j sums its predecessors i
            agg_out = adj @ h  # node i sums its successors j
            out = self.mlp(torch.cat([h, agg_in, agg_out], dim=-1))
        else:
            out = self.mlp[2](torch.relu_(self._first_linear(h, adj)))
        out = self.dropout(torch.relu(self.norm(out)))
        if self.residual:
            out = out + h
        return out * mask.unsqueeze(-1)

    def _first_linear(self, h: Tensor, adj: Tensor) -> Tensor:
        """The first MLP layer without gradients: ``W [h, A^T h, A h] = W_1 h + A^T (W_2 h) +
        A (W_3 h)``, one product of ``h`` with the stacked blocks and no ``[B, N, 3C]``
        concatenation (equal up to float rounding)."""
        lin, c = self.mlp[0], h.shape[-1]
        o = lin.out_features
        w = lin.weight.view(o, 3, c).transpose(0, 1).reshape(3 * o, c)  # [W_1; W_2; W_3]
        hw = torch.nn.functional.linear(h, w)  # [B, N, 3 * out]
        out = torch.baddbmm(hw[..., :o], adj.transpose(1, 2), hw[..., o : 2 * o])
        out = torch.baddbmm(out, adj, hw[..., 2 * o :])
        return out.add_(lin.bias) if lin.bias is not None else out
