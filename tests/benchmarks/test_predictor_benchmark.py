"""benchmarks/predictor.py: --quick end to end on the embedded NB201 table, and --resume keeps a
killed sweep's results and runs only the missing ones."""

import csv
import json

import numpy as np
import pytest

from tests.benchmarks.conftest import load_script


@pytest.fixture()
def script():
    return load_script("predictor")


def test_quick_runs_end_to_end(script, tmp_path, capsys):
    out = tmp_path / "sweep"
    methods = ["assessor-sup", "labelprop", "xgb-onehot", "rf-graf"]
    argv = ["--quick", "--spaces", "nb201-embedded", "--methods", *methods, "--sizes", "10",
            "--seeds", "1", "--out", str(out)]
    assert script.main(argv) == 0
    runs = [json.loads(line) for line in (out / "runs.jsonl").read_text().splitlines()]
    assert [r["method"] for r in runs] == methods
    for r in runs:
        assert (r["space"], r["size"], r["seed"], r["n_test"]) == ("nb201-embedded", 10, 0, 15615)
        assert all(-1 <= r[m] <= 1 for m in ("kendall", "spearman")) and 0 <= r["top5"] <= 1
    with open(out / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["method"], r["seeds"]) for r in rows] == [(m, "1") for m in methods]
    shown = capsys.readouterr().out
    assert all(m in shown for m in methods) and "nb201-embedded" in shown

    # the recorded figure is the one of the same split fitted here independently
    from xgboost import XGBRegressor

    import datasets
    from gnnpred.metrics import kendall_tau

    bench = datasets.load("nasbench201")
    archs, values = bench.archs(), bench.values()
    perm = np.random.default_rng(1000).permutation(len(archs))
    x = bench.space.encode(archs)
    model = XGBRegressor(n_estimators=400, max_depth=6, learning_rate=0.05, subsample=0.8,
                         colsample_bytree=0.8, random_state=0, n_jobs=1, verbosity=0)
    model.fit(x[perm[:10]], values[perm[:10]])
    expected = kendall_tau(values[perm[10:]], model.predict(x[perm[10:]]))
    assert runs[2]["kendall"] == pytest.approx(expected, abs=1e-9)


def test_resume_keeps_finished_runs_and_runs_only_the_missing(script, tmp_path, monkeypatch):
    out = tmp_path / "sweep"
    argv = ["--spaces", "nb201-embedded", "--methods", "xgb-onehot", "--sizes", "10", "20",
            "--seeds", "2", "--out", str(out)]
    assert script.main(argv) == 0
    path = out / "runs.jsonl"
    lines = path.read_text().splitlines()
    assert len(lines) == 4

    # a second run without --resume refuses to mix sweeps and leaves the file alone
    assert script.main(argv) == 2
    assert path.read_text().splitlines() == lines

    # as if killed while writing the third result: two whole lines and a torn one
    path.write_text(lines[0] + "\n" + lines[1] + "\n" + lines[2][:25])
    ran = []
    real = script.FIT_PREDICT["xgb-onehot"]

    def counting(split):
        ran.append((len(split.train), split.seed))
        return real(split)

    monkeypatch.setitem(script.FIT_PREDICT, "xgb-onehot", counting)
    assert script.main([*argv, "--resume"]) == 0
    kept = [json.loads(t) for t in lines[:2]]
    assert sorted(ran) == sorted({(10, 0), (10, 1), (20, 0), (20, 1)}
                                 - {(r["size"], r["seed"]) for r in kept})
    resumed = path.read_text().splitlines()
    assert resumed[:2] == lines[:2] and len(resumed) == 4
    # the same splits give the same figures as the uninterrupted sweep
    figures = lambda text: {  # noqa: E731
        (r["size"], r["seed"]): (r["kendall"], r["spearman"], r["top5"])
        for r in map(json.loads, text)
    }
    assert figures(resumed) == figures(lines)


def test_report_prints_the_tables_of_a_sweep_without_running(script, tmp_path, capsys):
    out = tmp_path / "sweep"
    out.mkdir()
    runs = [{"space": "nb201", "method": "rf-graf", "size": 10, "seed": s, "kendall": k,
             "spearman": k + 0.1, "top5": 0.5, "seconds": 1.0, "n_test": 5, "config": {}}
            for s, k in enumerate((0.2, 0.4))]
    (out / "runs.jsonl").write_text("".join(json.dumps(r) + "\n" for r in runs))
    assert script.main(["--report", "--out", str(out)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if "rf-graf" in line)
    # mean and sample standard deviation of 0.2 and 0.4
    assert row.split()[:5] == ["10", "rf-graf", "*", "0.300+-0.141", "0.400+-0.141"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary[0]["kendall_mean"] == pytest.approx(0.3) and summary[0]["seeds"] == 2


def test_explicit_values_win_over_quick_in_any_spelling(script):
    args = script.parse(["--quick", "--seeds=1", "--sizes=20", "--spaces=nbg-cora"])
    assert (args.seeds, args.sizes, args.spaces) == (1, [20], ["nbg-cora"])  # "=" was missed
    quick = script.parse(["--quick"])
    assert (quick.seeds, quick.sizes, quick.spaces, quick.zc_cached_only) == (2, [10, 50],
                                                                             ["nb201"], True)
    full = script.parse([])
    assert (full.seeds, full.sizes, full.zc_cached_only) == (5, list(script.SIZES), False)
    assert full.spaces == list(script.DEFAULT_SPACES)
