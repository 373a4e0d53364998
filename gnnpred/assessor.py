"""The semi-supervised GNN assessor: a scikit-learn style performance predictor for NAS.

Pipeline (Tang et al., CVPR 2020, https://arxiv.org/abs/2005.06821; SemiNAS, Luo et al.,
NeurIPS 2020, https://arxiv.org/abs/2002.10389):

0. every cell is modelled through ``space.canonical`` (NB201 dead edges become ``none``), so cells
   computing the same function share one graph, one pool node and one prediction;
1. a graph autoencoder is pretrained on a pool of unlabelled cells (the whole space when small);
2. the pool (labelled + unlabelled cells) becomes a kNN graph in embedding space;
3. GCN heads on that graph, and GIN regressor heads on each cell's own graph, are trained on the
   rank-normalised labels with MSE + a pairwise ranking loss; predictions are a weighted average
   (``gcn_weight``) mapped back to label units by a monotone interpolation;
4. optional self-training rounds pseudo-label unlabelled pool cells and refit.

Measured on NB201 CIFAR-10 with 100 labels (``benchmarks/predictor.py``): canonical cells, the
rank target and the regressor ensemble carry most of the accuracy; the GCN heads and the
unlabelled pool add little at this size (Kendall +0.001, top-5% precision +0.016).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError

from gnnpred import _assessor_pool as P
from gnnpred import _assessor_train as T
from gnnpred._assessor_io import load_assessor, save_assessor
from gnnpred._assessor_params import (
    check_extra,
    check_labels,
    check_params,
    check_sample_weight,
    check_unlabeled,
    resolve_space,
)
from gnnpred._common import check_random_state, resolve_device
from gnnpred.models.autoencoder import GINEncoder, GraphAutoencoder
from gnnpred.models.dense import DenseGraphs
from gnnpred.models.gcn import KNNGCN
from gnnpred.models.regressor import GraphRegressor
from gnnpred.similarity import knn, knn_extend

__all__ = ["Assessor"]
log = logging.getLogger(__name__)


class Assessor(RegressorMixin, BaseEstimator):
    """Semi-supervised GNN performance predictor (scikit-learn estimator).

    Args:
        space: Search-space name (``"nasbench201"``, ``"nasbench101"``, ``"nasbench-graph"``) or a
            :class:`~gnnpred.spaces.SearchSpace` instance.
        embedding_dim: Autoencoder embedding size.
        hidden_channels: Width of the encoder, decoder, GCN and regressor heads.
        num_layers: Encoder GIN layers.
        variational: Variational autoencoder (arch2vec-style) instead of a plain one.
        pretrain_steps: Autoencoder optimiser steps (0 skips pretraining).
        batch_size: Mini-batch size for pretraining and fine-tuning.
        k: Neighbours per cell in the similarity graph.
        gcn_layers: GCN propagation layers.
        gcn_epochs: Full-batch GCN training epochs.
        regressor_steps: Training steps of each GIN regressor head.
        n_heads: Ensemble size of each head type.
        gcn_weight: Weight of the GCN heads in the final average (1: GCN only, 0: encoder heads only).
        rank_weight: Weight of the pairwise ranking loss next to the MSE.
        self_training: Pseudo-labelling rounds (SemiNAS); 0 disables.
        pseudo_labels: Unlabelled pool cells pseudo-labelled per round.
        pseudo_weight: Loss weight of a pseudo-label (a true label weighs 1).
        max_unlabeled: Default pool size: the whole space when it has at most this many cells,
            otherwise this many sampled cells.
        extra_features: Optional picklable callable ``archs -> [n, f]`` array of per-cell features
            (e.g. zero-cost scores) appended to the node features of both head types.
        warm_start: When ``fit`` is called again with the same space, unlabelled pool and model
            shape, reuse the autoencoder, pool embeddings, their standardisation and the
            similarity graph (extended with :func:`~gnnpred.similarity.knn_extend`, not rebuilt,
            when labelled cells outside the pool join it), and continue training the previous
            heads for 1/5 of ``gcn_epochs`` and 1/6 of ``regressor_steps`` (cheap refits in
            assessor-guided search).
        warm_heads: Only with ``warm_start``: continue the previous prediction heads (``True``) or
            train new heads from scratch on the reused autoencoder and pool (``False``: full
            ``gcn_epochs``/``regressor_steps``, slower, but not anchored to a fit on fewer labels;
            assessor-guided search uses it).
        regressor_init: Encoder of each regressor head: ``"pretrained"`` (a copy of the
            autoencoder's, fine-tuned) or ``"scratch"`` (freshly initialised).
        target_transform: ``"rank"`` (train on normal scores of the label ranks; predictions are
            mapped back to label units by monotone interpolation) or ``"standard"`` (z-scores).
        canonicalize: Model each cell through ``space.canonical`` (cells computing the same
            function share one pool node and one prediction; NB201 dead edges become ``none``).
        num_threads: Torch intra-op threads while fitting/predicting (restored afterwards);
            ``None`` keeps torch's setting. The default 1 is fastest for these small tensors.
        random_state: Seed (int) or ``None``.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
        verbose: Show Lightning progress and log stages.

    Example:
        >>> a = Assessor("nasbench201", random_state=0).fit(archs, accuracies)  # doctest: +SKIP
        >>> scores = a.predict(candidates)  # doctest: +SKIP
    """

    def __init__(self, space: Any = "nasbench201", *, embedding_dim: int = 32, hidden_channels: int = 64,
                 num_layers: int = 4, variational: bool = False, pretrain_steps: int = 500,
                 batch_size: int = 256, k: int = 10, gcn_layers: int = 2, gcn_epochs: int = 100,
                 regressor_steps: int = 300, n_heads: int = 3, gcn_weight: float = 0.1,
                 rank_weight: float = 1.0, self_training: int = 0, pseudo_labels: int = 1000,
                 pseudo_weight: float = 0.3, max_unlabeled: int = 20000,
                 extra_features: Callable[[list], np.ndarray] | None = None, warm_start: bool = False,
                 warm_heads: bool = True, regressor_init: str = "scratch", target_transform: str = "rank",
                 canonicalize: bool = True,
                 num_threads: int | None = 1, random_state: int | None = 0, device: str = "auto",
                 verbose: bool = False) -> None:
        self.space = space
        self.embedding_dim = embedding_dim
        self.hidden_channels = hidden_channels
        self.num_layers = num_layers
        self.variational = variational
        self.pretrain_steps = pretrain_steps
        self.batch_size = batch_size
        self.k = k
        self.gcn_layers = gcn_layers
        self.gcn_epochs = gcn_epochs
        self.regressor_steps = regressor_steps
        self.n_heads = n_heads
        self.gcn_weight = gcn_weight
        self.rank_weight = rank_weight
        self.self_training = self_training
        self.pseudo_labels = pseudo_labels
        self.pseudo_weight = pseudo_weight
        self.max_unlabeled = max_unlabeled
        self.extra_features = extra_features
        self.warm_start = warm_start
        self.warm_heads = warm_heads
        self.canonicalize = canonicalize
        self.target_transform = target_transform
        self.regressor_init = regressor_init
        self.num_threads = num_threads
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    # ------------------------------------------------------------------------------------ fit
    def fit(self, archs: Sequence, y: Sequence[float], unlabeled: None | int | Sequence = None,
            sample_weight: Sequence[float] | None = None) -> Assessor:
        """Fit on labelled cells, using unlabelled cells for pretraining and the similarity graph.

        Args:
            archs: Labelled architectures of the space.
            y: Their scores (higher is better), same length.
            unlabeled: ``None`` (the whole space when it has at most ``max_unlabeled`` cells,
                else ``max_unlabeled`` sampled cells), an int (sample that many; 0: labelled
                cells only) or a list of architectures.
            sample_weight: Optional non-negative weight of each label in the heads' losses (the
                MSE term and, as ``w_i * w_j``, each ranking pair); ``None`` weighs all equally.
                Search uses it to stress the order among the best cells found.

        Returns:
            ``self``.

        Raises:
            ValueError: On bad hyper-parameters, empty input, length mismatch, non-finite labels
                or bad sample weights.
            TypeError: On cells of another space or wrong argument types.
        """
        params = self.get_params(deep=False)
        check_params(params)
        space = resolve_space(self.space)
        archs = space.check_archs(archs, "archs")
        if len(archs) < 2:
            raise ValueError(f"fit needs at least 2 labelled architectures. Got {len(archs)}.")
        y = check_labels(y, len(archs))
        w = check_sample_weight(sample_weight, len(archs))
        check_unlabeled(unlabeled)
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        seed = int(rng.integers(2**31))
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda), T.torch_threads(self.num_threads):
            torch.manual_seed(seed)
            self._fit(space, archs, y, w, unlabeled, rng, device)
        return self

    def _unlabeled_key(self, space, unlabeled) -> str:
        return P.unlabeled_key(self, space, unlabeled)

    def _cell(self, space, arch):
        """The cell the models see: its canonical form when ``canonicalize`` is on."""
        return space.canonical(arch) if self.canonicalize else arch

    def _draw_unlabeled(self, space, unlabeled, rng) -> list:
        return P.draw_unlabeled(space, unlabeled, self.max_unlabeled, rng, self._cell)

    def _fit(self, space, archs, y, w, unlabeled, rng, device) -> None:
        key = self._unlabeled_key(space, unlabeled)
        reuse = bool(self.warm_start) and getattr(self, "unlabeled_key_", None) == key and hasattr(self, "autoencoder_")
        self._warm = None
        if reuse:
            pool, index = self.pool_, dict(self.pool_index_)
            new = {}
            for a in archs:
                c = self._cell(space, a)
                if space.hash(c) not in index:
                    new[space.hash(c)] = c
            new = list(new.values())
            pool = list(pool)
            for c in new:
                index[space.hash(c)] = len(pool)
                pool.append(c)
            graphs = DenseGraphs.cat([self.pool_graphs_, T.dense_graphs(space, new, self.max_nodes_)]) if new else self.pool_graphs_
            emb = torch.cat([self.pool_embedding_, T.embed(self.autoencoder_, graphs[len(self.pool_):], device)])
            extra = self._pool_extra(new, self.pool_extra_raw_)
            # sklearn warm start: heads continue from the previous solution, with fewer steps
            heads = bool(self.warm_heads)
            self._warm = {"gcn": self.gcn_heads_ if heads else [], "reg": self.reg_heads_ if heads else []}
        else:
            extra_cells = self._draw_unlabeled(space, unlabeled, rng)
            pool, index = [], {}
            for a in [*archs, *extra_cells]:
                c = self._cell(space, a)
                h = space.hash(c)
                if h not in index:
                    index[h] = len(pool)
                    pool.append(c)
            self.max_nodes_ = T.max_nodes_of(space, pool)
            graphs = T.dense_graphs(space, pool, self.max_nodes_)
            ae = GraphAutoencoder(len(space.op_vocab), self.max_nodes_, self.hidden_channels,
                                  self.embedding_dim, self.num_layers, self.variational)
            self.pretrain_metrics_ = {}
            if self.pretrain_steps:
                gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
                log.info("pretraining the autoencoder on %d cells", len(pool))
                self.pretrain_metrics_ = T.pretrain_autoencoder(
                    ae, graphs, steps=self.pretrain_steps, batch_size=self.batch_size, lr=2e-3,
                    gen=gen, device=device, verbose=self.verbose)
            self.autoencoder_ = ae.eval()
            emb = T.embed(ae, graphs, device)
            extra = self._pool_extra(pool, None)
        self.space_ = space
        self.unlabeled_key_ = key
        self.pool_, self.pool_index_, self.pool_graphs_, self.pool_embedding_ = pool, index, graphs, emb
        self.pool_extra_raw_ = extra
        self._fit_heads(space, archs, y, w, rng, device)

    def _pool_extra(self, new_cells: list, old: np.ndarray | None) -> np.ndarray:
        if self.extra_features is None:
            return np.zeros((len(new_cells) + (0 if old is None else len(old)), 0))
        feats = check_extra(self.extra_features(list(new_cells)), len(new_cells), "pool architectures") if new_cells else None
        if old is None:
            return feats
        return old if feats is None else np.concatenate([old, feats])

    def _fit_heads(self, space, archs, y, w, rng, device) -> None:
        emb = self.pool_embedding_.numpy().astype(np.float64)
        if self._warm:  # the first fit's standardisation: old rows' features and graph stay valid
            emb_z = (emb - self.emb_mean_) / self.emb_std_
            ext_z = (self.pool_extra_raw_ - self.extra_mean_) / self.extra_std_
        else:
            emb_z, self.emb_mean_, self.emb_std_ = T.standardise(emb)
            ext_z, self.extra_mean_, self.extra_std_ = T.standardise(self.pool_extra_raw_)
        self.pool_features_ = torch.as_tensor(np.concatenate([emb_z, ext_z], 1), dtype=torch.float32)
        self.pool_extra_ = torch.as_tensor(ext_z, dtype=torch.float32)
        k = min(self.k, len(self.pool_) - 1)
        if k < 1:
            raise ValueError("The pool needs at least 2 distinct architectures for the similarity graph.")
        points = self.pool_features_[:, : emb_z.shape[1]]
        # warm: decided by row counts, so that a fit that failed half-way is repaired by the next
        nbr = getattr(self, "neighbours_", None) if self._warm else None
        old = getattr(self, "neighbour_dist_", None) if self._warm else None
        if nbr is not None and tuple(nbr.shape) == (len(self.pool_), k):  # unchanged pool: keep the graph
            pass
        elif nbr is not None and old is not None and old.shape == nbr.shape and nbr.shape[1] == k:
            self.neighbours_, self.neighbour_dist_ = knn_extend(nbr, old, points, device=device)  # cells joined
        else:
            self.neighbours_, self.neighbour_dist_ = knn(points, points, k, exclude_self=True, device=device)
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) if y.std() > 1e-12 else 1.0
        ys, self.y_knots_ = T.fit_target(y, self.target_transform)
        train_idx = np.asarray([self.pool_index_[space.hash(self._cell(space, a))] for a in archs])
        labelled = np.zeros(len(self.pool_), bool)
        labelled[train_idx] = True
        for rnd in range(self.self_training + 1):
            if rnd:
                pool_pred = self._combine(*self._pool_head_outputs(device)).mean(0)
                cand = np.flatnonzero(~labelled)
                pick = rng.choice(cand, size=min(self.pseudo_labels, cand.size), replace=False)
                idx = np.concatenate([train_idx, pick])
                tgt = np.concatenate([ys, pool_pred[pick]])
                wt = np.concatenate([w, np.full(pick.size, self.pseudo_weight)])
            else:
                idx, tgt, wt = train_idx, ys, w
            self._train_heads(idx, tgt, wt, rng, device)
        self.gcn_pool_out_, self.reg_pool_out_ = self._pool_head_outputs(device)
        self._warm = None

    def _train_heads(self, idx, tgt, wt, rng, device) -> None:
        t_idx = torch.as_tensor(idx, dtype=torch.long)
        t_y = torch.as_tensor(tgt, dtype=torch.float32)
        t_w = torch.as_tensor(wt, dtype=torch.float32)
        warm = getattr(self, "_warm", None) or {"gcn": [], "reg": []}
        self.gcn_heads_, self.reg_heads_ = [], []
        for i in range(self.n_heads):
            if self.gcn_weight > 0:
                epochs = self.gcn_epochs
                if i < len(warm["gcn"]):
                    gcn, epochs = copy.deepcopy(warm["gcn"][i]), max(1, self.gcn_epochs // 5)
                else:
                    gcn = KNNGCN(self.pool_features_.shape[1], self.hidden_channels, self.gcn_layers)
                T.train_gcn(gcn, self.pool_features_, self.neighbours_, t_idx, t_y, t_w,
                            epochs=epochs, lr=5e-3, rank_weight=self.rank_weight,
                            device=device, verbose=self.verbose)
                self.gcn_heads_.append(gcn)
            if self.gcn_weight < 1:
                steps = self.regressor_steps
                if i < len(warm["reg"]):
                    reg, steps = copy.deepcopy(warm["reg"][i]), max(1, self.regressor_steps // 6)
                else:
                    reg = GraphRegressor(self._head_encoder(), self.pool_extra_.shape[1], self.hidden_channels)
                gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
                T.train_regressor(reg, self.pool_graphs_[t_idx], self.pool_extra_[t_idx], t_y, t_w,
                                  steps=steps, batch_size=self.batch_size, lr=2e-3,
                                  rank_weight=self.rank_weight, gen=gen, device=device, verbose=self.verbose)
                self.reg_heads_.append(reg)
        self._gcn_states = None

    def _head_encoder(self) -> GINEncoder:
        """Encoder of a new regressor head: a copy of the pretrained one, or a fresh one."""
        if self.regressor_init == "pretrained":
            return copy.deepcopy(self.autoencoder_.encoder)
        enc = self.autoencoder_.encoder
        return GINEncoder(enc.lin_in.in_features, self.hidden_channels, self.embedding_dim, self.num_layers)

    def _gcn_states_of(self, device) -> list:
        if getattr(self, "_gcn_states", None) is None:
            self._gcn_states = [T.gcn_pool_forward(g, self.pool_features_, self.neighbours_, device)
                                for g in self.gcn_heads_]
        return self._gcn_states

    def _pool_head_outputs(self, device) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-head standardised scores of the pool: ``[n_heads, n_pool]`` per head type (or None)."""
        self._gcn_states = None
        gcn = reg = None
        if self.gcn_heads_:
            gcn = torch.stack([o for o, _ in self._gcn_states_of(device)]).numpy()
        if self.reg_heads_:
            reg = torch.stack([T.regressor_forward(r, self.pool_graphs_, self.pool_extra_, device)
                               for r in self.reg_heads_]).numpy()
        return gcn, reg

    def _combine(self, gcn: np.ndarray | None, reg: np.ndarray | None) -> np.ndarray:
        """Weighted average of the head types; inputs and output are ``[n_heads, n]`` or ``[n]``."""
        if gcn is None:
            return reg
        if reg is None:
            return gcn
        return self.gcn_weight * gcn + (1.0 - self.gcn_weight) * reg

    # ---------------------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> None:
        """Write the fitted assessor to one file (``torch.save`` of params, state dicts, arrays).

        Args:
            path: Destination file.

        Raises:
            NotFittedError: Before :meth:`fit`.
            TypeError: If ``space`` or ``extra_features`` cannot be pickled (e.g. a lambda).
        """
        self._check_fitted()
        save_assessor(self, path)

    @classmethod
    def load(cls, path: str | Path) -> Assessor:
        """Load an assessor written by :meth:`save`; its predictions are bit-identical.

        Only load files you trust: the file may hold pickled objects (``space``,
        ``extra_features``).

        Args:
            path: A file written by :meth:`save`.

        Returns:
            The fitted assessor.

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If it is not a saved assessor.
        """
        return load_assessor(cls, path)

    # ------------------------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "autoencoder_"):
            raise NotFittedError(
                "This Assessor instance is not fitted yet. Call 'fit' with labelled architectures first."
            )

    def predict(self, archs: Sequence, *, return_std: bool = False, return_parts: bool = False):
        """Predict the scores of ``archs``.

        Args:
            archs: Architectures of the fitted space (pool cells or new ones).
            return_std: Also return the standard deviation of the ensemble members' predictions
                (member ``i`` combines the ``i``-th GCN and regressor heads, as the mean does), in
                label units: a disagreement score for acquisition functions such as
                ``mean + beta * std``. It is 0 everywhere with ``n_heads=1``.
            return_parts: Also return a dict with the GCN and encoder-head predictions.

        Returns:
            Predictions ``[len(archs)]`` in the units of the training labels, followed by the
            standard deviations ``[len(archs)]`` when ``return_std`` and by the parts dict when
            ``return_parts`` (in that order).

        Raises:
            NotFittedError: Before :meth:`fit`.
            ValueError: On empty input.
            TypeError: On cells of another space.
        """
        self._check_fitted()
        space = self.space_
        archs = space.check_archs(archs, "archs")
        if not archs:
            raise ValueError("predict needs at least 1 architecture. Got an empty list.")
        device = resolve_device(self.device)
        with T.torch_threads(self.num_threads):
            parts = self._predict_standardised(space, archs, device)
        members = self._combine(parts.get("gcn"), parts.get("regressor"))  # [n_heads, n]
        out = [self._to_label_units(members.mean(0))]
        if return_std:
            out.append(np.stack([self._to_label_units(m) for m in members]).std(0))
        if return_parts:
            out.append({name: self._to_label_units(v.mean(0)) for name, v in parts.items()})
        return out[0] if len(out) == 1 else tuple(out)

    def _to_label_units(self, z: np.ndarray) -> np.ndarray:
        return T.inverse_target(z, self.target_transform, self.y_mean_, self.y_std_, self.y_knots_)

    def _predict_standardised(self, space, archs, device) -> dict[str, np.ndarray]:
        archs = [self._cell(space, a) for a in archs]
        pos = np.asarray([self.pool_index_.get(space.hash(a), -1) for a in archs])
        new = np.flatnonzero(pos < 0)
        graphs = T.dense_graphs(space, [archs[i] for i in new], self.max_nodes_) if new.size else None
        extra = None
        if new.size:
            raw = (check_extra(self.extra_features([archs[i] for i in new]), new.size, "architectures")
                   if self.extra_features is not None else np.zeros((new.size, 0)))
            if raw.shape[1] != self.pool_extra_.shape[1]:
                raise ValueError(f"extra_features returned {raw.shape[1]} columns; it returned "
                                 f"{self.pool_extra_.shape[1]} at fit time.")
            extra = torch.as_tensor((raw - self.extra_mean_) / self.extra_std_, dtype=torch.float32)
        parts: dict[str, np.ndarray] = {}
        old = np.flatnonzero(pos >= 0)
        if self.gcn_heads_:
            gcn = np.empty((len(self.gcn_heads_), len(archs)))
            gcn[:, old] = self._pool_rows(self.gcn_pool_out_)[:, pos[old]]
            if new.size:
                emb = T.embed(self.autoencoder_, graphs, device).numpy().astype(np.float64)
                emb_z = torch.as_tensor((emb - self.emb_mean_) / self.emb_std_, dtype=torch.float32)
                d = emb_z.shape[1]
                nbr, _ = knn(emb_z, self.pool_features_[:, :d], self.neighbours_.shape[1], device=device)
                feats = torch.cat([emb_z, extra], 1)
                outs = []
                with torch.no_grad():
                    for head, (_, states) in zip(self.gcn_heads_, self._gcn_states_of(device), strict=True):
                        head.eval()
                        outs.append(head.predict_new(feats, nbr, states))
                gcn[:, new] = torch.stack(outs).numpy()
            parts["gcn"] = gcn
        if self.reg_heads_:
            reg = np.empty((len(self.reg_heads_), len(archs)))
            reg[:, old] = self._pool_rows(self.reg_pool_out_)[:, pos[old]]
            if new.size:
                reg[:, new] = torch.stack([T.regressor_forward(r, graphs, extra, device)
                                           for r in self.reg_heads_]).numpy()
            parts["regressor"] = reg
        return parts

    @staticmethod
    def _pool_rows(a: np.ndarray) -> np.ndarray:
        """Per-head pool scores as ``[n_heads, n_pool]`` (files saved by earlier versions hold the mean)."""
        return a if a.ndim == 2 else a[None, :]
