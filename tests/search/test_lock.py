"""Two processes never write one output folder: the second exits 2 naming the first's pid."""

from __future__ import annotations

import os
import signal

from search.engine import run_search
from search.run import main
from tests.search.cli_helpers import embedded, history, start_slow, wait_lines


def test_second_process_on_a_busy_folder_exits_2(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--algorithm", "evolution", "--budget", "60", "--seeds", "3", "--quiet",
            "--out", str(out)]
    first = start_slow(0.5, *argv)  # 30 s of queries: it runs while we try
    try:
        wait_lines(out / "evolution" / "seed3" / "history.jsonl", 5, first)
        code = main([*argv, "--resume"])  # a second, real process: this one
        err = capsys.readouterr().err
        assert code == 2, err
        assert f"pid {first.pid}" in err and len(err.strip().splitlines()) == 1
        assert main(argv) == 2  # a new run on the busy folder is refused too
    finally:
        os.kill(first.pid, signal.SIGKILL)  # a crash: the OS drops the lock
        first.wait()
    assert main([*argv, "--resume"]) == 0, capsys.readouterr().err
    ref = run_search("evolution", embedded(), 60, seed=3)
    space = embedded().space
    assert [(r["index"], r["arch"]) for r in history(out, "evolution", 3)] == \
        [(i, space.to_string(a)) for i, a in enumerate(ref.archs)]


def test_lock_is_released_after_a_run(tmp_path, capsys):
    argv = ["--algorithm", "random", "--budget", "3", "--quiet", "--out", str(tmp_path / "o")]
    assert main(argv) == 0
    assert main([*argv, "--resume"]) == 0, capsys.readouterr().err
