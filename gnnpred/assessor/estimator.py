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
"""

from __future__ import annotations

import logging
import numbers
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import validate_parameter_constraints

from gnnpred._common import check_random_state, resolve_device
from gnnpred.assessor import io
from gnnpred.assessor import training as T
from gnnpred.assessor.heads import fit_heads
from gnnpred.assessor.params import (
    PARAMETER_CONSTRAINTS,
    check_extra,
    check_labels,
    check_sample_weight,
    check_unlabeled,
    resolve_space,
    to_cells,
)
from gnnpred.assessor.pool import Pool, draw_unlabeled, unlabeled_key
from gnnpred.assessor.targets import Target
from gnnpred.models.autoencoder import GraphAutoencoder

__all__ = ["Assessor"]
log = logging.getLogger(__name__)


class Assessor(RegressorMixin, BaseEstimator):
    """Semi-supervised GNN performance predictor (scikit-learn estimator).

    Inputs are architectures of one search space (cell objects or their string form, e.g.
    ``space.to_string(cell)``), not a 2-D array. :meth:`score` is scikit-learn's R^2; for the
    ranking quality that search cares about use :data:`gnnpred.metrics.kendall_scorer`.
    As in scikit-learn, parameters set after :meth:`fit` take effect at the next fit, except
    ``device``, ``num_threads`` and ``verbose``, which apply at once.

    Args:
        space: Search-space name (``"nasbench201"``, ``"nasbench101"``, ``"nasbench-graph"``) or
            a :class:`~gnnpred.spaces.SearchSpace` instance.
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
        gcn_weight: Weight of the GCN heads in the final average (1: GCN only, 0: regressor
            heads only).
        rank_weight: Weight of the pairwise ranking loss next to the MSE.
        self_training: Pseudo-labelling rounds (SemiNAS); 0 disables.
        pseudo_labels: Unlabelled pool cells pseudo-labelled per round.
        pseudo_weight: Loss weight of a pseudo-label (a true label weighs 1).
        max_unlabeled: Default pool size: the whole space when it has at most this many cells,
            otherwise this many sampled cells.
        extra_features: Optional callable ``archs -> [n, f]`` array of per-cell features (e.g.
            zero-cost scores) appended to the node features of both head types. A saved
            assessor holds it pickled: loading it needs ``Assessor.load(path, trust=True)``.
        warm_start: When ``fit`` is called again with the same space, unlabelled pool and model
            shape, reuse the autoencoder, the pool, its standardisation and its similarity
            graph (extended, not rebuilt, when labelled cells outside the pool join it), and
            continue training the previous heads for 1/5 of ``gcn_epochs`` and 1/6 of
            ``regressor_steps``: cheap refits in assessor-guided search.
        warm_heads: Only with ``warm_start``: continue the previous heads (``True``) or train
            new heads from scratch on the reused autoencoder and pool (``False``: full
            ``gcn_epochs``/``regressor_steps``, slower, but not anchored to a fit on fewer
            labels).
        target_transform: ``"rank"`` (train on normal scores of the label ranks; predictions
            are mapped back to label units by monotone interpolation) or ``"standard"``
            (z-scores).
        canonicalize: Model each cell through ``space.canonical`` (cells computing the same
            function share one pool node and one prediction; NB201 dead edges become ``none``).
        num_threads: Torch intra-op threads while fitting/predicting (restored afterwards);
            ``None`` keeps torch's setting. One thread is fastest for these small tensors.
        random_state: Seed (int), a :class:`numpy.random.Generator`, or ``None``.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...
        verbose: Show Lightning progress and log stages.

    Attributes:
        space_: The resolved search space.
        pool_: The :class:`~gnnpred.assessor.Pool` of labelled and unlabelled cells.
        autoencoder_: The pretrained graph autoencoder.
        heads_: The trained :class:`~gnnpred.assessor.heads.Heads`.
        target_: The fitted :class:`~gnnpred.assessor.targets.Target` transform.
        unlabeled_key_: Identifies the pool request, for ``warm_start``.
        pretrain_metrics_: Last autoencoder training metrics (empty without pretraining).

    Example:
        >>> a = Assessor("nasbench201", random_state=0).fit(archs, accuracies)  # doctest: +SKIP
        >>> scores = a.predict(candidates)  # doctest: +SKIP
    """

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __init__(self, space: Any = "nasbench201", *, embedding_dim: int = 32,
                 hidden_channels: int = 64, num_layers: int = 4, variational: bool = False,
                 pretrain_steps: int = 500, batch_size: int = 256, k: int = 10,
                 gcn_layers: int = 2, gcn_epochs: int = 100, regressor_steps: int = 300,
                 n_heads: int = 3, gcn_weight: float = 0.1, rank_weight: float = 1.0,
                 self_training: int = 0, pseudo_labels: int = 1000, pseudo_weight: float = 0.3,
                 max_unlabeled: int = 20000,
                 extra_features: Callable[[list], np.ndarray] | None = None,
                 warm_start: bool = False, warm_heads: bool = True,
                 target_transform: str = "rank", canonicalize: bool = True,
                 num_threads: int | None = 1, random_state: Any = 0, device: str = "auto",
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
        self.target_transform = target_transform
        self.canonicalize = canonicalize
        self.num_threads = num_threads
        self.random_state = random_state
        self.device = device
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # architectures (cells or their strings)
        tags.input_tags.string = True
        tags.target_tags.required = True
        return tags

    def check_params(self) -> Assessor:
        """Validate every hyper-parameter without fitting (``fit`` calls it).

        Returns:
            ``self``.

        Raises:
            sklearn.utils._param_validation.InvalidParameterError: A ``ValueError`` and
                ``TypeError`` naming the first bad hyper-parameter and its value.
            ValueError: On an unknown space name or device.
        """
        validate_parameter_constraints(self._parameter_constraints,
                                       self.get_params(deep=False), caller_name="Assessor")
        resolve_space(self.space)
        resolve_device(self.device)
        return self

    def fit(self, archs: Iterable, y: Sequence[float], unlabeled: None | int | Iterable = None,
            sample_weight: Sequence[float] | None = None) -> Assessor:
        """Fit on labelled cells, using unlabelled cells for pretraining and the similarity graph.

        Args:
            archs: Labelled architectures of the space: cells or their strings, in a list, a
                NumPy array, a pandas Series or any other iterable.
            y: Their scores (higher is better), same length.
            unlabeled: ``None`` (the whole space when it has at most ``max_unlabeled`` cells,
                else ``max_unlabeled`` sampled cells), an int (sample that many; 0: labelled
                cells only) or an iterable of architectures (cells or their strings).
            sample_weight: Optional non-negative weight of each label in the heads' losses (the
                MSE term and, as ``w_i * w_j``, each ranking pair); ``None`` weighs all
                equally. Search uses it to stress the order among the best cells found.

        Returns:
            ``self``.

        Raises:
            ValueError: On bad hyper-parameters, empty input, length mismatch, non-finite
                labels or bad sample weights.
            TypeError: On cells of another space or wrong argument types.
            KeyboardInterrupt: When training is interrupted (Ctrl-C).
        """
        self.check_params()
        space = resolve_space(self.space)
        archs = to_cells(space, archs, "archs")
        if len(archs) < 2:
            raise ValueError(f"fit needs at least 2 labelled architectures. Got {len(archs)}.")
        y = check_labels(y, len(archs))
        w = check_sample_weight(sample_weight, len(archs))
        check_unlabeled(unlabeled)
        if unlabeled is not None and not isinstance(unlabeled, numbers.Integral):
            unlabeled = to_cells(space, unlabeled, "unlabeled")
        rng = check_random_state(self.random_state)
        device = resolve_device(self.device)
        seed = int(rng.integers(2**31))
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda), T.torch_threads(self.num_threads):
            torch.manual_seed(seed)
            self._fit(space, archs, y, w, unlabeled, rng, device)
        return self

    def _cell(self, space, arch):
        """The cell the models see: its canonical form when ``canonicalize`` was on at fit."""
        return space.canonical(arch) if self._fitted_params["canonicalize"] else arch

    def _fit(self, space, archs, y, w, unlabeled, rng, device) -> None:
        # predict and save read the parameters of the last fit, not ones set since (sklearn's
        # contract: set_params takes effect at the next fit)
        self._fitted_params = self.get_params(deep=False)
        key = unlabeled_key(self, space, unlabeled)
        cells = [self._cell(space, a) for a in archs]
        # the heads leave until new ones are trained: a fit that fails leaves no stale heads
        previous = self.__dict__.pop("heads_", None)
        warm = (self.warm_start and getattr(self, "unlabeled_key_", None) == key
                and hasattr(self, "autoencoder_"))
        if warm:
            self.pool_.extend(space, cells, self.autoencoder_, self.extra_features, device)
        else:
            self._fit_pool(space, cells, unlabeled, rng, device)
        self.space_, self.unlabeled_key_ = space, key
        k = min(self.k, len(self.pool_) - 1)
        if k < 1:
            raise ValueError("The pool needs at least 2 distinct architectures for the "
                             "similarity graph; pass more (or more distinct) architectures.")
        self.pool_.knn_graph(k, device)
        self.target_, ys = Target.fit(y, self.target_transform)
        train_idx = np.asarray([self.pool_.index[space.hash(c)] for c in cells])
        continued = previous if warm and self.warm_heads else None
        self.heads_ = fit_heads(self, self.pool_, train_idx, ys, w, rng, device, continued)

    def _fit_pool(self, space, cells, unlabeled, rng, device) -> None:
        """A new pool of the labelled and unlabelled cells, and its pretrained autoencoder."""
        drawn = draw_unlabeled(space, unlabeled, self.max_unlabeled, rng, self._cell)
        pool = Pool(space, [*cells, *(self._cell(space, a) for a in drawn)])
        ae = GraphAutoencoder(len(space.op_vocab), pool.max_nodes, self.hidden_channels,
                              self.embedding_dim, self.num_layers, self.variational)
        self.pretrain_metrics_ = {}
        if self.pretrain_steps:
            gen = torch.Generator().manual_seed(int(rng.integers(2**62)))
            log.info("pretraining the autoencoder on %d cells", len(pool))
            self.pretrain_metrics_ = T.pretrain_autoencoder(
                ae, pool.graphs, steps=self.pretrain_steps, batch_size=self.batch_size,
                lr=2e-3, gen=gen, device=device, verbose=self.verbose)
        self.autoencoder_ = ae.eval()
        pool.embed(ae, self.extra_features, device)
        self.pool_ = pool

    # ---------------------------------------------------------------------------- save/load
    def save(self, path: str | Path) -> None:
        """Write the fitted assessor to one file (tensors and plain values; see ``load``).

        Args:
            path: Destination file.

        Raises:
            NotFittedError: Before :meth:`fit`.
            TypeError: If a non-plain parameter (``extra_features``, a space instance...) cannot
                be pickled (e.g. a lambda).
        """
        self._check_fitted()
        io.save(self, path)

    @classmethod
    def load(cls, path: str | Path, *, trust: bool = False) -> Assessor:
        """Load an assessor written by :meth:`save`; its predictions are bit-identical.

        Loading never runs code from the file unless ``trust=True``: tensors and plain values
        are read with ``torch.load(weights_only=True)``. A file that holds pickled objects
        (an ``extra_features`` callable, a space instance, a generator as ``random_state``)
        is refused unless ``trust=True``; pass it only for files you trust, since unpickling
        can run arbitrary code.

        Args:
            path: A file written by :meth:`save`.
            trust: Unpickle the objects such a file holds.

        Returns:
            The fitted assessor.

        Raises:
            FileNotFoundError: If ``path`` does not exist.
            ValueError: If it is not a saved assessor of this format, lacks a key, holds
                malformed or invalid parameters (checked with :meth:`check_params`), or holds
                pickled objects and ``trust`` is False.
        """
        return io.load(cls, path, trust=trust)

    # ------------------------------------------------------------------------------- predict
    def _check_fitted(self) -> None:
        if not hasattr(self, "heads_"):
            raise NotFittedError("This Assessor instance is not fitted yet. Call 'fit' with "
                                 "labelled architectures first.")

    def predict(self, archs: Iterable, *, return_std: bool = False, return_parts: bool = False,
                gcn_top: int | None = None):
        """Predict the scores of ``archs``.

        Args:
            archs: Architectures of the fitted space (pool cells or new ones; cells or their
                strings).
            return_std: Also return the standard deviation of the ensemble members'
                predictions (member ``i`` combines the ``i``-th GCN and regressor heads, as
                the mean does), in label units: a disagreement score for acquisition
                functions such as ``mean + beta * std``. It is 0 everywhere with ``n_heads=1``.
            return_parts: Also return a dict with the GCN and regressor-head predictions
                (NaN in the GCN entries of the cells ``gcn_top`` leaves out).
            gcn_top: For ranking very large candidate sets where only the best matter: of
                the cells outside the fitted pool, only the ``gcn_top`` best by the regressor
                heads are scored by the GCN heads too (each needs its nearest pool cells, the
                largest cost at 100,000 new cells); the others get the regressor heads'
                prediction alone, so near the cut a left-out cell can rank above a scored one.
                None (default) scores every cell with every head. Cells of the pool always
                have both; an assessor without regressor heads (``gcn_weight=1``) ignores it.

        Returns:
            Predictions ``[len(archs)]`` in the units of the training labels, followed by the
            standard deviations ``[len(archs)]`` when ``return_std`` and by the parts dict when
            ``return_parts`` (in that order).

        Raises:
            NotFittedError: Before :meth:`fit`.
            ValueError: On empty input, or a ``gcn_top`` that is not a positive integer.
            TypeError: On cells of another space.
        """
        self._check_fitted()
        if gcn_top is not None and (isinstance(gcn_top, bool) or
                                    not isinstance(gcn_top, numbers.Integral) or gcn_top < 1):
            raise ValueError(f"gcn_top must be a positive integer or None. Got {gcn_top!r}.")
        archs = to_cells(self.space_, archs, "archs")
        if not archs:
            raise ValueError("predict needs at least 1 architecture. Got an empty list.")
        device = resolve_device(self.device)
        with T.torch_threads(self.num_threads):
            parts, gcn_scored = self._scores(archs, device, gcn_top)
        members = self.heads_.combine(parts, gcn_scored)  # [n_heads, n]
        out = [self.target_.inverse(members.mean(0))]
        if return_std:
            out.append(np.stack([self.target_.inverse(m) for m in members]).std(0))
        if return_parts:
            out.append({name: self.target_.inverse(v.mean(0)) for name, v in parts.items()})
        return out[0] if len(out) == 1 else tuple(out)

    def _scores(self, archs: list, device: torch.device, gcn_top: int | None
                ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
        """Per-head standardised scores of ``archs`` and the GCN-scored mask (see
        :meth:`Heads.score`); new cells are embedded on the fly, each distinct one once (so
        copies of a cell share one prediction whatever ``gcn_top`` keeps)."""
        space, pool = self.space_, self.pool_
        cells = [self._cell(space, a) for a in archs]
        keys = [space.hash(c) for c in cells]
        rows = np.asarray([pool.index.get(k, -1) for k in keys])
        old_at, new_at = np.flatnonzero(rows >= 0), np.flatnonzero(rows < 0)
        # score the pool rows, then each distinct new cell once; ``take`` maps back to archs
        slot: dict = {}
        new = []
        for i in new_at:
            if keys[i] not in slot:
                slot[keys[i]] = old_at.size + len(new)
                new.append(cells[i])
        take = np.empty(len(cells), dtype=np.int64)
        take[old_at] = np.arange(old_at.size)
        take[new_at] = [slot[keys[i]] for i in new_at]
        compact = np.concatenate([rows[old_at], np.full(len(new), -1)])
        graphs = extra_z = None
        if new:
            graphs = T.dense_graphs(space, new, pool.max_nodes)
            extra = self._fitted_params["extra_features"]
            raw = (check_extra(extra(new), len(new), "architectures")
                   if extra is not None else np.zeros((len(new), 0)))
            if raw.shape[1] != pool.extra.shape[1]:
                raise ValueError(f"extra_features returned {raw.shape[1]} columns; it returned "
                                 f"{pool.extra.shape[1]} at fit time.")
            extra_z = torch.as_tensor(pool.standardise_extra(raw), dtype=torch.float32)

        def embed(pick: np.ndarray) -> torch.Tensor:
            some = graphs if pick.size == len(new) else graphs[torch.as_tensor(pick)]
            emb = T.embed(self.autoencoder_, some, device)
            emb_std = pool.standardise_embedding(emb.numpy().astype(np.float64))
            return torch.as_tensor(emb_std, dtype=torch.float32)

        parts, scored = self.heads_.score(pool, compact, graphs, extra_z, embed, device, gcn_top)
        return ({k: v[:, take] for k, v in parts.items()},
                None if scored is None else scored[take])
