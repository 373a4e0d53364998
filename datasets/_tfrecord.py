"""TFRecord files without TensorFlow.

A TFRecord file is a sequence of records, each framed as::

    uint64 length (little endian) | uint32 masked_crc32c(length bytes)
    | data | uint32 masked_crc32c(data)

CRC-32C is the Castagnoli CRC (reflected polynomial ``0x82F63B78``); TensorFlow stores it
"masked": ``((crc >> 15) | (crc << 17)) + 0xA282EAD8`` (mod ``2**32``).

Checking the data CRCs of a 500 MB file byte by byte in Python would take minutes, so
:func:`crc32c_many` runs the table-driven CRC on all records at once: records are sorted by
length and step ``i`` updates, in one NumPy operation, the CRC of every record longer than ``i``.
"""

from __future__ import annotations

import mmap
import struct
from array import array
from collections.abc import Iterator
from os import PathLike

import numpy as np

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8
_CHUNK = 1 << 18  # records per vectorised CRC batch (bounds temporary memory)


def _make_table() -> np.ndarray:
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(_POLY), table >> 1).astype(np.uint32)
    return table


CRC_TABLE = _make_table()
_TABLE_LIST = CRC_TABLE.tolist()


def crc32c(data: bytes) -> int:
    """CRC-32C of ``data`` (pure Python; for short inputs)."""
    crc = 0xFFFFFFFF
    table = _TABLE_LIST
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def mask(crc: int | np.ndarray) -> int | np.ndarray:
    """TensorFlow's masked CRC (works on ints and uint32 arrays)."""
    if isinstance(crc, np.ndarray):
        crc = crc.astype(np.uint64)
        return ((((crc >> 15) | (crc << 17)) + _MASK_DELTA) & 0xFFFFFFFF).astype(np.uint32)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + _MASK_DELTA) & 0xFFFFFFFF


def crc32c_many(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """CRC-32C of many byte ranges of ``buf`` at once.

    Args:
        buf: ``uint8`` array (e.g. a memory map of the whole file).
        starts: ``[n]`` start offsets of the ranges.
        lengths: ``[n]`` lengths of the ranges.

    Returns:
        ``[n]`` uint32 CRCs, in input order.
    """
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    out = np.empty(len(starts), dtype=np.uint32)
    for lo in range(0, len(starts), _CHUNK):
        s, n = starts[lo : lo + _CHUNK], lengths[lo : lo + _CHUNK]
        order = np.argsort(-n, kind="stable")  # longest first: active records form a prefix
        s, n = s[order], n[order]
        crc = np.full(len(s), 0xFFFFFFFF, dtype=np.uint32)
        # active[i] = number of ranges longer than i (non-increasing in i)
        active = np.searchsorted(-n, -np.arange(int(n[0]) if len(n) else 0), side="left")
        for i, k in enumerate(active.tolist()):
            c = crc[:k]
            crc[:k] = CRC_TABLE[(c ^ buf[s[:k] + i]) & 0xFF] ^ (c >> 8)
        crc ^= np.uint32(0xFFFFFFFF)
        out[lo + order] = crc
    return out


def _frame(mm: mmap.mmap | bytes, path: str) -> tuple[np.ndarray, np.ndarray]:
    """Offsets and lengths of the data of every record; checks the framing and length CRCs.

    The length CRC of each header is checked as it is read, so a file that is not TFRecord
    data (e.g. all zeros, where every header would read as an empty record) fails at its first
    header instead of after framing millions of bogus records. Lengths repeat across records,
    so each distinct length's CRC is computed once. Offsets go to typed arrays (8 bytes each),
    not lists of Python ints.
    """
    size = len(mm)
    starts, lengths = array("q"), array("q")
    length_crcs: dict[int, int] = {}  # length -> its masked CRC
    pos = 0
    unpack = struct.Struct("<QI").unpack_from
    pack_length = struct.Struct("<Q").pack
    while pos < size:
        if pos + 12 > size:
            raise ValueError(
                f"{path} is truncated: record {len(starts)} at byte {pos} has an incomplete header."
            )
        length, length_crc = unpack(mm, pos)
        want = length_crcs.get(length)
        if want is None:
            want = length_crcs[length] = mask(crc32c(pack_length(length)))
        if want != length_crc:
            raise ValueError(
                f"{path} is corrupt: the length CRC of record {len(starts)} (byte {pos}) does "
                "not match; the file is damaged or not a TFRecord file."
            )
        end = pos + 12 + length + 4
        if end > size:
            raise ValueError(
                f"{path}: record {len(starts)} at byte {pos}: its {length} bytes run past the "
                "end of the file (truncated)."
            )
        starts.append(pos + 12)
        lengths.append(length)
        pos = end
    return np.frombuffer(starts, dtype=np.int64), np.frombuffer(lengths, dtype=np.int64)


def _check(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray, path: str) -> str | None:
    """The first data CRC problem as a message, or ``None`` (returned, not raised, so that no
    traceback keeps a view of the memory map alive)."""
    heads = starts - 12
    tails = starts + lengths
    stored = buf[tails[:, None] + np.arange(4)].copy().view("<u4").reshape(-1)
    bad = np.flatnonzero(mask(crc32c_many(buf, starts, lengths)) != stored)
    if bad.size:
        return (
            f"{path} is corrupt: the data CRC of record {bad[0]} (byte {heads[bad[0]]}) does "
            "not match "
            f"({bad.size} bad record(s)); pass verify_crc=False to read it anyway."
        )
    return None


def read_records(path: str | PathLike, *, verify_crc: bool = True) -> Iterator[bytes]:
    """Yield the payload of every record of a TFRecord file.

    The framing and all length CRCs are checked before the first record is yielded, and with
    ``verify_crc`` (the default) all data CRCs too, so a corrupt file fails fast.

    Args:
        path: The ``.tfrecord`` file.
        verify_crc: Check the data CRC of every record.

    Yields:
        Record payloads (bytes).

    Raises:
        ValueError: Naming the file and record if it is truncated or a CRC does not match.
    """
    with open(path, "rb") as fh:
        if fh.seek(0, 2) == 0:
            raise ValueError(f"{path} is empty; expected TFRecord data.")
        fh.seek(0)
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            starts, lengths = _frame(mm, str(path))
            if verify_crc and len(starts):
                buf = np.frombuffer(mm, dtype=np.uint8)
                problem = _check(buf, starts, lengths, str(path))
                del buf  # the mmap cannot close while a NumPy view exists
                if problem:
                    raise ValueError(problem)
            for s, n in zip(starts.tolist(), lengths.tolist(), strict=True):
                yield mm[s : s + n]


def write_records(path: str | PathLike, records: list[bytes]) -> None:
    """Write ``records`` as a TFRecord file (the inverse of :func:`read_records`)."""
    with open(path, "wb") as fh:
        for data in records:
            head = struct.pack("<Q", len(data))
            fh.write(
                head
                + struct.pack("<I", mask(crc32c(head)))
                + data
                + struct.pack("<I", mask(crc32c(data)))
            )
