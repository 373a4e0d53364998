"""The asynchronous search on a real local Ray cluster: answers recorded in completion order,
a killed worker retried and recorded once, the cache, and resume checks (SIGKILL of the driver
then ``--resume`` is tested through the command line, in test_cli_train)."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pytest

from search.algorithms import get_algorithm
from search.evaluators import EvaluationCache, TableEvaluator
from search.executors import InProcessExecutor, RayExecutor
from search.history import read_history
from search.scheduler import SUBMITTED_NAME, read_submitted, run_async_search
from tests.search.conftest import algorithm_params
from tests.search.parallel.helpers import DieOnce, OpScore, op_score


def _history(folder):
    return read_history(folder / "history.jsonl", repair=False)


def test_in_process_table_search_is_the_sequential_search(embedded_bench, embedded_domain,
                                                          tmp_path):
    from search.engine import run_search

    for name in ("evolution", "assessor"):
        budget = 12 if name == "assessor" else 40
        params = algorithm_params(name)
        res = run_async_search(get_algorithm(name, **params), embedded_domain,
                               TableEvaluator(embedded_bench), InProcessExecutor(), budget, 2,
                               folder=tmp_path / name)
        seq = run_search(get_algorithm(name, **params), embedded_bench, budget, 2,
                         domain=embedded_domain)
        assert [embedded_domain.key(a) for a in res.archs] == \
            [embedded_domain.key(a) for a in seq.archs]
        assert res.values.tolist() == seq.values.tolist()


def test_ray_search_records_answers_in_completion_order(ray_cluster, embedded_domain,
                                                        tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    with RayExecutor(2) as ex:
        res = run_async_search(get_algorithm("evolution", population_size=4, sample_size=2),
                               embedded_domain, OpScore(0.3, str(log)), ex, 10, 1,
                               folder=tmp_path / "run")
    records = _history(tmp_path / "run")
    assert [r.index for r in records] == list(range(10))
    assert len({embedded_domain.key(a) for a in res.archs}) == 10
    assert all(r.value == op_score(a) for r, a in zip(records, res.archs, strict=True))
    assert np.all(np.diff([r.time for r in records]) >= 0)  # arrival times, in order
    pids = {p.name.split("-")[1] for p in log.iterdir()}
    assert len(pids) == 2 and str(os.getpid()) not in pids  # two workers, not the driver
    assert len(read_submitted(tmp_path / "run" / SUBMITTED_NAME)) == 10


def test_a_killed_worker_is_retried_and_recorded_once(ray_cluster, embedded_domain, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    killed = []

    def kill_the_victim():
        victim = log / "victim"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if victim.exists() and "\n" in victim.read_text():
                pid, ops = victim.read_text().split("\n")
                os.kill(int(pid), signal.SIGKILL)
                killed.append((int(pid), ops))
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill_the_victim)
    thread.start()
    with RayExecutor(2) as ex:
        res = run_async_search(get_algorithm("random"), embedded_domain,
                               DieOnce(0.0, str(log)), ex, 6, 0, folder=tmp_path / "run")
    thread.join()
    assert killed, "the victim never started"
    pid, ops = killed[0]
    records = _history(tmp_path / "run")
    assert len(records) == 6 and not any(r.failed for r in records)
    assert len({r.arch for r in records}) == 6
    victim = [a for a in res.archs if "|".join(a.ops) == ops]
    assert len(victim) == 1  # recorded exactly once, with its value
    attempts = [p for p in log.glob("attempt-*") if p.read_text() == ops]
    assert len(attempts) == 1 and attempts[0].name.split("-")[1] != str(pid)


def test_the_cache_answers_equivalent_cells_without_evaluating(embedded_domain, tmp_path):
    log = tmp_path / "log"
    log.mkdir()
    cache = EvaluationCache(tmp_path / "cache.jsonl")
    first = run_async_search(get_algorithm("random"), embedded_domain, OpScore(0.0, str(log)),
                             InProcessExecutor(), 5, 0, folder=tmp_path / "a", cache=cache)
    n = len(list(log.iterdir()))
    again = run_async_search(get_algorithm("random"), embedded_domain, OpScore(0.0, str(log)),
                             InProcessExecutor(), 5, 0, folder=tmp_path / "b",
                             cache=EvaluationCache(tmp_path / "cache.jsonl"))
    assert n == 5 and len(list(log.iterdir())) == 5  # nothing evaluated the second time
    assert again.values.tolist() == first.values.tolist()


def test_a_folder_with_a_run_needs_resume(embedded_domain, tmp_path):
    run_async_search(get_algorithm("random"), embedded_domain, OpScore(), InProcessExecutor(),
                     2, 0, folder=tmp_path)
    with pytest.raises(ValueError, match="already holds a run; resume it"):
        run_async_search(get_algorithm("random"), embedded_domain, OpScore(),
                         InProcessExecutor(), 2, 0, folder=tmp_path)
    (tmp_path / SUBMITTED_NAME).write_text(json.dumps({"arch": "x"}) + "\nnot json\n")
    with pytest.raises(ValueError, match="line 1 is not a valid submission"):
        run_async_search(get_algorithm("random"), embedded_domain, OpScore(),
                         InProcessExecutor(), 2, 0, folder=tmp_path, resume=True)
