"""What the search knows about each search space, beyond the space's own contract.

Search algorithms make choices that depend on measurements in a particular space (which
zero-cost proxy picks good neighbours there) or on how cheap an operation is there (whether
parameter counts come in closed form). That knowledge belongs to the search, not to the space
definitions in :mod:`gnnpred.spaces`, so it lives in one table here, keyed by the space's
canonical name (:attr:`gnnpred.spaces.base.SearchSpace.name`). A space without an entry gets
the neutral :class:`SpaceHints` (no guide proxy, parameter counts treated as expensive); a
user's own space can be given one with ``SPACE_HINTS["myspace"] = SpaceHints(...)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpaceHints:
    """Search knowledge about one search space.

    Attributes:
        guide_proxy: A data-free zero-cost proxy (a name of :data:`gnnpred.proxies.DATA_FREE`)
            measured to pick good neighbours in this space, which assessor-guided search uses
            for its exploration pick where labels are few; ``None`` where no proxy has been
            shown to help. On NAS-Bench-201 CIFAR-10 cells of 93.5-94.2% accuracy, synflow's
            favourite neighbour improves on the cell more often than the parameter count's or a
            random neighbour (``python benchmarks/proxies.py --neighbours 200``).
        fast_param_counts: Whether the space's ``param_counts`` is computed in closed form (no
            network is built), so that scoring a whole table by parameter count is cheap
            (NAS-Bench-201: under a second for all 15,625 cells).
    """

    guide_proxy: str | None = None
    fast_param_counts: bool = False


#: Canonical space name -> its hints.
SPACE_HINTS: dict[str, SpaceHints] = {
    "nasbench201": SpaceHints(guide_proxy="synflow", fast_param_counts=True),
}


def space_hints(space: Any) -> SpaceHints:
    """The hints of ``space`` (a :class:`~gnnpred.spaces.base.SearchSpace`), neutral if none."""
    return SPACE_HINTS.get(getattr(space, "name", ""), SpaceHints())
