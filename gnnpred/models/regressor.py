"""Supervised graph regressor: the pretrained GIN encoder, fine-tuned with an MLP head on the
labelled (and pseudo-labelled) cells. Complements the kNN GCN: it reads each cell's own graph, the
GCN reads its neighbourhood in embedding space (see Tang et al., CVPR 2020,
https://arxiv.org/abs/2005.06821, and SemiNAS, Luo et al., NeurIPS 2020,
https://arxiv.org/abs/2002.10389, whose predictor is likewise an encoder fine-tuned on few labels).
"""

from __future__ import annotations

import lightning as L
import torch
from torch import Tensor, nn

from gnnpred.models.autoencoder import GINEncoder
from gnnpred.models.losses import rank_regression_loss
from gnnpred.models.optim import adamw

__all__ = ["GraphRegressor", "RegressorTask"]


class GraphRegressor(nn.Module):
    """Encoder embedding (+ optional extra per-cell features) -> MLP -> score.

    Args:
        encoder: A (pretrained) :class:`GINEncoder`; it is fine-tuned in place.
        extra_channels: Width of the extra per-cell features (0 for none).
        hidden_channels: MLP width.
        dropout: MLP dropout.
    """

    def __init__(self, encoder: GINEncoder, extra_channels: int = 0, hidden_channels: int = 64,
                 dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        self.head = nn.Sequential(
            nn.Linear(encoder.out_channels + extra_channels, hidden_channels), nn.ReLU(),
            nn.Dropout(dropout), nn.Linear(hidden_channels, 1),
        )

    def forward(self, x: Tensor, adj: Tensor, mask: Tensor, extra: Tensor | None = None) -> Tensor:
        """Scores ``[B]`` of padded cells (``extra``: ``[B, extra_channels]``)."""
        z = self.encoder(x, adj, mask)[0]
        if extra is not None:
            z = torch.cat([z, extra], dim=-1)
        return self.head(z).squeeze(-1)


class RegressorTask(L.LightningModule):
    """Lightning fine-tuning of a :class:`GraphRegressor` on ``(x, adj, mask, extra, y, w)``.

    The encoder learns at ``encoder_lr_scale`` times the head's rate, so a few labels refine the
    pretrained embedding instead of overwriting it.
    """

    def __init__(self, model: GraphRegressor, lr: float = 2e-3, weight_decay: float = 1e-4,
                 rank_weight: float = 1.0, encoder_lr_scale: float = 0.3) -> None:
        super().__init__()
        self.model, self.lr, self.weight_decay = model, lr, weight_decay
        self.rank_weight, self.encoder_lr_scale = rank_weight, encoder_lr_scale

    def training_step(self, batch, batch_idx):  # noqa: D102
        x, adj, mask, extra, y, w = batch
        pred = self.model(x, adj, mask, extra if extra.shape[-1] else None)
        return rank_regression_loss(pred, y, self.rank_weight, w)

    def configure_optimizers(self):  # noqa: D102
        groups = [
            {"params": self.model.encoder.parameters(), "lr": self.lr * self.encoder_lr_scale},
            {"params": self.model.head.parameters(), "lr": self.lr},
        ]
        return adamw(groups, lr=self.lr, weight_decay=self.weight_decay)
