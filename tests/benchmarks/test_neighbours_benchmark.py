"""benchmarks/neighbours.py: the neighbour-pick figures of the search's assessor."""

import sys

import pytest

from tests.benchmarks.conftest import load_script


@pytest.fixture()
def script():
    return load_script("neighbours")


def _run(script, monkeypatch, *args):
    monkeypatch.setattr(sys, "argv", ["neighbours.py", *args])
    return script.main()


def test_figures_on_the_embedded_table_are_consistent_shares(script, monkeypatch, capsys):
    code = _run(script, monkeypatch, "--benchmarks", "nb201-embedded", "--seeds", "1",
                "--labels", "10", "--good", "2", "--targets", "4")
    assert code == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("nb201-embedded")]
    pred, random, any_, kendall = (float(v) for v in line[0].split()[1:5])
    assert 0 <= pred <= any_ <= 1 and 0 <= random <= any_  # a pick cannot beat "some neighbour"
    assert -1 <= kendall <= 1


@pytest.mark.parametrize("args", [["--benchmarks", "nb999"], ["--seeds", "0"],
                                  ["--targets", "0"], ["--good", "-1"], ["--first-seed", "-1"]])
def test_bad_arguments_exit_2_naming_the_choices(script, monkeypatch, capsys, args):
    with pytest.raises(SystemExit) as exc:
        _run(script, monkeypatch, *args)
    assert exc.value.code == 2
    assert "nb201-embedded" in capsys.readouterr().err


def test_more_targets_than_the_top_percent_exits_2_saying_the_limit(script, monkeypatch, capsys):
    with pytest.raises(SystemExit) as exc:
        _run(script, monkeypatch, "--benchmarks", "nb201-embedded", "--targets", "500")
    assert exc.value.code == 2
    assert "at most 156 --targets" in capsys.readouterr().err
