"""One-shot search through ``python -m search.run``: NB201 with the embedded table, the DARTS
space's genotype, resume after SIGKILL and after Ctrl-C, and argument errors.

Everything runs on a few batches of 8x8 digits with a super-net of width 2, so a search takes a
second or two; the subprocess tests pay the import of torch and Lightning once each.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from functools import partial

import pytest
import torch

from gnnpred import get_space
from search.run import main
from tests.search.cli_helpers import ROOT, embedded, env, strict_load, wait_lines

DATA = ["--data-args", '{"image_size": 8, "batch_size": 8}']
TINY = ["--channels", "2", "--steps-per-epoch", "2", "--device", "cpu", "--quiet", *DATA]
NB201 = ["--benchmark", "nasbench201", "--cells", "1", *TINY]
DARTS = ["--benchmark", "darts", "--cells", "3", *TINY]

#: ``search.run`` whose one-shot epochs after the first take a minute, so that a test can stop
#: the process while its second epoch runs.
SLOW_SECOND_EPOCH = """
import sys, time
from gnnpred.supernets.module import OneShotModule
start = OneShotModule.on_train_epoch_start
def slow(self):
    if self.epoch >= 1:
        time.sleep(15)  # SIGINT is deferred to the next batch: this is the test's wait
    start(self)
OneShotModule.on_train_epoch_start = slow
from search.run import main
sys.exit(main(sys.argv[1:]))
"""


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _lines(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _same(a, b):
    """``a == b`` up to float32 rounding in the numbers (a CPU search in another process may
    differ in the last bits: the kernels' summation order can depend on memory alignment),
    exactly in everything else; the wall-clock ``seconds`` are left out."""
    if isinstance(a, dict):
        return isinstance(b, dict) and set(a) == set(b) and all(
            _same(a[k], b[k]) for k in a if k != "seconds")
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and not isinstance(b, bool):
        return b == pytest.approx(a, rel=1e-4, abs=1e-7)
    return a == b


@pytest.mark.parametrize("algorithm", ["entrannas", "darts"])
def test_nb201_search_reports_the_table_value_of_the_derived_cell(algorithm, tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "--algorithm", algorithm, "--epochs", "1", *NB201,
                             "--out", str(out))
    assert code == 0, err
    summ = strict_load(out / "summary.json")
    (run,) = summ["runs"]
    bench = embedded()
    cell = bench.space.from_string(run["arch"])
    assert run["table"]["value"] == pytest.approx(bench.query(cell))
    assert 1 <= run["table"]["rank"] <= len(bench) and summ["optimum"] == bench.optimum
    free = sum(op in ("none", "skip_connect", "avg_pool_3x3") for op in cell.ops)
    assert (run["parameter_free_edges"], run["edges"]) == (free, 6)
    assert run["arch"] in stdout and "AnalogNAS-Bench" in summ["benchmark"]
    (record,) = _lines(out / algorithm / "seed0" / "history.jsonl")
    assert record["epoch"] == 0 and record["derived"] == run["arch"]
    assert record["table"] == run["table"] and set(record["arch"]["weights"]) == {"cell"}
    assert torch.load(out / algorithm / "seed0" / "oneshot.pt", weights_only=True)["epoch"] == 1
    config = strict_load(out / "config.json")
    assert config["mode"] == "oneshot" and config["benchmark_fingerprint"]["cells"] == len(bench)
    assert not (out / "genotype.txt").exists()


@pytest.mark.parametrize(("algorithm", "topology"),
                         [("entrannas", False), ("darts", False), ("entrannas", True)])
def test_darts_space_search_writes_a_valid_genotype(algorithm, topology, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(capsys, "--algorithm", algorithm, "--epochs", "1", *DARTS, "--out",
                        str(out), *(["--topology"] if topology else []))
    assert code == 0, err
    text = (out / "genotype.txt").read_text(encoding="utf-8").strip()
    assert text == (out / algorithm / "seed0" / "genotype.txt").read_text().strip()
    assert text.startswith("Genotype(normal=[")
    space = get_space("darts", topology=topology)
    genotype = space.from_string(text)
    space.validate(genotype)
    (run,) = strict_load(out / "summary.json")["runs"]
    assert run["arch"] == text and run["params"] == space.param_counts([genotype])[0]
    assert (out / run["genotype_file"]).read_text(encoding="utf-8").strip() == text
    assert _lines(out / algorithm / "seed0" / "history.jsonl")[0]["derived"] == text


def test_the_derived_genotype_trains_with_the_training_evaluator(tmp_path, capsys):
    from gnnpred.training import DigitsDataModule
    from search.evaluators import TrainingEvaluator

    out = tmp_path / "out"
    assert _run(capsys, "--algorithm", "entrannas", "--epochs", "1", *DARTS, "--out",
                str(out))[0] == 0
    space = get_space("darts")
    genotype = space.from_string((out / "genotype.txt").read_text(encoding="utf-8"))
    evaluator = TrainingEvaluator(space, partial(DigitsDataModule, image_size=8, batch_size=64),
                                  epochs=1, device="cpu",
                                  network_kwargs={"channels": 2, "layers": 3})
    result = evaluator.evaluate(genotype, seed=0)
    assert not result.failed, result.error
    assert 0 <= result.value <= 100


def test_a_diverged_search_is_a_failed_run_and_the_others_still_report(tmp_path, capsys):
    out = tmp_path / "out"
    code, stdout, err = _run(capsys, "--algorithm", "darts,entrannas", "--epochs", "1", *NB201,
                             "--params", '{"darts": {"lr": 1e30}}', "--out", str(out))
    assert code == 0, err
    failed, ok = strict_load(out / "summary.json")["runs"]
    assert failed["failed"] and failed["arch"] is None
    assert "The validation loss is nan" in failed["error"]  # the architecture step's batch
    assert ok["algorithm"] == "entrannas" and ok["table"]["value"] > 0 and ok["arch"] in stdout


def _start(out, *argv):
    return subprocess.Popen([sys.executable, "-c", SLOW_SECOND_EPOCH, "--algorithm",
                             "entrannas", "--epochs", "2", *NB201, "--out", str(out), *argv],
                            cwd=ROOT, env=env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_search_killed_after_its_first_epoch_resumes_to_the_uninterrupted_result(
        tmp_path, capsys):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    argv = ["--algorithm", "entrannas", "--epochs", "2", *NB201]
    assert _run(capsys, *argv, "--out", str(whole))[0] == 0
    proc = _start(killed)
    hist = killed / "entrannas" / "seed0" / "history.jsonl"
    try:
        wait_lines(hist, 1, proc)
    finally:
        proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert len(_lines(hist)) == 1 and not (killed / "summary.json").exists()
    code, _, err = _run(capsys, *argv, "--out", str(killed), "--resume")
    assert code == 0, err
    reference = _lines(whole / "entrannas" / "seed0" / "history.jsonl")
    assert [r["epoch"] for r in _lines(hist)] == [0, 1]
    assert _same(_lines(hist), reference)
    runs = [strict_load(d / "summary.json")["runs"][0] for d in (whole, killed)]
    assert runs[0]["arch"] == runs[1]["arch"] and _same(runs[0], runs[1])


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path):
    out = tmp_path / "out"
    proc = _start(out)
    try:
        wait_lines(out / "entrannas" / "seed0" / "history.jsonl", 1, proc)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert err.strip().splitlines()[-1].endswith(f"continue with --resume and the same --out "
                                                 f"({out})")


def test_resume_restores_an_epoch_the_kill_left_out_of_the_history(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--algorithm", "darts", "--epochs", "2", *NB201, "--out", str(out)]
    assert _run(capsys, *argv)[0] == 0
    hist = out / "darts" / "seed0" / "history.jsonl"
    full = hist.read_bytes()
    first = full[:full.index(b"\n") + 1]
    hist.write_bytes(first + b'{"epoch": 1, "train_lo')  # checkpoint written, line cut short
    assert _run(capsys, *argv, "--resume")[0] == 0
    assert hist.read_bytes() == full  # the line comes from the checkpoint: no epoch re-ran


def test_resume_with_other_settings_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["--algorithm", "darts", *NB201, "--out", str(out)]
    assert _run(capsys, *argv, "--epochs", "1")[0] == 0
    code, _, err = _run(capsys, *argv, "--epochs", "2", "--resume")
    assert code == 2 and "epochs" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(("argv", "match"), [
    (["--algorithm", "entrannas,random"], "mixes one-shot"),
    (["--algorithm", "darts", "--benchmark", "nasbench101"], "super-net"),
    (["--algorithm", "darts", "--epochs", "0"], "--epochs"),
    (["--algorithm", "darts", "--channels", "two"], "--channels"),
    (["--algorithm", "entrannas", "--topology"], "--topology"),
    (["--algorithm", "darts", "--benchmark", "darts", "--cells", "2"], "--cells 2"),
    (["--algorithm", "entrannas", "--benchmark", "darts", "--cells", "1"], "--cells 1"),
    (["--algorithm", "darts", "--benchmark", "darts", "--topology"], "--topology"),
    (["--algorithm", "entrannas", "--budget", "5"], "--budget"),
    (["--algorithm", "entrannas", "--benchmark", "darts", "--path", "x.csv"], "--path"),
    (["--algorithm", "entrannas", "--params", '{"entrannas": {"lr": -1}}'], "lr"),
    (["--algorithm", "entrannas", "--params", '{"entrannas": {"momentum": 1}}'], "momentum"),
    (["--algorithm", "entrannas", "--data", "no_such_module:Data"], "no_such_module"),
    (["--algorithm", "entrannas", "--data-args", '{"image_size": 2}'], "image_size"),
    (["--algorithm", "entrannas", "--metric", "no_such_metric"], "no_such_metric"),
])
def test_bad_input_is_one_line_exit_2_and_writes_nothing(argv, match, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = _run(capsys, *argv, "--out", str(out))
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and match in err
    assert not out.exists()


def test_help_lists_the_one_shot_options():
    proc = subprocess.run([sys.executable, "-m", "search.run", "--help"], cwd=ROOT, env=env(),
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0
    for flag in ("--channels", "--cells", "--steps-per-epoch", "--topology", "entrannas"):
        assert flag in proc.stdout
    assert os.linesep.join(proc.stderr.splitlines()) == ""
