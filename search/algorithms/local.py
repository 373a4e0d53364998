"""Local search over neighbours (White et al. 2020, https://arxiv.org/abs/2005.02960)."""

from __future__ import annotations

from search.algorithms.base import Arch, SearchAlgorithm, check_positive_int
from search.algorithms.warmup import zero_cost_ranking


class LocalSearch(SearchAlgorithm):
    """Best-improvement hill climbing with random restarts.

    From a start cell, query every unseen neighbour (one edit away, in random order); move to
    the best neighbour when it beats the current cell, otherwise restart from a new random cell
    (or the next best zero-cost-scored cell when ``zc_warmup`` is set).

    Args:
        zc_warmup: Score this many random cells with a zero-cost proxy and use them, best
            first, as start cells (0, the default, starts from random cells).
        zc_proxy: The proxy used by ``zc_warmup`` (default ``"synflow"``).
    """

    name = "local"
    param_names = ("zc_warmup", "zc_proxy")

    def _start(self) -> None:
        n_zc = check_positive_int(type(self).__name__, "zc_warmup", self.params.get("zc_warmup", 0),
                                  minimum=0)
        self._starts: list[Arch] = []
        if n_zc:
            self._starts = zero_cost_ranking(self.domain, n_zc, self.rng,
                                             proxy=self.params.get("zc_proxy", "synflow"),
                                             device=self.device, seed=self.seed)
        self.current: tuple[Arch, float] | None = None
        self._best_nb: tuple[Arch, float] | None = None
        self._queue: list[Arch] = []

    def _neighbourhood(self, arch: Arch) -> list[Arch]:
        cells = self.domain.dedupe_list(self.domain.neighbours(arch), self.seen)
        order = self.rng.permutation(len(cells))
        return [cells[int(i)] for i in order]

    def _start_cell(self) -> Arch | None:
        return self._pop_new(self._starts)  # None: the base class draws a random unseen cell

    def _ask(self) -> Arch | None:
        while True:
            if self.current is None:
                return self._start_cell()
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
        if self.current is None:
            self.current = (arch, value)
            self._queue = self._neighbourhood(arch)
        elif self._best_nb is None or value > self._best_nb[1]:
            self._best_nb = (arch, value)
