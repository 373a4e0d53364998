"""benchmarks/search.py: --json keeps every finished run, --resume runs only the missing ones."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "search.py"


@pytest.fixture()
def bench_script(nb201_csv):
    spec = importlib.util.spec_from_file_location("bench_search_script", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _args(out: Path, *extra: str) -> list[str]:
    return ["--benchmarks", "nb201", "--algorithms", "random,local", "--seeds", "3", "--budget", "40",
            "--jobs", "1", "--json", str(out), *extra]


def test_resume_runs_only_the_missing_runs(bench_script, tmp_path, monkeypatch, capsys):
    out = tmp_path / "runs.json"
    assert bench_script.main(_args(out)) == 0
    full = json.loads(out.read_text())
    assert sorted((r["algorithm"], r["seed"]) for r in full) == [(a, s) for a in ("local", "random") for s in range(3)]
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
