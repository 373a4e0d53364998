"""Assessor-guided search: spend queries only on the cells a semi-supervised predictor ranks best.

In the spirit of SemiNAS (Luo et al., NeurIPS 2020, https://arxiv.org/abs/2002.10389): each
round fits :class:`gnnpred.Assessor` on every evaluated cell plus a fixed unlabelled pool, scores
thousands of candidates (mutations and neighbours of the best evaluated cells, random cells, or
the whole table when it is small) in one batch, and queries the top few.

Each round's queries are split: most (``local_fraction``) are unseen neighbours of the best cell
found so far (local refinement, which is what finds the exact optimum), the rest the
best-predicted candidates overall (global jumps). Of the local picks, one is the best-predicted
neighbour and one (``n_explore``) an exploration pick: a predictor trained on few labels
extrapolates global trends ("skip connections are poor") and can leave the one neighbour that
escapes a local optimum for last. On NAS-Bench-201 the exploration pick is the neighbour whose
untrained network synflow scores highest (``explore``; the space's ``guide_proxy``), which judges
each neighbour's network on its own: on NB201 plateau cells (93.5-94.2) synflow's favourite
neighbour improves on the cell 69% of the time (the parameter count's 55%), and over seeds
100-159 it lowered the median queries to the optimum from 22 to 19 (the pick that adds the
op/edge least seen among the evaluated cells, ``explore="rarity"``, is used elsewhere). The
autoencoder is pretrained once per search (the pool never changes; ``warm_start=True``) and
only the prediction heads are retrained each round, from scratch (``warm_heads=False``: heads
continued from the previous round stay anchored to the fit on fewer labels and found the NB201
optimum later, a median of 32.5 queries instead of 26 over seeds 100-119). Each refit weighs the
best evaluated cells more (``top_weight``): the search needs the order among the top cells, not
among the poor ones (median 26 -> 24, worst run 61 -> 45 over the same seeds).

Every ranking blends the assessor's prediction with a zero-cost prior, the parameter count of
each cell's network (``prior``; on by default where the space counts parameters in closed form, as
NAS-Bench-201 does): both as standardised ranks, the prior weighted ``n_init / n`` with ``n``
evaluated cells. A fit on six labels barely ranks the table (Spearman 0.1-0.5), while the
parameter count alone ranks NB201 CIFAR-10 at Spearman 0.82 and puts its optimum 39th of 15,625;
the prior takes the first rounds to the large-network region and fades as labels accumulate
(median queries to the NB201 optimum 27 -> 22 over seeds 100-159; better on 37 seeds, worse on 19).

A round's picks are queried best-predicted neighbour first, then the best-predicted cells
overall, then the exploration picks (over seeds 100-159 the optimum was hit by those three
kinds of pick 33, 23 and 4 times). Each refit sees the evaluated cells in table order, so the
order of a round's queries changes no later round: it only decides how soon a hit is counted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from search.algorithms.base import (
    Arch,
    SearchAlgorithm,
    check_nonnegative_float,
    check_positive_int,
)
from search.algorithms.design import coverage_design
from search.algorithms.warmup import zero_cost_ranking

logger = logging.getLogger(__name__)

#: Assessor settings used unless ``assessor_params`` overrides them: a shorter autoencoder
#: pretraining (once per search) and one head of each kind, 32 channels wide, weighted towards the
#: GIN regressor head (it ranks NB201 cells better than the kNN GCN head), retrained from scratch
#: each round, so that a refit takes about a second on a CPU (figures from benchmarks/search.py;
#: 32 channels instead of 64 made a budget-150 NB201 search 27% faster at no cost in queries).
DEFAULT_ASSESSOR_PARAMS: dict[str, Any] = {
    "pretrain_steps": 300, "n_heads": 1, "hidden_channels": 32, "gcn_weight": 0.1, "gcn_epochs": 100,
    "warm_heads": False,
}


class AssessorGuidedSearch(SearchAlgorithm):
    """Predictor-guided search with a semi-supervised GNN assessor.

    Args:
        n_init: Cells of the initial design (random, or the best zero-cost-scored ones) before
            the first fit (default 6).
        per_round: Cells queried per round, best predicted first (default 3).
        n_candidates: Candidates scored per round when the table is too big to score whole
            (default 3000): neighbours and mutations of the best evaluated cells, then random cells.
        exhaustive_max: Score every unseen table cell when the table holds at most this many
            (default 20000: NB201 qualifies; NAS-Bench-Graph, with 26,206, ranks mutations and samples).
        n_parents: How many of the best evaluated cells are mutated (default 1).
        local_fraction: Share of each round's queries taken, best predicted first, among the
            unseen neighbours of the ``n_parents`` best evaluated cells (default 0.8); the rest
            are the best predicted candidates overall. Mixes the assessor's global ranking with
            local refinement around the best cells found.
        pool_size: Unlabelled pool size; the whole table when it is smaller (default 20000).
            Drawn once per search, so the autoencoder is pretrained once.
        top_weight: Extra loss weight of the best evaluated cells: a cell whose value has rank
            quantile ``q`` (0 the worst, 1 the best) weighs ``1 + top_weight * q**2`` in each
            refit (``sample_weight`` of :meth:`gnnpred.Assessor.fit`), so the heads spend their
            capacity on ordering the top cells (default 10; 0 weighs all cells equally).
        n_explore: How many of each round's local picks go, instead of to the best predicted
            neighbours, to the neighbours ``explore`` ranks first (default 1; 0 orders all local
            picks by prediction).
        explore: How the exploration picks are chosen among the remaining unseen neighbours of
            the best cells: by a data-free zero-cost proxy of their untrained networks
            (``"synflow"``, ``"params"`` or ``"flops"``; each cell is scored once per search), or
            ``"rarity"``: the neighbour adding to the best cell the encoding feature (e.g. an op
            on an edge) least seen among the evaluated cells. ``"auto"`` (the default) takes the
            space's :attr:`~gnnpred.spaces.base.SearchSpace.guide_proxy` (synflow on
            NAS-Bench-201) and ``"rarity"`` where it has none (NB101, whose networks take about
            a second each to score, and NAS-Bench-Graph). Ties go to the best predicted first,
            non-finite scores last.
        beta: Optimism of the ranking: candidates are ordered by ``mean + beta * std`` of the
            assessor's ensemble (``predict(..., return_std=True)``), favouring cells the heads
            disagree on (upper confidence bound; needs ``n_heads >= 2`` in ``assessor_params``
            to have an effect; 0 ranks by the mean).
        assessor_params: Extra keyword arguments for :class:`gnnpred.Assessor`.
        zc_warmup: Score this many random cells with a zero-cost proxy; the initial design is
            the best ``n_init`` of them (0, the default, uses random cells).
        zc_proxy: The proxy used by ``zc_warmup`` (default ``"synflow"``).
        init_design: The initial design when ``zc_warmup`` is 0: ``"random"`` cells or a
            ``"coverage"`` design (:func:`search.algorithms.design.coverage_design`: greedy picks
            among 2,000 random cells that together hold the most encoding features).
        prior: A zero-cost score blended into every ranking: ``"params"`` (the parameter count of
            each cell's network, :meth:`~gnnpred.spaces.base.SearchSpace.param_counts`),
            ``"none"``, or ``"auto"`` (the default: ``"params"`` when the space counts
            parameters in closed form, as NAS-Bench-201 does; ``"none"`` otherwise, since
            building thousands of networks a round would cost more than it saves).
        prior_weight: Weight of the prior against the assessor when the ``n_init`` first cells
            are known; it shrinks as ``prior_weight * n_init / n`` with ``n`` evaluated cells, so
            the labels take over (default 1.0; 0 disables the prior). Both are compared as
            standardised ranks among the candidates.
    """

    name = "assessor"
    param_names = ("n_init", "per_round", "n_candidates", "exhaustive_max", "n_parents", "local_fraction",
                   "pool_size", "top_weight", "n_explore", "beta", "assessor_params", "zc_warmup", "zc_proxy",
                   "init_design", "prior", "prior_weight", "explore")

    def _start(self) -> None:
        owner, p = type(self).__name__, self.params
        self.n_init = check_positive_int(owner, "n_init", p.get("n_init", 6))
        self.per_round = check_positive_int(owner, "per_round", p.get("per_round", 3))
        self.n_candidates = check_positive_int(owner, "n_candidates", p.get("n_candidates", 3000))
        self.exhaustive_max = check_positive_int(owner, "exhaustive_max", p.get("exhaustive_max", 20000),
                                                 minimum=0)
        self.n_parents = check_positive_int(owner, "n_parents", p.get("n_parents", 1))
        self.pool_size = check_positive_int(owner, "pool_size", p.get("pool_size", 20000))
        n_zc = check_positive_int(owner, "zc_warmup", p.get("zc_warmup", 0), minimum=0)
        self.top_weight = check_nonnegative_float(owner, "top_weight", p.get("top_weight", 10.0))
        self.n_explore = check_positive_int(owner, "n_explore", p.get("n_explore", 1), minimum=0)
        self.beta = check_nonnegative_float(owner, "beta", p.get("beta", 0.0))
        self.local_fraction = float(p.get("local_fraction", 0.8))
        if not 0.0 <= self.local_fraction <= 1.0:
            raise ValueError(f"The 'local_fraction' parameter of {owner} must be in [0, 1]. "
                             f"Got {p.get('local_fraction')!r} instead.")
        extra = p.get("assessor_params") or {}
        if not isinstance(extra, dict):
            raise TypeError(f"The 'assessor_params' parameter of {owner} must be a dict. "
                            f"Got {type(extra).__name__} instead.")
        from gnnpred import Assessor  # lazy: lightning is slow to import

        kwargs = {**DEFAULT_ASSESSOR_PARAMS, **extra}
        kwargs.setdefault("random_state", self.seed)
        kwargs.setdefault("device", self.device)
        kwargs.setdefault("verbose", False)
        kwargs["warm_start"] = True
        self.assessor = Assessor(space=self.space, **kwargs)
        domain = self.domain
        if len(domain) <= self.pool_size:
            self.pool = list(domain.archs)
        else:
            idx = np.sort(self.rng.choice(len(domain), size=self.pool_size, replace=False))
            self.pool = [domain.archs[int(i)] for i in idx]
        self.init_design = p.get("init_design", "random")
        if self.init_design not in ("random", "coverage"):
            raise ValueError(f"The 'init_design' parameter of {owner} must be 'random' or 'coverage'. "
                             f"Got {self.init_design!r} instead.")
        if n_zc and self.init_design != "random":
            raise ValueError(f"{owner}: zc_warmup={n_zc} chooses the initial design itself; "
                             f"drop init_design={self.init_design!r} or set zc_warmup=0.")
        self._init: list[Arch] = []
        if self.init_design == "coverage":
            self._init = coverage_design(domain, self.n_init, self.rng)
        elif n_zc:
            self._init = zero_cost_ranking(domain, n_zc, self.rng, proxy=p.get("zc_proxy", "synflow"),
                                           device=self.device, seed=self.seed)[: self.n_init]
        self._setup_prior(owner)
        self._setup_explore(owner)
        self._queue: list[Arch] = []
        self.round = 0

    def _setup_prior(self, owner: str) -> None:
        p = self.params
        self.prior_weight = check_nonnegative_float(owner, "prior_weight", p.get("prior_weight", 1.0))
        prior = p.get("prior", "auto")
        if prior not in ("auto", "params", "none"):
            raise ValueError(f"The 'prior' parameter of {owner} must be 'auto', 'params' or 'none'. "
                             f"Got {prior!r} instead.")
        fast = self.space.has_fast_param_counts()
        if prior == "auto":
            prior = "params" if fast else "none"
        self.prior = prior if self.prior_weight > 0 else "none"
        self._prior_cache: dict = {}  # dedupe key -> parameter count
        if self.prior == "params" and fast:  # the whole table at once (0.4 s for NB201)
            self._prior_values(self.domain.archs)

    def _setup_explore(self, owner: str) -> None:
        from gnnpred.proxies import DATA_FREE

        explore = self.params.get("explore", "auto")
        if explore not in ("auto", "rarity", *DATA_FREE):
            raise ValueError(f"The 'explore' parameter of {owner} must be 'auto', 'rarity' or a data-free "
                             f"zero-cost proxy ({', '.join(map(repr, DATA_FREE))}). Got {explore!r} instead.")
        self.explore = (self.space.guide_proxy or "rarity") if explore == "auto" else explore
        self._explore_cache: dict = {}  # dedupe key -> proxy score

    # ---------------------------------------------------------------------------- ask / tell
    def _ask(self) -> Arch | None:
        if len(self.archs) < self.n_init:
            return self._pop_new(self._init)  # None: a random unseen cell
        while True:
            cell = self._pop_new(self._queue)
            if cell is not None:
                return cell
            self._queue = self._next_round()
            if not self._queue:
                return None

    def _tell(self, arch: Arch, value: float) -> None:
        # a replayed history may hold a cell other than the queue head: drop it wherever it is
        key = self.domain.key(arch)
        self._queue = [c for c in self._queue if self.domain.key(c) != key]

    # ---------------------------------------------------------------------------- one round
    def _parents(self) -> list[Arch]:
        order = np.argsort(-np.asarray(self.values), kind="stable")[: self.n_parents]
        return [self.archs[int(i)] for i in order]

    def _local(self, parents: list[Arch]) -> list[Arch]:
        cands: list[Arch] = []
        for parent in parents:
            cands.extend(self.domain.neighbours(parent))
        return self.domain.dedupe_list(cands, self.seen)

    def _candidates(self, rng: np.random.Generator, parents: list[Arch], local: list[Arch]) -> list[Arch]:
        domain, seen = self.domain, self.seen
        if len(domain) <= self.exhaustive_max:
            return domain.unseen(seen)
        cands = list(local)
        per_parent = max(1, self.n_candidates // (2 * max(1, len(parents))))
        for parent in parents:
            for _ in range(per_parent):
                child = domain.mutate(parent, rng, seen, tries=5)
                if child is not None:
                    cands.append(child)
        cands = domain.dedupe_list(cands, seen)
        missing = self.n_candidates - len(cands)
        if missing > 0:
            idx = rng.choice(len(domain), size=min(missing, len(domain)), replace=False)
            cands = domain.dedupe_list(cands + [domain.archs[int(i)] for i in idx], seen)
        return cands

    def _next_round(self) -> list[Arch]:
        rng = np.random.default_rng([self.seed, 7, self.round])
        self.round += 1
        parents = self._parents()
        local = self._local(parents)
        cands = self._candidates(rng, parents, local)
        if not cands:
            return []
        # fit on the evaluated cells in table order: a round depends on which cells were
        # evaluated, not on the order they were queried in (so ordering a round is free)
        rows = np.argsort([self.domain.index(a) for a in self.archs], kind="stable")
        archs = [self.archs[int(i)] for i in rows]
        values = np.asarray(self.values, dtype=float)[rows]
        self.assessor.fit(archs, values, unlabeled=self.pool, sample_weight=self._weights(values))
        pred = self._score(cands)
        n_local = min(len(local), int(round(self.local_fraction * self.per_round)))
        exploit: list[Arch] = []
        explore: list[Arch] = []
        if n_local:
            lp = self._score(local)
            n_exploit = n_local - min(self.n_explore, n_local)
            order = np.argsort(-lp, kind="stable")
            exploit = [local[int(i)] for i in order[:n_exploit]]
            if n_exploit < n_local:  # the explore ranking first, then the best predicted
                rest = order[n_exploit:]
                cost = self._explore_cost(parents[0], [local[int(i)] for i in rest])
                explore = [local[int(rest[j])] for j in np.argsort(cost, kind="stable")[: n_local - n_exploit]]
        keys = {self.domain.key(c) for c in exploit + explore}
        best_overall: list[Arch] = []
        for i in np.argsort(-pred, kind="stable"):
            if len(exploit) + len(explore) + len(best_overall) >= self.per_round:
                break
            if self.domain.key(cands[int(i)]) not in keys:
                best_overall.append(cands[int(i)])
        logger.debug("round %d: %d candidates (%d local), best score %.4f", self.round,
                     len(cands), len(local), float(pred.max()))
        # queried in this order: exploration picks last, as they rarely hit the optimum
        return exploit + best_overall + explore

    def _explore_cost(self, parent: Arch, cells: list[Arch]) -> np.ndarray:
        """Exploration order of ``cells`` (neighbours of ``parent``): lowest first."""
        if self.explore == "rarity":
            return self._rarity(parent, cells).astype(float)
        scores = self._cached(self._explore_cache, cells, self._proxy_scores)
        return np.where(np.isfinite(scores), -scores, np.inf)

    def _proxy_scores(self, cells: list[Arch]) -> np.ndarray:
        import warnings

        from gnnpred import proxies

        with warnings.catch_warnings():  # cells cut off by 'none' edges score 0: expected here
            warnings.simplefilter("ignore", RuntimeWarning)
            return proxies.score(self.space, cells, names=[self.explore], device=self.device,
                                 random_state=self.seed, verbose=False)[self.explore]

    def _cached(self, cache: dict, archs: list[Arch], compute: Callable[[list[Arch]], Any]) -> np.ndarray:
        """Per-cell values of ``archs`` from ``cache`` (dedupe key -> value); ``compute`` gets the
        missing cells, each once, and its results are cached."""
        keys = [self.domain.key(a) for a in archs]
        missing = {k: a for k, a in zip(keys, archs, strict=True) if k not in cache}
        if missing:
            values = np.asarray(compute(list(missing.values())), dtype=float)
            cache.update(zip(missing, values.tolist(), strict=True))
        return np.array([cache[k] for k in keys])

    def _rarity(self, parent: Arch, cells: list[Arch]) -> np.ndarray:
        """How often the evaluated cells already hold the rarest encoding feature that each cell
        adds to ``parent`` (e.g. an op on an edge, for NB201); cells adding none count as common."""
        enc = self.space.encode([parent, *cells]) > 0
        counts = (self.space.encode(self.archs) > 0).sum(0)
        added = enc[1:] & ~enc[0]
        return np.where(added, counts, np.iinfo(np.int64).max).min(1)

    def _weights(self, values: np.ndarray) -> np.ndarray | None:
        if not self.top_weight or len(values) < 2:
            return None
        q = np.argsort(np.argsort(values, kind="stable"), kind="stable") / (len(values) - 1)
        return 1.0 + self.top_weight * q**2

    def _score(self, archs: list[Arch]) -> np.ndarray:
        """Ranking score of ``archs``: the assessor's prediction, blended with the prior."""
        pred = self._predict(archs)
        if self.prior == "none" or len(archs) < 2:
            return pred
        weight = self.prior_weight * self.n_init / len(self.values)
        return _rank_z(pred) + weight * _rank_z(self._prior_values(archs))

    def _prior_values(self, archs: list[Arch]) -> np.ndarray:
        # without a closed form the networks are built, once per cell
        return self._cached(self._prior_cache, archs, self.space.param_counts)

    def _predict(self, archs: list[Arch]) -> np.ndarray:
        if self.beta:
            mean, std = self.assessor.predict(archs, return_std=True)
            pred = np.asarray(mean, dtype=float) + self.beta * np.asarray(std, dtype=float)
        else:
            pred = np.asarray(self.assessor.predict(archs), dtype=float)
        if not np.all(np.isfinite(pred)):
            raise RuntimeError(f"the assessor predicted {int(np.sum(~np.isfinite(pred)))} non-finite "
                               f"values in round {self.round}")
        return pred


def _rank_z(values: np.ndarray) -> np.ndarray:
    """Standardised ranks (ties share their mean rank); all zeros when every value is equal."""
    from scipy.stats import rankdata

    r = rankdata(values)
    sd = r.std()
    return (r - r.mean()) / sd if sd > 0 else np.zeros_like(r)
