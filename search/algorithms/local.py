"""Local search over neighbours (White et al. 2020, https://arxiv.org/abs/2005.02960)."""

from __future__ import annotations

from search.algorithms.base import Arch, SearchAlgorithm, succeeded
from search.algorithms.warmup import check_warmup, zero_cost_ranking


class LocalSearch(SearchAlgorithm):
    """Best-improvement hill climbing with random restarts.

    From a start cell, query every unseen neighbour (one edit away, in random order); move to
    the best neighbour when it beats the current cell, otherwise restart from a new random cell
    (or the next best zero-cost-scored cell when ``zc_warmup`` is set). A start cell whose
    evaluation fails (non-finite value) is replaced by the next start cell; a failed neighbour
    is never moved to.

    Args:
        zc_warmup: Score this many random cells with a zero-cost proxy and use them, best
            first, as start cells (0 starts from random cells). Proxy scores cost no benchmark
            query, so this helps where queries are expensive and the proxy ranks the space well.
        zc_proxy: The proxy used by ``zc_warmup`` (a name of :mod:`gnnpred.proxies`).

    Raises:
        ValueError: If a value is out of range (the message repeats it).
    """

    name = "local"

    def __init__(self, *, zc_warmup: int = 0, zc_proxy: str = "synflow") -> None:
        self.zc_warmup = check_warmup(type(self).__name__, zc_warmup, zc_proxy)
        self.zc_proxy = zc_proxy

    def _start(self) -> None:
        self._starts: list[Arch] = []
        if self.zc_warmup:
            self._starts = zero_cost_ranking(self.domain, self.zc_warmup, self.rng,
                                             proxy=self.zc_proxy, device=self.device,
                                             seed=self.seed)
        self.current: tuple[Arch, float] | None = None
        self._best_nb: tuple[Arch, float] | None = None
        self._queue: list[Arch] = []

    def _neighbourhood(self, arch: Arch) -> list[Arch]:
        cells = self.domain.dedupe_list(self.domain.neighbours(arch), self.seen)
        order = self.rng.permutation(len(cells))
        return [cells[int(i)] for i in order]

    def _ask(self) -> Arch | None:
        while True:
            if self.current is None:
                return self._pop_new(self._starts)  # None: a random unseen cell
            while self._queue:
                cell = self._queue.pop()
                if self._is_new(cell):
                    return cell
            # neighbourhood exhausted: climb or restart
            if self._best_nb is not None and self._best_nb[1] > self.current[1]:
                self.current, self._best_nb = self._best_nb, None
                self._queue = self._neighbourhood(self.current[0])
            else:
                self.current, self._best_nb = None, None

    def _tell(self, arch: Arch, value: float) -> None:
        if not succeeded(value):
            return
        if self.current is None:
            self.current = (arch, value)
            self._queue = self._neighbourhood(arch)
        elif self._best_nb is None or value > self._best_nb[1]:
            self._best_nb = (arch, value)
