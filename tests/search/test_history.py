"""History files: flushed lines, partial last line dropped, corruption and config checks."""

from __future__ import annotations

import json
import math

import pytest

from search.history import (
    FINGERPRINT_KEY,
    ConfigMismatch,
    HistoryError,
    HistoryWriter,
    Record,
    check_config,
    read_history,
    write_config,
)


def _write(path, n):
    with HistoryWriter(path) as w:
        for i in range(n):
            w.append(Record(i, f"cell{i}", 50.0 + i, 0.1 * i, {"perf": 0.5} if i % 2 else {}))


def test_round_trip(tmp_path):
    path = tmp_path / "h" / "history.jsonl"
    _write(path, 4)
    recs = read_history(path)
    assert [r.index for r in recs] == [0, 1, 2, 3]
    assert recs[3] == Record(3, "cell3", 53.0, pytest.approx(0.3), {"perf": 0.5})
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) >= {"index", "arch", "value", "time"}


def test_lines_are_on_disk_before_close(tmp_path):
    path = tmp_path / "history.jsonl"
    w = HistoryWriter(path)
    w.append(Record(0, "a", 1.0, 0.0))
    assert len(read_history(path, repair=False)) == 1  # readable while the writer is open
    w.close()


@pytest.mark.parametrize("tail", [b'{"index": 3, "arch": "ce',
                                  b'{"index": 3, "arch": "x", "value": 1', b"\x00\x00"])
def test_partial_last_line_is_dropped_and_truncated(tmp_path, tail):
    path = tmp_path / "history.jsonl"
    _write(path, 3)
    good = path.read_bytes()
    with open(path, "ab") as fh:
        fh.write(tail)
    assert len(read_history(path)) == 3
    assert path.read_bytes() == good
    _write(path, 0)
    with HistoryWriter(path) as w:  # appending after repair continues cleanly
        w.append(Record(3, "cell3", 1.0, 1.0))
    assert [r.index for r in read_history(path)] == [0, 1, 2, 3]


def test_corrupt_middle_line_raises(tmp_path):
    path = tmp_path / "history.jsonl"
    _write(path, 3)
    lines = path.read_text().splitlines()
    lines[1] = "garbage"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ValueError, match="line 2 is not a valid history record"):
        read_history(path)


def test_index_gap_raises(tmp_path):
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path) as w:
        w.append(Record(0, "a", 1.0, 0.0))
        w.append(Record(2, "b", 1.0, 0.0))
    with pytest.raises(ValueError, match="index 2, expected 1"):
        read_history(path)


def test_missing_file_is_empty(tmp_path):
    assert read_history(tmp_path / "nope.jsonl") == []


def test_config_check(tmp_path):
    cfg = {"budget": 10, "seeds": [0, 1], "device": "cpu"}
    write_config(tmp_path, cfg)
    check_config(tmp_path, dict(cfg))
    check_config(tmp_path, {**cfg, "device": "cuda"}, ignore=("device",))
    with pytest.raises(ConfigMismatch, match="budget: stored 10, now 20"):
        check_config(tmp_path, {**cfg, "budget": 20})
    with pytest.raises(ConfigMismatch, match="no config.json"):
        check_config(tmp_path / "other", cfg)


def test_failed_record_is_strict_json_and_round_trips(tmp_path):
    path = tmp_path / "history.jsonl"
    with HistoryWriter(path) as w:
        w.append(Record(0, "a", 1.5, 0.0))
        w.append(Record(1, "b", float("nan"), 0.1, {"perf": float("inf")}, failed=True,
                        error="non-finite value inf"))
    line = json.loads(path.read_text().splitlines()[1], parse_constant=_no_constant)
    assert line["value"] is None and line["failed"] is True and line["extra"] == {"perf": None}
    recs = read_history(path)
    assert recs[1].failed and math.isnan(recs[1].value) and math.isnan(recs[1].extra["perf"])
    assert recs[1].error == "non-finite value inf" and not recs[0].failed


@pytest.mark.parametrize("line", ['{"index": 1, "arch": "b", "value": NaN, "time": 0}',
                                  '{"index": 1, "arch": "b", "value": null, "time": 0}'])
def test_non_finite_value_without_failed_flag_is_corrupt(tmp_path, line):
    path = tmp_path / "history.jsonl"
    _write(path, 1)
    with open(path, "a") as fh:
        fh.write(line + "\n" + Record(2, "c", 1.0, 0.0).to_json() + "\n")
    with pytest.raises(HistoryError, match="line 2"):
        read_history(path)


def test_config_fingerprint_mismatch_has_its_own_message(tmp_path):
    cfg = {"budget": 10, FINGERPRINT_KEY: {"of": "file", "size": 3, "sha256": "abc"}}
    write_config(tmp_path, cfg)
    with pytest.raises(ConfigMismatch, match="benchmark table is not the one"):
        check_config(tmp_path, {**cfg, FINGERPRINT_KEY: {"of": "file", "size": 3, "sha256": "d"}})
    assert json.loads((tmp_path / "config.json").read_text()) == cfg
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]  # no temporary file left


def _no_constant(name):
    raise ValueError(f"non-standard JSON constant {name}")


def test_config_without_fingerprint_is_not_resumed(tmp_path):
    write_config(tmp_path, {"budget": 10})
    with pytest.raises(ConfigMismatch, match="holds no benchmark fingerprint"):
        check_config(tmp_path, {"budget": 10, FINGERPRINT_KEY: {"of": "table", "sha256": "a"}})
