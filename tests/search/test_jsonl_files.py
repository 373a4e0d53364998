"""The append-only JSON-lines files of a run folder: the same damage policy in every reader.

A kill can only damage the end of a file: a torn last line (no newline) or an unreadable
complete last line is dropped and cut off; anything wrong earlier is an error.
"""

import json

import pytest

from search.cli_config import UsageError
from search.evaluators import Evaluation, EvaluationCache
from search.history import Record, read_history
from search.oneshot import read_epochs
from search.scheduler import read_submitted


def _history(n):
    return [Record(i, f"cell{i}", float(i), float(i)).to_json() for i in range(n)]


def _submitted(n):
    return [json.dumps({"arch": f"cell{i}", "after": i}) for i in range(n)]


def _epochs(n):
    return [json.dumps({"epoch": i, "loss": 1.0 / (i + 1)}) for i in range(n)]


READERS = [
    pytest.param(read_history, _history, id="history"),
    pytest.param(read_submitted, _submitted, id="submitted"),
    pytest.param(read_epochs, _epochs, id="epochs"),
]


# read_submitted has no switch: the scheduler that reads it always repairs
WITH_REPAIR_SWITCH = [p for p in READERS if p.id != "submitted"]


@pytest.mark.parametrize(("reader", "lines"), READERS)
@pytest.mark.parametrize("tail", [b'{"ind', b"not json\n", b"[1, 2]\n"])
def test_a_damaged_last_line_is_dropped_and_cut_off(tmp_path, reader, lines, tail):
    path = tmp_path / "f.jsonl"
    good = ("\n".join(lines(3)) + "\n").encode()
    path.write_bytes(good + tail)
    assert len(reader(path)) == 3
    assert path.read_bytes() == good  # the next append starts on a line of its own


@pytest.mark.parametrize(("reader", "lines"), WITH_REPAIR_SWITCH)
def test_without_repair_the_file_is_left_alone(tmp_path, reader, lines):
    path = tmp_path / "f.jsonl"
    data = ("\n".join(lines(2)) + "\n").encode() + b'{"torn'
    path.write_bytes(data)
    assert len(reader(path, repair=False)) == 2
    assert path.read_bytes() == data


@pytest.mark.parametrize(("reader", "lines"), READERS)
def test_a_bad_line_before_the_last_is_an_error_naming_it(tmp_path, reader, lines):
    path = tmp_path / "f.jsonl"
    rows = lines(3)
    rows[1] = "garbage"
    path.write_text("\n".join(rows) + "\n")
    before = path.read_bytes()
    with pytest.raises((ValueError, UsageError), match="line 2"):
        reader(path)
    assert path.read_bytes() == before  # nothing is cut from a corrupt file


@pytest.mark.parametrize(("reader", "lines"), READERS)
def test_two_damaged_lines_are_an_error_not_two_drops(tmp_path, reader, lines):
    path = tmp_path / "f.jsonl"
    path.write_bytes(("\n".join(lines(2)) + "\n").encode() + b'garbage\n{"torn')
    with pytest.raises((ValueError, UsageError), match="line 3"):
        reader(path)  # a kill tears one line: a bad complete line before it is corruption


def test_an_out_of_order_epoch_is_an_error_even_on_the_last_line(tmp_path):
    path = tmp_path / "f.jsonl"
    rows = _epochs(3)
    path.write_text("\n".join([*rows, rows[1]]) + "\n")
    before = path.read_bytes()
    with pytest.raises(UsageError, match="line 4 is epoch 1's record, expected epoch 3's"):
        read_epochs(path)
    assert path.read_bytes() == before


@pytest.mark.parametrize(("reader", "lines"), READERS)
def test_a_missing_file_has_no_records(tmp_path, reader, lines):
    assert reader(tmp_path / "absent.jsonl") == []


def test_the_evaluation_cache_skips_bad_lines_anywhere_and_cuts_a_torn_tail(tmp_path):
    path = tmp_path / "cache.jsonl"
    cache = EvaluationCache(path)
    cache.put("a", 0, Evaluation(0.5, {"test_accuracy": 0.4}, 1.0))
    with open(path, "a") as fh:
        fh.write("garbage\n")
    cache.put("b", 0, Evaluation(0.7, {"test_accuracy": 0.6}, 2.0))
    good = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(b'{"key": "c", "se')
    again = EvaluationCache(path)
    assert len(again) == 2 and again.get("b", 0).value == 0.7
    assert path.read_bytes() == good
