"""Regularized (aging) evolution, Real et al. 2019 (https://arxiv.org/abs/1802.01548)."""

from __future__ import annotations

from collections import deque

from search.algorithms.base import Arch, SearchAlgorithm, check_int, succeeded
from search.algorithms.warmup import check_warmup, zero_cost_ranking


class RegularizedEvolution(SearchAlgorithm):
    """Aging evolution: tournament selection, one mutation per child, the oldest member dies.

    The population fills with the first successfully evaluated cells (random cells, or the best
    of ``zc_warmup`` proxy-scored cells); afterwards each query is a mutation of the best of
    ``sample_size`` random population members. Children already queried are re-drawn, so no
    cell is paid for twice. A failed evaluation (non-finite value) never joins the population,
    so it is never a parent.

    Args:
        population_size: Cells alive at once.
        sample_size: Tournament size; at most ``population_size``.
        zc_warmup: Score this many random cells with a zero-cost proxy and seed the
            population with the best (0 disables it). Proxy scores cost no benchmark query, so
            this helps where queries are expensive and the proxy ranks the space well.
        zc_proxy: The proxy used by ``zc_warmup`` (a name of :mod:`gnnpred.proxies`).

    Raises:
        ValueError: If a value is out of range (the message repeats it).
    """

    name = "evolution"

    def __init__(self, *, population_size: int = 30, sample_size: int = 10, zc_warmup: int = 0,
                 zc_proxy: str = "synflow") -> None:
        owner = type(self).__name__
        self.population_size = check_int(owner, "population_size", population_size)
        self.sample_size = check_int(owner, "sample_size", sample_size)
        if self.sample_size > self.population_size:
            raise ValueError(f"The 'sample_size' parameter of {owner} ({sample_size!r}) must not "
                             f"exceed population_size ({population_size!r}); lower it or "
                             "raise population_size.")
        self.zc_warmup = check_warmup(owner, zc_warmup, zc_proxy)
        self.zc_proxy = zc_proxy

    def _start(self) -> None:
        self.population: deque[tuple[Arch, float]] = deque()
        self._seeds: list[Arch] = []
        if self.zc_warmup:
            ranked = zero_cost_ranking(self.domain, self.zc_warmup, self.rng, proxy=self.zc_proxy,
                                       device=self.device, seed=self.seed)
            self._seeds = ranked[: self.population_size]

    def _ask(self) -> Arch | None:
        if len(self.population) < self.population_size:
            return self._pop_new(self._seeds)  # None: a random unseen cell
        members = list(self.population)
        # a few tournaments; on tables covering a small part of the space (NB101 samples),
        # mutations rarely land in the table and the child falls back to a random table cell
        for _ in range(3):
            picks = self.rng.choice(len(members), size=self.sample_size, replace=False)
            parent = max((members[int(i)] for i in picks), key=lambda m: m[1])[0]
            child = self.domain.mutate(parent, self.rng, self.seen, tries=20)
            if child is not None:
                return child
        return None

    def _tell(self, arch: Arch, value: float) -> None:
        if not succeeded(value):
            return
        self.population.append((arch, value))
        if len(self.population) > self.population_size:
            self.population.popleft()
