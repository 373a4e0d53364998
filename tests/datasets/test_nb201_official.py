"""Official NAS-Bench-201 / NATS-Bench formats, on small files written in their structure
(the real files are gigabytes and not available here). Accuracies are CIFAR-10 values of the
embedded table, split over two seeds."""

from __future__ import annotations

import bz2
import pickle
from collections import OrderedDict
from fractions import Fraction

import numpy as np
import pytest
import torch

from datasets import load

SEEDS = (777, 888)
SPREAD = (-0.5, 0.5)  # per-seed offsets; the seed mean is the real value


@pytest.fixture(scope="module")
def real_rows():
    """Four ``(official string, accuracy)`` rows of the embedded CIFAR-10 table."""
    bench = load("nasbench201")
    pairs = zip(bench.archs()[:4], bench.values()[:4].tolist(), strict=True)
    return [(bench.space.to_string(a), v) for a, v in pairs]


def _result(dataset, seed, epochs, test, extra_sets):
    last = epochs - 1
    evals = {
        f"{name}@{e}": (value if e == last else 1.0)
        for name, value in extra_sets.items()
        for e in range(epochs)
    }
    return {
        "name": dataset,
        "seed": seed,
        "epochs": epochs,
        "params": 1.5,
        "flop": 200.0,
        "latency": [0.01, 0.03],
        "train_acc1es": OrderedDict((e, 99.0 if e == last else 1.0) for e in range(epochs)),
        "eval_acc1es": evals,
        "net_state_dict": None,
        "arch_config": {"arch_str": "x"},
        "eval_names": list(extra_sets),
        "_test": test,
    }


def _archres(acc, epochs):
    """An ArchResults state dict: cifar10-valid, cifar10 and cifar100 runs on two seeds."""
    all_results, dataset_seed = {}, {}
    for ds in ("cifar10-valid", "cifar10", "cifar100"):
        dataset_seed[ds] = list(SEEDS)
        for seed, off in zip(SEEDS, SPREAD, strict=True):
            if ds == "cifar10-valid":
                sets = {"x-valid": acc - 2 + off, "ori-test": acc - 1 + off}
            elif ds == "cifar10":
                sets = {"ori-test": acc + off}
            else:
                sets = {"x-valid": acc - 20 + off, "x-test": acc - 21 + off, "ori-test": acc - 22}
            all_results[(ds, seed)] = _result(ds, seed, epochs, acc, sets)
    return {
        "arch_index": 0,
        "arch_str": "x",
        "all_results": all_results,
        "dataset_seed": dataset_seed,
        "clear_net_done": True,
    }


def _pth_dict(rows, keys=("less", "full")):
    return {
        "meta_archs": [a for a, _ in rows],
        "arch2infos": {
            i: {keys[0]: _archres(acc, 12), keys[1]: _archres(acc, 200)}
            for i, (_, acc) in enumerate(rows)
        },
        "evaluated_indexes": list(range(len(rows))),
        "total_archs": len(rows),
    }


def _check(bench, rows, offset=0.0):
    assert len(bench) == len(rows)
    for arch, acc in rows:
        assert bench.query(bench.space.from_string(arch)) == pytest.approx(acc + offset)


def test_pth_file(tmp_path, real_rows):
    path = tmp_path / "NAS-Bench-201-v1_1-096897.pth"
    torch.save(_pth_dict(real_rows), path)
    bench = load("nasbench201", path=path)
    assert bench.dataset == "cifar10" and bench.metric == "test_accuracy"
    _check(bench, real_rows)
    arch = bench.space.from_string(real_rows[0][0])
    assert bench.query(arch, "valid_accuracy") == pytest.approx(
        real_rows[0][1] - 2
    )  # cifar10-valid's x-valid
    assert bench.query(arch, "train_accuracy") == 99.0
    assert bench.query(arch, "latency") == pytest.approx(0.02)
    assert bench.query(arch, "params") == 1.5 and bench.query(arch, "flops") == 200.0
    _check(load("nasbench201", path=path, dataset="cifar10-valid"), real_rows, -1)
    c100 = load("nasbench201", path=path, dataset="cifar100", metric="valid_accuracy")
    _check(c100, real_rows, -20)
    assert c100.query(arch, "test_accuracy") == pytest.approx(real_rows[0][1] - 21)
    _check(load("nasbench201", path=path, epochs=12), real_rows)


def test_pth_with_numpy_values(tmp_path, real_rows):
    data = _pth_dict(real_rows)
    for result in data["arch2infos"][0]["full"]["all_results"].values():
        result["eval_acc1es"] = {k: np.float64(v) for k, v in result["eval_acc1es"].items()}
        result["latency"] = np.array([0.01, 0.03])
    path = tmp_path / "np.pth"
    torch.save(data, path)
    bench = load("nasbench201", path=path)
    _check(bench, real_rows)
    assert bench.query(bench.space.from_string(real_rows[0][0]), "latency") == pytest.approx(0.02)


def test_nats_pickle_file(tmp_path, real_rows):
    path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    path.write_bytes(
        bz2.compress(pickle.dumps(_pth_dict(real_rows, keys=("12", "200")), protocol=4))
    )
    _check(load("nasbench201", path=path), real_rows)


def test_nats_simple_dir(tmp_path, real_rows):
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    meta = {"meta_archs": [a for a, _ in real_rows], "total_archs": len(real_rows)}
    (folder / "meta.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(meta)))
    for i, (_, acc) in enumerate(real_rows[:-1]):  # the last architecture has no file: skipped
        data = OrderedDict([("12", _archres(acc, 12)), ("200", _archres(acc, 200))])
        (folder / f"{i:06d}.pickle.pbz2").write_bytes(bz2.compress(pickle.dumps(data, protocol=4)))
    bench = load("nasbench201", path=folder, verbose=False)
    _check(bench, real_rows[:-1])
    assert real_rows[-1][0] not in {bench.space.to_string(a) for a in bench.archs()}


def test_official_errors(tmp_path, real_rows):
    path = tmp_path / "b.pth"
    torch.save(_pth_dict(real_rows), path)
    with pytest.raises(ValueError, match="ImageNet"):
        load("nasbench201", path=path, dataset="imagenet")
    with pytest.raises(ValueError, match="epochs must be 200 or 12"):
        load("nasbench201", path=path, epochs=90)
    broken = _pth_dict(real_rows)
    del broken["arch2infos"][1]["full"]["all_results"][("cifar10", 888)]
    torch.save(broken, path)
    with pytest.raises(ValueError, match=r"b\.pth \(architecture 1\) is corrupt"):
        load("nasbench201", path=path)
    torch.save({"meta_archs": []}, path)
    with pytest.raises(ValueError, match="arch2infos"):
        load("nasbench201", path=path)
    path.write_bytes(b"garbage")
    with pytest.raises(ValueError, match=r"b\.pth is corrupt"):
        load("nasbench201", path=path)
    path.write_bytes(b"X\xfc\xcf\x95\x0bb\xbc\xab")  # pickle's BINUNICODE of invalid UTF-8
    with pytest.raises(ValueError, match=r"b\.pth is corrupt"):  # was a bare UnicodeDecodeError
        load("nasbench201", path=path)
    (tmp_path / "x.pickle.pbz2").write_bytes(b"BZh9garbage")
    with pytest.raises(ValueError, match="not valid bz2"):
        load("nasbench201", path=tmp_path / "x.pickle.pbz2")
    with pytest.raises(FileNotFoundError, match="meta.pickle.pbz2"):
        load("nasbench201", path=tmp_path)
    (tmp_path / "t.txt").write_text("x")
    with pytest.raises(ValueError, match="unsupported"):
        load("nasbench201", path=tmp_path / "t.txt")


def test_nats_pickle_numpy_values_and_foreign_classes(tmp_path, real_rows):
    data = _pth_dict(real_rows, keys=("12", "200"))
    results = data["arch2infos"][0]["200"]["all_results"]
    for seed in SEEDS:
        results[("cifar10", seed)]["latency"] = np.array([0.01, 0.03])
        results[("cifar10", seed)]["params"] = np.float32(2.5)
    path = tmp_path / "n.pickle.pbz2"
    path.write_bytes(bz2.compress(pickle.dumps(data)))
    bench = load("nasbench201", path=path)
    arch = bench.space.from_string(real_rows[0][0])
    assert (
        bench.query(arch, "latency") == pytest.approx(0.02) and bench.query(arch, "params") == 2.5
    )
    results[("cifar10", 777)]["latency"] = np.array([0.1, None], dtype=object)
    path.write_bytes(bz2.compress(pickle.dumps(data)))
    with pytest.raises(ValueError, match=r"n\.pickle\.pbz2.*non-numeric numpy dtype"):
        load("nasbench201", path=path)
    results[("cifar10", 777)]["latency"] = Fraction(1, 3)
    path.write_bytes(bz2.compress(pickle.dumps(data)))
    with pytest.raises(
        ValueError, match=r"n\.pickle\.pbz2 is not a file this loader trusts.*fractions\.Fraction"
    ):
        load("nasbench201", path=path)


def test_nats_pickle_in_several_bz2_streams(tmp_path, real_rows):
    """bz2 files may hold several streams (as pbzip2 writes them); all are read."""
    raw = pickle.dumps(_pth_dict(real_rows, keys=("12", "200")), protocol=4)
    path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    path.write_bytes(bz2.compress(raw[:100]) + bz2.compress(raw[100:]))
    _check(load("nasbench201", path=path), real_rows)


def test_bz2_bomb_is_refused_before_it_fills_memory(tmp_path):
    """A few hundred bytes of bz2 that expand past the largest real meta file (64 MiB)."""
    folder = tmp_path / "NATS-tss-v1_0-3ffb9-simple"
    folder.mkdir()
    packer = bz2.BZ2Compressor(1)
    bomb = b"".join(packer.compress(bytes(1 << 20)) for _ in range(65)) + packer.flush()
    assert len(bomb) < 1000
    (folder / "meta.pickle.pbz2").write_bytes(bomb)
    with pytest.raises(ValueError, match=r"meta\.pickle\.pbz2 expands to more than 64 MiB"):
        load("nasbench201", path=folder, verbose=False)


@pytest.mark.parametrize(
    ("data", "match"),
    [(b"BZh9 not bz2 at all", "not valid bz2"), (bz2.compress(b"x" * 5000)[:-10], "truncated")],
)
def test_corrupt_bz2_names_the_file(tmp_path, data, match):
    path = tmp_path / "NATS-tss-v1_0-3ffb9.pickle.pbz2"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=match) as info:
        load("nasbench201", path=path)
    assert path.name in str(info.value)
