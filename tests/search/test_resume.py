"""Checkpoint/resume: a run killed at any query resumes to exactly the uninterrupted history."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from search.algorithms import ALGORITHMS, get_algorithm
from search.engine import run_search
from search.history import read_history
from tests.search.conftest import algorithm_params

ROOT = Path(__file__).resolve().parents[2]


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
])
def test_resume_after_interruption(name, budget, kill_at, nb201_bench, nb201_domain, tmp_path):
    params = algorithm_params(name)
    ref = run_search(get_algorithm(name, **params), nb201_bench, budget, seed=1, domain=nb201_domain,
                     history=tmp_path / "ref.jsonl", device="cpu")
    path = tmp_path / "run.jsonl"
    with pytest.raises(Killed):
        run_search(get_algorithm(name, **params), nb201_bench, budget, seed=1, domain=nb201_domain,
                   history=path, device="cpu", progress=_killer(kill_at))
    assert len(read_history(path)) == kill_at
    with open(path, "ab") as fh:  # a kill in the middle of writing the next line
        fh.write(b'{"index": %d, "arch": "|nor_co' % kill_at)
    with pytest.raises(ValueError, match="resume it"):
        run_search(name, nb201_bench, budget, seed=1, domain=nb201_domain, history=path)
    res = run_search(get_algorithm(name, **params), nb201_bench, budget, seed=1, domain=nb201_domain,
                     history=path, resume=True, device="cpu")
    assert _lines(path) == _lines(tmp_path / "ref.jsonl")
    assert res.archs == ref.archs and list(res.values) == list(ref.values)
    # resuming a finished run changes nothing
    again = run_search(get_algorithm(name, **params), nb201_bench, budget, seed=1, domain=nb201_domain,
                       history=path, resume=True, device="cpu")
    assert again.archs == ref.archs and _lines(path) == _lines(tmp_path / "ref.jsonl")


def test_resume_rejects_foreign_history(nb201_bench, nb201_domain, tmp_path):
    path = tmp_path / "h.jsonl"
    run_search("random", nb201_bench, 10, seed=0, domain=nb201_domain, history=path)
    with pytest.raises(ValueError, match="more than the budget 5"):
        run_search("random", nb201_bench, 5, seed=0, domain=nb201_domain, history=path, resume=True)
    from search.algorithms import ReplayMismatch

    with pytest.raises(ReplayMismatch, match="query 0"):
        run_search("random", nb201_bench, 20, seed=9, domain=nb201_domain, history=path, resume=True)


SLOW_QUERY_RUN = """
import sys, time
import search.engine as engine
real = engine.run_search
def slow_run_search(algo, bench, *a, **kw):
    query = bench.query
    def slow(arch, metric=None):
        time.sleep(0.02)  # an 'expensive' evaluation, so the kill lands mid-run
        return query(arch, metric)
    bench.query = slow
    return real(algo, bench, *a, **kw)
import search.run as run
run.run_search = slow_run_search
sys.exit(run.main(sys.argv[1:]))
"""


def test_sigkill_then_resume_cli(nb201_csv, nb201_bench, nb201_domain, tmp_path, capsys):
    from search.run import main

    out_dir = tmp_path / "killed"
    args = ["--path", str(nb201_csv), "--algorithm", "evolution", "--budget", "150", "--seeds", "2",
            "--quiet", "--out", str(out_dir)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    hist = out_dir / "evolution" / "seed2" / "history.jsonl"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_QUERY_RUN, *args], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and (not hist.exists() or hist.read_bytes().count(b"\n") < 40):
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    n_before = len(read_history(hist, repair=False))
    assert 40 <= n_before < 150, "the run was not killed in the middle"
    assert main([*args, "--resume"]) == 0, capsys.readouterr().err
    ref = run_search("evolution", nb201_bench, 150, seed=2, domain=nb201_domain)
    strings = nb201_domain.space.to_string
    assert _lines(hist) == [(i, strings(a), v) for i, (a, v) in enumerate(zip(ref.archs, ref.values, strict=True))]


def test_all_algorithms_are_covered():
    assert set(ALGORITHMS) == {"random", "evolution", "local", "assessor"}
