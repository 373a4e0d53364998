"""Graph autoencoder for architecture cells: a directed-GIN encoder to a fixed-size embedding and a
decoder that rebuilds every node's op type and the adjacency matrix from that embedding alone.

Pretrained without labels on many cheap cells, as in Tang et al., "A Semi-Supervised Assessor of
Neural Architectures", CVPR 2020 (https://arxiv.org/abs/2005.06821); the variational form follows
arch2vec (Yan et al., NeurIPS 2020, https://arxiv.org/abs/2006.06936). Decoding from the graph
embedding (not from node embeddings) forces the embedding to describe the whole cell, which is what
the kNN similarity graph needs.
"""

from __future__ import annotations

import lightning as L
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnpred.models.dense import DirectedGINLayer
from gnnpred.models.optim import adamw

__all__ = ["GINEncoder", "GraphAutoencoder", "AutoencoderTask", "warmup_fraction"]


def warmup_fraction(total_steps: int, fraction: float = 0.1) -> float:
    """The ``pct_start`` of a one-cycle schedule: ``fraction`` of the steps warm the rate up.

    :class:`torch.optim.lr_scheduler.OneCycleLR` divides by the length of each phase, measured
    as ``pct_start * total_steps - 1`` steps: a warm-up of exactly one step (10 steps at 10%)
    divides by zero. Such a schedule warms up over two steps instead.
    """
    return 2.0 / total_steps if fraction * total_steps == 1.0 and total_steps > 2 else fraction


class GINEncoder(nn.Module):
    """Directed GIN over padded cells; a sum readout of every layer (jumping knowledge) gives the
    embedding.

    Args:
        in_channels: Size of the one-hot op vocabulary.
        hidden_channels: Width of the GIN layers.
        out_channels: Embedding size.
        num_layers: GIN layers.
        dropout: Dropout inside the layers.
        variational: Also output a log-variance head (for :class:`GraphAutoencoder`).
    """

    def __init__(self, in_channels: int, hidden_channels: int = 64, out_channels: int = 32,
                 num_layers: int = 4, dropout: float = 0.0, variational: bool = False) -> None:
        super().__init__()
        self.lin_in = nn.Linear(in_channels, hidden_channels)
        self.layers = nn.ModuleList(
            DirectedGINLayer(hidden_channels, hidden_channels, dropout) for _ in range(num_layers)
        )
        readout = hidden_channels * (num_layers + 1)
        self.mu = nn.Linear(readout, out_channels)
        self.logvar = nn.Linear(readout, out_channels) if variational else None
        self.out_channels = out_channels

    def reset_parameters(self) -> None:
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def forward(self, x: Tensor, adj: Tensor, mask: Tensor) -> tuple[Tensor, Tensor | None]:
        """Return ``(mu [B, out], logvar [B, out] or None)``."""
        m = mask.unsqueeze(-1).float()
        h = torch.relu(self.lin_in(x)) * m  # [B, N, H]
        pooled = [h.sum(1)]
        for layer in self.layers:
            h = layer(h, adj, mask)
            pooled.append(h.sum(1))
        r = torch.cat(pooled, dim=-1)  # [B, H * (L + 1)]
        return self.mu(r), (self.logvar(r) if self.logvar is not None else None)


class GraphAutoencoder(nn.Module):
    """Encoder + MLP decoder of ``max_nodes`` op types (plus a padding class) and adjacency logits.

    Args:
        num_ops: Op vocabulary size (one-hot width of the graphs).
        max_nodes: Largest cell size; smaller cells are padded.
        hidden_channels: Encoder/decoder width.
        embedding_dim: Size of the embedding.
        num_layers: Encoder GIN layers.
        variational: Sample the embedding with the reparameterisation trick during training.
        dropout: Encoder dropout.
    """

    def __init__(self, num_ops: int, max_nodes: int, hidden_channels: int = 64,
                 embedding_dim: int = 32, num_layers: int = 4, variational: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.num_ops, self.max_nodes = num_ops, max_nodes
        self.encoder = GINEncoder(num_ops, hidden_channels, embedding_dim, num_layers, dropout,
                                  variational)
        width = 4 * hidden_channels
        self.decoder = nn.Sequential(
            nn.Linear(embedding_dim, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
            nn.Linear(width, max_nodes * (num_ops + 1) + max_nodes * max_nodes),
        )

    @property
    def variational(self) -> bool:
        return self.encoder.logvar is not None

    def embed(self, x: Tensor, adj: Tensor, mask: Tensor) -> Tensor:
        """Deterministic embedding (the mean), ``[B, embedding_dim]``."""
        return self.encoder(x, adj, mask)[0]

    def decode(self, z: Tensor) -> tuple[Tensor, Tensor]:
        """Op logits ``[B, N, V + 1]`` (last class: no node) and adjacency logits ``[B, N, N]``."""
        n, v = self.max_nodes, self.num_ops + 1
        out = self.decoder(z)
        return out[:, : n * v].view(-1, n, v), out[:, n * v :].view(-1, n, n)

    def loss(self, x: Tensor, adj: Tensor, mask: Tensor,
             kl_weight: float = 1e-3) -> tuple[Tensor, dict]:
        """Reconstruction (+ KL) loss of a padded batch; also returns accuracy figures."""
        mu, logvar = self.encoder(x, adj, mask)
        z = mu
        if logvar is not None and self.training:
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        op_logits, adj_logits = self.decode(z)
        padding = torch.full_like(mask, self.num_ops, dtype=torch.long)
        target_ops = torch.where(mask, x.argmax(-1), padding)
        loss_ops = F.cross_entropy(op_logits.reshape(-1, self.num_ops + 1), target_ops.reshape(-1))
        pair = (mask.unsqueeze(2) & mask.unsqueeze(1)).float()  # real node pairs only
        bce = F.binary_cross_entropy_with_logits(adj_logits, adj, reduction="none")
        loss_adj = (bce * pair).sum() / pair.sum().clamp_min(1.0)
        loss = loss_ops + loss_adj
        if logvar is not None:
            kl = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
            loss = loss + kl_weight * kl
        with torch.no_grad():
            op_acc = (op_logits.argmax(-1) == target_ops).float().mean()
            hits = ((adj_logits > 0).float() == adj).float() * pair
            adj_acc = hits.sum() / pair.sum().clamp_min(1.0)
        return loss, {"op_acc": float(op_acc), "adj_acc": float(adj_acc)}


class AutoencoderTask(L.LightningModule):
    """Lightning wrapper that pretrains a :class:`GraphAutoencoder` on ``(x, adj, mask)``."""

    def __init__(self, model: GraphAutoencoder, lr: float = 2e-3, weight_decay: float = 0.0,
                 kl_weight: float = 1e-3) -> None:
        super().__init__()
        self.model, self.lr, self.weight_decay, self.kl_weight = model, lr, weight_decay, kl_weight
        self.last_metrics: dict = {}

    def training_step(self, batch, batch_idx):  # noqa: D102
        loss, metrics = self.model.loss(*batch, kl_weight=self.kl_weight)
        self.last_metrics = {"loss": float(loss.detach()), **metrics}
        return loss

    def configure_optimizers(self):  # noqa: D102
        opt = adamw(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = max(1, int(self.trainer.estimated_stepping_batches))
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=steps,
                                                    pct_start=warmup_fraction(steps))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
