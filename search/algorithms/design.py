"""Coverage initial design: the first cells of a search chosen to show every encoding feature.

A predictor fitted on a handful of random cells has seen some features (an op on an edge, for
NB201) several times and others never, and extrapolates blindly over the latter. Choosing the
initial cells greedily so that together they hold as many distinct features as possible (a
covering design over ``space.encode``; for NB201 six cells can hold all 30 edge-op pairs) gives
the first fit evidence about every feature for the same number of queries.
"""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from search.algorithms.base import check_positive_int
from search.domain import Domain


def coverage_design(domain: Domain, n: int, rng: np.random.Generator, *, n_pool: int = 2000,
                    seen: set | None = None) -> list[Hashable]:
    """``n`` distinct table cells that together cover as many encoding features as possible.

    Features are read from ``space.encode`` of each cell's canonical form (so an op on an edge
    that no path uses does not count). Greedy: each pick adds the most features not yet covered
    by the earlier picks; ties, and picks once everything is covered, are broken by the random
    order of ``n_pool`` cells drawn uniformly from the table.

    Args:
        domain: The cells to draw from.
        n: How many cells to return (fewer if the table has fewer unseen keys).
        rng: Source of the random draw.
        n_pool: How many random table cells the picks are chosen among.
        seen: Dedupe keys that must not be returned (cells already queried).

    Returns:
        The chosen cells, in pick order.

    Raises:
        ValueError: If ``n`` or ``n_pool`` is not a positive int.
    """
    n = check_positive_int("coverage_design", "n", n)
    n_pool = check_positive_int("coverage_design", "n_pool", n_pool)
    idx = rng.choice(len(domain), size=min(n_pool, len(domain)), replace=False)
    cells = domain.dedupe_list([domain.archs[int(i)] for i in idx], set(seen or ()))
    if not cells:
        return []
    space = domain.space
    feats = space.encode([space.canonical(c) for c in cells]) > 0  # [m, d] bool
    covered = np.zeros(feats.shape[1], dtype=bool)
    free = np.ones(len(cells), dtype=bool)
    picks: list[Hashable] = []
    for _ in range(min(n, len(cells))):
        gain = np.where(free, (feats & ~covered).sum(1), -1)
        i = int(np.argmax(gain))  # first maximum: the random draw order breaks ties
        picks.append(cells[i])
        free[i] = False
        covered |= feats[i]
    return picks
