"""TFRecord framing, CRC-32C and the protobuf decoder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from datasets._protobuf import DecodeError, decode_model_metrics
from datasets._tfrecord import crc32c, crc32c_many, mask, read_records, write_records
from tests.datasets import nb101_records as w


def test_crc32c_check_value():
    assert crc32c(b"123456789") == 0xE3069283  # the standard CRC-32C check value
    assert crc32c(b"") == 0
    assert w.crc32c_bitwise(b"123456789") == 0xE3069283


def test_vectorised_crc_matches_scalar():
    rng = np.random.default_rng(0)
    buf = rng.integers(0, 256, size=5000, dtype=np.uint8)
    starts = rng.integers(0, 4000, size=300)
    lengths = rng.integers(0, 900, size=300)
    lengths[:5] = 0
    got = crc32c_many(buf, starts, lengths)
    want = [crc32c(buf[s : s + n].tobytes()) for s, n in zip(starts, lengths, strict=True)]
    assert got.tolist() == want
    assert mask(got).tolist() == [mask(c) for c in want]


def test_reads_independently_written_records(tmp_path):
    payloads = [b"", b"a", b"hello world" * 50, bytes(range(256))]
    path = tmp_path / "x.tfrecord"
    path.write_bytes(b"".join(w.frame(p) for p in payloads))
    assert list(read_records(path)) == payloads
    write_records(tmp_path / "y.tfrecord", payloads)  # the library's writer gives the same bytes
    assert (tmp_path / "y.tfrecord").read_bytes() == path.read_bytes()


def _corrupt(tmp_path, mutate):
    data = bytearray(b"".join(w.frame(p) for p in [b"first record", b"second record" * 3]))
    mutate(data)
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(bytes(data))
    return path


def test_bad_data_crc(tmp_path):
    path = _corrupt(tmp_path, lambda d: d.__setitem__(14, d[14] ^ 1))  # inside record 0's data
    with pytest.raises(ValueError, match=r"bad\.tfrecord.*data CRC of record 0"):
        list(read_records(path))
    assert list(read_records(path, verify_crc=False))[0] == b"fisst record"


def test_bad_length_crc_and_truncation(tmp_path):
    path = _corrupt(tmp_path, lambda d: d.__setitem__(8, d[8] ^ 1))  # length CRC of record 0
    with pytest.raises(ValueError, match="length CRC of record 0"):
        list(read_records(path, verify_crc=False))
    path = _corrupt(tmp_path, lambda d: d.__delitem__(slice(-6, None)))
    with pytest.raises(ValueError, match=r"record 1 .*truncated"):
        list(read_records(path))
    path = _corrupt(tmp_path, lambda d: d.__setitem__(0, 0xFF))  # absurd length, CRC mismatch
    with pytest.raises(
        ValueError, match=r"bad\.tfrecord is corrupt: the length CRC of record 0 \(byte 0\)"
    ):
        list(read_records(path))
    (tmp_path / "empty.tfrecord").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        list(read_records(tmp_path / "empty.tfrecord"))


def test_decode_model_metrics():
    evals = [w.evaluation(0, 0, 0.1, 0.2, 0.3), w.evaluation(108, 1500.5, 1.0, 0.93, 0.925)]
    msg = (
        w.model_metrics(evals, 2_694_282, 1700.25) + w.varint(9 << 3 | 0) + w.varint(5)
    )  # unknown field 9
    out = decode_model_metrics(msg)
    assert out["trainable_parameters"] == 2_694_282 and out["total_time"] == 1700.25
    assert out["evaluation_data"] == [
        {
            "current_epoch": 108,
            "training_time": 1500.5,
            "train_accuracy": 1.0,
            "validation_accuracy": 0.93,
            "test_accuracy": 0.925,
        }
    ]
    assert len(decode_model_metrics(msg, all_evaluations=True)["evaluation_data"]) == 2
    assert decode_model_metrics(w.model_metrics([], -5, 0.0))["trainable_parameters"] == -5
    with pytest.raises(DecodeError):
        decode_model_metrics(msg[:-12])
    with pytest.raises(DecodeError, match="wire type"):
        decode_model_metrics(w.varint(1 << 3 | 3))


_ZERO_FILE_CHILD = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
from datasets._tfrecord import read_records
try:
    next(read_records(sys.argv[1], verify_crc=False))
except ValueError as exc:
    print(exc)
"""


def test_zero_filled_file_fails_at_the_first_header_in_bounded_memory(tmp_path):
    # Every zero header reads as an empty record whose length CRC does not match: the reader
    # must stop there, not frame ~17M empty records first (which took GBs of memory).
    path = tmp_path / "zeros.tfrecord"
    with open(path, "wb") as fh:
        fh.truncate(200 << 20)  # sparse: no disk space is used
    root = Path(__file__).resolve().parents[2]  # the checkout whose datasets is under test
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _ZERO_FILE_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=root,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "zeros.tfrecord" in proc.stdout and "length CRC of record 0 (byte 0)" in proc.stdout
