"""Search algorithms behind one ask/tell interface, registered by name."""

from __future__ import annotations

from typing import Any

from search.algorithms.assessor_guided import AssessorGuidedSearch
from search.algorithms.base import ReplayMismatch, SearchAlgorithm
from search.algorithms.evolution import RegularizedEvolution
from search.algorithms.local import LocalSearch
from search.algorithms.random_search import RandomSearch

ALGORITHMS: dict[str, type[SearchAlgorithm]] = {
    cls.name: cls for cls in (RandomSearch, RegularizedEvolution, LocalSearch, AssessorGuidedSearch)
}


def get_algorithm(name: str, **params: Any) -> SearchAlgorithm:
    """Build a search algorithm by name.

    Args:
        name: ``"random"``, ``"evolution"``, ``"local"`` or ``"assessor"``.
        **params: The algorithm's hyper-parameters: their names are checked here (see each
            class's ``param_names``), their values when the search starts.

    Returns:
        An algorithm ready for :meth:`SearchAlgorithm.setup`.

    Raises:
        ValueError: If the name, or the name of a hyper-parameter, is unknown.
    """
    if name not in ALGORITHMS:
        raise ValueError(f"Unknown search algorithm {name!r}. Available: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[name](**params)


__all__ = [
    "ALGORITHMS", "get_algorithm", "SearchAlgorithm", "ReplayMismatch", "RandomSearch",
    "RegularizedEvolution", "LocalSearch", "AssessorGuidedSearch",
]
