"""Random search: query table cells in a random order, each equivalence class once."""

from __future__ import annotations

from search.algorithms.base import Arch, SearchAlgorithm


class RandomSearch(SearchAlgorithm):
    """Uniform random search without replacement (Li & Talwalkar, 2019, as a baseline).

    Walks a seeded permutation of the benchmark's cells and skips cells whose dedupe key was
    already queried. It has no hyper-parameters.
    """

    name = "random"

    def __init__(self) -> None:
        pass

    def _start(self) -> None:
        self._order = self.rng.permutation(len(self.domain))
        self._pos = 0

    def _ask(self) -> Arch | None:
        archs = self.domain.archs
        while self._pos < len(self._order):
            arch = archs[int(self._order[self._pos])]
            self._pos += 1
            if self._is_new(arch):
                return arch
        return None
