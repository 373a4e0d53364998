"""The command line: outputs, summary, resume of a finished folder, and argument errors."""

from __future__ import annotations

import json

import pytest

from search.run import main, parse_seeds


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_end_to_end(nb201_csv, tmp_path, capsys):
    out_dir = tmp_path / "out"
    argv = ["--path", str(nb201_csv), "--algorithm", "random,evolution", "--budget", "25",
            "--seeds", "0-2", "--out", str(out_dir), "--quiet"]
    code, out, err = _run(capsys, *argv)
    assert code == 0, err
    assert "Search summary" in out and "evolution" in out and "94.3733" in out
    for algo in ("random", "evolution"):
        for seed in range(3):
            lines = (out_dir / algo / f"seed{seed}" / "history.jsonl").read_text().splitlines()
            assert len(lines) == 25
            assert set(json.loads(lines[0])) >= {"index", "arch", "value", "time"}
    summ = json.loads((out_dir / "summary.json").read_text())
    assert summ["config"]["budget"] == 25 and summ["config"]["seeds"] == [0, 1, 2]
    assert len(summ["runs"]) == 6
    run0 = summ["runs"][0]
    assert set(run0) >= {"seed", "best_arch", "best_value", "queries_to_best", "queries_to_optimum"}
    assert run0["best_arch"].startswith("|") and 1 <= run0["queries_to_best"] <= 25
    assert set(summ["aggregate"]) == {"random", "evolution"}
    assert (out_dir / "best_vs_queries.png").stat().st_size > 1000
    # --resume on the finished folder reproduces the same summary without new queries
    code, _, err = _run(capsys, *argv, "--resume")
    assert code == 0, err
    again = json.loads((out_dir / "summary.json").read_text())
    assert [(r["best_arch"], r["best_value"]) for r in again["runs"]] == \
        [(r["best_arch"], r["best_value"]) for r in summ["runs"]]


def test_refuses_to_overwrite(nb201_csv, tmp_path, capsys):
    argv = ["--path", str(nb201_csv), "--algorithm", "random", "--budget", "5", "--out", str(tmp_path), "--quiet"]
    (tmp_path / "stray.txt").write_text("x")
    code, _, err = _run(capsys, *argv)
    assert code == 2 and "--resume" in err


@pytest.mark.parametrize("argv, words", [
    (["--algorithm", "genetic"], "unknown --algorithm"),
    (["--benchmark", "nasbench999"], "unknown --benchmark"),
    (["--budget", "0"], "--budget"),
    (["--budget", "ten"], "--budget"),
    (["--seeds", "3-1"], "--seeds"),
    (["--path", "/nonexistent/table.csv"], "does not exist"),
    (["--device", "tpu"], "device"),
    (["--zc-warmup", "-3"], "--zc-warmup"),
    (["--frobnicate"], "unrecognized arguments"),
    (["--params", "{bad"], "--params must be a JSON object"),
    (["--params", '{"assessor": 3}'], "--params must map algorithm names"),
    (["--params", '{"evolution": {"population_size": 5}}'], "which --algorithm does not run"),
    (["--params", '{"assessor": {"n_explor": 0}}'], "no hyper-parameter 'n_explor'"),
])
def test_argument_errors(argv, words, tmp_path, capsys):
    code, out, err = _run(capsys, *argv, "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_unreadable_path(tmp_path, capsys):
    bad = tmp_path / "table.csv"
    bad.write_bytes(b"\x00\x01 not a table")
    code, _, err = _run(capsys, "--path", str(bad), "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_resume_with_other_config(nb201_csv, tmp_path, capsys):
    base = ["--path", str(nb201_csv), "--algorithm", "random", "--out", str(tmp_path / "o"), "--quiet"]
    assert _run(capsys, *base, "--budget", "5")[0] == 0
    code, _, err = _run(capsys, *base, "--budget", "6", "--resume")
    assert code == 2 and "budget" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run(capsys, *base, "--budget", "5", "--resume", "--seeds", "1")
    assert code == 2 and "seeds" in err
    code, _, err = _run(capsys, *base[:-3], "--out", str(tmp_path / "none"), "--budget", "5", "--resume")
    assert code == 2 and "nothing to resume" in err


def test_params_reach_the_algorithm_and_key_the_folder(nb201_csv, tmp_path, capsys):
    base = ["--path", str(nb201_csv), "--algorithm", "evolution", "--budget", "12", "--quiet"]

    def archs(folder):
        lines = (folder / "evolution" / "seed0" / "history.jsonl").read_text().splitlines()
        return [json.loads(line)["arch"] for line in lines]

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


@pytest.mark.parametrize("params, words", [
    ('{"assessor": {"n_explore": -1}}', "'n_explore' parameter"),
    ('{"evolution": {"population_size": 4, "sample_size": 9}}', "sample_size"),
    ('{"assessor": {"init_design": "grid"}}', "init_design"),
])
def test_bad_param_values_stop_before_the_folder_is_written(params, words, nb201_csv, tmp_path, capsys):
    algo = next(iter(json.loads(params)))
    code, _, err = _run(capsys, "--path", str(nb201_csv), "--algorithm", algo, "--budget", "5",
                        "--params", params, "--out", str(tmp_path / "o"), "--quiet")
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_parse_seeds():
    assert parse_seeds("0-3") == [0, 1, 2, 3]
    assert parse_seeds("0,3,5") == [0, 3, 5]
    assert parse_seeds("1,4-5") == [1, 4, 5]
