"""GCN regressor on the architecture-similarity (kNN) graph.

Nodes are architectures (labelled and unlabelled), node features their autoencoder embeddings
(plus optional per-cell features such as zero-cost scores); each node aggregates the mean of its
``k`` nearest neighbours, the random-walk normalised form of the GCN of Kipf & Welling, ICLR 2017
(https://arxiv.org/abs/1609.02907), as used for semi-supervised assessment by Tang et al., CVPR 2020
(https://arxiv.org/abs/2005.06821).

The neighbour table is dense ``[n, k]``: every node has exactly ``k`` neighbours in the pool,
so a new cell at predict time is handled exactly like a pool cell (its ``k`` nearest pool cells,
the pool's cached hidden states): predicting ``m`` cells costs ``O(m * k)`` after the kNN search.
"""

from __future__ import annotations

import warnings

import lightning as L
import torch
from torch import Tensor, nn

from gnnpred.models.losses import rank_regression_loss
from gnnpred.models.optim import adamw

__all__ = ["KNNGCN", "GCNTask", "MeanAdjacency", "ReceptivePlan"]


class MeanAdjacency:
    """Row-normalised sparse adjacency of a ``[m, k]`` neighbour table into ``n`` source nodes.

    ``adj(h)`` is ``mean_j h[nbr[i, j]]`` for every row ``i``, as a CSR product whose backward is
    the transposed CSR product: faster on CPU than autograd through ``h[nbr].mean(1)``.
    """

    def __init__(self, nbr: Tensor, num_sources: int) -> None:
        m, k = nbr.shape
        rows = torch.arange(m, device=nbr.device).repeat_interleave(k)
        idx = torch.stack([rows, nbr.reshape(-1)])
        val = torch.full((m * k,), 1.0 / k, device=nbr.device)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
            coo = torch.sparse_coo_tensor(idx, val, (m, num_sources)).coalesce()
            self.a = coo.to_sparse_csr()
            self.at = coo.t().coalesce().to_sparse_csr()

    def __call__(self, h: Tensor) -> Tensor:
        return _SpMM.apply(h, self.a, self.at)


class ReceptivePlan:
    """Only the nodes that reach ``targets`` within ``num_layers`` hops, for cheap training.

    With 100 labelled nodes of a 15k pool and ``k = 10``, the last layer runs on 100 rows and the
    one before on ~1,100, instead of the whole pool every epoch.
    """

    def __init__(self, nbr: Tensor, targets: Tensor, num_layers: int) -> None:
        sets = [torch.unique(targets)]  # sorted; sets[0] = output rows, sets[-1] = input rows
        for _ in range(num_layers):
            sets.append(torch.unique(torch.cat([sets[-1], nbr[sets[-1]].reshape(-1)])))
        sets = sets[::-1]
        self.inputs = sets[0]
        self.steps = []  # per layer: (positions of its rows in the previous set, adjacency)
        for prev, cur in zip(sets[:-1], sets[1:], strict=True):
            self_pos = torch.searchsorted(prev, cur)
            nbr_pos = torch.searchsorted(prev, nbr[cur])
            self.steps.append((self_pos, MeanAdjacency(nbr_pos, prev.numel())))
        self.out_pos = torch.searchsorted(sets[-1], targets)


class _SpMM(torch.autograd.Function):
    @staticmethod
    def forward(ctx, h, a, at):  # noqa: D102
        ctx.at = at
        return a @ h

    @staticmethod
    def backward(ctx, grad):  # noqa: D102
        return ctx.at @ grad, None, None


class _MeanLayer(nn.Module):
    def __init__(self, channels: int, dropout: float) -> None:
        super().__init__()
        self.lin_self = nn.Linear(channels, channels)
        self.lin_nbr = nn.Linear(channels, channels, bias=False)
        self.norm = nn.LayerNorm(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: Tensor, h_nbr_mean: Tensor) -> Tensor:
        out = self.norm(self.lin_self(h) + self.lin_nbr(h_nbr_mean))
        return h + self.dropout(torch.relu(out))


class KNNGCN(nn.Module):
    """Residual mean-aggregation GCN over a fixed-degree neighbour table.

    Args:
        in_channels: Node feature size.
        hidden_channels: Hidden width.
        num_layers: Propagation layers (receptive field ``k ** num_layers`` cells).
        dropout: Dropout on hidden states.
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, num_layers: int = 2,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.lin_in = nn.Sequential(nn.Linear(in_channels, hidden_channels), nn.ReLU(),
                                    nn.Dropout(dropout))
        self.layers = nn.ModuleList(_MeanLayer(hidden_channels, dropout) for _ in range(num_layers))
        self.lin_out = nn.Linear(hidden_channels, 1)

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.LayerNorm)):
                m.reset_parameters()

    def forward(self, x: Tensor, nbr: Tensor | MeanAdjacency, return_states: bool = False):
        """Transductive forward over the whole pool.

        Args:
            x: Node features ``[n, f]``.
            nbr: Neighbour table ``[n, k]`` (indices into the same ``n`` nodes), or its
                :class:`MeanAdjacency` (faster when called repeatedly).
            return_states: Also return the hidden states of every layer (for :meth:`predict_new`).

        Returns:
            Scores ``[n]`` (and the list of ``num_layers`` states ``[n, hidden]`` fed to each
            layer).
        """
        adj = nbr if isinstance(nbr, MeanAdjacency) else MeanAdjacency(nbr, x.shape[0])
        h = self.lin_in(x)
        states = []
        for layer in self.layers:
            states.append(h)
            h = layer(h, adj(h))  # adj(h): neighbour mean, [n, hidden]
        out = self.lin_out(h).squeeze(-1)
        return (out, states) if return_states else out

    def forward_plan(self, x: Tensor, plan: ReceptivePlan) -> Tensor:
        """Scores of the plan's targets only (same values as ``forward(x, nbr)[targets]``)."""
        h = self.lin_in(x[plan.inputs])
        for layer, (self_pos, adj) in zip(self.layers, plan.steps, strict=True):
            h = layer(h[self_pos], adj(h))
        return self.lin_out(h).squeeze(-1)[plan.out_pos]

    def predict_new(self, x: Tensor, nbr: Tensor, pool_states: list[Tensor]) -> Tensor:
        """Inductive forward for cells outside the pool.

        Args:
            x: Features of the new cells ``[m, f]``.
            nbr: Their ``k`` nearest pool cells ``[m, k]``.
            pool_states: States from ``forward(..., return_states=True)`` on the pool (eval mode).

        Returns:
            Scores ``[m]``.
        """
        h = self.lin_in(x)
        for layer, pool_h in zip(self.layers, pool_states, strict=True):
            # the neighbour mean pool_h[nbr].mean(1), without the [m, k, hidden] gather
            h = layer(h, nn.functional.embedding_bag(nbr, pool_h, mode="mean"))
        return self.lin_out(h).squeeze(-1)


class GCNTask(L.LightningModule):
    """Full-batch Lightning training of :class:`KNNGCN` on the labelled (and pseudo-labelled) nodes.

    Args:
        model: The GCN.
        x: Node features ``[n, f]``.
        nbr: Neighbour table ``[n, k]``.
        train_idx: Indices of the nodes with (pseudo-)labels ``[t]``.
        y: Their standardised labels ``[t]``.
        weight: Per-node loss weights ``[t]`` (pseudo-labels weigh less), or ``None``.
        lr, weight_decay: AdamW settings.
        rank_weight: Weight of the pairwise ranking loss.
    """

    def __init__(self, model: KNNGCN, x: Tensor, nbr: Tensor, train_idx: Tensor, y: Tensor,
                 weight: Tensor | None = None, lr: float = 5e-3, weight_decay: float = 1e-4,
                 rank_weight: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.x, self.nbr, self.train_idx, self.y, self.weight = x, nbr, train_idx, y, weight
        self.lr, self.weight_decay, self.rank_weight = lr, weight_decay, rank_weight

    def on_fit_start(self) -> None:
        dev = self.device
        self.x, self.nbr, self.train_idx, self.y = (
            t.to(dev) for t in (self.x, self.nbr, self.train_idx, self.y))
        if self.weight is not None:
            self.weight = self.weight.to(dev)
        self.plan = ReceptivePlan(self.nbr, self.train_idx, len(self.model.layers))

    def training_step(self, batch, batch_idx):  # noqa: D102
        pred = self.model.forward_plan(self.x, self.plan)
        return rank_regression_loss(pred, self.y, self.rank_weight, self.weight)

    def configure_optimizers(self):  # noqa: D102
        return adamw(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
