"""The ask/tell interface every search algorithm implements.

A search is driven from outside (:func:`search.engine.run_search`): it repeatedly calls
:meth:`SearchAlgorithm.propose` for the next cell to query and feeds the benchmark's answer to
:meth:`SearchAlgorithm.observe`. Every decision is a pure function of the seed and the
observations so far, so a killed run is resumed exactly by replaying its recorded history
(:meth:`SearchAlgorithm.replay`) without querying anything again.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Hashable, Sequence
from typing import Any, ClassVar

import numpy as np

from search.domain import Domain

Arch = Hashable
logger = logging.getLogger(__name__)


class ReplayMismatch(RuntimeError):
    """A recorded history does not match what the algorithm proposes for the same seed."""


class SearchAlgorithm(ABC):
    """Base class of search algorithms (ask/tell; the budget counts benchmark queries).

    Subclasses implement :meth:`_start`, :meth:`_ask` and :meth:`_tell` and list the
    hyper-parameters they read in :attr:`param_names`; the base class keeps the evaluated cells
    and their keys and guarantees that no key is proposed twice.

    Args:
        **params: Algorithm hyper-parameters (see each subclass); their names are checked here,
            their values when the search starts.

    Raises:
        ValueError: If a parameter is not one of the algorithm's :attr:`param_names` (a typo
            would otherwise be silently ignored).
    """

    #: Registry name (``"random"``, ``"evolution"``, ...).
    name: ClassVar[str] = ""
    #: The hyper-parameters the algorithm reads; any other name is rejected.
    param_names: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.param_names))
        if unknown:
            takes = ", ".join(sorted(self.param_names)) or "none"
            raise ValueError(f"{type(self).__name__} ({self.name!r}) has no hyper-parameter "
                             f"{', '.join(map(repr, unknown))}. It takes: {takes}.")
        self.params = dict(params)

    # ---------------------------------------------------------------------------- public API
    def setup(self, domain: Domain, seed: int, budget: int, *, device: str = "auto",
              verbose: bool = False) -> SearchAlgorithm:
        """Reset the algorithm for a new search.

        Args:
            domain: The cells that may be queried.
            seed: The run's seed; all randomness derives from it.
            budget: The number of queries the search will make.
            device: Torch device for algorithms that train models.
            verbose: Let inner models report progress.

        Returns:
            ``self``.
        """
        self.domain = domain
        self.space = domain.space
        self.seed = int(seed)
        self.budget = int(budget)
        self.device = device
        self.verbose = verbose
        self.rng = np.random.default_rng([self.seed, _stable_id(self.name)])
        self.archs: list[Arch] = []
        self.values: list[float] = []
        self.seen: set = set()
        self._start()
        return self

    def propose(self) -> Arch:
        """The next cell to query (never one whose key was already observed).

        Raises:
            RuntimeError: If every cell of the domain has been queried.
        """
        if len(self.seen) >= self.domain.n_keys:
            raise RuntimeError("Every cell of the benchmark has been queried; lower the budget.")
        arch = self._ask()
        if arch is None:
            arch = self.domain.sample_unseen(self.rng, self.seen)
        if self.domain.key(arch) in self.seen:
            raise RuntimeError(f"{type(self).__name__} proposed {self.space.to_string(arch)} twice.")
        return arch

    def observe(self, arch: Arch, value: float) -> None:
        """Record the benchmark's ``value`` for the queried ``arch``."""
        self.archs.append(arch)
        self.values.append(float(value))
        self.seen.add(self.domain.key(arch))
        self._tell(arch, float(value))

    def replay(self, records: Sequence[tuple[Arch, float]]) -> None:
        """Bring the algorithm to the state after ``records`` (earlier queries, oldest first).

        The default re-runs :meth:`propose` for each record and checks that it matches.

        Raises:
            ReplayMismatch: If a proposal differs from the recorded cell.
        """
        for i, (arch, value) in enumerate(records):
            proposed = self.propose()
            if self.domain.key(proposed) != self.domain.key(arch):
                raise ReplayMismatch(
                    f"query {i} of the recorded history is {self.space.to_string(arch)} but "
                    f"{self.name} proposes {self.space.to_string(proposed)} for seed {self.seed}"
                )
            self.observe(arch, value)

    def best(self) -> tuple[Arch, float]:
        """The best evaluated cell and its value (first one on ties)."""
        i = int(np.argmax(self.values))
        return self.archs[i], self.values[i]

    # ---------------------------------------------------------------------------- hooks
    def _start(self) -> None:  # noqa: B027 - optional hook
        """Initialise algorithm state after :meth:`setup` (``self.rng`` is ready)."""

    @abstractmethod
    def _ask(self) -> Arch | None:
        """The next unseen cell; ``None`` lets the base class draw a random unseen cell."""

    def _tell(self, arch: Arch, value: float) -> None:  # noqa: B027 - optional hook
        """Update algorithm state with an observation (the base class has stored it)."""

    # ---------------------------------------------------------------------------- helpers
    def _is_new(self, arch: Arch | None) -> bool:
        return arch is not None and self.domain.key(arch) not in self.seen

    def _pop_new(self, cells: list[Arch]) -> Arch | None:
        """Remove cells from the front of ``cells`` until one not yet queried; ``None`` if none."""
        while cells:
            cell = cells.pop(0)
            if self._is_new(cell):
                return cell
        return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in sorted(self.params.items()))
        return f"{type(self).__name__}({args})"


def _stable_id(name: str) -> int:
    """A small int from a name, stable across processes (unlike ``hash``)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


def check_positive_int(owner: str, name: str, value: Any, minimum: int = 1) -> int:
    """Validate an int hyper-parameter, with a message that repeats the bad value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(
            f"The {name!r} parameter of {owner} must be an int >= {minimum}. Got {value!r} instead."
        )
    return int(value)


def check_nonnegative_float(owner: str, name: str, value: Any) -> float:
    """Validate a finite float hyper-parameter >= 0, with a message that repeats the bad value."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        out = float("nan")
    if isinstance(value, bool) or not (np.isfinite(out) and out >= 0):
        raise ValueError(f"The {name!r} parameter of {owner} must be a float >= 0. Got {value!r} instead.")
    return out
