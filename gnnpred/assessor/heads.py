"""The assessor's prediction heads: GCN heads on the pool's kNN graph, which read a cell's
neighbourhood in embedding space, and GIN regressor heads, which read the cell's own graph."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from gnnpred.assessor import training as T
from gnnpred.assessor.pool import Pool
from gnnpred.models.autoencoder import GINEncoder
from gnnpred.models.dense import DenseGraphs
from gnnpred.models.gcn import KNNGCN
from gnnpred.models.regressor import GraphRegressor
from gnnpred.similarity import knn

__all__ = ["Heads", "fit_heads"]


class Heads:
    """An ensemble of ``n_heads`` GCN and/or regressor heads and their scores of the pool.

    Ensemble member ``i`` is ``gcn_weight * gcn[i] + (1 - gcn_weight) * regressor[i]``; the
    prediction is the members' mean. Scores are in standardised target units.

    Attributes:
        gcn: GCN heads (empty when ``gcn_weight == 0``).
        regressor: Regressor heads (empty when ``gcn_weight == 1``).
        gcn_weight: Weight of the GCN heads.
        pool_scores: ``{"gcn": [n_heads, n_pool], "regressor": [...]}`` for the head types present.
        gcn_states: Per GCN head, the hidden states of the pool that new cells aggregate.
    """

    def __init__(self, gcn: list[KNNGCN], regressor: list[GraphRegressor],
                 gcn_weight: float) -> None:
        self.gcn, self.regressor, self.gcn_weight = gcn, regressor, gcn_weight
        self.pool_scores: dict[str, np.ndarray] = {}
        self.gcn_states: list[list[torch.Tensor]] = []

    def score_pool(self, pool: Pool, device: torch.device) -> None:
        """Score every pool row with every head; keep the GCN states for new cells."""
        feats, extra = pool.features()
        outs = [T.gcn_pool_forward(g, feats, pool.neighbours, device) for g in self.gcn]
        self.gcn_states = [states for _, states in outs]
        self.pool_scores = {}
        if self.gcn:
            self.pool_scores["gcn"] = torch.stack([o for o, _ in outs]).numpy()
        if self.regressor:
            self.pool_scores["regressor"] = torch.stack(
                [T.regressor_forward(r, pool.graphs, extra, device) for r in self.regressor]
            ).numpy()

    def combine(self, parts: dict[str, np.ndarray], gcn_scored: np.ndarray | None = None
                ) -> np.ndarray:
        """Ensemble members ``[n_heads, n]`` from per-type scores ``[n_heads, n]``.

        Args:
            parts: ``{"gcn": ..., "regressor": ...}`` for the head types present.
            gcn_scored: Bool ``[n]``: the cells the GCN heads scored; the others are the
                regressor heads' alone (None: all were scored).
        """
        gcn, reg = parts.get("gcn"), parts.get("regressor")
        if gcn is None:
            return reg
        if reg is None:
            return gcn
        mixed = self.gcn_weight * gcn + (1.0 - self.gcn_weight) * reg
        return mixed if gcn_scored is None else np.where(gcn_scored, mixed, reg)

    def score(self, pool: Pool, rows: np.ndarray, graphs: DenseGraphs | None,
              extra_z: torch.Tensor | None, embed: Callable[[np.ndarray], torch.Tensor],
              device: torch.device, gcn_top: int | None = None
              ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Per-type scores ``[n_heads, n]`` of ``n`` cells, and which ones the GCN scored.

        Args:
            pool: The pool the heads were trained on.
            rows: Pool row of each cell, ``-1`` for cells outside the pool.
            graphs: Graphs of the cells outside the pool (None if there are none).
            extra_z: Their standardised extra features ``[m, f]``.
            embed: Standardised embeddings ``[k, d]`` of the cells outside the pool at the
                given positions (``0 <= i < m``); called only for the cells the GCN scores.
            device: Where to compute.
            gcn_top: Score at most this many cells outside the pool with the GCN heads: the
                best by the regressor heads (None: all of them; ignored without regressor
                heads).

        Returns:
            ``(parts, gcn_scored)``: the scores (``"gcn"`` first), with NaN in the GCN columns
            of the cells it did not score, and a bool mask ``[n]`` of the cells it scored (None
            when it scored all).
        """
        new, old = np.flatnonzero(rows < 0), np.flatnonzero(rows >= 0)
        parts: dict[str, np.ndarray] = {}
        if self.regressor:
            out = np.empty((len(self.regressor), len(rows)))
            out[:, old] = self.pool_scores["regressor"][:, rows[old]]
            if new.size:
                out[:, new] = torch.stack([T.regressor_forward(r, graphs, extra_z, device)
                                           for r in self.regressor]).numpy()
            parts["regressor"] = out
        scored = None
        if self.gcn:
            out = np.full((len(self.gcn), len(rows)), np.nan)
            out[:, old] = self.pool_scores["gcn"][:, rows[old]]
            pick = np.arange(new.size)
            if gcn_top is not None and new.size > gcn_top and self.regressor:
                best = np.argsort(-parts["regressor"][:, new].mean(0), kind="stable")
                pick = np.sort(best[:gcn_top])
                scored = np.ones(len(rows), dtype=bool)
                scored[new] = False
                scored[new[pick]] = True
            if pick.size:
                out[:, new[pick]] = self._gcn_new(pool, embed(pick), extra_z[pick], device)
            parts["gcn"] = out
        return {k: parts[k] for k in ("gcn", "regressor") if k in parts}, scored

    def _gcn_new(self, pool: Pool, emb_z: torch.Tensor, extra_z: torch.Tensor,
                 device: torch.device) -> np.ndarray:
        """GCN scores of cells outside the pool: each aggregates its nearest pool cells."""
        nbr, _ = knn(emb_z, pool.points(), pool.neighbours.shape[1], device=device)
        feats = torch.cat([emb_z, extra_z], 1)
        outs = []
        with torch.no_grad():
            for head, states in zip(self.gcn, self.gcn_states, strict=True):
                head.eval()
                outs.append(head.predict_new(feats, nbr, states))
        return torch.stack(outs).numpy()

    def state_dict(self) -> dict:
        """Plain types and tensors only."""
        return {
            "gcn": [h.state_dict() for h in self.gcn],
            "regressor": [h.state_dict() for h in self.regressor],
            "gcn_weight": float(self.gcn_weight),
            "pool_scores": {k: torch.from_numpy(v) for k, v in self.pool_scores.items()},
        }

    @classmethod
    def from_state(cls, state: dict, est: Any, pool: Pool, num_ops: int,
                   device: torch.device) -> Heads:
        """Rebuild heads written by :meth:`state_dict` (``est`` gives their shapes)."""
        n_feat = pool.embedding.shape[1] + pool.extra.shape[1]
        gcn = []
        for sd in state["gcn"]:
            g = KNNGCN(n_feat, est.hidden_channels, est.gcn_layers)
            g.load_state_dict(sd)
            gcn.append(g.eval())
        reg = []
        for sd in state["regressor"]:
            enc = GINEncoder(num_ops, est.hidden_channels, est.embedding_dim, est.num_layers)
            r = GraphRegressor(enc, pool.extra.shape[1], est.hidden_channels)
            r.load_state_dict(sd)
            reg.append(r.eval())
        heads = cls(gcn, reg, state["gcn_weight"])
        feats, _ = pool.features()
        heads.gcn_states = [T.gcn_pool_forward(g, feats, pool.neighbours, device)[1] for g in gcn]
        heads.pool_scores = {k: v.numpy() for k, v in state["pool_scores"].items()}
        want = {"gcn": len(gcn), "regressor": len(reg)}
        for kind, n in want.items():
            got = heads.pool_scores.get(kind)
            if n and (got is None or got.shape != (n, len(pool))):
                raise ValueError(f"the {kind} heads' pool scores have shape "
                                 f"{None if got is None else got.shape}, expected "
                                 f"{(n, len(pool))}")
        return heads


def _train(est: Any, pool: Pool, idx: np.ndarray, tgt: np.ndarray, wt: np.ndarray,
           rng: np.random.Generator, device: torch.device, warm: Heads | None) -> Heads:
    """Train one ensemble on (pseudo-)labelled pool rows ``idx``; continue ``warm``'s heads."""
    t_idx = torch.as_tensor(idx, dtype=torch.long)
    t_y = torch.as_tensor(tgt, dtype=torch.float32)
    t_w = torch.as_tensor(wt, dtype=torch.float32)
    feats, extra = pool.features()
    old_gcn, old_reg = (warm.gcn, warm.regressor) if warm is not None else ([], [])
    gcn, reg = [], []
    for i in range(est.n_heads):
        if est.gcn_weight > 0:
            epochs = est.gcn_epochs
            if i < len(old_gcn):
                g, epochs = copy.deepcopy(old_gcn[i]), max(1, est.gcn_epochs // 5)
            else:
                g = KNNGCN(feats.shape[1], est.hidden_channels, est.gcn_layers)
            T.train_gcn(g, feats, pool.neighbours, t_idx, t_y, t_w, epochs=epochs, lr=5e-3,
                        rank_weight=est.rank_weight, device=device, verbose=est.verbose)
            gcn.append(g)
        if est.gcn_weight < 1:
            steps = est.regressor_steps
            if i < len(old_reg):
                r, steps = copy.deepcopy(old_reg[i]), max(1, est.regressor_steps // 6)
            else:
                enc = GINEncoder(pool.graphs.x.shape[-1], est.hidden_channels, est.embedding_dim,
                                 est.num_layers)
                r = GraphRegressor(enc, extra.shape[1], est.hidden_channels)
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            T.train_regressor(r, pool.graphs[t_idx], extra[t_idx], t_y, t_w, steps=steps,
                              batch_size=est.batch_size, lr=2e-3, rank_weight=est.rank_weight,
                              gen=gen, device=device, verbose=est.verbose)
            reg.append(r)
    heads = Heads(gcn, reg, est.gcn_weight)
    heads.score_pool(pool, device)
    return heads


def fit_heads(est: Any, pool: Pool, train_idx: np.ndarray, ys: np.ndarray, w: np.ndarray,
              rng: np.random.Generator, device: torch.device, warm: Heads | None) -> Heads:
    """Train the heads of ``est`` (an :class:`~gnnpred.Assessor`) on labelled pool rows.

    With ``self_training`` rounds, each round adds ``pseudo_labels`` unlabelled pool rows
    labelled by the previous round's prediction (weight ``pseudo_weight``) and retrains.
    ``warm`` heads are continued for 1/5 of ``gcn_epochs`` and 1/6 of ``regressor_steps``.

    Args:
        est: The estimator whose hyper-parameters apply.
        pool: The pool, with its kNN graph built.
        train_idx: Pool rows of the labelled cells.
        ys: Their training targets.
        w: Their loss weights.
        rng: Generator for pseudo-label draws and training order.
        device: Where to train.
        warm: Heads of a previous fit to continue, or None.

    Returns:
        The trained heads, with their pool scores.
    """
    labelled = np.zeros(len(pool), bool)
    labelled[train_idx] = True
    heads = _train(est, pool, train_idx, ys, w, rng, device, warm)
    for _ in range(est.self_training):
        pool_pred = heads.combine(heads.pool_scores).mean(0)
        cand = np.flatnonzero(~labelled)
        pick = rng.choice(cand, size=min(est.pseudo_labels, cand.size), replace=False)
        idx = np.concatenate([train_idx, pick])
        tgt = np.concatenate([ys, pool_pred[pick]])
        wt = np.concatenate([w, np.full(pick.size, est.pseudo_weight)])
        heads = _train(est, pool, idx, tgt, wt, rng, device, warm)
    return heads
