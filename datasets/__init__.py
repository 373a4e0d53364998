"""Real NAS benchmark tables: ``load(name, ...)`` returns a :class:`Benchmark` (cell -> metrics).

Example:
    >>> import datasets
    >>> bench = datasets.load("nasbench201")          # embedded AnalogNAS-Bench CIFAR-10 table
    >>> arch, acc = bench.best()
    >>> bench.query(arch) == acc
    True

No loader ever touches the network: embedded tables come from installed wheels, the others
from files you point ``path=`` at. The embedded NAS-Bench-201 table is AnalogNAS-Bench's own
(digital) training of the 15,625 cells on CIFAR-10, not NAS-Bench-201's official numbers; pass
``path=`` to an official file for those (see :mod:`datasets.nasbench201`).

Every loader refuses a file larger than its format ever is, or a stream that may not end (a
device, a pipe), with a ``ValueError`` naming the file, so a wrong ``path=`` fails at once.
"""

from __future__ import annotations

from collections.abc import Callable
from os import PathLike
from typing import Any

from datasets.base import Benchmark
from gnnpred.spaces.base import resolve_name

__all__ = ["Benchmark", "load", "available"]


def _loaders() -> dict[str, Callable[..., Benchmark]]:
    # Imported lazily so that `import datasets` stays cheap.
    from datasets.nasbench101 import load_nasbench101
    from datasets.nasbench201 import load_nasbench201
    from datasets.nasbench_graph import load_nasbench_graph

    return {
        "nasbench101": load_nasbench101,
        "nasbench201": load_nasbench201,
        "nasbench-graph": load_nasbench_graph,
    }


def available() -> list[str]:
    """Canonical names accepted by :func:`load`; the aliases of
    :func:`gnnpred.spaces.resolve_name` (``"nb201"``, ``"NAS-Bench-201"``...) work too."""
    return ["nasbench101", "nasbench201", "nasbench-graph"]


def load(
    name: str, *, path: str | PathLike | None = None, metric: str | None = None, **kwargs: Any
) -> Benchmark:
    """Load a benchmark table.

    Args:
        name: ``"nasbench201"`` (``path=None``: embedded AnalogNAS-Bench CIFAR-10 table, their
            digital retrain of the cells; or a CSV / official ``.pth`` / NATS-Bench file, with
            ``dataset=`` and ``epochs=``),
            ``"nasbench101"`` (``path=`` the official ``.tfrecord``, a CSV keyed by ``hash`` or a
            JSON list of ``{hash, matrix, ops, ...}``) or ``"nasbench-graph"`` (embedded in the
            ``nas-bench-graph`` wheel; ``dataset="cora"`` by default). Aliases such as ``"nb201"``
            or ``"NAS-Bench-201"`` work too (see :func:`gnnpred.spaces.resolve_name`).
        path: The benchmark file, where the benchmark needs one.
        metric: The default metric of the returned benchmark (``None``: the loader's default).
        **kwargs: Loader options (``dataset=``, ``epochs=``, ``verbose=``, ``verify_crc=``...).

    Returns:
        The benchmark.

    Raises:
        ValueError: If the name, metric or an option value is unknown, the file is corrupt, too
            large for its format, or not a regular file (a device or pipe).
        TypeError: If an option name is unknown (the loader's own signature rejects it).
        FileNotFoundError: If a needed file is missing (the message says where to get it).
    """
    key = resolve_name(name)
    loaders = _loaders()
    if key not in loaders:
        raise ValueError(
            f"No benchmark table for the search space {key!r}. Available: {available()}."
        )
    return loaders[key](path=path, metric=metric, **kwargs)
