"""benchmarks/search.py: --json keeps every finished run, --resume runs only the missing ones."""

import json
from pathlib import Path

import numpy as np
import pytest

from tests.benchmarks.conftest import load_script


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
            "best_after": [90.0] * 3,
            "report_after": None,
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


def test_ratio_interval_brackets_the_ratio(bench_script):
    rng = np.random.default_rng(3)
    rows = [
        {"algorithm": "assessor", "seed": s, "queries_to_optimum": int(q)}
        for s, q in enumerate(rng.integers(15, 45, size=20))
    ]
    rows += [
        {"algorithm": "evolution", "seed": s, "queries_to_optimum": int(q)}
        for s, q in enumerate(rng.integers(60, 140, size=20))
    ]
    med = lambda a: np.median([r["queries_to_optimum"] for r in rows if r["algorithm"] == a])  # noqa: E731
    ratio = med("assessor") / med("evolution")
    lo, hi = bench_script.ratio_interval(rows)
    assert lo < ratio < hi
    assert 0.1 < lo and hi < 0.75  # the medians can only move within the data's ranges


def test_ratio_interval_of_constant_runs_is_a_point_and_missed_optimum_is_inf(bench_script):
    rows = [{"algorithm": "assessor", "seed": s, "queries_to_optimum": 10} for s in range(5)]
    rows += [{"algorithm": "evolution", "seed": s, "queries_to_optimum": 40} for s in range(5)]
    assert bench_script.ratio_interval(rows) == (0.25, 0.25)
    for r in rows[:5]:
        r["queries_to_optimum"] = None
    assert bench_script.ratio_interval(rows) == (np.inf, np.inf)
