"""Checkpoint/resume: a run killed at any query resumes to exactly the uninterrupted history."""

from __future__ import annotations

import hashlib
import json
import os
import signal

import numpy as np
import pytest

from search.algorithms import ALGORITHMS
from search.engine import run_search
from search.history import FINGERPRINT_KEY, read_history
from tests.search.cli_helpers import start_slow, wait_lines, write_table
from tests.search.conftest import algorithm_params


class Killed(Exception):
    pass


def _killer(after: int):
    count = [0]

    def progress(_):
        count[0] += 1
        if count[0] >= after:
            raise Killed

    return progress


def _lines(path):
    return [(r.index, r.arch, r.value) for r in read_history(path, repair=False)]


@pytest.mark.parametrize("name, budget, kill_at", [
    ("random", 40, 17), ("evolution", 60, 41), ("local", 60, 29), ("assessor", 14, 11),
    ("seminas", 14, 11),
])
def test_resume_after_interruption(name, budget, kill_at, embedded_bench, embedded_domain,
                                   tmp_path):
    def search(history, **kw):
        algo = ALGORITHMS[name](**algorithm_params(name))
        return run_search(algo, embedded_bench, budget, seed=1, domain=embedded_domain,
                          history=history, device="cpu", **kw)

    ref = search(tmp_path / "ref.jsonl")
    path = tmp_path / "run.jsonl"
    with pytest.raises(Killed):
        search(path, progress=_killer(kill_at))
    assert len(read_history(path)) == kill_at
    with open(path, "ab") as fh:  # a kill in the middle of writing the next line
        fh.write(b'{"index": %d, "arch": "|nor_co' % kill_at)
    with pytest.raises(ValueError, match="resume it"):
        search(path)
    res = search(path, resume=True)
    assert _lines(path) == _lines(tmp_path / "ref.jsonl")
    assert res.archs == ref.archs and list(res.values) == list(ref.values)
    again = search(path, resume=True)  # resuming a finished run changes nothing
    assert again.archs == ref.archs and _lines(path) == _lines(tmp_path / "ref.jsonl")


def test_resume_rejects_foreign_history(embedded_bench, embedded_domain, tmp_path):
    from search.algorithms import ReplayMismatch

    path = tmp_path / "h.jsonl"
    kw = {"domain": embedded_domain, "history": path}
    run_search("random", embedded_bench, 10, seed=0, **kw)
    with pytest.raises(ValueError, match="more than the budget 5"):
        run_search("random", embedded_bench, 5, seed=0, resume=True, **kw)
    with pytest.raises(ReplayMismatch, match="query 0"):
        run_search("random", embedded_bench, 20, seed=9, resume=True, **kw)


def test_sigkill_then_resume_cli(embedded_bench, embedded_domain, tmp_path, capsys):
    from search.run import main

    out_dir = tmp_path / "killed"
    args = ["--algorithm", "evolution", "--budget", "150", "--seeds", "2", "--quiet",
            "--out", str(out_dir)]
    hist = out_dir / "evolution" / "seed2" / "history.jsonl"
    proc = start_slow(0.02, *args)
    wait_lines(hist, 40, proc)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(read_history(hist, repair=False))
    assert 40 <= n_before < 150, "the run was not killed in the middle"
    assert main([*args, "--resume"]) == 0, capsys.readouterr().err
    ref = run_search("evolution", embedded_bench, 150, seed=2, domain=embedded_domain)
    strings = embedded_domain.space.to_string
    assert _lines(hist) == [(i, strings(a), v)
                            for i, (a, v) in enumerate(zip(ref.archs, ref.values, strict=True))]


def test_ctrl_c_exits_130_and_resumes(embedded_bench, embedded_domain, tmp_path, capsys):
    from search.run import main

    args = ["--algorithm", "local", "--budget", "80", "--quiet", "--out", str(tmp_path / "o")]
    hist = tmp_path / "o" / "local" / "seed0" / "history.jsonl"
    proc = start_slow(0.05, *args)
    wait_lines(hist, 10, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "continue with --resume" in err and "Traceback" not in err
    assert main([*args, "--resume"]) == 0, capsys.readouterr().err
    ref = run_search("local", embedded_bench, 80, seed=0, domain=embedded_domain)
    assert [a for _, a, _ in _lines(hist)] == [embedded_domain.space.to_string(a)
                                               for a in ref.archs]


#: Ctrl-C while the assessor trains: SIGINT arrives inside Lightning's fit loop, whose handler
#: turns it into sys.exit(1).
INTERRUPT_IN_TRAINING = """
import os, signal, sys
from lightning.pytorch.loops.fit_loop import _FitLoop
real = _FitLoop.advance
def advance(self):
    os.kill(os.getpid(), signal.SIGINT)
    return real(self)
_FitLoop.advance = advance
from search.run import main
sys.exit(main(sys.argv[2:]))
"""


def test_ctrl_c_during_assessor_training_exits_130(tmp_path):
    params = json.dumps({"assessor": algorithm_params("assessor")})
    proc = start_slow(0, "--algorithm", "assessor", "--budget", "20", "--quiet", "--device",
                      "cpu", "--params", params, "--out", str(tmp_path / "o"),
                      script=INTERRUPT_IN_TRAINING)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 130, err
    assert "continue with --resume" in err.strip().splitlines()[-1]


#: Ctrl-C that Python swallows: SIGINT lands in code that catches the KeyboardInterrupt (as
#: happens when it lands in a finalizer, where Python prints it as "ignored") at the 5th query.
SWALLOWED_INTERRUPT = """
import os, signal, sys, time
from datasets.base import Benchmark
real = Benchmark.query
calls = [0]
def query(self, arch, metric=None):
    calls[0] += 1
    if calls[0] == 5:
        try:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        except KeyboardInterrupt:
            pass
    return real(self, arch, metric)
Benchmark.query = query
from search.run import main
sys.exit(main(sys.argv[2:]))
"""


def test_a_swallowed_ctrl_c_still_stops_the_run_at_the_next_query(tmp_path):
    hist = tmp_path / "o" / "random" / "seed0" / "history.jsonl"
    proc = start_slow(0, "--algorithm", "random", "--budget", "200", "--quiet", "--out",
                      str(tmp_path / "o"), script=SWALLOWED_INTERRUPT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err  # the run used to go on to its 200th query
    assert "continue with --resume" in err.strip().splitlines()[-1]
    assert len(read_history(hist, repair=False)) == 5  # the query in flight was recorded


def _finished(tmp_path, *extra: str) -> list[str]:
    from search.run import main

    args = ["--algorithm", "random", "--budget", "8", "--quiet", "--out", str(tmp_path / "o"),
            *extra]
    assert main(args) == 0
    return [*args, "--resume"]


def test_corrupt_middle_line_exits_2(tmp_path, capsys):
    from search.run import main

    args = _finished(tmp_path)
    hist = tmp_path / "o" / "random" / "seed0" / "history.jsonl"
    lines = hist.read_text().splitlines(keepends=True)
    lines[2] = '{"index": 2, "arch": "|nor_co\n'
    hist.write_text("".join(lines))
    capsys.readouterr()
    assert main(args) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if "error:" in line]
    assert len(err) == 1 and str(hist) in err[0] and "line 3" in err[0]


def test_torn_last_line_is_repaired(embedded_bench, tmp_path, capsys):
    from search.run import main

    args = _finished(tmp_path)
    hist = tmp_path / "o" / "random" / "seed0" / "history.jsonl"
    whole, before = hist.read_bytes(), _lines(hist)
    hist.write_bytes(whole[: whole.rindex(b"\n", 0, -1) + 20])  # a kill mid-line
    assert len(_lines(hist)) == 7
    assert main(args) == 0, capsys.readouterr().err
    assert _lines(hist) == before  # the torn query is asked again


def test_resume_refuses_another_table(tmp_path, capsys):
    from search.run import main

    table = write_table(tmp_path / "t.csv")
    args = _finished(tmp_path, "--path", str(table))
    stored = json.loads((tmp_path / "o" / "config.json").read_text())
    assert stored[FINGERPRINT_KEY] == {"of": "file", "size": table.stat().st_size,
                                       "sha256": hashlib.sha256(table.read_bytes()).hexdigest()}
    write_table(table, lambda v: v + np.arange(len(v)) * 1e-9)  # another table, same cells
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "benchmark table is not the one" in err and len(err.strip().splitlines()) == 1


def test_resume_checks_replayed_values(tmp_path, capsys):
    from search.run import main

    args = _finished(tmp_path)
    hist = tmp_path / "o" / "random" / "seed0" / "history.jsonl"
    lines = hist.read_text().splitlines()
    rec = json.loads(lines[3])
    rec["value"] += 1.0
    lines[3] = json.dumps(rec)
    hist.write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "random seed 0" in err and "query 3" in err and "Traceback" not in err


def test_all_algorithms_are_covered():
    assert set(ALGORITHMS) == {"random", "evolution", "local", "assessor", "seminas"}
