"""Candidates in tensor batches: sampling, mutation, neighbours, hashing and de-duplication of
many cells at once, as integer tensors on one device.

Search scores tens of thousands of candidates a round; building, mutating and hashing them one
frozen cell at a time in Python costs more than scoring them. A space that mixes in
:class:`BatchedSpace` keeps its cells as a :class:`CellBatch` (a dict of integer tensors plus an
``int64`` key per cell that is equal exactly when :meth:`SearchSpace.hash` is) and implements a
few tensor hooks; the public ``*_many`` methods here are then shared by every such space. Each
batched operation draws from the same distribution as its one-cell version (the random stream
differs) and yields the same cells.
"""

from __future__ import annotations

import contextlib
import gc
from abc import abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from gnnpred._common import resolve_device, torch_generator
from gnnpred.spaces.base import Arch, SearchSpace, check_count


class CellBatch(Sequence):
    """Cells of one space as integer tensors on one device.

    Indexing with an int gives a cell; with a slice, a bool mask or an index tensor, a new
    batch. Iterating yields cells (built on first use, then kept).

    Attributes:
        space: The space the cells belong to.
        tensors: The space's encoding, each tensor ``[n, ...]`` (e.g. NB201 ``{"ops": [n, 6]}``).
        keys: ``[n]`` int64, equal for two cells exactly when their :meth:`SearchSpace.hash` is.
    """

    def __init__(self, space: BatchedSpace, tensors: dict[str, torch.Tensor],
                 keys: torch.Tensor) -> None:
        self.space = space
        self.tensors = tensors
        self.keys = keys
        self._cells: list[Arch] | None = None

    def __len__(self) -> int:
        return int(self.keys.shape[0])

    @property
    def device(self) -> torch.device:
        """Where the tensors live."""
        return self.keys.device

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)):
            return self.cells()[int(index)]
        if isinstance(index, np.ndarray):
            index = torch.as_tensor(index, device=self.device)
        return CellBatch(self.space, {k: v[index] for k, v in self.tensors.items()},
                         self.keys[index])

    def __iter__(self) -> Iterator[Arch]:
        return iter(self.cells())

    def cells(self) -> list[Arch]:
        """The cells as the space's frozen values (cheap array conversions, done once)."""
        if self._cells is None:
            self._cells = self.space._cells_from(self) if len(self) else []
        return list(self._cells)

    def hashes(self) -> list[str]:
        """:meth:`SearchSpace.hash` of every cell."""
        return self.space._hashes_from(self) if len(self) else []

    def to(self, device: str | torch.device) -> CellBatch:
        """The same cells on another device."""
        dev = resolve_device(device)
        if dev == self.device:
            return self
        return CellBatch(self.space, {k: v.to(dev) for k, v in self.tensors.items()},
                         self.keys.to(dev))

    def __repr__(self) -> str:
        return f"CellBatch({self.space!r}, n={len(self)}, device={self.device})"


def cat(batches: Sequence[CellBatch]) -> CellBatch:
    """Concatenate batches of one space (on the first one's device).

    Raises:
        ValueError: If ``batches`` is empty.
    """
    if not batches:
        raise ValueError("cat needs at least one CellBatch. Got an empty sequence.")
    dev = batches[0].device
    names = batches[0].tensors
    return CellBatch(batches[0].space,
                     {k: torch.cat([b.tensors[k].to(dev) for b in batches]) for k in names},
                     torch.cat([b.keys.to(dev) for b in batches]))


def first_occurrences(keys: torch.Tensor) -> torch.Tensor:
    """``[n]`` bool: ``True`` where a key appears for the first time (in order)."""
    n = keys.shape[0]
    if n == 0:
        return torch.zeros(0, dtype=torch.bool, device=keys.device)
    _, inverse = torch.unique(keys, return_inverse=True)
    pos = torch.arange(n, device=keys.device)
    first = torch.full((int(inverse.max()) + 1,), n, dtype=torch.long, device=keys.device)
    first = first.scatter_reduce(0, inverse, pos, reduce="amin")
    keep = torch.zeros(n, dtype=torch.bool, device=keys.device)
    keep[first] = True
    return keep


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small objects that hold no
    cycles (cells): its passes over the growing list would cost more than building them."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class BatchedSpace(SearchSpace):
    """A search space whose cells can also be handled as :class:`CellBatch` tensors.

    Subclasses implement the tensor hooks (``_tensors_from``, ``_cells_from``, ``_keys_of``,
    ``_hashes_from``, ``_key_of_hashes``, ``_sample_tensors``, ``_mutate_tensors``,
    ``_neighbour_tensors``); the public methods below check arguments and share the rest.
    """

    # ------------------------------------------------------------------------------- public
    def to_tensors(self, archs: Sequence[Arch] | CellBatch,
                   device: str | torch.device = "auto") -> CellBatch:
        """Validated cells as a :class:`CellBatch`.

        Args:
            archs: Cells of this space (or a batch, moved to ``device``).
            device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``...

        Returns:
            The batch, whose :meth:`CellBatch.cells` equal ``archs``.

        Raises:
            TypeError, ValueError: Naming the first invalid cell.
        """
        dev = resolve_device(device)
        if isinstance(archs, CellBatch):
            self._check_own(archs)
            return archs.to(dev)
        cells = self.check_archs(archs)
        tensors = self._tensors_from(cells, dev)
        batch = CellBatch(self, tensors, self._keys_of(tensors))
        batch._cells = cells
        return batch

    def sample_batch(self, n: int, rng: np.random.Generator,
                     device: str | torch.device = "auto") -> CellBatch:
        """``n`` cells drawn as :meth:`sample` draws one (with replacement), as a batch.

        Args:
            n: How many cells.
            rng: The random stream (a derived torch generator draws on ``device``).
            device: See :meth:`to_tensors`.

        Raises:
            ValueError: If ``n`` is not a non-negative int.
        """
        n = check_count(n)
        dev = resolve_device(device)
        tensors = self._sample_tensors(int(n), torch_generator(rng, dev), dev)
        return CellBatch(self, tensors, self._keys_of(tensors))

    def mutate_many(self, archs: Sequence[Arch] | CellBatch, rng: np.random.Generator,
                    device: str | torch.device = "auto", **kwargs: Any) -> CellBatch:
        """One random mutation of every cell, drawn as :meth:`mutate` draws it.

        Args:
            archs: Cells (repeat a cell to draw several mutations of it) or a batch.
            rng: The random stream (a derived torch generator draws on ``device``).
            device: See :meth:`to_tensors`.
            **kwargs: The space's :meth:`mutate` options (e.g. NB101's ``mutation_rate``).

        Returns:
            Row ``i`` is a mutation of ``archs[i]``.
        """
        batch = self.to_tensors(archs, device)
        if not len(batch):
            return batch
        gen = torch_generator(rng, batch.device)
        tensors = self._mutate_tensors(batch, gen, **kwargs)
        return CellBatch(self, tensors, self._keys_of(tensors))

    def neighbours_many(self, archs: Sequence[Arch] | CellBatch,
                        device: str | torch.device = "auto") -> tuple[CellBatch, torch.Tensor]:
        """:meth:`neighbours` of every cell, concatenated.

        Args:
            archs: Cells or a batch.
            device: See :meth:`to_tensors`.

        Returns:
            ``(neighbours, owner)``: the neighbours of ``archs[0]``, then of ``archs[1]``... each
            in :meth:`neighbours`'s order, and ``owner`` ``[len(neighbours)]`` long, the row of
            the cell each neighbour comes from.
        """
        batch = self.to_tensors(archs, device)
        tensors, owner = self._neighbour_tensors(batch)
        return CellBatch(self, tensors, self._keys_of(tensors)), owner

    def hash_many(self, archs: Sequence[Arch] | CellBatch) -> list[str]:
        """:meth:`hash` of every cell (without hashing them one by one)."""
        batch = archs if isinstance(archs, CellBatch) else self.to_tensors(archs, "cpu")
        self._check_own(batch)
        return batch.hashes()

    def dedupe(self, archs: Sequence[Arch] | CellBatch, exclude: Iterable[str] | None = (),
               device: str | torch.device = "auto") -> tuple[CellBatch, torch.Tensor]:
        """The cells whose hash is not in ``exclude`` and not that of an earlier cell.

        Args:
            archs: Candidates (cells or a batch).
            exclude: Hashes (:meth:`hash`) to drop, e.g. those of the evaluated and the
                pending cells; hashes of no cell of this space drop nothing.
            device: See :meth:`to_tensors`.

        Returns:
            ``(kept, index)``: the kept cells in their order and their rows in ``archs``.

        Raises:
            TypeError: If ``exclude`` is one string (not a collection of hashes) or not
                iterable.
        """
        if isinstance(exclude, str | bytes):
            raise TypeError("exclude must be a collection of hashes, not one string: pass "
                            f"[{exclude!r}] to drop that hash.")
        batch = self.to_tensors(archs, device)
        keep = first_occurrences(batch.keys)
        excluded = [] if exclude is None else list(exclude)
        if excluded:
            bad = torch.as_tensor(self._key_of_hashes(excluded), device=batch.device)
            keep &= ~torch.isin(batch.keys, bad)
        index = torch.nonzero(keep).flatten()
        return batch[index], index

    # ------------------------------------------------------------------------------- hooks
    def _check_own(self, batch: CellBatch) -> None:
        if type(batch.space) is not type(self) or repr(batch.space) != repr(self):
            raise TypeError(f"The batch holds cells of {batch.space!r}, not of {self!r}.")

    @abstractmethod
    def _tensors_from(self, cells: list[Arch], device: torch.device) -> dict[str, torch.Tensor]:
        """The encoding of validated cells."""

    @abstractmethod
    def _cells_from(self, batch: CellBatch) -> list[Arch]:
        """The cells of a batch."""

    @abstractmethod
    def _keys_of(self, tensors: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[n]`` int64 keys, equal exactly when the hashes are."""

    @abstractmethod
    def _hashes_from(self, batch: CellBatch) -> list[str]:
        """The hashes of a batch's cells."""

    @abstractmethod
    def _key_of_hashes(self, hashes: list[str]) -> np.ndarray:
        """``[len(hashes)]`` int64 keys of hashes (any value no cell has for unknown ones)."""

    @abstractmethod
    def _sample_tensors(self, n: int, gen: torch.Generator,
                        device: torch.device) -> dict[str, torch.Tensor]:
        """``n`` sampled cells."""

    @abstractmethod
    def _mutate_tensors(self, batch: CellBatch, gen: torch.Generator,
                        **kwargs: Any) -> dict[str, torch.Tensor]:
        """One mutation per row."""

    @abstractmethod
    def _neighbour_tensors(self, batch: CellBatch) -> tuple[dict[str, torch.Tensor],
                                                             torch.Tensor]:
        """All neighbours and the row each comes from."""
