"""Search algorithms behind one ask/tell interface, registered by name.

Each algorithm takes its hyper-parameters as keyword-only ``__init__`` arguments; build one with
``ALGORITHMS[name](**params)`` (or :func:`get_algorithm`) and list them with
:func:`hyper_parameters`.
"""

from __future__ import annotations

from typing import Any

from search.algorithms.assessor_guided import AssessorGuidedSearch
from search.algorithms.base import ReplayMismatch, SearchAlgorithm
from search.algorithms.evolution import RegularizedEvolution
from search.algorithms.local import LocalSearch
from search.algorithms.random_search import RandomSearch
from search.algorithms.seminas import SemiNASSearch
from search.algorithms.space_hints import SPACE_HINTS, SpaceHints, space_hints

ALGORITHMS: dict[str, type[SearchAlgorithm]] = {
    cls.name: cls
    for cls in (RandomSearch, RegularizedEvolution, LocalSearch, AssessorGuidedSearch,
                SemiNASSearch)
}


def _check_name(name: str) -> type[SearchAlgorithm]:
    if name not in ALGORITHMS:
        raise ValueError(f"Unknown search algorithm {name!r}. Available: {', '.join(ALGORITHMS)}.")
    return ALGORITHMS[name]


def hyper_parameters(name: str) -> dict[str, Any]:
    """The hyper-parameters of algorithm ``name`` and their defaults (from its signature).

    Raises:
        ValueError: If the name is unknown (the message lists the algorithms).
    """
    return _check_name(name).hyper_parameters()


def get_algorithm(name: str, **params: Any) -> SearchAlgorithm:
    """Build a search algorithm by name: ``ALGORITHMS[name](**params)``.

    Args:
        name: ``"random"``, ``"evolution"``, ``"local"``, ``"assessor"`` or ``"seminas"``.
        **params: The algorithm's hyper-parameters (see :func:`hyper_parameters`).

    Returns:
        An algorithm ready for :meth:`SearchAlgorithm.setup`.

    Raises:
        ValueError: If the name is unknown or a hyper-parameter value is out of range.
        TypeError: If a hyper-parameter name is unknown (Python's own error).
    """
    return _check_name(name)(**params)


__all__ = [
    "ALGORITHMS", "get_algorithm", "hyper_parameters", "SearchAlgorithm", "ReplayMismatch",
    "RandomSearch", "RegularizedEvolution", "LocalSearch", "AssessorGuidedSearch", "SemiNASSearch",
    "SPACE_HINTS",
    "SpaceHints", "space_hints",
]
