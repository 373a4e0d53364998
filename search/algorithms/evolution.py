"""Regularized (aging) evolution, Real et al. 2019 (https://arxiv.org/abs/1802.01548)."""

from __future__ import annotations

from collections import deque

from search.algorithms.base import Arch, SearchAlgorithm, check_positive_int
from search.algorithms.warmup import zero_cost_ranking


class RegularizedEvolution(SearchAlgorithm):
    """Aging evolution: tournament selection, one mutation per child, the oldest member dies.

    The first ``population_size`` queries fill the population (random cells, or the best of
    ``zc_warmup`` proxy-scored cells); afterwards each query is a mutation of the best of
    ``sample_size`` random population members. Children already queried are re-drawn, so no
    cell is paid for twice.

    Args:
        population_size: Cells alive at once (default 30).
        sample_size: Tournament size (default 10).
        zc_warmup: Score this many random cells with a zero-cost proxy and seed the
            population with the best (0, the default, disables it).
        zc_proxy: The proxy used by ``zc_warmup`` (default ``"synflow"``).
    """

    name = "evolution"
    param_names = ("population_size", "sample_size", "zc_warmup", "zc_proxy")

    def _start(self) -> None:
        owner = type(self).__name__
        self.population_size = check_positive_int(owner, "population_size",
                                                  self.params.get("population_size", 30))
        self.sample_size = check_positive_int(owner, "sample_size", self.params.get("sample_size", 10))
        if self.sample_size > self.population_size:
            raise ValueError(f"The 'sample_size' parameter of {owner} ({self.sample_size}) must not "
                             f"exceed population_size ({self.population_size}).")
        n_zc = check_positive_int(owner, "zc_warmup", self.params.get("zc_warmup", 0), minimum=0)
        self.population: deque[tuple[Arch, float]] = deque()
        self._seeds: list[Arch] = []
        if n_zc:
            ranked = zero_cost_ranking(self.domain, n_zc, self.rng,
                                       proxy=self.params.get("zc_proxy", "synflow"),
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
        self.population.append((arch, value))
        if len(self.population) > self.population_size:
            self.population.popleft()
