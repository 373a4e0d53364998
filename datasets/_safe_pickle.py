"""Restricted unpickling of benchmark files.

Several benchmarks ship as pickles. A plain :func:`pickle.load` runs whatever callable the file
names, so a tampered download could execute code. The loaders here resolve only an explicit
allow-list of globals, each mapped to a small local stand-in (never the original package's class,
whose import may have side effects); any other global raises ``ValueError`` naming the file.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any, BinaryIO

import numpy as np

from datasets._files import bz2_decompress, read_bytes

Allowed = Mapping[tuple[str, str], Callable[..., Any]]


def _dtype(name: Any, align: bool = False, copy: bool = False) -> np.dtype:
    """``numpy.dtype`` restricted to numeric types (its ``__setstate__`` then runs as usual)."""
    dtype = np.dtype(str(name))
    if dtype.kind not in "biuf":
        raise pickle.UnpicklingError(f"refusing non-numeric numpy dtype {name!r}")
    return dtype


def _numpy_scalar(dtype: Any, data: Any = None) -> float | int:
    """Rebuild a pickled NumPy scalar as a Python number."""
    if not isinstance(dtype, np.dtype) or not isinstance(data, bytes):
        raise pickle.UnpicklingError("malformed numpy scalar")
    return np.frombuffer(data, dtype=dtype, count=1)[0].item()


def _reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> np.ndarray:
    """Empty plain ndarray that the pickle's BUILD step then fills (numeric dtypes only, as
    the dtype itself comes through :func:`_dtype`)."""
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing array subclass {cls!r}")
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


#: NumPy scalars (``np.float64(...)`` values inside dicts), as numpy 1.x and 2.x pickle them.
NUMPY_SCALARS: dict[tuple[str, str], Callable[..., Any]] = {
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): _dtype,
}

#: NumPy scalars and numeric arrays.
NUMPY_ARRAYS: dict[tuple[str, str], Callable[..., Any]] = {
    **NUMPY_SCALARS,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
}

#: ``collections.OrderedDict`` read as a plain dict (order is kept by dict anyway).
ORDERED_DICT: dict[tuple[str, str], Callable[..., Any]] = {("collections", "OrderedDict"): dict}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: BinaryIO, allowed: Allowed, label: str) -> None:
        super().__init__(file)
        self._allowed = allowed
        self._label = label

    def find_class(self, module: str, name: str) -> Any:
        target = self._allowed.get((module, name))
        if target is None:
            raise ValueError(
                f"{self._label} is not a file this loader trusts: its pickle asks for "
                f"{module}.{name}, which is not on the allow-list "
                f"({sorted('.'.join(k) for k in self._allowed)})."
            )
        return target


def loads(data: bytes, allowed: Allowed, label: str) -> Any:
    """Unpickle ``data`` resolving only the ``allowed`` globals.

    Args:
        data: The pickle bytes.
        allowed: ``(module, name) -> callable`` used in place of the named global.
        label: How to name the source in error messages (usually the file path).

    Returns:
        The unpickled object.

    Raises:
        ValueError: If the pickle is corrupt or names a global outside ``allowed``.
    """
    try:
        return _RestrictedUnpickler(io.BytesIO(data), allowed, label).load()
    except ValueError:
        raise
    except Exception as exc:  # corrupt pickles raise many types (EOFError, UnpicklingError, ...)
        raise ValueError(
            f"{label} is corrupt: cannot unpickle it ({type(exc).__name__}: {exc})."
        ) from exc


def load_file(
    path: str | PathLike,
    allowed: Allowed,
    *,
    max_bytes: int,
    what: str,
    compressed: bool | None = None,
    max_unpacked: int | None = None,
) -> Any:
    """Read a (possibly bz2-compressed) pickle file with :func:`loads`.

    Args:
        path: The file.
        allowed: See :func:`loads`.
        max_bytes: The largest size of a genuine file of this format (larger files and
            streams are refused before reading; see :func:`datasets._files.check_size`).
        what: The format, for messages.
        compressed: ``True`` for bz2, ``False`` for a raw pickle, ``None`` to sniff the header.
        max_unpacked: The largest size of the decompressed pickle (default ``max_bytes``).

    Returns:
        The unpickled object.

    Raises:
        ValueError: If the file is too large, not a regular file, corrupt or not trusted.
    """
    data = read_bytes(path, max_bytes, what)
    if compressed is None:
        compressed = data[:3] == b"BZh"
    if compressed:
        data = bz2_decompress(data, max_bytes if max_unpacked is None else max_unpacked, str(path))
    return loads(data, allowed, str(path))
