"""The command line: outputs, summary, resume of a finished folder, and argument errors.

Everything runs on the embedded NB201 table, so a fresh clone tests the whole command.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from search.run import UsageError, main, parse_seeds
from tests.search.cli_helpers import ROOT, embedded, env, history, strict_load
from tests.search.conftest import FAST_ASSESSOR


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_end_to_end(tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = ["--algorithm", "random,evolution", "--budget", "25", "--seeds", "0-2",
            "--out", str(out_dir), "--quiet"]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    optimum = embedded().optimum
    assert "Search summary" in out and "evolution" in out and f"{optimum:.4f}" in out
    for algo in ("random", "evolution"):
        for seed in range(3):
            lines = history(out_dir, algo, seed)
            assert len(lines) == 25
            assert set(lines[0]) >= {"index", "arch", "value", "time"}
    summ = strict_load(out_dir / "summary.json")
    assert summ["config"]["budget"] == 25 and summ["config"]["seeds"] == [0, 1, 2]
    assert len(summ["runs"]) == 6 and summ["optimum"] == optimum
    run0 = summ["runs"][0]
    assert set(run0) >= {"seed", "best_arch", "best_value", "queries_to_best",
                         "queries_to_optimum"}
    assert run0["best_arch"].startswith("|") and 1 <= run0["queries_to_best"] <= 25
    assert set(summ["aggregate"]) == {"random", "evolution"}
    assert (out_dir / "best_vs_queries.png").stat().st_size > 1000
    assert not list(out_dir.glob("*.tmp")) and not list(out_dir.glob(".*.tmp"))
    # --resume on the finished folder reproduces the same summary without new queries
    code, _, err = _run(capsys, *argv, "--resume")
    assert code == 0, err
    again = strict_load(out_dir / "summary.json")
    assert [(r["best_arch"], r["best_value"]) for r in again["runs"]] == \
        [(r["best_arch"], r["best_value"]) for r in summ["runs"]]


def test_runs_csv_has_one_row_per_query(tmp_path, capsys):
    out_dir = tmp_path / "o"
    argv = ["--algorithm", "random,local", "--budget", "7", "--seeds", "1,4", "--out",
            str(out_dir), "--quiet"]
    assert _run(capsys, *argv)[0] == 0

    def rows():
        with open(out_dir / "runs.csv", newline="") as fh:
            return list(csv.DictReader(fh))

    first = rows()
    assert list(first[0])[:6] == ["algorithm", "seed", "index", "arch", "value", "time"]
    expected = [(a, str(s), str(r["index"]), r["arch"], r["value"])
                for a in ("random", "local") for s in (1, 4) for r in history(out_dir, a, s)]
    assert [(r["algorithm"], r["seed"], r["index"], r["arch"], float(r["value"]))
            for r in first] == expected
    assert _run(capsys, *argv, "--resume")[0] == 0  # a resumed run writes it again, whole
    assert [r["arch"] for r in rows()] == [r["arch"] for r in first]


def test_embedded_table_is_named_as_analognas_bench(tmp_path, capsys, monkeypatch):
    import search.report

    titles = []
    real_plot = search.report.plot

    def plot(*args, **kw):
        titles.append(kw["title"])
        return real_plot(*args, **kw)

    monkeypatch.setattr(search.report, "plot", plot)
    code, out, _ = _run(capsys, "--algorithm", "random", "--budget", "3", "--out",
                        str(tmp_path / "o"), "--quiet")
    assert code == 0
    summ = strict_load(tmp_path / "o" / "summary.json")
    for text in (out, summ["benchmark"]):
        assert "AnalogNAS-Bench" in text and "not the official" in text and "94.37" in text
    assert f"{embedded().optimum:.2f}" in summ["benchmark"]
    assert len(titles) == 1 and "AnalogNAS-Bench" in titles[0]


def test_config_records_version_commit_and_fingerprint(tmp_path, capsys, monkeypatch):
    import gnnpred

    assert _run(capsys, "--algorithm", "random", "--budget", "3", "--out", str(tmp_path / "a"),
                "--quiet")[0] == 0
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["gnnpred_version"] == gnnpred.__version__
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=False).stdout.strip() or None
    assert config["git_commit"] == commit
    assert config["benchmark_fingerprint"]["of"] == "table"
    assert len(config["benchmark_fingerprint"]["sha256"]) == 64
    monkeypatch.setenv("PATH", str(tmp_path / "no-git-here"))  # never fails without git
    assert _run(capsys, "--algorithm", "random", "--budget", "3", "--out", str(tmp_path / "b"),
                "--quiet")[0] == 0
    assert json.loads((tmp_path / "b" / "config.json").read_text())["git_commit"] is None


def test_refuses_to_overwrite(tmp_path, capsys):
    (tmp_path / "stray.txt").write_text("x")
    code, _, err = _run(capsys, "--algorithm", "random", "--budget", "5", "--out", str(tmp_path),
                        "--quiet")
    assert code == 2 and "--resume" in err


def test_runs_started_in_one_second_without_out_get_their_own_folders(tmp_path, capsys,
                                                                      monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("time.strftime", lambda fmt, *a: "20261204-120000")
    base = ["--algorithm", "random", "--budget", "3", "--quiet"]
    assert _run(capsys, *base)[0] == 0
    assert _run(capsys, *base, "--seeds", "1")[0] == 0
    runs = tmp_path / "runs"
    assert sorted(p.name for p in runs.iterdir()) == ["20261204-120000", "20261204-120000-2"]
    assert json.loads((runs / "20261204-120000-2" / "config.json").read_text())["seeds"] == [1]
    # a refused command leaves no empty folder behind
    code, _, err = _run(capsys, *base, "--budget", "99999")
    assert code == 2 and "exceeds" in err and len(list(runs.iterdir())) == 2
    code, _, err = _run(capsys, *base, "--resume")
    assert code == 2 and "--resume needs --out" in err and len(list(runs.iterdir())) == 2
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    (tmp_path / "elsewhere" / "runs").write_text("a file where the folder would go")
    code, _, err = _run(capsys, *base)
    assert code == 2 and "cannot create an output folder" in err and "Traceback" not in err


@pytest.mark.parametrize("resume", [[], ["--resume"]])
def test_out_that_is_a_file_is_named_as_such(resume, tmp_path, capsys):
    out = tmp_path / "results.txt"
    out.write_text("x")
    code, _, err = _run(capsys, "--algorithm", "random", "--budget", "5", "--out", str(out),
                        "--quiet", *resume)
    assert code == 2 and f"--out {out} is a file, not a folder" in err
    assert out.read_text() == "x"


@pytest.mark.parametrize("name", ["nb201", "NB201", "NAS-Bench-201", "nasbench_201"])
def test_benchmark_aliases(name, tmp_path, capsys):
    code, _, err = _run(capsys, "--benchmark", name, "--algorithm", "random", "--budget", "2",
                        "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "config.json").read_text())["benchmark"] == "nasbench201"


@pytest.mark.parametrize("argv, words", [
    (["--algorithm", "genetic"], "unknown --algorithm"),
    (["--benchmark", "nasbench999"], "unknown --benchmark"),
    (["--budget", "0"], "--budget"),
    (["--budget", "ten"], "--budget"),
    (["--seeds", "3-1"], "--seeds"),
    (["--seeds", "4294967296"], "--seeds"),
    (["--path", "/nonexistent/table.csv"], "does not exist"),
    (["--device", "tpu"], "device"),
    (["--zc-warmup", "-3"], "--zc-warmup"),
    (["--frobnicate"], "unrecognized arguments"),
    (["--params", "{bad"], "--params must be a JSON object"),
    (["--params", '{"assessor": {"beta": NaN}}'], "--params must be a JSON object"),
    (["--params", '{"assessor": {"beta": 1e999}}'], "--params must be a JSON object"),
    (["--params", '{"assessor": 3}'], "--params must map algorithm names"),
    (["--params", '{"evolution": {"population_size": 5}}'], "which --algorithm does not run"),
    (["--params", '{"assessor": {"n_explor": 0}}'], "no hyper-parameter 'n_explor'"),
    (["--params", '{"assessor": {"n_explore": -1}}'], "n_explore"),
    (["--params", '{"assessor": {"assessor_params": {"k": -1}}}'], "'k'"),
    (["--params", '{"assessor": {"assessor_params": {"kk": 1}}}'], "kk"),
    (["--params", '{"assessor": {"init_design": "grid"}}'], "init_design"),
    (["--algorithm", "evolution", "--params",
      '{"evolution": {"population_size": 4, "sample_size": 9}}'], "sample_size"),
    (["--algorithm", "random,random"], "random more than once"),
    (["--seeds", "1-"], "--seeds"),
    (["--algorithm", "random", "--epochs", "3"], "--epochs: only with --evaluator train"),
    (["--algorithm", "random", "--channels", "3", "--topology"],
     "--channels, --topology: only with a one-shot --algorithm"),
    (["--algorithm", "random", "--zc-warmup", "50"], "--zc-warmup: only with an --algorithm"),
    (["--algorithm", "evolution", "--zc-warmup", "99999"], "zc_warmup 99999 exceeds the"),
])
def test_argument_errors_write_nothing(argv, words, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    for out in (tmp_path / "o", empty):
        code, _, err = _run(capsys, *argv, "--out", str(out), "--quiet")
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in err
    assert not (tmp_path / "o").exists() and not list(empty.iterdir())


def test_too_many_seeds_are_refused_at_once(tmp_path):
    # a subprocess with a timeout: a command that accepted the seeds would run for days
    proc = subprocess.run([sys.executable, "-m", "search.run", "--seeds", "0-20000000",
                           "--algorithm", "random", "--budget", "1", "--out", str(tmp_path / "o")],
                          cwd=ROOT, env=env(), capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "at most 10000" in proc.stderr
    assert not (tmp_path / "o").exists()


def test_unreadable_path(tmp_path, capsys):
    bad = tmp_path / "table.csv"
    bad.write_bytes(b"\x00\x01 not a table")
    code, _, err = _run(capsys, "--path", str(bad), "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_resume_with_other_config(tmp_path, capsys):
    base = ["--algorithm", "random", "--out", str(tmp_path / "o"), "--quiet"]
    assert _run(capsys, *base, "--budget", "5")[0] == 0
    code, _, err = _run(capsys, *base, "--budget", "6", "--resume")
    assert code == 2 and "budget" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, *base, "--budget", "5", "--resume", "--seeds", "1")
    assert code == 2 and "seeds" in err
    code, _, err = _run(capsys, "--algorithm", "random", "--quiet", "--out",
                        str(tmp_path / "none"), "--budget", "5", "--resume")
    assert code == 2 and "nothing to resume" in err


def test_params_reach_the_algorithm_and_key_the_folder(tmp_path, capsys):
    base = ["--algorithm", "evolution", "--budget", "12", "--quiet"]

    def archs(folder):
        return [r["arch"] for r in history(folder, "evolution", 0)]

    assert _run(capsys, *base, "--out", str(tmp_path / "plain"))[0] == 0
    small = '{"evolution": {"population_size": 4, "sample_size": 2}}'
    code, _, err = _run(capsys, *base, "--out", str(tmp_path / "small"), "--params", small)
    assert code == 0, err
    plain, tuned = archs(tmp_path / "plain"), archs(tmp_path / "small")
    # the default population (30) is still random after 12 queries; a population of 4 mutates
    # from the 5th query on, after the same 4 random cells
    assert tuned[:4] == plain[:4] and tuned[4:] != plain[4:]
    config = json.loads((tmp_path / "small" / "config.json").read_text())
    assert config["params"] == json.loads(small)
    assert "params" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    code, _, err = _run(capsys, *base, "--out", str(tmp_path / "small"), "--resume")
    assert code == 2 and "params" in err


def test_valid_nested_params_run(tmp_path, capsys):
    params = json.dumps({"assessor": {**FAST_ASSESSOR, "n_init": 4}})
    code, _, err = _run(capsys, "--algorithm", "assessor", "--budget", "5", "--device", "cpu",
                        "--params", params, "--out", str(tmp_path / "o"), "--quiet")
    assert code == 0, err


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,3,5") == [0, 3, 5]
    assert parse_seeds("1,4-5") == [1, 4, 5]
    assert len(parse_seeds("0-9999")) == 10_000
    for bad in ("0-10000", "0-20000000", "0-99999999999999999999", "-1", "1,1", "a", "1-",
                "0,2-"):
        with pytest.raises(UsageError, match="--seeds"):
            parse_seeds(bad)


def test_help_is_fast_and_imports_no_torch():
    from search.algorithms import hyper_parameters

    code = ("import sys\nfrom search.run import main\ncode = main(['--help'])\n"
            "assert 'torch' not in sys.modules, 'torch was imported'\nsys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    size = hyper_parameters("evolution")["population_size"]
    assert "--params" in proc.stdout and f"population_size={size!r}" in proc.stdout
