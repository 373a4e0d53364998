"""``python -m search.run --evaluator train`` on a real local Ray cluster: a 2-worker search on
digits end to end, a failing data module, SIGKILL of the driver then --resume, table runs in
parallel, and one clear line with exit 2 for bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from search.history import read_history
from search.run import main
from search.scheduler import SUBMITTED_NAME, read_submitted
from tests.search.cli_helpers import ROOT, env, history, strict_load

#: A tiny training evaluation: 8x8 digits, a 4-channel NB201 network with one cell per stage.
TINY = ["--evaluator", "train", "--data-args", '{"image_size": 8, "batch_size": 256}',
        "--network-args", '{"channels": 4, "cells_per_stage": 1}', "--epochs", "1", "--quiet"]


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_two_worker_training_search_on_digits(ray_cluster, tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = [*TINY, "--data", "digits", "--algorithm", "random,evolution", "--budget", "5",
            "--workers", "2", "--out", str(out_dir)]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert "validation accuracy" in out and "best test_accuracy" in out
    summ = strict_load(out_dir / "summary.json")
    assert summ["config"]["evaluator"] == "train" and summ["config"]["data"] == "digits"
    assert "workers" not in summ["config"]  # how it ran is not what it computes
    for algo in ("random", "evolution"):
        lines = history(out_dir, algo, 0)
        assert [r["index"] for r in lines] == list(range(5))
        assert len({r["arch"] for r in lines}) == 5
        assert all(0 <= r["value"] <= 100 and 0 <= r["extra"]["test_accuracy"] <= 100
                   for r in lines)
        assert [r["time"] for r in lines] == sorted(r["time"] for r in lines)
    runs = {r["algorithm"]: r for r in summ["runs"]}
    best = max(history(out_dir, "random", 0), key=lambda r: r["value"])
    assert runs["random"]["best_value"] == best["value"]
    assert runs["random"]["best_test_accuracy"] == best["extra"]["test_accuracy"]
    # resuming the finished folder trains nothing and reports the same
    code, _, err = _run(capsys, *argv, "--resume")
    assert code == 0, err
    assert strict_load(out_dir / "summary.json")["runs"] == summ["runs"]


def test_a_data_module_that_raises_gives_failed_evaluations(ray_cluster, tmp_path, capsys):
    # the command builds the data module once before the run (it works here); the Ray workers
    # cannot, so every evaluation fails and is recorded as such
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, "--evaluator", "train", "--data",
                          "tests.search.parallel.helpers:DataHereOnly", "--data-args",
                          json.dumps({"driver_pid": os.getpid(), "image_size": 8}),
                          "--algorithm", "random", "--budget", "3", "--workers", "2",
                          "--out", str(out_dir), "--quiet")
    assert code == 0, err
    lines = history(out_dir, "random", 0)
    assert len(lines) == 3 and all(r["failed"] and r["value"] is None for r in lines)
    assert all(r["error"].startswith("OSError: cannot open /data/mine.npz") for r in lines)
    run = strict_load(out_dir / "summary.json")["runs"][0]
    assert run["best_value"] is None and run["n_failed"] == 3


def test_sigkilled_driver_then_resume_gives_a_complete_history(ray_cluster, tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = [*TINY, "--data", "tests.search.parallel.helpers:SlowDigits", "--data-args",
            '{"delay": 0.5, "image_size": 8, "batch_size": 256}', "--algorithm", "random",
            "--budget", "8", "--workers", "2", "--out", str(out_dir)]
    run = out_dir / "random" / "seed0"
    proc = subprocess.Popen([sys.executable, "-m", "search.run", *argv], cwd=ROOT, env=env(),
                            start_new_session=True, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    try:
        while len(read_history(run / "history.jsonl", repair=False)) < 2 \
                or len(read_submitted(run / SUBMITTED_NAME, repair=False)) < 4:
            assert proc.poll() is None, proc.communicate()[1][-2000:]
            assert time.monotonic() < deadline, "the run made no progress"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and the Ray cluster it started
        proc.wait()
    before = read_history(run / "history.jsonl", repair=False)
    submitted = read_submitted(run / SUBMITTED_NAME)
    in_flight = {a for a, _ in submitted} - {r.arch for r in before}
    assert in_flight and len(before) < 8
    code, _, err = _run(capsys, *argv, "--resume")
    assert code == 0, err
    records = read_history(run / "history.jsonl", repair=False)
    assert [r.index for r in records] == list(range(8)) and records[: len(before)] == before
    assert len({r.arch for r in records}) == 8 and in_flight <= {r.arch for r in records}
    assert [a for a, _ in read_submitted(run / SUBMITTED_NAME)][: len(submitted)] \
        == [a for a, _ in submitted]
    # the same cells as an uninterrupted run (random search does not look at values)
    fresh = tmp_path / "fresh"
    code, _, err = _run(capsys, *TINY, "--algorithm", "random", "--budget", "8",
                        "--out", str(fresh))
    assert code == 0, err
    assert {r["arch"] for r in history(fresh, "random", 0)} == {r.arch for r in records}


def test_table_runs_in_parallel_are_the_sequential_runs(ray_cluster, tmp_path, capsys):
    argv = ["--algorithm", "random,evolution", "--budget", "20", "--seeds", "0-1", "--quiet"]
    code, _, err = _run(capsys, *argv, "--workers", "2", "--out", str(tmp_path / "par"))
    assert code == 0, err
    code, _, err = _run(capsys, *argv, "--out", str(tmp_path / "seq"))
    assert code == 0, err
    for algo in ("random", "evolution"):
        for seed in (0, 1):
            par, seq = history(tmp_path / "par", algo, seed), history(tmp_path / "seq", algo, seed)
            assert [(r["arch"], r["value"]) for r in par] == [(r["arch"], r["value"]) for r in seq]
    runs = [strict_load(tmp_path / d / "summary.json")["runs"] for d in ("par", "seq")]
    assert [(r["best_arch"], r["best_value"]) for r in runs[0]] == \
        [(r["best_arch"], r["best_value"]) for r in runs[1]]


def test_parallel_table_runs_show_progress_while_they_run(ray_cluster, tmp_path):
    # the bar used to move only when a whole run had finished
    from search.cli_train import run_tables
    from search.domain import Domain
    from search.executors import RayExecutor
    from tests.search.cli_helpers import embedded
    from tests.search.parallel.helpers import SlowQueries

    bench = SlowQueries.of(embedded())  # 40 queries of 0.1 s: about 4 s a run
    config = {"metric": None, "report_metrics": [], "stop_at_optimum": False, "device": "cpu",
              "budget": 40, "zc_warmup": 0}
    runs = [("random", 0), ("random", 1)]
    histories = [tmp_path / a / f"seed{s}" / "history.jsonl" for a, s in runs]
    calls = []
    with RayExecutor(2) as ex:
        results = run_tables(config, bench, Domain(bench), runs, histories, False, ex,
                             calls.append)
    assert [r.n_queries for r in results] == [40, 40] and sum(calls) == 80
    assert len(calls) > 2, calls  # updates while the runs record, not one per finished run


@pytest.mark.parametrize("extra, message", [
    (["--data", "mnist"], "unknown --data 'mnist'; choose digits, cifar10, planetoid or give"),
    (["--data", "no_such_pkg.data:Mine"], "--data 'no_such_pkg.data:Mine': cannot import "
                                          "no_such_pkg.data (ModuleNotFoundError"),
    (["--data", "gnnpred.training:Nope"], "gnnpred.training has no data module 'Nope'"),
    (["--data-args", '{"batch": 3}'], "--data-args: digits does not take {'batch': 3}"),
    (["--data-args", "[1]"], "--data-args must be a JSON object"),
    (["--workers", "0"], "--workers must be a positive int. Got '0'."),
    (["--epochs", "0"], "--epochs must be a positive int. Got '0'."),
    (["--gpus-per-eval", "-1"], "--gpus-per-eval must be a number >= 0. Got '-1'."),
    pytest.param(["--gpus-per-eval", "1"], "--gpus-per-eval 1: this machine has no CUDA GPU",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="has CUDA")),
    (["--evaluator", "lookup"], "unknown --evaluator 'lookup'; choose table or train."),
    (["--network-args", '{"channels": 0}'], "--network-args: "),
    (["--ray-address", "127.0.0.1:9"], "cannot reach the Ray cluster at 127.0.0.1:9"),
    # caught before the run, not as a failure of every evaluation
    (["--data", "cifar10", "--data-args", '{"root": "/nonexistent"}'],
     "--data cifar10: cannot build it (FileNotFoundError: /nonexistent is not a CIFAR-10"),
    (["--data-args", '{"batch_size": 0}'], "--data digits: cannot build it"),
    (["--network-args", '{"num_classes": 3, "channels": 4}'],
     "--data digits has labels up to 9 but the nasbench201 network"),
])
def test_bad_training_input_is_one_line_and_exit_2(tmp_path, capsys, extra, message):
    out_dir = tmp_path / "out"
    start = time.monotonic()
    code, out, err = _run(capsys, "--evaluator", "train", "--budget", "2", "--out",
                          str(out_dir), *extra)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err, err
    assert time.monotonic() - start < 30
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_planetoid_data_sizes_the_graph_network_itself(tmp_path, capsys):
    # the network's in_channels and num_classes come from the data module, as in evaluations
    from tests.gnnpred.training.test_planetoid import write_planetoid

    write_planetoid(tmp_path / "planet", "cora")
    code, _, err = _run(capsys, "--evaluator", "train", "--benchmark", "nasbench-graph",
                        "--data", "planetoid", "--data-args",
                        json.dumps({"root": str(tmp_path / "planet"), "name": "cora"}),
                        "--algorithm", "random", "--budget", "2", "--epochs", "1", "--quiet",
                        "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert [r.get("failed", False) for r in history(tmp_path / "o", "random", 0)] == [False] * 2
    # the NB201 image network does not take a graph: refused before anything is written
    code, _, err = _run(capsys, "--evaluator", "train", "--data", "planetoid", "--data-args",
                        json.dumps({"root": str(tmp_path / "planet"), "name": "cora"}),
                        "--budget", "2", "--out", str(tmp_path / "nb201"))
    assert code == 2 and "--data planetoid does not fit the nasbench201 network" in err, err
    assert not (tmp_path / "nb201").exists()


def test_training_options_need_the_training_evaluator(tmp_path, capsys):
    code, _, err = _run(capsys, "--data", "digits", "--out", str(tmp_path / "o"))
    assert code == 2 and "--data: only with --evaluator train" in err
    code, _, err = _run(capsys, "--ray-address", "127.0.0.1:9", "--out", str(tmp_path / "o"))
    assert code == 2 and "--ray-address needs --evaluator train" in err
    assert not (tmp_path / "o").exists()


def test_a_space_without_networks_cannot_be_trained(tmp_path, capsys, monkeypatch):
    from gnnpred.spaces.base import SearchSpace
    from gnnpred.spaces.nasbench201 import NASBench201Space

    monkeypatch.setattr(NASBench201Space, "to_network", SearchSpace.to_network)
    code, _, err = _run(capsys, "--evaluator", "train", "--budget", "2", "--out",
                        str(tmp_path / "o"))
    assert code == 2 and "the nasbench201 space has no networks to train" in err
    assert json.dumps(err).count("\\n") == 1


def test_a_gpu_device_without_gpus_per_eval_on_ray_is_warned_about(caplog):
    from gnnpred import get_space
    from search.cli_train import make_evaluator

    config = {"device": "cuda", "data": "digits", "data_args": {}, "epochs": 1,
              "network_args": {}}
    on_ray = {"workers": 2, "ray_address": None, "gpus_per_eval": 0.0}
    with caplog.at_level("WARNING", logger="search.cli_train"):
        evaluator = make_evaluator(config, get_space("nasbench201"), on_ray)
    assert evaluator.device == "cpu" and "get no GPU without --gpus-per-eval" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="search.cli_train"):
        make_evaluator(config, get_space("nasbench201"), {**on_ray, "gpus_per_eval": 1.0})
        make_evaluator({**config, "device": "cpu"}, get_space("nasbench201"), on_ray)
    assert caplog.text == ""
