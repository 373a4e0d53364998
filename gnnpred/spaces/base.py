"""The search-space contract shared by every space, and the space registry.

An architecture ("cell") is an immutable, hashable value (a frozen dataclass with tuples inside);
a :class:`SearchSpace` is a stateless toolbox of operations on such values.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data

Arch = Hashable

_REGISTRY: dict[str, Callable[[], SearchSpace]] = {}


def check_count(n: object) -> int:
    """``n`` (a number of cells to draw) as an int; ValueError unless a non-negative int."""
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int. Got {n!r} instead.")
    return int(n)


class SearchSpace(ABC):
    """Base class of search spaces.

    Subclasses set :attr:`name`, :attr:`arch_type` and :attr:`op_vocab` (the node-feature
    vocabulary used by :meth:`to_graph`, fixed per space) and implement the abstract methods.
    """

    #: Registry name, e.g. ``"nasbench201"``.
    name: str = ""
    #: The frozen dataclass type of this space's architectures.
    arch_type: type = object
    #: Node types of :meth:`to_graph`, in one-hot column order.
    op_vocab: tuple[str, ...] = ()
    #: The most nodes a graph of :meth:`to_graph` can have, or None when a space does not bound
    #: it. Models over padded graphs (the assessor's autoencoder) are sized by it, so that they
    #: take every cell of the space, not only cells as large as those they were fitted on.
    max_nodes: int | None = None

    # ----------------------------------------------------------------------------- sampling
    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Arch:
        """Draw one valid architecture uniformly (as the benchmark's paper defines it)."""

    def sample_many(self, n: int, rng: np.random.Generator) -> list[Arch]:
        """Draw ``n`` architectures (with replacement).

        Raises:
            ValueError: If ``n`` is not a non-negative int.
        """
        return [self.sample(rng) for _ in range(check_count(n))]

    @abstractmethod
    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Return a random valid mutation of ``arch`` that differs from it."""

    @abstractmethod
    def neighbours(self, arch: Arch) -> list[Arch]:
        """All valid architectures one edit away from ``arch`` (deterministic order)."""

    # ----------------------------------------------------------------------------- validity
    @abstractmethod
    def validate(self, arch: Any) -> None:
        """Raise ``ValueError`` (or ``TypeError`` for a wrong type) saying what is wrong."""

    def is_valid(self, arch: Any) -> bool:
        """``True`` when :meth:`validate` accepts ``arch``."""
        try:
            self.validate(arch)
        except (ValueError, TypeError):
            return False
        return True

    def enumerate(self) -> Iterator[Arch]:
        """Yield every architecture of a finite space once (one per :meth:`hash`)."""
        raise NotImplementedError(f"The {self.name} space cannot be enumerated.")

    def __len__(self) -> int:
        raise TypeError(f"The {self.name} space has no known size.")

    # ----------------------------------------------------------------------------- identity
    @abstractmethod
    def make(self, **spec: Any) -> Arch:
        """Build a validated architecture from the benchmark's own spec.

        Subclasses declare the spec as keyword-only arguments (e.g. ``make(*, ops)``), so a
        missing or misspelt argument is Python's own ``TypeError``; a bad value raises
        ``ValueError`` saying what is wrong.
        """

    @abstractmethod
    def hash(self, arch: Arch) -> str:
        """The key (a str in every space) under which the benchmark stores ``arch``."""

    def canonical(self, arch: Arch) -> Arch:
        """A representative of all cells that compute the same function as ``arch``."""
        return arch

    @abstractmethod
    def to_string(self, arch: Arch) -> str:
        """A string that :meth:`from_string` turns back into ``arch``."""

    @abstractmethod
    def from_string(self, text: str) -> Arch:
        """Parse :meth:`to_string` output; raise ``ValueError`` naming the bad string."""

    # ----------------------------------------------------------------------------- tensors
    @abstractmethod
    def to_graph(self, arch: Arch) -> Data:
        """A PyG graph of ``arch``.

        ``x`` is one-hot over :attr:`op_vocab` (float, ``[num_nodes, len(op_vocab)]``),
        ``edge_index`` is long, ``[2, num_edges]``, directed along the data flow, and
        ``num_nodes`` is set.
        """

    def to_batch(self, archs: Sequence[Arch]) -> Batch:
        """Many graphs as one :class:`~torch_geometric.data.Batch` (subclasses vectorise this).

        Raises:
            ValueError: If ``archs`` is empty.
        """
        archs = self.check_archs(archs)
        if not archs:
            raise ValueError("to_batch needs at least one architecture; got an empty sequence.")
        return Batch.from_data_list([self.to_graph(a) for a in archs])

    @abstractmethod
    def encode(self, archs: Sequence[Arch]) -> np.ndarray:
        """Flat fixed-length float encoding, ``[len(archs), d]`` (e.g. one-hot ops + adjacency),
        for tabular baselines such as XGBoost."""

    def to_network(self, arch: Arch, **kwargs: Any) -> torch.nn.Module:
        """A real, untrained PyTorch network of ``arch`` on the benchmark's macro skeleton."""
        raise NotImplementedError(f"to_network is not available for the {self.name} space yet.")

    def param_counts(self, archs: Sequence[Arch]) -> np.ndarray:
        """Trainable parameters of ``to_network(canonical(arch))`` for each cell, ``[n]`` int64.

        The parameter count is the simplest zero-cost proxy (Abdelfattah et al., ICLR 2021). This
        default builds each network (tens of milliseconds a cell); spaces that can count in closed
        form override it.

        Raises:
            NotImplementedError: If the space has no :meth:`to_network`.
        """
        counts = [trainable_parameters(self.to_network(self.canonical(a))) for a in archs]
        return np.array(counts, dtype=np.int64)

    # ----------------------------------------------------------------------------- helpers
    def check_archs(self, archs: Iterable[Any], what: str = "archs") -> list[Arch]:
        """Validate a collection of user architectures; raise naming the first bad one."""
        if isinstance(archs, (str, bytes)) or not isinstance(archs, Iterable):
            raise TypeError(
                f"{what} must be a sequence of {self.name} architectures. "
                f"Got {type(archs).__name__}."
            )
        out = list(archs)
        for i, a in enumerate(out):
            if not isinstance(a, self.arch_type):
                raise TypeError(
                    f"{what}[{i}] is a {type(a).__name__}, not a {self.arch_type.__name__} of the "
                    f"{self.name} space; build cells with get_space({self.name!r}).make(...) "
                    "or .from_string(...)."
                )
            self.validate(a)
        return out

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def trainable_parameters(module: torch.nn.Module | None) -> int:
    """Number of trainable (``requires_grad``) parameters of ``module``; 0 for ``None``."""
    return 0 if module is None else sum(p.numel() for p in module.parameters() if p.requires_grad)


def one_hot(indices: np.ndarray, size: int) -> torch.Tensor:
    """Float one-hot rows for an integer index array."""
    return torch.nn.functional.one_hot(torch.as_tensor(indices, dtype=torch.long), size).float()


def fixed_structure_batch(node_types: np.ndarray, edge_index: np.ndarray, vocab_size: int) -> Batch:
    """Build a PyG :class:`Batch` of graphs sharing one node count, with tensor ops only.

    The result behaves like ``Batch.from_data_list`` output (``batch``, ``ptr``,
    ``num_graphs``, indexing and ``to_data_list`` work).

    Args:
        node_types: ``[n_graphs, n_nodes]`` integer indices into the op vocabulary.
        edge_index: Either ``[2, n_edges]`` shared by all graphs, or ``[n_graphs, 2, n_edges]``
            with ``-1`` padding columns (dropped) for graphs with fewer edges.
        vocab_size: Width of the one-hot node features.

    Returns:
        The batch.
    """
    n, k = node_types.shape
    x = one_hot(node_types.reshape(-1), vocab_size)  # [n*k, vocab]
    offsets = np.arange(n, dtype=np.int64) * k
    if edge_index.ndim == 2:
        ei = edge_index[None, :, :] + offsets[:, None, None]  # [n, 2, E]
        counts = np.full(n, edge_index.shape[1], dtype=np.int64)
        flat = ei.transpose(1, 0, 2).reshape(2, -1)
    else:
        keep = edge_index[:, 0, :] >= 0  # [n, E]
        counts = keep.sum(axis=1)
        ei = edge_index + offsets[:, None, None]
        flat = np.stack([ei[:, 0, :][keep], ei[:, 1, :][keep]])
    batch = Batch(
        x=x,
        edge_index=torch.as_tensor(flat, dtype=torch.long),
        batch=torch.arange(n, dtype=torch.long).repeat_interleave(k),
        ptr=torch.arange(0, (n + 1) * k, k, dtype=torch.long),
    )
    batch.num_nodes = n * k
    batch._num_graphs = n
    batch._slice_dict = {
        "x": torch.arange(0, (n + 1) * k, k, dtype=torch.long),
        "edge_index": torch.as_tensor(np.concatenate([[0], np.cumsum(counts)]), dtype=torch.long),
    }
    batch._inc_dict = {
        "x": torch.zeros(n, dtype=torch.long),
        "edge_index": torch.as_tensor(offsets, dtype=torch.long),
    }
    return batch


def register_space(name: str) -> Callable[[type[SearchSpace]], type[SearchSpace]]:
    """Class decorator adding a space to :func:`get_space`'s registry."""

    def deco(cls: type[SearchSpace]) -> type[SearchSpace]:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return deco


#: The built-in spaces and the other names each is known by. Names are compared without case,
#: ``-``, ``_`` or spaces, so ``NAS-Bench-201``, ``nasbench_201`` and ``NB201`` name one space.
ALIASES: dict[str, tuple[str, ...]] = {
    "nasbench101": ("nb101",),
    "nasbench201": ("nb201",),
    "nasbench-graph": ("nbgraph", "nbg"),
    "darts": (),
}


def _normalise(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch not in "-_ ")


def resolve_name(name: str) -> str:
    """The canonical name of a search space or benchmark, from any of its accepted spellings.

    One table serves :func:`get_space`, ``datasets.load`` and the command line, so every entry
    point accepts the same names: the canonical ones (``nasbench101``, ``nasbench201``,
    ``nasbench-graph`` and any registered space) and the aliases of :data:`ALIASES`, ignoring
    case, ``-``, ``_`` and spaces.

    Args:
        name: A space name, e.g. ``"nb201"`` or ``"NAS-Bench-201"``.

    Returns:
        The canonical name, e.g. ``"nasbench201"``.

    Raises:
        TypeError: If ``name`` is not a str.
        ValueError: If the name is unknown; the message lists the accepted names.
    """
    if not isinstance(name, str):
        raise TypeError(f"A space name must be a str. Got {type(name).__name__} ({name!r}).")
    table = {_normalise(canon): canon for canon in (*ALIASES, *_REGISTRY)}
    table.update({_normalise(a): canon for canon, aliases in ALIASES.items() for a in aliases})
    canon = table.get(_normalise(name))
    if canon is None:
        raise ValueError(f"Unknown search space or benchmark {name!r}. {_accepted_names()}")
    return canon


def _accepted_names() -> str:
    """One sentence listing the names :func:`resolve_name` accepts (for error messages)."""
    names = [
        f"{canon} (or {', '.join(ALIASES[canon])})" if ALIASES.get(canon) else canon
        for canon in dict.fromkeys([*ALIASES, *sorted(_REGISTRY)])
    ]
    return f"Accepted names: {'; '.join(names)}; case, '-' and '_' do not matter."


def get_space(name: str, **kwargs: Any) -> SearchSpace:
    """Return a search space by name.

    Args:
        name: ``"nasbench101"``, ``"nasbench201"``, ``"nasbench-graph"``, a registered space,
            or an alias (see :func:`resolve_name`).
        **kwargs: Passed to the space's constructor (e.g. ``op_set="proteins"`` for
            NAS-Bench-Graph's proteins op set).

    Returns:
        A search space instance.

    Raises:
        ValueError: If the name is unknown (the message lists the accepted names).
    """
    key = resolve_name(name)
    if key not in _REGISTRY:  # a built-in name whose module was not imported
        raise ValueError(f"The search space {key!r} is not registered. {_accepted_names()}")
    return _REGISTRY[key](**kwargs)


def available_spaces() -> list[str]:
    """Names of the registered spaces."""
    return sorted(_REGISTRY)
