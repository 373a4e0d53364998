"""Scores that assessor-guided search ranks candidates by, besides the assessor's prediction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from search.algorithms.base import Arch
from search.domain import Domain


class CellCache:
    """Per-cell values computed once per search, keyed by the cell's dedupe key.

    Args:
        domain: Gives each cell's dedupe key (equivalent cells share one value).
        compute: Values of a list of cells, ``[n]``; called only with cells not yet cached.
    """

    def __init__(self, domain: Domain, compute: Callable[[list[Arch]], Any]) -> None:
        self.domain = domain
        self.compute = compute
        self.values: dict = {}

    def __call__(self, archs: Sequence[Arch]) -> np.ndarray:
        """The values of ``archs``, ``[len(archs)]`` float."""
        keys = [self.domain.key(a) for a in archs]
        missing = {k: a for k, a in zip(keys, archs, strict=True) if k not in self.values}
        if missing:
            values = np.asarray(self.compute(list(missing.values())), dtype=float)
            self.values.update(zip(missing, values.tolist(), strict=True))
        return np.array([self.values[k] for k in keys], dtype=float)

    def __len__(self) -> int:
        return len(self.values)


def table_mutations(domain: Domain, parent: Arch, n: int, rng: np.random.Generator, seen: set,
                    tries: int, device: str = "auto") -> list[Arch]:
    """``n`` draws of ``domain.mutate(parent, rng, seen, tries)`` made at once, draws that found
    nothing dropped: each is the first of ``tries`` mutations of ``parent`` that the table holds
    and whose key is not in ``seen``.

    Spaces with batched operations (:class:`gnnpred.spaces.BatchedSpace`) mutate all
    ``n * tries`` copies of ``parent`` in one tensor batch on ``device``; the draws have the
    one-cell distribution, from another random stream. Other spaces loop over ``mutate``.
    """
    from gnnpred.spaces import BatchedSpace

    space = domain.space
    if not isinstance(space, BatchedSpace):
        found = (domain.mutate(parent, rng, seen, tries=tries) for _ in range(n))
        return [c for c in found if c is not None]
    mutants = space.mutate_many([parent] * (n * tries), rng, device=device).cells()
    out = []
    for i in range(n):
        for cell in mutants[i * tries : (i + 1) * tries]:
            own = domain.lookup(cell)
            if own is not None and domain.key(own) not in seen:
                out.append(own)
                break
    return out


def rarity(space: Any, parent: Arch, cells: Sequence[Arch],
           labelled: Sequence[Arch]) -> np.ndarray:
    """How often the ``labelled`` cells hold the rarest encoding feature that each cell adds to
    ``parent`` (e.g. an op on an edge, for NB201), ``[len(cells)]``; a cell adding no feature
    gets the int64 maximum (as common as can be)."""
    enc = space.encode([parent, *cells]) > 0
    counts = (space.encode(list(labelled)) > 0).sum(0)
    added = enc[1:] & ~enc[0]
    return np.where(added, counts, np.iinfo(np.int64).max).min(1)


def top_weights(values: np.ndarray, top_weight: float) -> np.ndarray | None:
    """Loss weights ``1 + top_weight * q**2`` for labels of rank quantile ``q`` (0 the worst,
    1 the best); ``None`` (equal weights) when ``top_weight`` is 0 or there is one label."""
    if not top_weight or len(values) < 2:
        return None
    q = np.argsort(np.argsort(values, kind="stable"), kind="stable") / (len(values) - 1)
    return 1.0 + top_weight * q**2


def rank_z(values: np.ndarray) -> np.ndarray:
    """Standardised ranks (ties share their mean rank); all zeros when every value is equal."""
    from scipy.stats import rankdata

    r = rankdata(values)
    sd = r.std()
    return (r - r.mean()) / sd if sd > 0 else np.zeros_like(r)
