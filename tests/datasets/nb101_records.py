"""An independent writer of official-format NAS-Bench-101 TFRecords, for the tests.

Deliberately shares no code with ``datasets``: bitwise CRC-32C, hand-rolled protobuf encoding.
"""

from __future__ import annotations

import base64
import json
import struct


def crc32c_bitwise(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(data: bytes) -> int:
    crc = crc32c_bitwise(data)
    return ((((crc >> 15) | (crc << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(data: bytes) -> bytes:
    head = struct.pack("<Q", len(data))
    return head + struct.pack("<I", masked(head)) + data + struct.pack("<I", masked(data))


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # negative int32 -> 10-byte two's complement, as protobuf does
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def double_field(number: int, value: float) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<d", value)


def bytes_field(number: int, payload: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def evaluation(epoch, time, train, valid, test, checkpoint="/ckpt/model.ckpt-1") -> bytes:
    return (
        double_field(1, epoch)
        + double_field(2, time)
        + double_field(3, train)
        + double_field(4, valid)
        + double_field(5, test)
        + bytes_field(6, checkpoint.encode())
    )


def model_metrics(evaluations: list[bytes], params: int, total_time: float) -> bytes:
    body = b"".join(bytes_field(1, e) for e in evaluations)
    return body + varint(2 << 3 | 0) + varint(params) + double_field(3, total_time)


def record(module_hash: str, epochs: int, matrix, ops, final: tuple, params: int) -> bytes:
    """One run: evaluations at start, halfway and end (``final`` = time, train, valid, test)."""
    time, train, valid, test = final
    evals = [
        evaluation(0, 0, 0.1, 0.1, 0.1),
        evaluation(epochs / 2, time / 2, 0.5, 0.5, 0.5),
        evaluation(epochs, time, train, valid, test),
    ]
    raw = base64.b64encode(model_metrics(evals, params, time * 1.1)).decode()
    adjacency = "".join(str(v) for row in matrix for v in row)
    return json.dumps([module_hash, epochs, adjacency, ",".join(ops), raw]).encode()
