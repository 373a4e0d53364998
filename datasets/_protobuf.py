"""A minimal protobuf wire-format decoder for NAS-Bench-101's ``ModelMetrics`` messages.

From ``nasbench/lib/model_metrics.proto`` (proto2)::

    message ModelMetrics {
      repeated EvaluationData evaluation_data = 1;
      optional int32 trainable_parameters = 2;
      optional double total_time = 3;
    }
    message EvaluationData {
      optional double current_epoch = 1;   optional double training_time = 2;
      optional double train_accuracy = 3;  optional double validation_accuracy = 4;
      optional double test_accuracy = 5;   optional string checkpoint_path = 6;
    }

Wire format: each field is a varint key ``(field_number << 3) | wire_type`` followed by a varint
(type 0), 8 bytes (type 1), a varint length and that many bytes (type 2) or 4 bytes (type 5).
Unknown fields are skipped, as protobuf parsers do.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

_DOUBLE = struct.Struct("<d").unpack_from
EVALUATION_FIELDS: dict[int, str] = {
    1: "current_epoch",
    2: "training_time",
    3: "train_accuracy",
    4: "validation_accuracy",
    5: "test_accuracy",
}


class DecodeError(ValueError):
    """The bytes are not a well-formed message."""


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise DecodeError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise DecodeError("varint longer than 10 bytes")


def fields(
    buf: bytes, start: int = 0, end: int | None = None
) -> Iterator[tuple[int, int, int | float | tuple[int, int]]]:
    """Yield ``(field_number, wire_type, value)`` of a message in ``buf[start:end]``.

    ``value`` is an int (varint), the raw little-endian bytes as an int for fixed32, a float
    for fixed64 (all NAS-Bench-101 fixed64 fields are doubles) and ``(start, end)`` offsets for
    length-delimited fields.

    Raises:
        DecodeError: On truncated data or an unsupported wire type (groups).
    """
    end = len(buf) if end is None else end
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise DecodeError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise DecodeError("truncated fixed64")
            value = _DOUBLE(buf, pos)[0]
            pos += 8
        elif wire == 2:
            length, pos = _varint(buf, pos)
            if pos + length > end:
                raise DecodeError("truncated length-delimited field")
            value = (pos, pos + length)
            pos += length
        elif wire == 5:
            if pos + 4 > end:
                raise DecodeError("truncated fixed32")
            value = int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        else:
            raise DecodeError(f"unsupported wire type {wire}")
        yield number, wire, value


def _int32(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def decode_evaluation(buf: bytes, start: int = 0, end: int | None = None) -> dict[str, float]:
    """Decode one ``EvaluationData`` (absent doubles are left out; checkpoint_path ignored)."""
    out: dict[str, float] = {}
    for number, wire, value in fields(buf, start, end):
        if wire == 1 and number in EVALUATION_FIELDS:
            out[EVALUATION_FIELDS[number]] = value
    return out


def decode_model_metrics(buf: bytes, all_evaluations: bool = False) -> dict:
    """Decode a ``ModelMetrics`` message.

    Args:
        buf: The serialised message.
        all_evaluations: Decode every ``evaluation_data`` entry; by default only the last one
            (the end of training, which is all the loaders need) is decoded, for speed.

    Returns:
        ``{"evaluation_data": [dict, ...], "trainable_parameters": int | None,
        "total_time": float | None}``; without ``all_evaluations`` the list holds only the final
        entry (and is empty when there is none).

    Raises:
        DecodeError: If the bytes are malformed.
    """
    spans: list[tuple[int, int]] = []
    params = total = None
    for number, wire, value in fields(buf):
        if number == 1 and wire == 2:
            spans.append(value)
        elif number == 2 and wire == 0:
            params = _int32(value)
        elif number == 3 and wire == 1:
            total = value
    chosen = spans if all_evaluations else spans[-1:]
    return {
        "evaluation_data": [decode_evaluation(buf, s, e) for s, e in chosen],
        "trainable_parameters": params,
        "total_time": total,
    }
