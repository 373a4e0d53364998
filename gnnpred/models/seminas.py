"""The controller of SemiNAS on a pretrained graph autoencoder: a performance predictor on the
embedding, gradient ascent of its prediction in embedding space, and decoding of embeddings back
to the cells of a finite set by the decoder's likelihood.

NAO (Luo et al., NeurIPS 2018, https://arxiv.org/abs/1808.07233) maps cells to a continuous
embedding, predicts their performance there and moves good cells' embeddings along the gradient
of the prediction before decoding them into new cells. SemiNAS (Luo et al., NeurIPS 2020,
https://arxiv.org/abs/2002.10389) trains that predictor on a few evaluated cells plus many
unevaluated ones pseudo-labelled by the predictor itself, with the evaluated cells up-sampled.

Here the embedding is that of the assessor's :class:`~gnnpred.models.autoencoder.GraphAutoencoder`
(pretrained without labels, kept frozen), so the predictor is a small MLP and the decoder is the
autoencoder's own. Decoding picks, among candidate cells given as padded graphs, the one whose
graph the decoder gives the highest likelihood: when the candidates are the cells a benchmark
table holds, the result is always a valid, queryable cell, where decoding node by node and
repairing could give an invalid graph or a cell outside a table that samples its space.

Cost: scoring ``B`` embeddings against ``n`` candidate cells of ``N`` nodes and ``V`` ops is
three matrix products of ``[B, N (V + 1)]`` or ``[B, N^2]`` by ``[., n]``, so every table cell can
be a candidate (15,625 for NB201, 20,001 for the NB101 sample).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from gnnpred.models.autoencoder import GraphAutoencoder
from gnnpred.models.dense import DenseGraphs

__all__ = ["EmbeddingPredictor", "fit_predictor", "ascend", "DecoderTargets"]


class EmbeddingPredictor(nn.Module):
    """MLP from a cell's embedding ``[B, d]`` to a predicted score ``[B]``.

    Args:
        embedding_dim: Size of the embedding.
        hidden_channels: Width of the hidden layers.
        num_layers: Hidden layers.
    """

    def __init__(self, embedding_dim: int, hidden_channels: int = 64, num_layers: int = 2) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = embedding_dim
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden_channels), nn.ReLU()]
            width = hidden_channels
        self.mlp = nn.Sequential(*layers, nn.Linear(width, 1))

    def reset_parameters(self) -> None:
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                m.reset_parameters()

    def forward(self, z: Tensor) -> Tensor:
        return self.mlp(z).squeeze(-1)


def fit_predictor(model: EmbeddingPredictor, z: Tensor, y: Tensor, *, steps: int,
                  lr: float = 1e-2, weight_decay: float = 1e-4) -> EmbeddingPredictor:
    """Train ``model`` on embeddings ``z [n, d]`` and targets ``y [n]`` with full-batch Adam
    steps on the MSE (a few thousand rows of a small MLP: one batch is fastest and has no
    shuffling to seed).

    Returns:
        ``model`` in eval mode.
    """
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    model.train()
    for _ in range(steps):
        opt.zero_grad()
        F.mse_loss(model(z), y).backward()
        opt.step()
    return model.eval()


def ascend(model: EmbeddingPredictor, z: Tensor, *, step_size: float, steps: int) -> Tensor:
    """Gradient ascent of the prediction from each embedding (NAO's generator).

    Each step moves every embedding by ``step_size`` along its normalised gradient, so the
    distance travelled does not depend on the scale of the prediction.

    Args:
        model: The predictor.
        z: Start points ``[B, d]``.
        step_size: Length of one step (in embedding units).
        steps: Number of steps.

    Returns:
        The points after each step ``[steps, B, d]`` (the start points excluded).
    """
    out = []
    cur = z.detach().clone()
    with torch.enable_grad():  # also under a caller's no_grad
        for _ in range(steps):
            cur.requires_grad_(True)
            (grad,) = torch.autograd.grad(model(cur).sum(), cur)
            cur = (cur + step_size * grad / grad.norm(dim=-1, keepdim=True).clamp_min(1e-12))
            cur = cur.detach()
            out.append(cur)
    return torch.stack(out)


class DecoderTargets:
    """Candidate cells as decoder targets: ``log p(cell | z)`` for many embeddings at once.

    The autoencoder's decoder gives each node a categorical distribution over the ops plus a
    "no node" class, and each pair of real nodes an independent edge probability (the terms of
    its reconstruction loss). A cell's log-likelihood is the sum of those terms, linear in the
    cell's one-hot ops and adjacency, so all cells are scored by two matrix products.

    Args:
        graphs: The candidate cells as padded graphs (``n`` cells of ``N`` nodes, ``V`` ops).
    """

    def __init__(self, graphs: DenseGraphs) -> None:
        x, adj, mask = graphs.tensors()
        n, nodes, vocab = x.shape
        pad = torch.zeros(n, nodes, 1)
        # [n, N, V + 1]: one-hot op per real node, the last class for padding
        ops = torch.cat([x * mask[..., None], pad + (~mask)[..., None].float()], dim=-1)
        pair = (mask[:, :, None] & mask[:, None, :]).float()  # [n, N, N]
        self.ops = ops.reshape(n, -1)
        self.edges = (pair * adj).reshape(n, -1)
        self.no_edges = (pair * (1.0 - adj)).reshape(n, -1)

    def __len__(self) -> int:
        return self.ops.shape[0]

    @torch.no_grad()
    def log_likelihood(self, autoencoder: GraphAutoencoder, z: Tensor) -> Tensor:
        """``log p(cell_i | z_b)`` under the decoder, ``[B, n]``, for embeddings ``z [B, d]``."""
        op_logits, adj_logits = autoencoder.decode(z)
        logp_ops = F.log_softmax(op_logits, dim=-1).reshape(len(z), -1)  # [B, N * (V + 1)]
        flat = adj_logits.reshape(len(z), -1)  # [B, N * N]
        return (logp_ops @ self.ops.T + F.logsigmoid(flat) @ self.edges.T
                + F.logsigmoid(-flat) @ self.no_edges.T)
