"""Capped reads of benchmark files: no loader reads a device, a pipe or an oversized file.

Every case runs in one child process with a time-out and a data-size limit, so that a loader
that does read without limit fails this test quickly instead of exhausting the machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from datasets import load

_CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_DATA, (2 << 30, 2 << 30))
    import datasets
    assert datasets.__file__.startswith(sys.argv[2]), datasets.__file__
    out = []
    for name, path in json.loads(sys.argv[1]):
        try:
            kwargs = {} if name == "nasbench-graph" else {"verbose": False}
            datasets.load(name, path=path, **kwargs)
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
    root = Path(__file__).resolve().parents[2]  # the checkout whose datasets is under test
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(cases), str(root)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=root,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads(proc.stdout.splitlines()[-1])
    assert len(results) == len(cases)
    for name, path, error, message in results:
        assert error == "ValueError", (name, path, error, message)
        assert os.path.basename(path) in message, (name, path, message)
        assert "regular file" in message or "larger than" in message or "unsupported" in message


def test_csv_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("arch,test_accuracy\n|caf\u00e9~0|,1\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"latin1\.csv is not UTF-8 text"):
        load("nasbench201", path=path)
