"""benchmarks/search.py: --json keeps every finished run, --resume runs only the missing ones."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.benchmarks.conftest import load_script

stats = load_script("_search_stats")


@pytest.fixture()
def bench_script(nb201_csv):
    return load_script("search")


def _args(out: Path, *extra: str) -> list[str]:
    return [
        "--benchmarks",
        "nb201",
        "--algorithms",
        "random,local",
        "--seeds",
        "3",
        "--budget",
        "40",
        "--jobs",
        "1",
        "--json",
        str(out),
        *extra,
    ]


def test_resume_runs_only_the_missing_runs(bench_script, tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs.json"
    assert bench_script.main(_args(out)) == 0
    full = json.loads(out.read_text())
    assert sorted((r["algorithm"], r["seed"]) for r in full) == [
        (a, s) for a in ("local", "random") for s in range(3)
    ]
    assert all(r["budget"] == 40 and r["n_queries"] <= 40 for r in full)

    # as if killed after three runs: resuming runs exactly the other three
    out.write_text(json.dumps(full[:3]))
    ran = []
    real = bench_script.one_run

    def counting(task):
        ran.append(task[:4])
        return real(task)

    monkeypatch.setattr(bench_script, "one_run", counting)
    capsys.readouterr()
    assert bench_script.main(_args(out, "--resume")) == 0
    assert sorted(ran) == sorted(("nb201", r["algorithm"], r["seed"], 40) for r in full[3:])
    resumed = json.loads(out.read_text())
    key = lambda r: (r["algorithm"], r["seed"])  # noqa: E731
    strip = lambda r: {k: v for k, v in r.items() if k != "time"}  # noqa: E731
    assert [strip(r) for r in sorted(resumed, key=key)] == [strip(r) for r in sorted(full, key=key)]
    assert "resuming: 3 runs" in capsys.readouterr().err


def test_resume_needs_a_json_file(bench_script, capsys):
    assert bench_script.main(["--benchmarks", "nb201", "--resume"]) == 2
    assert "--resume needs --json" in capsys.readouterr().err


def test_first_seed_shifts_the_seeds(bench_script, tmp_path):
    out = tmp_path / "runs.json"
    args = [
        "--benchmarks",
        "nb201",
        "--algorithms",
        "random",
        "--seeds",
        "2",
        "--first-seed",
        "100",
        "--budget",
        "10",
        "--jobs",
        "1",
        "--json",
        str(out),
    ]
    assert bench_script.main(args) == 0
    assert sorted(r["seed"] for r in json.loads(out.read_text())) == [100, 101]


def test_assessor_params_reach_every_assessor_task_and_key_the_store(
    bench_script, tmp_path, monkeypatch
):
    seen = []

    def fake_run(task):  # records the plumbing; the search itself is tested in tests/search
        key, algo, seed, budget, _threads, params = task
        seen.append((algo, seed, params))
        return {
            "key": key,
            "algorithm": algo,
            "seed": seed,
            "budget": budget,
            "params": params,
            "n_queries": 5,
            "queries_to_optimum": None,
            "optimum": 94.3733,
            "improvements": [[1, 90.0]],
            "report_improvements": None,
            "time": 0.0,
        }

    monkeypatch.setattr(bench_script, "one_run", fake_run)
    out = tmp_path / "runs.json"
    base = [
        "--benchmarks",
        "nb201",
        "--algorithms",
        "random,assessor",
        "--seeds",
        "2",
        "--jobs",
        "1",
        "--json",
        str(out),
    ]
    assert bench_script.main([*base, "--assessor-params", '{"n_init": 4}']) == 0
    assert sorted(seen) == [
        ("assessor", 0, '{"n_init": 4}'),
        ("assessor", 1, '{"n_init": 4}'),
        ("random", 0, "{}"),
        ("random", 1, "{}"),
    ]
    # resuming with other assessor parameters reruns the assessor only
    seen.clear()
    assert bench_script.main([*base, "--resume", "--assessor-params", '{"n_init": 5}']) == 0
    assert sorted(seen) == [("assessor", 0, '{"n_init": 5}'), ("assessor", 1, '{"n_init": 5}')]


@pytest.mark.parametrize("bad", ["{n_init: 4}", "[1, 2]"])
def test_bad_assessor_params_exit_2(bench_script, capsys, bad):
    assert bench_script.main(["--benchmarks", "nb201", "--assessor-params", bad]) == 2
    assert "--assessor-params must be a JSON object" in capsys.readouterr().err


def test_unknown_assessor_param_exits_2_before_any_run(bench_script, capsys, monkeypatch):
    monkeypatch.setattr(bench_script, "_run_tasks", lambda *a, **k: pytest.fail("a run started"))
    assert bench_script.main(["--benchmarks", "nb201", "--assessor-params", '{"n_explor": 2}']) == 2
    err = capsys.readouterr().err
    assert "unexpected keyword argument 'n_explor'" in err and "takes: n_init" in err
    assert "n_explore" in err


def test_bad_assessor_param_value_exits_2_before_any_run(bench_script, capsys, monkeypatch):
    monkeypatch.setattr(bench_script, "_run_tasks", lambda *a, **k: pytest.fail("a run started"))
    assert bench_script.main(["--benchmarks", "nb201", "--assessor-params", '{"n_init": 0}']) == 2
    assert "'n_init' parameter of AssessorGuidedSearch must be an int >= 1. Got 0" in (
        capsys.readouterr().err
    )


def test_paired_bootstrap_brackets_the_ratio():
    rng = np.random.default_rng(3)
    a = {s: float(q) for s, q in enumerate(rng.integers(15, 45, size=20))}
    e = {s: float(q) for s, q in enumerate(rng.integers(60, 140, size=20))}
    ratio = np.median(list(a.values())) / np.median(list(e.values()))
    lo, hi = stats.paired_bootstrap(a, e)
    assert lo < ratio < hi
    assert 0.1 < lo and hi < 0.75  # the medians can only move within the data's ranges


def test_paired_bootstrap_of_constant_runs_is_a_point_and_a_miss_is_inf():
    a = {s: 10.0 for s in range(5)}
    e = {s: 40.0 for s in range(5)}
    assert stats.paired_bootstrap(a, e) == (0.25, 0.25)
    assert stats.paired_bootstrap({s: np.inf for s in range(5)}, e) == (np.inf, np.inf)


def _run(algo, seed, improvements):
    return {"algorithm": algo, "seed": seed, "improvements": improvements}


def test_headline_targets_evolutions_median_best_at_the_last_checkpoint():
    # evolution's best at 100 queries: 0.5, 0.7, 0.9 over three seeds -> target 0.7
    rows = [
        _run("evolution", 0, [[1, 0.1], [30, 0.5], [150, 0.95]]),
        _run("evolution", 1, [[1, 0.2], [80, 0.7]]),
        _run("evolution", 2, [[5, 0.3], [60, 0.9]]),
        _run("assessor", 0, [[1, 0.1], [10, 0.8]]),
        _run("assessor", 1, [[1, 0.1], [20, 0.6], [40, 0.75]]),
        _run("assessor", 2, [[1, 0.1]]),  # never reaches the target
    ]
    hl = stats.headline(rows, 100)
    assert hl["target"] == 0.7
    # queries to 0.7: evolution 150, 80, 60 -> median 80; assessor 10, 40, inf -> median 40
    assert hl["evolution"] == 80 and hl["queries"] == 40 and hl["ratio"] == 0.5
    assert stats.headline([r for r in rows if r["algorithm"] == "assessor"], 100) is None


def test_best_at_and_queries_to_read_the_improvements():
    run = _run("random", 0, [[2, 0.4], [7, 0.6], [30, 0.8]])
    assert np.isnan(stats.best_at(run, 1))
    assert stats.best_at(run, 7) == 0.6 and stats.best_at(run, 500) == 0.8
    assert stats.queries_to(run, 0.6) == 7 and stats.queries_to(run, 0.81) == np.inf


def test_benchmarks_without_shared_data_run_and_print_their_tables(tmp_path, capsys):
    """Two tiny seeds on the embedded table and cora (no ../shared needed)."""
    bench_script = load_script("search")
    out = tmp_path / "runs.json"
    args = ["--benchmarks", "nb201-embedded,graph", "--algorithms", "random,evolution",
            "--seeds", "2", "--budget", "30", "--jobs", "1", "--json", str(out)]
    assert bench_script.main(args) == 0
    rows = json.loads(out.read_text())
    assert {r["key"] for r in rows} == {"nb201-embedded", "cora"}
    for r in rows:
        qs = [q for q, _ in r["improvements"]]
        assert qs == sorted(qs) and qs[-1] <= r["n_queries"] <= 30
        vals = [v for _, v in r["improvements"]]
        assert vals == sorted(vals)
        if r["key"] == "cora":
            assert len(r["report_improvements"]) == len(r["improvements"])
    text = capsys.readouterr().out
    assert "NAS-Bench-Graph cora" in text and "perf of best @200" in text
    assert "NAS-Bench-201 CIFAR-10 (embedded" in text


def _smoke(keys: str, tmp_path: Path) -> list[dict]:
    """One seed of evolution and the assessor search, budget 9 (one assessor round)."""
    out = tmp_path / "smoke.json"
    args = ["--benchmarks", keys, "--algorithms", "evolution,assessor", "--seeds", "1",
            "--budget", "9", "--assessor-budget", "9", "--jobs", "1", "--json", str(out)]
    assert load_script("search").main(args) == 0
    rows = json.loads(out.read_text())
    assert sorted((r["key"], r["algorithm"]) for r in rows) == sorted(
        (k, a) for k in keys.split(",") for a in ("evolution", "assessor"))
    for r in rows:
        assert r["n_queries"] == 9
        qs, vals = zip(*r["improvements"], strict=True)
        assert list(qs) == sorted(qs) and list(vals) == sorted(vals)
        assert vals[-1] <= r["optimum"]
    return rows


def test_a_small_assessor_search_runs_on_every_embedded_benchmark(tmp_path, capsys):
    rows = _smoke("citeseer,pubmed,arxiv", tmp_path)
    assert all(len(r["report_improvements"]) == len(r["improvements"]) for r in rows)
    text = capsys.readouterr().out
    for ds in ("citeseer", "pubmed", "arxiv"):
        assert f"NAS-Bench-Graph {ds}" in text


def test_a_small_assessor_search_runs_on_the_nb101_sample(nb101_sample20k, tmp_path, capsys):
    _smoke("nb101", tmp_path)
    assert "NAS-Bench-101 20k sample" in capsys.readouterr().out


def test_unknown_benchmark_exits_2(capsys):
    assert load_script("search").main(["--benchmarks", "nb999"]) == 2
    assert "unknown nb999" in capsys.readouterr().err


def test_headline_of_a_search_whose_median_misses_the_target_is_an_infinite_ratio():
    rows = [
        _run("evolution", 0, [[1, 0.1], [30, 0.7]]),
        _run("evolution", 1, [[1, 0.2], [50, 0.7]]),
        _run("assessor", 0, [[1, 0.1]]),
        _run("assessor", 1, [[1, 0.1], [20, 0.7]]),
        _run("assessor", 2, [[1, 0.1]]),
    ]
    hl = stats.headline(rows, 100)
    assert hl["evolution"] == 40 and hl["queries"] == np.inf and hl["ratio"] == np.inf


_ORPHAN_CHILD = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
sys.path.insert(0, sys.argv[2])
from tests.benchmarks.conftest import load_script
mod = load_script("search")

def work(path):
    with open(path + ".tmp", "w") as f:
        f.write(str(os.getpid()))
    os.replace(path + ".tmp", path)
    time.sleep(120)

if __name__ == "__main__":
    pool = ProcessPoolExecutor(1, mp_context=get_context("fork"),
                               initializer=mod._exit_with_parent, initargs=(os.getpid(),))
    pool.submit(work, sys.argv[1])
    time.sleep(120)
"""


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent entry is left


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux-only")
def test_pool_workers_die_with_the_benchmark_process(tmp_path):
    root = Path(__file__).resolve().parents[2]
    pid_file = tmp_path / "worker.pid"
    child = subprocess.Popen([sys.executable, "-c", _ORPHAN_CHILD, str(pid_file), str(root)])
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists():
            assert child.poll() is None, "the child script exited before its worker started"
            assert time.monotonic() < deadline, "the pool worker never started"
            time.sleep(0.1)
        worker = int(pid_file.read_text())
        assert _alive(worker)
        child.kill()
        child.wait(10)
        deadline = time.monotonic() + 10
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the pool worker outlived the killed benchmark process"
    finally:
        child.kill()
        child.wait(10)
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)


def test_an_earlier_json_file_is_kept_unless_resumed(bench_script, tmp_path, capsys):
    out = tmp_path / "runs.json"
    out.write_text(json.dumps([{"benchmark": "nb201", "algorithm": "random", "seed": 0}]))
    before = out.read_text()
    assert bench_script.main(["--benchmarks", "nb201", "--json", str(out)]) == 2
    assert "pass --resume" in capsys.readouterr().err and out.read_text() == before


@pytest.mark.parametrize("argv, message", [
    (["--algorithms", "foo"], "--algorithms: unknown foo"),
    (["--algorithms", ","], "--algorithms: unknown"),
    (["--budget", "0"], "--budget and --assessor-budget must be >= 1"),
])
def test_bad_arguments_exit_2_before_any_run(bench_script, capsys, monkeypatch, argv, message):
    monkeypatch.setattr(bench_script, "one_run", lambda *a, **k: pytest.fail("a run started"))
    assert bench_script.main(["--benchmarks", "nb201", *argv]) == 2
    assert message in capsys.readouterr().err
