"""Executors on a real local Ray cluster: tasks run in other processes and come back in
completion order; a dead worker is retried; an unreachable cluster fails fast and says so."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from search.executors import ClusterUnreachable, InProcessExecutor, RayExecutor
from tests.search.cli_helpers import ROOT, env


def _pid_after(delay: float) -> tuple[int, float]:
    time.sleep(delay)
    return os.getpid(), delay


def _boom() -> None:
    raise ZeroDivisionError("user code failed")


def test_in_process_executor_runs_each_task_when_awaited():
    calls = []
    with InProcessExecutor() as ex:
        a = ex.submit(calls.append, "a")
        b = ex.submit(calls.append, "b")
        assert calls == [] and ex.n_running == 2
        assert [o.task for o in ex.wait()] == [a] and calls == ["a"]
        assert [o.task for o in ex.wait()] == [b] and ex.wait() == []


def test_ray_tasks_run_in_workers_and_arrive_in_completion_order(ray_cluster):
    ex = RayExecutor(2)  # joins the session's cluster, which it does not own
    slow = ex.submit(_pid_after, 3.0)
    fast = ex.submit(_pid_after, 0.0)
    order, pids = [], set()
    while ex.n_running:
        for out in ex.wait(timeout=60):
            assert out.error is None
            order.append(out.task)
            pids.add(out.result[0])
    assert order == [fast, slow] and os.getpid() not in pids
    assert ex.node_addresses() == ["127.0.0.1"]
    ex.shutdown()
    assert ray_cluster.is_initialized()  # not the executor's cluster to stop


def test_a_failing_task_is_an_outcome_with_its_error(ray_cluster):
    ex = RayExecutor(2)
    ex.submit(_boom)
    (out,) = ex.wait(timeout=60)
    assert out.result is None and "ZeroDivisionError" in out.error
    assert "user code failed" in out.error


def test_an_unreachable_cluster_fails_fast_with_a_clear_message():
    start = time.monotonic()
    with pytest.raises(ClusterUnreachable, match="cannot reach the Ray cluster at 127.0.0.1:9 "):
        RayExecutor(2, address="127.0.0.1:9")  # nothing listens on the discard port
    assert time.monotonic() - start < 5


def test_a_silent_cluster_address_fails_within_the_timeout():
    # a fresh process (this one runs the session's cluster); TEST-NET-2 (RFC 5737) holds no
    # Ray cluster: the connection times out, or whatever answers is not Ray
    code = ("import time; from search.executors import RayExecutor, ClusterUnreachable\n"
            "t = time.monotonic()\n"
            "try:\n    RayExecutor(2, address='198.51.100.7:6379', connect_timeout=5)\n"
            "except ClusterUnreachable as exc:\n    print(round(time.monotonic() - t), exc)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), timeout=120,
                         capture_output=True, text=True)
    seconds, _, message = out.stdout.strip().partition(" ")
    assert "Ray cluster at 198.51.100.7:6379" in message, out.stderr[-2000:]
    assert int(seconds) <= 7


@pytest.mark.parametrize("address", ["nonsense", "host:port"])
def test_a_malformed_address_is_refused(address):
    with pytest.raises(ClusterUnreachable, match=f"must be host:port .* Got '{address}'"):
        RayExecutor(2, address=address)


@pytest.mark.parametrize("kwargs", [{"workers": 0}, {"workers": 1.5}, {"gpus_per_task": -1}])
def test_bad_counts_are_refused(kwargs):
    with pytest.raises(ValueError, match="Got"):
        RayExecutor(**kwargs)
