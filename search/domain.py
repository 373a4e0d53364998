"""The set of cells a search may query: the cells a benchmark table holds.

Benchmarks are tables, and some cover only part of their space (the NAS-Bench-101 sample holds
20,001 of 423,624 cells), so search draws, mutates and walks inside the table: a :class:`Domain`
wraps a benchmark and offers the space's operations restricted to cells the table can answer.
It also defines the *dedupe key* of a cell: ``space.hash(space.canonical(arch))``, so that cells
computing the same function (NB201 dead edges) are paid for once.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np

Arch = Hashable


class Domain:
    """The benchmark's cells, with sampling and mutation restricted to them.

    Args:
        benchmark: A benchmark (``datasets.load(...)``): ``.space``, ``archs()``, ``query``.
        dedupe: ``"canonical"`` (default: equivalent cells share one key, so search never pays
            twice for the same function) or ``"hash"`` (the benchmark's own key).

    Raises:
        ValueError: If ``dedupe`` is unknown or the benchmark holds no cell.
    """

    def __init__(self, benchmark: Any, dedupe: str = "canonical") -> None:
        if dedupe not in ("canonical", "hash"):
            raise ValueError(f"dedupe must be 'canonical' or 'hash'. Got {dedupe!r} instead.")
        self.benchmark = benchmark
        self.space = benchmark.space
        self.dedupe = dedupe
        self.archs: list[Arch] = list(benchmark.archs())
        if not self.archs:
            name = getattr(benchmark, "name", benchmark)
            raise ValueError(f"The benchmark {name!r} holds no cell.")
        space = self.space
        # benchmark key -> row, so that any equal cell maps to the table's own object
        self._row = {space.hash(a): i for i, a in enumerate(self.archs)}
        if dedupe == "canonical":
            self._keys = [space.hash(space.canonical(a)) for a in self.archs]
        else:
            self._keys = [space.hash(a) for a in self.archs]
        self.n_keys = len(set(self._keys))

    def __len__(self) -> int:
        return len(self.archs)

    def __contains__(self, arch: Arch) -> bool:
        return self.space.hash(arch) in self._row

    def lookup(self, arch: Arch) -> Arch | None:
        """The table's own cell equal to ``arch`` (same benchmark hash), or ``None``."""
        i = self._row.get(self.space.hash(arch))
        return None if i is None else self.archs[i]

    def index(self, arch: Arch) -> int:
        """The row of ``arch`` in the table (same benchmark hash).

        Raises:
            KeyError: If the table does not hold ``arch``.
        """
        i = self._row.get(self.space.hash(arch))
        if i is None:
            raise KeyError(f"{self.space.to_string(arch)} is not a cell of this benchmark table.")
        return i

    def key(self, arch: Arch) -> Hashable:
        """The dedupe key of ``arch`` (two cells with one key are never both queried)."""
        i = self._row.get(self.space.hash(arch))
        if i is not None:
            return self._keys[i]
        if self.dedupe == "canonical":
            return self.space.hash(self.space.canonical(arch))
        return self.space.hash(arch)

    def sample(self, rng: np.random.Generator) -> Arch:
        """One table cell drawn uniformly."""
        return self.archs[int(rng.integers(len(self.archs)))]

    def sample_unseen(self, rng: np.random.Generator, seen: set, tries: int = 200) -> Arch | None:
        """A uniform table cell whose key is not in ``seen``; ``None`` when all are seen."""
        for _ in range(tries):
            a = self.sample(rng)
            if self.key(a) not in seen:
                return a
        left = [i for i, k in enumerate(self._keys) if k not in seen]
        return self.archs[left[int(rng.integers(len(left)))]] if left else None

    def mutate(self, arch: Arch, rng: np.random.Generator, seen: set | None = None,
               tries: int = 50) -> Arch | None:
        """A random mutation of ``arch`` that the table holds (and whose key is not in ``seen``).

        Returns:
            The table's cell, or ``None`` if ``tries`` mutations all fell outside.
        """
        for _ in range(tries):
            cell = self.lookup(self.space.mutate(arch, rng))
            if cell is not None and (seen is None or self.key(cell) not in seen):
                return cell
        return None

    def neighbours(self, arch: Arch) -> list[Arch]:
        """The space's neighbours of ``arch`` that the table holds (table objects, fixed order)."""
        out = []
        for n in self.space.neighbours(arch):
            cell = self.lookup(n)
            if cell is not None:
                out.append(cell)
        return out

    def unseen(self, seen: set) -> list[Arch]:
        """Every table cell whose key is not in ``seen``, one per key, in table order."""
        out, keys = [], set(seen)
        for a, k in zip(self.archs, self._keys, strict=True):
            if k not in keys:
                keys.add(k)
                out.append(a)
        return out

    def dedupe_list(self, archs: Sequence[Arch], seen: set) -> list[Arch]:
        """``archs`` without cells whose key is in ``seen`` or repeats an earlier one."""
        out, keys = [], set(seen)
        for a in archs:
            k = self.key(a)
            if k not in keys:
                keys.add(k)
                out.append(a)
        return out
