"""Zero-cost warm-up: seed a population with the best of N proxy-scored cells.

Zero-cost proxies (Abdelfattah et al., ICLR 2021, https://arxiv.org/abs/2101.08134) score an
untrained network in about a second, without any benchmark query, so population-based searches
can start from cells the proxy likes instead of uniform random ones.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable

import numpy as np

from search.algorithms.base import check_int
from search.domain import Domain

logger = logging.getLogger(__name__)


def check_warmup(owner: str, zc_warmup: object, zc_proxy: object) -> int:
    """Validate the ``zc_warmup`` / ``zc_proxy`` hyper-parameters of ``owner``.

    Returns:
        ``zc_warmup`` as an int.

    Raises:
        ValueError: If ``zc_warmup`` is not an int >= 0 or ``zc_proxy`` is not a registered
            proxy (the message lists them).
    """
    n = check_int(owner, "zc_warmup", zc_warmup, minimum=0)
    from gnnpred import proxies  # lazy: imports torch

    names = proxies.available_proxies()
    if not isinstance(zc_proxy, str) or zc_proxy not in names:
        raise ValueError(f"The 'zc_proxy' parameter of {owner} must be a zero-cost proxy of "
                         f"gnnpred.proxies ({', '.join(names)}). Got {zc_proxy!r} instead.")
    return n


def zero_cost_ranking(domain: Domain, n: int, rng: np.random.Generator, *,
                      proxy: str = "synflow", device: str = "auto",
                      seed: int = 0) -> list[Hashable]:
    """``n`` distinct random table cells, best proxy score first.

    Args:
        domain: The cells to draw from.
        n: How many cells to score.
        rng: Source of the random draw.
        proxy: A name registered in :mod:`gnnpred.proxies` (data-free ones need no images).
        device: Torch device for scoring.
        seed: ``random_state`` passed to the proxy scorer.

    Returns:
        The scored cells sorted by decreasing score; cells whose score is NaN go last.

    Raises:
        ValueError: If ``proxy`` is unknown.
    """
    from gnnpred import proxies

    if proxy not in proxies.available_proxies():
        raise ValueError(f"Unknown zero-cost proxy {proxy!r} for the warm-up. "
                         f"Available: {', '.join(proxies.available_proxies())}.")
    idx = rng.choice(len(domain), size=min(n, len(domain)), replace=False)
    cells = domain.dedupe_list([domain.archs[int(i)] for i in idx], set())
    scores = np.asarray(proxies.score(domain.space, cells, names=[proxy], device=device,
                                      random_state=seed, verbose=False)[proxy], dtype=float)
    n_bad = int(np.sum(~np.isfinite(scores)))
    if n_bad:
        logger.warning("zero-cost warm-up: %d of %d %s scores are not finite; those cells go last",
                       n_bad, len(cells), proxy)
    order = np.argsort(np.where(np.isfinite(scores), -scores, np.inf), kind="stable")
    return [cells[int(i)] for i in order]
