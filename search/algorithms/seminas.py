"""SemiNAS's generator (Luo et al., NeurIPS 2020, https://arxiv.org/abs/2002.10389) on the
assessor's graph autoencoder.

SemiNAS builds on NAO (https://arxiv.org/abs/1808.07233): an encoder maps cells to an embedding,
a predictor scores embeddings, and new cells come from gradient ascent on the prediction in
embedding space, decoded back to cells. Its semi-supervised part trains the predictor on the few
evaluated cells plus many unevaluated cells pseudo-labelled by the predictor itself, with the
evaluated cells up-sampled so that they still weigh in. Here:

- the encoder and decoder are a :class:`gnnpred.models.autoencoder.GraphAutoencoder`, pretrained
  once per search on up to ``pool_size`` table cells (no labels) and then frozen;
- each round trains an :class:`~gnnpred.models.seminas.EmbeddingPredictor` on the rank-normal
  scores of the evaluated cells, pseudo-labels ``n_pseudo`` unevaluated table cells with it, and
  trains it further on the evaluated cells repeated ``upsample`` times plus the pseudo-labels;
- the ``top_k`` best cells by (pseudo-)label take ``ascent_steps`` normalised gradient steps of
  ``step_size`` each; every point of every path is decoded to the unseen table cell the decoder
  finds most likely (:class:`~gnnpred.models.seminas.DecoderTargets`), so a decoded cell is always
  valid, held by the table, and neither evaluated nor pending (a "nearest valid cell" repair);
- the decoded cells are queried best-predicted first, ``per_round`` per round.

When decoding yields fewer than ``per_round`` new cells (the paths collapse onto a few cells),
the round is filled with random mutations of the best evaluated cell, and when even those fail,
with random unseen table cells. The first ``n_init`` queries are random table cells, and so are
the queries until two evaluations have succeeded. A failed evaluation (non-finite value) only
counts as queried: it is never a label or a start point. Cells are modelled through
``space.canonical``, so equivalent cells (NB201 dead edges) share one embedding and one key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from search.algorithms.base import Arch, SearchAlgorithm, check_float, check_int, succeeded

if TYPE_CHECKING:  # torch is imported where it is used, so `--help` stays light
    import torch

logger = logging.getLogger(__name__)

#: Autoencoder shape: the assessor search's (32 channels, 32-dimensional embedding, 4 layers).
_AE_SHAPE = {"hidden_channels": 32, "embedding_dim": 32, "num_layers": 4}


class SemiNASSearch(SearchAlgorithm):
    """SemiNAS: gradient ascent on a semi-supervised predictor in autoencoder space.

    Args:
        n_init: Random table cells queried before the first round.
        per_round: Cells queried per round (one predictor fit per round).
        pool_size: Table cells the autoencoder is pretrained on; the whole table when it is
            smaller. Drawn once per search.
        pretrain_steps: Optimiser steps of the autoencoder pretraining (once per search).
        n_pseudo: Unevaluated table cells pseudo-labelled per round (SemiNAS's unlabelled set).
        upsample: How many times the evaluated cells are repeated next to the pseudo-labels, so
            that a few true labels are not drowned by many pseudo-labels.
        top_k: Start points of the gradient ascent: the best cells by true or pseudo label.
        ascent_steps: Gradient steps from each start point; each point on the way is decoded.
        step_size: Length of one step in standardised embedding units (each embedding
            coordinate has unit variance over the table); larger steps reach farther cells.
        predictor_steps: Full-batch Adam steps of each of the predictor's two trainings.

    Raises:
        ValueError: If a value is out of range (the message repeats it).
    """

    name = "seminas"

    def __init__(self, *, n_init: int = 10, per_round: int = 5, pool_size: int = 20000,
                 pretrain_steps: int = 300, n_pseudo: int = 1000, upsample: int = 10,
                 top_k: int = 10, ascent_steps: int = 10, step_size: float = 0.5,
                 predictor_steps: int = 200) -> None:
        owner = type(self).__name__
        self.n_init = check_int(owner, "n_init", n_init)
        self.per_round = check_int(owner, "per_round", per_round)
        self.pool_size = check_int(owner, "pool_size", pool_size, minimum=2)
        self.pretrain_steps = check_int(owner, "pretrain_steps", pretrain_steps, minimum=0)
        self.n_pseudo = check_int(owner, "n_pseudo", n_pseudo, minimum=0)
        self.upsample = check_int(owner, "upsample", upsample)
        self.top_k = check_int(owner, "top_k", top_k)
        self.ascent_steps = check_int(owner, "ascent_steps", ascent_steps)
        self.step_size = check_float(owner, "step_size", step_size)
        if self.step_size == 0:
            raise ValueError(f"The 'step_size' parameter of {owner} must be a float > 0. "
                             f"Got {step_size!r} instead.")
        self.predictor_steps = check_int(owner, "predictor_steps", predictor_steps)

    # ---------------------------------------------------------------------------- setup
    def _start(self) -> None:
        import torch

        from gnnpred._common import resolve_device
        from gnnpred.assessor import training as T
        from gnnpred.models.autoencoder import GraphAutoencoder
        from gnnpred.models.seminas import DecoderTargets

        domain, space = self.domain, self.space
        # one table cell per dedupe key, in table order; the domain's own keys, since hashing
        # 20,000 NB101 cells again would cost half a minute
        first = {}
        for arch, key in zip(domain.archs, domain._keys, strict=True):
            first.setdefault(key, arch)
        #: One table cell per dedupe key, in table order: the cells decoding can return.
        self.cells_: list[Arch] = list(first.values())
        self._keys = list(first)
        self._row = {k: i for i, k in enumerate(self._keys)}
        canon = [space.canonical(c) for c in self.cells_]
        graphs = T.dense_graphs(space, canon, T.max_nodes_of(space, canon))
        pool = np.arange(len(canon))
        if len(canon) > self.pool_size:
            pool = np.sort(self.rng.choice(len(canon), size=self.pool_size, replace=False))
        device = resolve_device(self.device)
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda), T.torch_threads(1):
            torch.manual_seed(int(self.rng.integers(2**62)))
            ae = GraphAutoencoder(len(space.op_vocab), graphs.x.shape[1], **_AE_SHAPE)
            #: Last pretraining metrics (loss, op and adjacency reconstruction accuracy).
            self.pretrain_metrics_: dict = {}
            if self.pretrain_steps:
                gen = torch.Generator().manual_seed(int(self.rng.integers(2**62)))
                self.pretrain_metrics_ = T.pretrain_autoencoder(
                    ae, graphs[torch.as_tensor(pool)], steps=self.pretrain_steps,
                    batch_size=256, lr=2e-3, gen=gen, device=device, verbose=self.verbose)
            #: The frozen graph autoencoder (encoder and decoder).
            self.autoencoder_ = ae.eval()
            emb = T.embed(ae, graphs, device)  # [n, d]
        mean, std = emb.mean(0), emb.std(0).clamp_min(1e-6)
        self._scale = (mean, std)
        #: Standardised embeddings of :attr:`cells_`, ``[n, d]``: the predictor's input space.
        self.embedding_ = (emb - mean) / std
        self._targets = DecoderTargets(graphs)
        #: The predictor of the last round (``None`` before the first round).
        self.predictor_ = None
        #: Cells proposed by decoding and by the mutation fallback so far.
        self.n_decoded_, self.n_mutated_ = 0, 0
        self._queue: list[Arch] = []
        self.round = 0

    # ---------------------------------------------------------------------------- ask / tell
    def _ask(self) -> Arch | None:
        return self._ask_rounds()

    # ---------------------------------------------------------------------------- one round
    def _next_round(self) -> list[Arch]:
        import torch

        from gnnpred.assessor.targets import Target
        from gnnpred.assessor.training import torch_threads

        rng = np.random.default_rng([self.seed, 11, self.round])
        self.round += 1
        labelled = [i for i, v in enumerate(self.values) if succeeded(v)]
        rows = np.array([self._row[self.domain.key(self.archs[i])] for i in labelled])
        values = np.array([self.values[i] for i in labelled], dtype=float)
        order = np.argsort(rows, kind="stable")  # table order: the query order changes nothing
        rows, values = rows[order], values[order]
        _, y = Target.fit(values, "rank")
        seen = np.array([k in self.seen for k in self._keys])  # observed and pending
        unseen = np.flatnonzero(~seen)
        if not unseen.size:
            return []
        pseudo_rows = np.sort(rng.choice(unseen, size=min(self.n_pseudo, unseen.size),
                                         replace=False))
        with torch.random.fork_rng(), torch_threads(1):
            torch.manual_seed(int(rng.integers(2**62)))
            model, start = self._fit_predictor(rows, torch.as_tensor(y, dtype=torch.float32),
                                               pseudo_rows)
            picks = self._decode(model, start, seen)
            with torch.no_grad():
                pred = model(self.embedding_[torch.as_tensor(picks, dtype=torch.long)]).numpy()
        self.predictor_ = model
        ranked = [self.cells_[int(picks[i])] for i in np.argsort(-pred, kind="stable")]
        out = ranked[: self.per_round]
        self.n_decoded_ += len(out)
        if len(out) < self.per_round:
            out += self._mutations(rng, labelled, out, self.per_round - len(out))
        logger.debug("round %d: %d decoded cells, best prediction %.3f", self.round,
                     len(picks), float(pred.max()) if pred.size else float("nan"))
        return out

    def _fit_predictor(self, rows: np.ndarray, y: torch.Tensor,
                       pseudo_rows: np.ndarray) -> tuple[torch.nn.Module, np.ndarray]:
        """The predictor trained SemiNAS's way, and the rows of the ascent's start points."""
        import torch

        from gnnpred.models.seminas import EmbeddingPredictor, fit_predictor

        z = self.embedding_
        model = EmbeddingPredictor(z.shape[1])
        fit_predictor(model, z[rows], y, steps=self.predictor_steps)
        with torch.no_grad():
            pseudo = model(z[pseudo_rows])
        zz = torch.cat([z[rows].repeat(self.upsample, 1), z[pseudo_rows]])
        yy = torch.cat([y.repeat(self.upsample), pseudo])
        fit_predictor(model, zz, yy, steps=self.predictor_steps)
        every = np.concatenate([rows, pseudo_rows])
        scores = np.concatenate([y.numpy(), pseudo.numpy()])
        start = every[np.argsort(-scores, kind="stable")[: self.top_k]]
        return model, start

    def _decode(self, model: torch.nn.Module, start: np.ndarray, seen: np.ndarray) -> np.ndarray:
        """Rows of the distinct unseen cells decoded along the ascent paths from ``start``."""
        import torch

        from gnnpred.models.seminas import ascend

        z0 = self.embedding_[torch.as_tensor(start, dtype=torch.long)]
        path = ascend(model, z0, step_size=self.step_size, steps=self.ascent_steps)
        mean, std = self._scale
        points = path.reshape(-1, path.shape[-1]) * std + mean  # [steps * k, d], raw units
        ll = self._targets.log_likelihood(self.autoencoder_, points)  # [steps * k, n]
        ll[:, torch.as_tensor(seen)] = -torch.inf
        best = ll.argmax(1).numpy()
        return best[np.sort(np.unique(best, return_index=True)[1])]  # first-seen order

    def _mutations(self, rng: np.random.Generator, labelled: list[int], chosen: list[Arch],
                   n: int) -> list[Arch]:
        """Up to ``n`` new random mutations of the best evaluated cell (the fallback)."""
        parent = self.archs[max(labelled, key=self.values.__getitem__)]
        busy = self.seen | {self.domain.key(c) for c in chosen}
        out: list[Arch] = []
        for _ in range(3 * n):
            child = self.domain.mutate(parent, rng, busy, tries=20)
            if child is not None:
                out.append(child)
                busy.add(self.domain.key(child))
            if len(out) == n:
                break
        self.n_mutated_ += len(out)
        logger.info("round %d: decoding gave %d new cells; %d mutations of the best cell fill "
                    "the round", self.round, len(chosen), len(out))
        return out
