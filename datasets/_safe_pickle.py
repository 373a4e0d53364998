"""Restricted unpickling of benchmark files.

Several benchmarks ship as pickles. A plain :func:`pickle.load` runs whatever callable the file
names, so a tampered download could execute code. :func:`load_file` reads a (possibly
bz2-compressed) file within a size bound and unpickles it with :func:`gnnpred._pickle.loads`,
which resolves only an explicit allow-list of globals (the allow-lists are re-exported here);
any other global raises ``ValueError`` naming the file.
"""

from __future__ import annotations

from os import PathLike
from typing import Any

from datasets._files import bz2_decompress, read_bytes
from gnnpred._pickle import NUMPY_ARRAYS, NUMPY_SCALARS, ORDERED_DICT, Allowed, loads

__all__ = ["NUMPY_ARRAYS", "NUMPY_SCALARS", "ORDERED_DICT", "Allowed", "load_file", "loads"]


def load_file(
    path: str | PathLike,
    allowed: Allowed,
    *,
    max_bytes: int,
    what: str,
    compressed: bool | None = None,
    max_unpacked: int | None = None,
) -> Any:
    """Read a (possibly bz2-compressed) pickle file with :func:`gnnpred._pickle.loads`.

    Args:
        path: The file.
        allowed: See :func:`gnnpred._pickle.loads`.
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
