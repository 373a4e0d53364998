"""Restricted unpickling of data files that hold only plain containers and NumPy values.

A plain :func:`pickle.load` calls whatever global the file names, so a tampered data file
could run code. The loaders here resolve only an explicit allow-list of globals, each mapped to
a small local stand-in (never the original package's class, whose import may have side
effects); dicts, lists, strings, bytes and numbers need no global. Any other global raises
``ValueError`` naming the file. NumPy's reconstructors are listed as NumPy 1.x and 2.x pickle
them; dtypes are restricted to numbers, so object arrays (whose items would be unpickled too)
are refused.

:func:`load_arrays` reads the training data files (CIFAR-10, Planetoid): Python 2 pickles,
decoded as latin-1 as torchvision and PyTorch Geometric do. :func:`loads` is the general form
that ``datasets`` uses for benchmark files, with the caller's allow-list.
"""

from __future__ import annotations

import io
import pickle
from collections.abc import Callable, Mapping
from os import PathLike
from typing import IO, Any

import numpy as np

__all__ = ["NUMPY_ARRAYS", "NUMPY_SCALARS", "ORDERED_DICT", "Allowed", "load_arrays", "loads"]

#: ``(module, name) -> stand-in`` used in place of the named global.
Allowed = Mapping[tuple[str, str], Callable[..., Any]]


def _dtype(name: Any, align: bool = False, copy: bool = False) -> np.dtype:
    """``numpy.dtype`` restricted to numeric types (its ``__setstate__`` then runs as usual)."""
    dtype = np.dtype(str(name))
    if dtype.kind not in "biuf":
        raise pickle.UnpicklingError(f"refusing non-numeric numpy dtype {name!r}")
    return dtype


def _reconstruct(cls: Any, shape: Any = (0,), typecode: Any = b"b") -> np.ndarray:
    """Empty plain ndarray that the pickle's BUILD step then fills (numeric dtypes only, as
    the dtype itself comes through :func:`_dtype`)."""
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing array subclass {cls!r}")
    return np.ndarray.__new__(np.ndarray, (0,), np.uint8)


def _frombuffer(buffer: Any, dtype: Any, shape: Any, order: Any) -> np.ndarray:
    """Protocol 5 arrays: NumPy pickles them as ``_frombuffer(buffer, dtype, shape, order)``."""
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
        raise pickle.UnpicklingError(f"refusing numpy dtype {dtype!r}")
    return np.frombuffer(buffer, dtype=dtype).reshape(shape, order=order).copy()


def _numpy_scalar(dtype: Any, data: Any = None) -> float | int:
    """Rebuild a pickled NumPy scalar as a Python number."""
    if not isinstance(dtype, np.dtype) or not isinstance(data, bytes):
        raise pickle.UnpicklingError("malformed numpy scalar")
    return np.frombuffer(data, dtype=dtype, count=1)[0].item()


def _encode(text: Any, encoding: Any = "utf-8") -> bytes:
    """Python 3 writes bytes at protocols 0-2 as ``_codecs.encode(text, "latin1")``."""
    if not isinstance(text, str) or encoding != "latin1":
        raise pickle.UnpicklingError("malformed bytes value")
    return text.encode("latin1")


#: Numeric dtypes and plain arrays.
_ARRAYS: dict[tuple[str, str], Callable[..., Any]] = {
    ("numpy", "dtype"): _dtype,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
}

#: NumPy scalars (``np.float64(...)`` values inside dicts), read as Python numbers.
NUMPY_SCALARS: dict[tuple[str, str], Callable[..., Any]] = {
    ("numpy.core.multiarray", "scalar"): _numpy_scalar,
    ("numpy._core.multiarray", "scalar"): _numpy_scalar,
    ("numpy", "dtype"): _dtype,
}

#: NumPy scalars and numeric arrays.
NUMPY_ARRAYS: dict[tuple[str, str], Callable[..., Any]] = {**NUMPY_SCALARS, **_ARRAYS}

#: ``collections.OrderedDict`` read as a plain dict (order is kept by dict anyway).
ORDERED_DICT: dict[tuple[str, str], Callable[..., Any]] = {("collections", "OrderedDict"): dict}

#: What :func:`load_arrays` allows: numeric arrays at every protocol and protocol 0-2 bytes.
_DATA_FILES: dict[tuple[str, str], Callable[..., Any]] = {
    **_ARRAYS,
    ("_codecs", "encode"): _encode,
    ("numpy.core.numeric", "_frombuffer"): _frombuffer,
    ("numpy._core.numeric", "_frombuffer"): _frombuffer,
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes], allowed: Allowed, label: str, encoding: str) -> None:
        super().__init__(file, encoding=encoding)
        self._allowed = allowed
        self._label = label

    def find_class(self, module: str, name: str) -> Any:
        target = self._allowed.get((module, name))
        if target is None:
            raise ValueError(
                f"{self._label} is not a file this loader trusts: its pickle asks for "
                f"{module}.{name}, which is not on the allow-list "
                f"({', '.join(sorted('.'.join(k) for k in self._allowed))})."
            )
        return target


def _load(file: IO[bytes], allowed: Allowed, label: str, encoding: str) -> Any:
    try:
        return _RestrictedUnpickler(file, allowed, label, encoding).load()
    except ValueError:
        raise
    except Exception as exc:  # corrupt pickles raise many types (EOFError, KeyError ...)
        raise ValueError(
            f"{label} is corrupt: cannot unpickle it ({type(exc).__name__}: {exc})."
        ) from exc


def loads(data: bytes, allowed: Allowed, label: str, *, encoding: str = "ASCII") -> Any:
    """Unpickle ``data`` resolving only the ``allowed`` globals.

    Args:
        data: The pickle bytes.
        allowed: ``(module, name) -> stand-in`` used in place of the named global.
        label: How to name the source in error messages (usually the file path).
        encoding: How Python 2 ``str`` values are decoded (see :class:`pickle.Unpickler`).

    Returns:
        The unpickled object.

    Raises:
        ValueError: If the pickle is corrupt or names a global outside ``allowed``.
    """
    return _load(io.BytesIO(data), allowed, label, encoding)


def load_arrays(path: str | PathLike, extra: Allowed | None = None) -> Any:
    """Unpickle ``path`` allowing nothing but containers, numbers, strings and NumPy arrays.

    Python 2 ``str`` values are decoded as latin-1, which keeps NumPy's raw bytes intact and
    gives ``str`` keys (CIFAR-10's and Planetoid's files are Python 2 pickles).

    Args:
        path: The pickle file.
        extra: More ``(module, name) -> stand-in`` globals to allow (e.g. a sparse matrix
            class mapped to a local stand-in).

    Returns:
        The unpickled object.

    Raises:
        ValueError: If the file is corrupt or its pickle names any other global.
    """
    with open(path, "rb") as fh:
        return _load(fh, {**_DATA_FILES, **(extra or {})}, str(path), "latin1")
