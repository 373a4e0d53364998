"""The ask/tell interface every search algorithm implements.

A search is driven from outside (:func:`search.engine.run_search`): it repeatedly calls
:meth:`SearchAlgorithm.propose` for the next cell to query and feeds the benchmark's answer to
:meth:`SearchAlgorithm.observe`. Every decision is a pure function of the seed and the
observations so far, so a killed run is resumed exactly by replaying its recorded history
(:meth:`SearchAlgorithm.replay`) without querying anything again. An asynchronous search keeps
several evaluations in flight and asks ``propose(n, pending=...)``: the cells in flight are never
proposed again, and the same sequence of proposals and observations gives the same state.

Hyper-parameters are keyword-only arguments of each algorithm's ``__init__``, with their
defaults in the signature (:meth:`SearchAlgorithm.hyper_parameters` reads them from there);
``__init__`` validates their values, and a misspelt name is Python's own ``TypeError``.

An observation whose value is not finite (NaN, +-inf) is a *failed* evaluation: the cell counts
as queried (it is never proposed again), but it is never the best cell, a parent or a label.
"""

from __future__ import annotations

import inspect
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, ClassVar, overload

import numpy as np

from search.domain import Domain

Arch = Hashable
logger = logging.getLogger(__name__)


class ReplayMismatch(RuntimeError):
    """A recorded history does not match what the algorithm proposes for the same seed."""


class SearchAlgorithm(ABC):
    """Base class of search algorithms (ask/tell; the budget counts benchmark queries).

    Subclasses take their hyper-parameters as keyword-only ``__init__`` arguments stored under
    the same names, and implement :meth:`_start`, :meth:`_ask` and :meth:`_tell`. The base class
    keeps the evaluated cells and their keys and guarantees that no key is proposed twice.
    """

    #: Registry name (``"random"``, ``"evolution"``, ...).
    name: ClassVar[str] = ""

    @classmethod
    def hyper_parameters(cls) -> dict[str, Any]:
        """The algorithm's hyper-parameters and their defaults, read from ``__init__``."""
        sig = inspect.signature(cls.__init__)
        return {p.name: p.default for p in sig.parameters.values()
                if p.kind is inspect.Parameter.KEYWORD_ONLY}

    def get_params(self) -> dict[str, Any]:
        """The hyper-parameters this algorithm was built with (name -> value)."""
        return {k: getattr(self, k) for k in self.hyper_parameters()}

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
        #: Cells pending while the algorithm decides (see :meth:`propose`); 0 otherwise.
        self.n_pending = 0
        self._start()
        return self

    @overload
    def propose(self, n: None = None, *, pending: Iterable[Arch] = ()) -> Arch: ...

    @overload
    def propose(self, n: int, *, pending: Iterable[Arch] = ()) -> list[Arch]: ...

    def propose(self, n: int | None = None, *,
                pending: Iterable[Arch] = ()) -> Arch | list[Arch]:
        """The next cell(s) to query: never one whose key was observed or is ``pending``.

        An asynchronous search keeps several evaluations in flight: it passes the cells it has
        handed out and not yet observed as ``pending``. ``propose(n)`` equals ``n`` calls of
        ``propose()``, each with the cells proposed before it added to ``pending``, so a
        batch is replayed exactly by single proposals. While an algorithm decides,
        :attr:`seen` holds the keys observed and pending, and :attr:`n_pending` counts the
        latter (algorithms count pending cells towards their initial design through it).

        Args:
            n: How many distinct cells to propose; ``None`` returns one cell, not a list.
            pending: Cells being evaluated whose values have not been observed yet.

        Returns:
            One cell when ``n`` is ``None``, else a list of ``n`` cells with distinct keys.

        Raises:
            ValueError: If ``n`` is not a positive int.
            RuntimeError: If every cell of the domain is observed or pending.
        """
        busy = {self.domain.key(a) for a in pending} - self.seen
        if n is None:
            return self._propose_one(busy)
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int (cells to propose). Got {n!r} instead.")
        out = []
        for _ in range(int(n)):
            arch = self._propose_one(busy)
            busy.add(self.domain.key(arch))
            out.append(arch)
        return out

    def _propose_one(self, busy: set) -> Arch:
        observed = self.seen
        if len(observed) + len(busy) >= self.domain.n_keys:
            raise RuntimeError("Every cell of the benchmark has been queried or is being "
                               "evaluated; lower the budget.")
        if busy:  # the hooks see pending cells as seen, for this decision only
            self.seen, self.n_pending = observed | busy, len(busy)
        try:
            arch = self._ask()
            if arch is None:
                arch = self.domain.sample_unseen(self.rng, self.seen)
            if self.domain.key(arch) in self.seen:
                raise RuntimeError(f"{type(self).__name__} proposed "
                                   f"{self.space.to_string(arch)} twice.")
        finally:
            self.seen, self.n_pending = observed, 0
        return arch

    def observe(self, arch: Arch, value: float) -> None:
        """Record the benchmark's ``value`` for the queried ``arch``.

        A non-finite ``value`` (NaN for a failed evaluation) marks the cell as queried without
        giving the algorithm a value to learn from.
        """
        value = float(value)
        self.archs.append(arch)
        self.values.append(value)
        self.seen.add(self.domain.key(arch))
        self._tell(arch, value)

    def replay(self, records: Sequence[tuple[Arch, float | None]]) -> None:
        """Bring the algorithm to the state after ``records`` (earlier queries, oldest first).

        The default re-runs :meth:`propose` for each record and checks that it matches. A value
        of ``None`` (a failed evaluation stored as JSON ``null``) is observed as NaN.

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
            self.observe(arch, math.nan if value is None else value)

    def best(self) -> tuple[Arch, float]:
        """The best successfully evaluated cell and its value (first one on ties).

        Raises:
            RuntimeError: If no evaluation has succeeded yet (none, or all non-finite).
        """
        values = np.asarray(self.values, dtype=float)
        ok = np.isfinite(values)
        if not ok.any():
            raise RuntimeError(f"no successful evaluation yet: {len(values)} cells observed, "
                               "none with a finite value.")
        i = int(np.argmax(np.where(ok, values, -np.inf)))
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

    def _ask_rounds(self, init: list[Arch] | None = None) -> Arch | None:
        """The ask of a model-based search that proposes cells in rounds.

        The first ``self.n_init`` queries (cells in flight count too) come from ``init`` (a
        random unseen cell once it is empty or ``None``); then cells are popped from
        ``self._queue``, and when it holds no new cell, ``self._next_round()`` refills it, once
        two evaluations have succeeded (a model needs two labels; until then a random cell).
        """
        if len(self.archs) + self.n_pending < self.n_init:
            return self._pop_new(init) if init is not None else None
        while True:
            cell = self._pop_new(self._queue)
            if cell is not None:
                return cell
            if sum(map(succeeded, self.values)) < 2:
                return None
            self._queue = self._next_round()
            if not self._queue:
                return None

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


def _stable_id(name: str) -> int:
    """A small int from a name, stable across processes (unlike ``hash``)."""
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


def succeeded(value: float) -> bool:
    """Whether an observed value is a successful evaluation (finite)."""
    return math.isfinite(value)


def check_int(owner: str, name: str, value: Any, minimum: int = 1) -> int:
    """Validate an int hyper-parameter >= ``minimum``; the message repeats the bad value."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"The {name!r} parameter of {owner} must be an int >= {minimum}. "
                         f"Got {value!r} instead.")
    return int(value)


def check_float(owner: str, name: str, value: Any, high: float | None = None) -> float:
    """Validate a finite float hyper-parameter >= 0 (and <= ``high``); the message repeats it."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    out = float(value) if ok else math.nan
    if not (math.isfinite(out) and out >= 0 and (high is None or out <= high)):
        bound = f"in [0, {high:g}]" if high is not None else ">= 0"
        raise ValueError(f"The {name!r} parameter of {owner} must be a float {bound}. "
                         f"Got {value!r} instead.")
    return out


def check_choice(owner: str, name: str, value: Any, choices: Sequence[str]) -> str:
    """Validate a string hyper-parameter among ``choices``; the message repeats the bad value."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"The {name!r} parameter of {owner} must be one of "
                         f"{', '.join(map(repr, choices))}. Got {value!r} instead.")
    return value
