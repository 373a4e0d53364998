"""NAS-Bench-101: official-format TFRecords (written by an independent test writer), the graph
JSON and the hash-keyed CSV, on cells sampled here (and on the shared tables when present)."""

from __future__ import annotations

import csv
import json
import struct

import numpy as np
import pytest

from datasets import load
from gnnpred.spaces import get_space
from tests.datasets import nb101_records as w

N_CELLS = 30
OFFSETS = (-0.01, 0.0, 0.01)  # the three repeats; their mean is the real value


@pytest.fixture(scope="module")
def graphs():
    """Rows in the shared JSON's layout for 40 distinct sampled cells, with made-up values."""
    space = get_space("nasbench101")
    rng = np.random.default_rng(0)
    found = {}
    for cell in space.sample_many(400, rng):
        found.setdefault(space.hash(cell), cell)
    cells = sorted(found.values(), key=lambda c: -len(c.ops))[:40]
    return [
        {
            "hash": space.hash(c),
            "matrix": [list(r) for r in c.matrix],
            "ops": list(c.ops),
            "valid_accuracy_108": float(v),
        }
        for c, v in zip(cells, rng.uniform(0.8, 0.95, len(cells)), strict=True)
    ]


@pytest.fixture(scope="module")
def tfrecord(graphs, tmp_path_factory):
    """Official-format file: 30 real cells x (4, 108 epochs) x 3 repeats, valid = real value."""
    records = []
    for i, g in enumerate(graphs[:N_CELLS]):
        for epochs in (4, 108):
            for r, off in enumerate(OFFSETS):
                valid = g["valid_accuracy_108"] + off - (0.3 if epochs == 4 else 0.0)
                final = (100.0 * epochs + r, 0.99 + off, valid, valid - 0.005)
                records.append(
                    w.record(g["hash"], epochs, g["matrix"], g["ops"], final, 1_000_000 + i)
                )
    path = tmp_path_factory.mktemp("nb101") / "nasbench_mini.tfrecord"
    path.write_bytes(b"".join(w.frame(r) for r in records))
    return path


def test_tfrecord_values(tfrecord, graphs):
    bench = load("nasbench101", path=tfrecord, verbose=False)
    assert len(bench) == N_CELLS and bench.metric == "valid_accuracy_108"
    assert set(bench.metrics) == {
        f"{m}_{e}"
        for m in ("train_accuracy", "valid_accuracy", "test_accuracy", "training_time")
        for e in (4, 108)
    } | {"trainable_parameters"}
    for i, g in enumerate(graphs[:N_CELLS]):
        cell = bench.space.make(matrix=g["matrix"], ops=g["ops"])
        assert bench.space.hash(cell) == g["hash"]
        assert bench.query(cell) == pytest.approx(g["valid_accuracy_108"], abs=1e-12)
        assert bench.query(cell, "valid_accuracy_4") == pytest.approx(
            g["valid_accuracy_108"] - 0.3, abs=1e-12
        )
        assert bench.query(cell, "test_accuracy_108") == pytest.approx(
            g["valid_accuracy_108"] - 0.005, abs=1e-12
        )
        assert bench.query(cell, "training_time_108") == pytest.approx(10801.0)
        assert bench.query(cell, "trainable_parameters") == 1_000_000 + i
    best = max(graphs[:N_CELLS], key=lambda g: g["valid_accuracy_108"])
    assert bench.best()[1] == pytest.approx(best["valid_accuracy_108"], abs=1e-12)


def _rewrite(path, tmp_path, edit):
    data = bytearray(path.read_bytes())
    edit(data)
    out = tmp_path / "corrupt.tfrecord"
    out.write_bytes(bytes(data))
    return out


def test_tfrecord_corruption(tfrecord, tmp_path):
    flipped = _rewrite(tfrecord, tmp_path, lambda d: d.__setitem__(30, d[30] ^ 0x01))
    with pytest.raises(ValueError, match=r"corrupt\.tfrecord.*data CRC of record 0"):
        load("nasbench101", path=flipped, verbose=False)
    truncated = _rewrite(tfrecord, tmp_path, lambda d: d.__delitem__(slice(-100, None)))
    with pytest.raises(ValueError, match="truncated"):
        load("nasbench101", path=truncated, verbose=False)


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        (b"not json", "record 0"),
        (json.dumps(["abc", 108, "0110", "input,output"]).encode(), "record 0"),
        (json.dumps(["abc", 108, "01100", "input,output", ""]).encode(), "square"),
        (json.dumps(["abc", 108, "0100", "input,output", "!!notbase64"]).encode(), "record 0"),
    ],
)
def test_tfrecord_bad_records(tmp_path, payload, match):
    path = tmp_path / "bad.tfrecord"
    path.write_bytes(w.frame(payload))
    with pytest.raises(ValueError, match=match):
        load("nasbench101", path=path, verbose=False)


def test_tfrecord_verify_crc_off_reads_flipped_value(tfrecord, tmp_path):
    raw = tfrecord.read_bytes()
    length = struct.unpack_from("<Q", raw)[0]
    first = raw[12 : 12 + length]
    pos = first.index(b'"', 3)  # inside the hash string of record 0: harmless for parsing
    flipped = _rewrite(tfrecord, tmp_path, lambda d: d.__setitem__(12 + pos - 1, ord("x")))
    with pytest.raises(ValueError, match="data CRC"):
        load("nasbench101", path=flipped, verbose=False)
    assert len(load("nasbench101", path=flipped, verbose=False, verify_crc=False)) == N_CELLS + 1


def test_graph_json(tmp_path, graphs):
    bench = load("nasbench101", path=_ok_json(tmp_path, graphs, len(graphs)))
    assert len(bench) == len(graphs)
    values = np.array([g["valid_accuracy_108"] for g in graphs])
    np.testing.assert_array_equal(bench.values("valid_accuracy_108"), values)
    assert bench.best()[1] == values.max()
    for g in graphs:
        cell = bench.space.make(matrix=g["matrix"], ops=g["ops"])
        assert bench.query(cell) == g["valid_accuracy_108"]


def test_shared_graph_json(nb101_graphs1k):
    bench = load("nasbench101", path=nb101_graphs1k)
    graphs = json.loads(nb101_graphs1k.read_text())
    assert len(bench) == 1000
    values = np.array([g["valid_accuracy_108"] for g in graphs])
    np.testing.assert_array_equal(bench.values("valid_accuracy_108"), values)
    assert bench.best()[1] == values.max()


def test_graph_json_errors(tmp_path, graphs):
    bad = dict(graphs[0], hash="0" * 32)
    path = tmp_path / "g.json"
    path.write_text(json.dumps([bad]))
    with pytest.raises(ValueError, match=r"g\.json.*entry 0.*hash"):
        load("nasbench101", path=path)
    path.write_text("[{")
    with pytest.raises(ValueError, match=r"g\.json is not valid JSON"):
        load("nasbench101", path=path)
    with pytest.raises(ValueError, match="'nope'"):
        load("nasbench101", path=_ok_json(tmp_path, graphs), metric="nope")


def _ok_json(tmp_path, graphs, n=5):
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(graphs[:n]))
    return path


def test_missing_path_and_bad_dataset(tmp_path, graphs):
    path = _ok_json(tmp_path, graphs)
    with pytest.raises(ValueError, match="cifar100"):
        load("nasbench101", path=path, dataset="cifar100")
    assert load("nasbench101", path=path, dataset="cifar10").dataset == "cifar10"
    with pytest.raises(FileNotFoundError, match="nasbench_only108.tfrecord"):
        load("nasbench101")
    with pytest.raises(FileNotFoundError, match="storage.googleapis.com"):
        load("nasbench101", path=tmp_path / "nasbench_full.tfrecord")


@pytest.mark.slow
def test_csv_all_rows_join(nb101_sample20k):
    bench = load("nasbench101", path=nb101_sample20k)
    assert len(bench) == 20001 and bench.metric == "valid_accuracy_108"
    assert "trainable_parameters" in bench.metrics
    with open(nb101_sample20k, newline="") as fh:
        rows = list(csv.DictReader(fh))
    archs = bench.archs()
    for i in range(0, 20001, 997):  # each cell hashes to its row's hash and carries its values
        assert bench.space.hash(archs[i]) == rows[i]["hash"]
        assert bench.query(archs[i]) == float(rows[i]["valid_accuracy_108"])
        assert bench.query(archs[i], "training_time_108") == float(rows[i]["training_time_108"])


def test_tfrecord_unpruned_cell_is_pruned(tmp_path, graphs):
    spec = (
        [[0, 1, 1], [0, 0, 0], [0, 0, 0]],
        ["input", "conv3x3-bn-relu", "output"],
    )  # vertex 1 is dead
    g = graphs[0]
    records = [
        w.record("f" * 32, 108, *spec, (1.0, 1.0, 0.5, 0.5), 7),
        w.record(g["hash"], 108, g["matrix"], g["ops"], (1.0, 1.0, 0.6, 0.6), 8),
    ]
    path = tmp_path / "p.tfrecord"
    path.write_bytes(b"".join(w.frame(r) for r in records))
    bench = load("nasbench101", path=path, verbose=False)
    assert bench.archs()[0].ops == ("input", "output")
    assert bench.values().tolist() == [0.5, 0.6]


@pytest.mark.slow
def test_hash_keyed_csv_with_a_bom(tmp_path, graphs):
    """A CSV keyed by official hashes; cells come from the space's enumeration (cached)."""
    get_space("nasbench101").table(verbose=False)
    path = tmp_path / "t.csv"
    lines = [f"{g['hash']},{i / 10}" for i, g in enumerate(graphs[:5])]
    path.write_bytes(("\ufeffhash,valid_accuracy_108\n" + "\n".join(lines) + "\n").encode())
    bench = load("nasbench101", path=path)
    assert bench.metrics == ("valid_accuracy_108",)
    for i, g in enumerate(graphs[:5]):
        assert bench.query(bench.space.make(matrix=g["matrix"], ops=g["ops"])) == i / 10
