"""Assessor-guided search: spend queries only on the cells a semi-supervised predictor ranks best.

In the spirit of SemiNAS (Luo et al., NeurIPS 2020, https://arxiv.org/abs/2002.10389): each
round fits :class:`gnnpred.Assessor` on every successfully evaluated cell plus a fixed unlabelled
pool, scores thousands of candidates in one batch (the whole table when it is small; otherwise
neighbours and mutations of the best evaluated cell, then random cells) and queries the top few.

A round's queries are of three kinds, queried in this order:

1. the best-predicted unseen neighbours of the best cell found so far (``local_fraction`` of the
   round): local refinement, which is what finds the exact optimum;
2. the best-predicted candidates overall: global jumps;
3. exploration picks (``n_explore``) among the remaining neighbours of the best cell. A predictor
   trained on few labels extrapolates global trends ("skip connections are poor") and can leave
   the one neighbour that escapes a local optimum for last, so these picks judge neighbours by
   something the labels do not teach: a data-free zero-cost proxy of each neighbour's untrained
   network where one is known to pick good neighbours in the space (synflow on NAS-Bench-201,
   see :mod:`search.algorithms.space_hints`), otherwise the encoding feature (an op on an edge)
   the neighbour adds that is least seen among the labelled cells.

The autoencoder is pretrained once per search (the pool never changes: ``warm_start=True``) and
the prediction heads are retrained from scratch each round (``warm_heads=False``), so a round's
fit depends only on the labels it sees, not on earlier fits made with fewer labels. Each refit
sees the labelled cells in table order, so the order of a round's queries changes no later round
(it only decides how soon a good cell is counted), and it weighs the best cells more
(``top_weight``): the search needs the order among the top cells, not among the poor ones.

Every ranking blends the assessor's prediction with a zero-cost prior, the parameter count of
each cell's network (``prior``), both as standardised ranks, the prior weighted
``prior_weight * n_init / n`` with ``n`` labels. A fit on a handful of labels barely ranks the
table, while the parameter count alone ranks NAS-Bench-201 well; the prior takes the first rounds
towards large networks and fades as labels accumulate.

A failed evaluation (non-finite value) only counts as queried: it is never a label, the parent
of a round or the best cell, and the search goes on (with random cells until two evaluations
have succeeded). The measured effect of each choice is in ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np

from search.algorithms.base import (
    Arch,
    SearchAlgorithm,
    check_choice,
    check_float,
    check_int,
    succeeded,
)
from search.algorithms.ranking import CellCache, rank_z, rarity, table_mutations, top_weights
from search.algorithms.space_hints import space_hints
from search.algorithms.warmup import check_warmup, zero_cost_ranking

logger = logging.getLogger(__name__)

#: Assessor settings used unless ``assessor_params`` overrides them: a short autoencoder
#: pretraining (once per search) and one head of each kind, 32 channels wide, weighted towards the
#: GIN regressor head (it ranks NB201 cells better than the kNN GCN head), retrained from scratch
#: each round, so that a refit takes about a second on a CPU core.
DEFAULT_ASSESSOR_PARAMS: dict[str, Any] = {
    "pretrain_steps": 300, "n_heads": 1, "hidden_channels": 32, "gcn_weight": 0.1,
    "gcn_epochs": 100, "warm_heads": False,
}
#: New candidates (outside the unlabelled pool) a round scores with the GCN head as well, the
#: best by the regressor head (``Assessor.predict(gcn_top=...)``); the rest get the regressor
#: head alone. Each GCN-scored new cell needs its nearest pool cells, the largest cost of a round
#: of 100,000 candidates, while a round queries only the best few. Rounds of the default
#: ``n_candidates`` and table searches (every candidate is in the pool) score every cell fully,
#: as does an assessor without a regressor head (``gcn_weight=1``).
GCN_TOP = 5000
#: Assessor arguments the search sets itself.
_RESERVED = ("space", "warm_start")


class AssessorGuidedSearch(SearchAlgorithm):
    """Predictor-guided search with a semi-supervised GNN assessor.

    Args:
        n_init: Cells queried before the first fit (random, or the best zero-cost-scored ones).
        per_round: Cells queried per round.
        n_candidates: Candidates scored per round when the table is too big to score whole:
            neighbours and mutations of the best evaluated cell, then random cells.
        exhaustive_max: Score every unseen table cell when the table holds at most this many
            (NB201's 15,625 qualify by default; NAS-Bench-Graph's 26,206 do not).
        local_fraction: Share of each round's queries taken among the unseen neighbours of the
            best evaluated cell; the rest are the best-predicted candidates overall.
        pool_size: Unlabelled pool size; the whole table when it is smaller. Drawn once per
            search, so the autoencoder is pretrained once.
        top_weight: Extra loss weight of the best evaluated cells: a cell whose value has rank
            quantile ``q`` (0 the worst, 1 the best) weighs ``1 + top_weight * q**2`` in each
            refit (``sample_weight`` of :meth:`gnnpred.Assessor.fit`); 0 weighs all equally.
        n_explore: How many of each round's local picks are exploration picks instead of the
            best-predicted neighbours (0 orders all local picks by prediction).
        explore: How exploration picks are chosen among the remaining neighbours of the best
            cell: ``"synflow"`` (highest synflow of the untrained network first; each cell is
            scored once per search), ``"rarity"`` (the neighbour adding the encoding feature
            least seen among the labelled cells first; costs nothing), or ``"auto"``: the
            space's guide proxy (:mod:`search.algorithms.space_hints`), else ``"rarity"``. Ties
            go to the best predicted, non-finite scores last.
        beta: Optimism of the ranking: candidates are ordered by ``mean + beta * std`` of the
            assessor's ensemble (upper confidence bound), favouring cells the heads disagree
            on; needs ``"n_heads" >= 2`` in ``assessor_params`` to have an effect (0 ranks by
            the mean). Worth raising when the budget allows exploring uncertain regions.
        prior: The zero-cost score blended into every ranking: ``"params"`` (each cell's
            parameter count), ``"none"``, or ``"auto"``: ``"params"`` where the space counts
            parameters in closed form (:mod:`search.algorithms.space_hints`), ``"none"``
            elsewhere, since building thousands of networks a round would cost more than it
            saves. Choose ``"params"`` there when queries are expensive (training runs).
        prior_weight: Weight of the prior against the assessor once ``n_init`` cells are
            labelled; it shrinks as ``prior_weight * n_init / n`` with ``n`` labels (0 disables
            the prior).
        zc_warmup: Score this many random cells with a zero-cost proxy; the initial design is
            the best ``n_init`` of them (0 uses random cells). Proxy scores cost no benchmark
            query, so the first fit can start from cells the proxy likes.
        zc_proxy: The proxy used by ``zc_warmup`` (a name of :mod:`gnnpred.proxies`).
        assessor_params: Keyword arguments of :class:`gnnpred.Assessor` overriding
            :data:`DEFAULT_ASSESSOR_PARAMS` (``random_state`` defaults to the search's seed,
            ``device`` to the search's device).

    Raises:
        ValueError: If a value is out of range, including one of ``assessor_params`` (the
            message repeats it).
        TypeError: If ``assessor_params`` names an argument the assessor does not take.
    """

    name = "assessor"

    def __init__(self, *, n_init: int = 6, per_round: int = 3, n_candidates: int = 3000,
                 exhaustive_max: int = 20000, local_fraction: float = 0.8,
                 pool_size: int = 20000, top_weight: float = 10.0, n_explore: int = 1,
                 explore: str = "auto", beta: float = 0.0, prior: str = "auto",
                 prior_weight: float = 1.0, zc_warmup: int = 0, zc_proxy: str = "synflow",
                 assessor_params: dict[str, Any] | None = None) -> None:
        owner = type(self).__name__
        self.n_init = check_int(owner, "n_init", n_init)
        self.per_round = check_int(owner, "per_round", per_round)
        self.n_candidates = check_int(owner, "n_candidates", n_candidates)
        self.exhaustive_max = check_int(owner, "exhaustive_max", exhaustive_max, minimum=0)
        self.local_fraction = check_float(owner, "local_fraction", local_fraction, high=1.0)
        self.pool_size = check_int(owner, "pool_size", pool_size)
        self.top_weight = check_float(owner, "top_weight", top_weight)
        self.n_explore = check_int(owner, "n_explore", n_explore, minimum=0)
        self.explore = check_choice(owner, "explore", explore, ("auto", "rarity", "synflow"))
        self.beta = check_float(owner, "beta", beta)
        self.prior = check_choice(owner, "prior", prior, ("auto", "params", "none"))
        self.prior_weight = check_float(owner, "prior_weight", prior_weight)
        self.zc_warmup = check_warmup(owner, zc_warmup, zc_proxy)
        self.zc_proxy = zc_proxy
        self.assessor_params = _check_assessor_params(owner, assessor_params)

    # ---------------------------------------------------------------------------- setup
    def _start(self) -> None:
        from gnnpred import Assessor  # lazy: lightning is slow to import

        kwargs = {**DEFAULT_ASSESSOR_PARAMS, **(self.assessor_params or {})}
        kwargs.setdefault("random_state", self.seed)
        kwargs.setdefault("device", self.device)
        kwargs.setdefault("verbose", False)
        #: The assessor refitted each round.
        self.assessor_ = Assessor(space=self.space, warm_start=True, **kwargs)
        domain = self.domain
        if len(domain) <= self.pool_size:
            self.pool_ = list(domain.archs)
        else:
            idx = np.sort(self.rng.choice(len(domain), size=self.pool_size, replace=False))
            self.pool_ = [domain.archs[int(i)] for i in idx]
        self._init: list[Arch] = []
        if self.zc_warmup:
            self._init = zero_cost_ranking(domain, self.zc_warmup, self.rng, proxy=self.zc_proxy,
                                           device=self.device, seed=self.seed)[: self.n_init]
        hints = space_hints(self.space)
        prior = self.prior
        if prior == "auto":
            prior = "params" if hints.fast_param_counts else "none"
        #: The prior in use (``"params"`` or ``"none"``), after resolving ``"auto"``.
        self.prior_ = prior if self.prior_weight > 0 else "none"
        # parameter counts; without a closed form the networks are built, once per cell
        self._prior = CellCache(domain, self.space.param_counts)
        if self.prior_ == "params" and hints.fast_param_counts:  # the whole table at once
            self._prior(domain.archs)
        #: The exploration criterion in use (``"synflow"`` or ``"rarity"``), after ``"auto"``.
        self.explore_ = (hints.guide_proxy or "rarity") if self.explore == "auto" else self.explore
        self._explore_scores = CellCache(domain, self._proxy_scores)
        self._queue: list[Arch] = []
        self.round = 0

    # ---------------------------------------------------------------------------- ask / tell
    def _ask(self) -> Arch | None:
        return self._ask_rounds(self._init)

    def _tell(self, arch: Arch, value: float) -> None:
        # a replayed history may hold a cell other than the queue head: drop it wherever it is
        key = self.domain.key(arch)
        self._queue = [c for c in self._queue if self.domain.key(c) != key]

    # ---------------------------------------------------------------------------- one round
    def _candidates(self, rng: np.random.Generator, parent: Arch, local: list[Arch]) -> list[Arch]:
        domain, seen = self.domain, self.seen
        if len(domain) <= self.exhaustive_max:
            return domain.unseen(seen)
        mutants = table_mutations(domain, parent, max(1, self.n_candidates // 2), rng, seen,
                                  tries=5, device=self.device)
        cands = domain.dedupe_list(list(local) + mutants, seen)
        missing = self.n_candidates - len(cands)
        if missing > 0:
            idx = rng.choice(len(domain), size=min(missing, len(domain)), replace=False)
            cands = domain.dedupe_list(cands + [domain.archs[int(i)] for i in idx], seen)
        return cands

    def _next_round(self) -> list[Arch]:
        rng = np.random.default_rng([self.seed, 7, self.round])
        self.round += 1
        domain = self.domain
        labelled = [i for i, v in enumerate(self.values) if succeeded(v)]
        parent = self.archs[max(labelled, key=self.values.__getitem__)]  # first best on ties
        local = domain.dedupe_list(domain.neighbours(parent), self.seen)
        cands = self._candidates(rng, parent, local)
        if not cands:
            return []
        # fit on the labelled cells in table order: a round depends on which cells were
        # evaluated, not on the order they were queried in (so ordering a round is free)
        rows = sorted(labelled, key=lambda i: domain.index(self.archs[i]))
        archs = [self.archs[i] for i in rows]
        values = np.asarray([self.values[i] for i in rows], dtype=float)
        self.assessor_.fit(archs, values, unlabeled=self.pool_,
                           sample_weight=top_weights(values, self.top_weight))
        pred = self._score(cands, len(archs))
        n_local = min(len(local), int(round(self.local_fraction * self.per_round)))
        exploit: list[Arch] = []
        explore: list[Arch] = []
        if n_local:
            order = np.argsort(-self._score(local, len(archs)), kind="stable")
            n_exploit = n_local - min(self.n_explore, n_local)
            exploit = [local[int(i)] for i in order[:n_exploit]]
            if n_exploit < n_local:  # the explore ranking first, then the best predicted
                rest = [local[int(i)] for i in order[n_exploit:]]
                cost = self._explore_cost(parent, rest, archs)
                picks = np.argsort(cost, kind="stable")[: n_local - n_exploit]
                explore = [rest[int(j)] for j in picks]
        keys = {domain.key(c) for c in exploit + explore}
        best_overall: list[Arch] = []
        for i in np.argsort(-pred, kind="stable"):
            if len(exploit) + len(explore) + len(best_overall) >= self.per_round:
                break
            if domain.key(cands[int(i)]) not in keys:
                best_overall.append(cands[int(i)])
        logger.debug("round %d: %d candidates (%d local), best score %.4f", self.round,
                     len(cands), len(local), float(pred.max()))
        # queried in this order: exploration picks last, as they rarely hit the optimum
        return exploit + best_overall + explore

    # ---------------------------------------------------------------------------- scores
    def _explore_cost(self, parent: Arch, cells: list[Arch], labelled: list[Arch]) -> np.ndarray:
        """Exploration order of ``cells`` (neighbours of ``parent``): lowest first."""
        if self.explore_ == "rarity":
            return rarity(self.space, parent, cells, labelled).astype(float)
        scores = self._explore_scores(cells)
        return np.where(np.isfinite(scores), -scores, np.inf)

    def _proxy_scores(self, cells: list[Arch]) -> np.ndarray:
        from gnnpred import proxies

        with warnings.catch_warnings():  # cells cut off by 'none' edges score 0: expected here
            warnings.simplefilter("ignore", RuntimeWarning)
            return proxies.score(self.space, cells, names=[self.explore_], device=self.device,
                                 random_state=self.seed, verbose=False)[self.explore_]

    def _score(self, archs: list[Arch], n_labels: int) -> np.ndarray:
        """Ranking score of ``archs``: the assessor's prediction (fitted on ``n_labels``
        cells), blended with the prior."""
        pred = self._predict(archs)
        if self.prior_ == "none" or len(archs) < 2:
            return pred
        weight = self.prior_weight * self.n_init / n_labels
        return rank_z(pred) + weight * rank_z(self._prior(archs))

    def _predict(self, archs: list[Arch]) -> np.ndarray:
        if self.beta:
            mean, std = self.assessor_.predict(archs, return_std=True, gcn_top=GCN_TOP)
            pred = np.asarray(mean, dtype=float) + self.beta * np.asarray(std, dtype=float)
        else:
            pred = np.asarray(self.assessor_.predict(archs, gcn_top=GCN_TOP), dtype=float)
        if not np.all(np.isfinite(pred)):
            raise RuntimeError(f"the assessor predicted {int(np.sum(~np.isfinite(pred)))} "
                               f"non-finite values in round {self.round}")
        return pred


def _check_assessor_params(owner: str, params: Any) -> dict[str, Any] | None:
    """Validate ``assessor_params`` without fitting (the assessor's own ``check_params``)."""
    if params is None:
        return None
    if not isinstance(params, dict):
        raise ValueError(f"The 'assessor_params' parameter of {owner} must be a dict of "
                         f"gnnpred.Assessor arguments. Got {params!r} instead.")
    reserved = [k for k in _RESERVED if k in params]
    if reserved:
        raise ValueError(f"The 'assessor_params' parameter of {owner} may not set "
                         f"{', '.join(map(repr, reserved))}: the search sets it. Got {params!r}.")
    from gnnpred import Assessor  # lazy: lightning is slow to import

    try:
        assessor = Assessor(**{**DEFAULT_ASSESSOR_PARAMS, **params})
    except TypeError as exc:  # an argument the assessor does not take
        raise TypeError(f"The 'assessor_params' parameter of {owner}: {exc}") from exc
    try:
        assessor.check_params()
    except ValueError as exc:
        raise ValueError(f"The 'assessor_params' parameter of {owner} is invalid: {exc}") from exc
    return params

