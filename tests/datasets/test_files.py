"""Capped reads of benchmark files: no loader reads a device, a pipe or an oversized file.

Every case runs in one child process with a time-out and a data-size limit, so that a loader
that does read without limit fails this test quickly instead of exhausting the machine.
"""

from __future__ import annotations

import bz2
import json
import os
import subprocess
import sys
import textwrap

import pytest

from datasets._files import bz2_decompress, check_size, read_bytes, read_text

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_DATA, (2 << 30, 2 << 30))
    import datasets
    out = []
    for name, path in json.loads(sys.argv[1]):
        try:
            datasets.load(name, path=path, verbose=False) if name != "nasbench-graph" else (
                datasets.load(name, path=path))
            out.append([name, path, None, ""])
        except BaseException as exc:
            out.append([name, path, type(exc).__name__, str(exc)])
    print(json.dumps(out))
    """
)


def _cases(tmp_path) -> list[tuple[str, str]]:
    """(benchmark, path) pairs: ``/dev/zero`` under every file name a loader dispatches on,
    a pipe, and sparse files one byte larger than each format's cap."""
    zero = "/dev/zero"
    cases = [("nasbench-graph", zero), ("nasbench201", zero), ("nasbench101", zero)]
    for name, suffixes in {
        "nasbench201": [".csv", ".pth", ".pickle.pbz2"],
        "nasbench101": [".csv", ".json", ".tfrecord"],
        "nasbench-graph": [".bench"],
    }.items():
        for suffix in suffixes:
            link = tmp_path / f"{name}-zero{suffix}"
            link.symlink_to(zero)
            cases.append((name, str(link)))
    simple = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    simple.mkdir()
    (simple / "meta.pickle.pbz2").symlink_to(zero)
    cases.append(("nasbench201", str(simple)))
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)  # opening it would block until a writer comes: it must not be opened
    cases.append(("nasbench201", str(fifo)))
    for name, suffix, size in [
        ("nasbench-graph", ".bench", 64 << 20),
        ("nasbench201", ".csv", 256 << 20),
        ("nasbench201", ".pth", 8 << 30),
        ("nasbench201", ".pickle.pbz2", 8 << 30),
        ("nasbench101", ".json", 1 << 30),
        ("nasbench101", ".tfrecord", 4 << 30),
    ]:
        big = tmp_path / f"{name}-big{suffix}"
        with open(big, "wb") as fh:
            fh.truncate(size + 1)  # sparse: no disk space is used
        cases.append((name, str(big)))
    return cases


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX /dev/zero and pipes")
def test_every_loader_refuses_endless_streams_and_oversized_files(tmp_path):
    cases = _cases(tmp_path)
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(cases)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    assert len(results) == len(cases)
    for name, path, error, message in results:
        assert error == "ValueError", (name, path, error, message)
        assert os.path.basename(path) in message, (name, path, message)
        assert "regular file" in message or "larger than" in message or "unsupported" in message


def test_check_size_and_read_bytes(tmp_path):
    path = tmp_path / "t.bin"
    path.write_bytes(b"x" * 10)
    assert check_size(path, 10, "toy file") == 10
    assert read_bytes(path, 10, "toy file") == b"x" * 10
    with pytest.raises(ValueError, match=r"t\.bin is 10 bytes, larger than any toy file"):
        read_bytes(path, 9, "toy file")
    with pytest.raises(ValueError, match="/dev/zero is not a regular file"):
        read_bytes("/dev/zero", 1 << 20, "toy file")


def test_read_text_drops_a_bom_and_names_a_non_utf8_file(tmp_path):
    path = tmp_path / "t.txt"
    path.write_bytes("\ufeffarch,acc\n".encode())
    assert read_text(path, 100, "toy table") == "arch,acc\n"
    path.write_bytes(b"\xff\xfearch")
    with pytest.raises(ValueError, match=r"t\.txt is not UTF-8 text"):
        read_text(path, 100, "toy table")


def test_bz2_decompress_caps_the_output():
    bomb = bz2.compress(b"\0" * (4 << 20))  # a few hundred bytes that expand to 4 MiB
    assert len(bomb) < 1000
    assert bz2_decompress(bomb, 4 << 20, "bomb") == b"\0" * (4 << 20)
    with pytest.raises(ValueError, match="bomb expands to more than 1 MiB"):
        bz2_decompress(bomb, 1 << 20, "bomb")
    two = bz2.compress(b"ab") + bz2.compress(b"cd")  # multi-stream, as bz2.decompress reads
    assert bz2_decompress(two, 10, "two") == b"abcd"
    with pytest.raises(ValueError, match="truncated"):
        bz2_decompress(bomb[:-10], 8 << 20, "cut")
    with pytest.raises(ValueError, match="not valid bz2"):
        bz2_decompress(b"BZh9 not bz2 at all", 100, "junk")
