"""One-shot search into a run folder: EnTranNAS or DARTS, per-epoch history, checkpoint, report.

``python -m search.run --algorithm entrannas --benchmark nasbench201 --epochs 50`` (or
``--algorithm darts``, or ``--benchmark darts``) trains a super-net with
:func:`gnnpred.supernets.oneshot_search` for each (algorithm, seed) and writes::

    config.json                           what produced the folder (checked by --resume)
    <algorithm>/seed<k>/history.jsonl     one flushed line per finished epoch: losses and
                                          accuracies of the super-net, architecture parameters
                                          and weights, the derived cell (NB201: its table value)
    <algorithm>/seed<k>/oneshot.pt        checkpoint after the last finished epoch
    <algorithm>/seed<k>/genotype.txt      darts space: the derived genotype (DARTS notation)
    genotype.txt                          darts space, one run: the same genotype
    summary.json                          config, one entry per run, aggregates per algorithm

On NAS-Bench-201 the derived cell is looked up in the table (the embedded AnalogNAS-Bench table
unless ``--path``), as one-shot papers report their searches: its accuracy, its rank among the
15,625 cells and how many of its six edges are parameter-free (``none``, ``skip_connect``,
``avg_pool_3x3``; DARTS is known to collapse to such cells). On the DARTS space the genotype is
``space.from_string`` input for the training evaluator
(:class:`search.evaluators.TrainingEvaluator`) or ``space.to_network``.

A kill at any moment (SIGKILL included) loses at most the epoch in progress: the checkpoint is
replaced atomically after each epoch and the history line follows it; ``--resume`` drops a
partial last line, restores a line the kill prevented from the checkpoint, and continues from
the last finished epoch, ending on a CPU exactly as an uninterrupted search.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from search._jsonl import read_records
from search.cli_config import UsageError, describe_benchmark
from search.folder import write_atomic
from search.oneshot_cli import data_factory
from search.report import strict_json

HISTORY_NAME = "history.jsonl"
CHECKPOINT_NAME = "oneshot.pt"
GENOTYPE_NAME = "genotype.txt"
#: Operations without parameters (both spaces' names).
PARAMETER_FREE = frozenset({"none", "skip_connect", "avg_pool_3x3", "max_pool_3x3"})


def run_folder(folder: Path, algorithm: str, seed: int) -> Path:
    """The folder of one (algorithm, seed) run."""
    return folder / algorithm / f"seed{seed}"


def read_epochs(path: str | Path, *, repair: bool = True) -> list[dict[str, Any]]:
    """Read a one-shot history; drop (and by default truncate away) a partial or unreadable
    last line.

    Raises:
        UsageError: If a line other than the last is not the next epoch's record.
    """
    path = Path(path)

    def parse(line: bytes, n: int) -> dict[str, Any] | None:
        try:
            rec = json.loads(line.decode("utf-8"))
        except ValueError:
            return None
        if not isinstance(rec, dict) or "epoch" not in rec:
            return None
        if rec["epoch"] != n:  # all earlier lines are valid: this is line n + 1
            raise UsageError(f"{path}: line {n + 1} is epoch {rec['epoch']!r}'s record, "
                             f"expected epoch {n}'s; the file is corrupt, delete its run folder "
                             "to start that run again.")
        return rec

    def corrupt(number: int, line: bytes) -> UsageError:
        return UsageError(f"{path}: line {number} is not epoch {number - 1}'s record; the file "
                          "is corrupt, delete its run folder to start that run again.")

    return read_records(path, parse, corrupt, repair=repair)


class _History:
    """Appends epoch records as flushed lines of strict JSON."""

    def __init__(self, path: Path) -> None:
        self._fh = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()

    def append(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(strict_json(record), allow_nan=False) + "\n")
        self._fh.flush()

    def close(self) -> None:
        self._fh.close()


class Lookup:
    """The table value of derived NB201 cells, with their rank among the table's cells.

    Args:
        bench: The NB201 table.
        metric: The metric (default: the table's).
    """

    def __init__(self, bench: Any, metric: str | None) -> None:
        self.bench, self.metric = bench, metric or bench.metric
        values = np.asarray(bench.values(self.metric), dtype=float)
        self.sorted = np.sort(values[np.isfinite(values)])
        self.optimum = float(self.sorted[-1]) if len(self.sorted) else None

    def __call__(self, arch_string: str) -> dict[str, Any]:
        """``{"metric", "value", "rank", "cells"}``: rank 1 is the best cell; a cell without a
        finite value has value and rank ``None``."""
        value = float(self.bench.query(self.bench.space.from_string(arch_string), self.metric))
        ok = math.isfinite(value)
        rank = int(len(self.sorted) - np.searchsorted(self.sorted, value, side="right")) + 1
        return {"metric": self.metric, "value": value if ok else None,
                "rank": rank if ok else None, "cells": int(len(self.sorted))}


def parameter_free(arch: Any) -> tuple[int, int]:
    """``(parameter-free edges, edges)`` of a derived cell (NB201: 6 edges; DARTS: both cells)."""
    if hasattr(arch, "ops"):
        ops = list(arch.ops)
    else:
        ops = [op for cell in (arch.normal, arch.reduce) for node in cell for op, _ in node]
    return sum(op in PARAMETER_FREE for op in ops), len(ops)


def execute(config: dict[str, Any], bench: Any, folder: Path, *, resume: bool, quiet: bool,
            verbose: bool = False, stored: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run every (algorithm, seed) of ``config`` in ``folder``; write and print the summary.

    A run whose loss becomes NaN or infinite is a failed run (``"failed": true`` and its error
    in the summary, ``arch`` null); the other runs go on.

    Args:
        config: The checked configuration (:func:`search.oneshot_cli.make_oneshot_config`).
        bench: The NB201 table, or ``None`` on the DARTS space.
        folder: The output folder (locked by the caller).
        resume: Whether runs continue from their checkpoints (``--resume``).
        quiet: No progress bar.
        verbose: Also Lightning's progress bar over each epoch's batches.
        stored: The configuration as stored in ``config.json`` (for the summary).

    Returns:
        The summary (also written to ``summary.json``).

    Raises:
        UsageError: If a stored run cannot be resumed (corrupt history, a checkpoint of another
            search or missing while its history is not empty).
    """
    from tqdm.auto import tqdm

    lookup = Lookup(bench, config["metric"]) if bench is not None else None
    runs = [(a, s) for a in config["algorithms"] for s in config["seeds"]]
    done = sum(min(len(read_epochs(run_folder(folder, a, s) / HISTORY_NAME, repair=False)),
                   config["epochs"]) for a, s in runs)
    entries = []
    with tqdm(total=config["epochs"] * len(runs), initial=done, desc="one-shot search",
              unit="epoch", disable=quiet, file=sys.stderr, dynamic_ncols=True) as bar:
        for algo, seed in runs:
            bar.set_postfix_str(f"{algo} seed {seed}")
            entries.append(_run(config, folder, algo, seed, lookup, bar, verbose))
    summ = {"config": stored or config, "benchmark": None, "optimum": None, "runs": entries,
            "aggregate": _aggregate(entries)}
    if lookup is not None:
        summ["optimum"] = lookup.optimum
        summ["benchmark"] = describe_benchmark(bench, config, lookup.optimum)[0]
    write_atomic(folder / "summary.json",
                 json.dumps(strict_json(summ), indent=2, allow_nan=False) + "\n")
    if config["benchmark"] == "darts" and len(entries) == 1 and entries[0]["arch"]:
        write_atomic(folder / GENOTYPE_NAME, entries[0]["arch"] + "\n")
    print(format_summary(summ))
    print(f"\nOutputs in {folder}/ (summary.json, per-run history.jsonl and oneshot.pt)")
    return summ


def _run(config: dict[str, Any], folder: Path, algo: str, seed: int, lookup: Lookup | None,
         bar: Any, verbose: bool) -> dict[str, Any]:
    """One (algorithm, seed) search, resumed from its checkpoint when there is one."""
    from gnnpred.supernets import oneshot_search
    from gnnpred.training import TrainingFailed

    where = run_folder(folder, algo, seed)
    where.mkdir(parents=True, exist_ok=True)
    hist_path, ckpt = where / HISTORY_NAME, where / CHECKPOINT_NAME
    _sync(hist_path, ckpt, lookup)
    history = _History(hist_path)

    def on_epoch(record: dict[str, Any]) -> None:
        if lookup is not None:
            record = {**record, "table": lookup(record["derived"])}
        history.append(record)
        bar.update(1)
        shown = record.get("table", {}).get("value") or record["valid_acc"]
        bar.set_postfix_str(f"{algo} seed {seed}: {shown:.2f}")

    kw = config.get("params", {}).get(algo, {})
    entry: dict[str, Any] = {"algorithm": algo, "seed": seed}
    try:
        result = oneshot_search(
            config["benchmark"], algo, data_factory(config["data"], config["data_args"])(seed),
            epochs=config["epochs"], channels=config["channels"], cells=config["cells"],
            topology=config["topology"], seed=seed, device=config["device"], on_epoch=on_epoch,
            checkpoint=ckpt, progress=verbose, steps_per_epoch=config["steps_per_epoch"], **kw)
    except TrainingFailed as exc:
        return {**entry, "arch": None, "failed": True, "error": " ".join(str(exc).split())}
    except ValueError as exc:  # a checkpoint of another search
        raise UsageError(f"{algo} seed {seed}: {' '.join(str(exc).split())}") from None
    finally:
        history.close()
    free, edges = parameter_free(result.arch)
    last = result.history[-1]
    entry.update({
        "arch": result.arch_string, "consistent": result.consistent,
        "epochs": len(result.history), "train_acc": last["train_acc"],
        "valid_acc": last["valid_acc"], "seconds": sum(r["seconds"] for r in result.history),
        "parameter_free_edges": free, "edges": edges,
    })
    if lookup is not None:
        entry["table"] = lookup(result.arch_string)
    else:
        write_atomic(where / GENOTYPE_NAME, result.arch_string + "\n")
        entry["genotype_file"] = str((where / GENOTYPE_NAME).relative_to(folder))
        entry["params"] = int(result.supernet.space.param_counts([result.arch])[0])
    return entry


def _sync(hist_path: Path, ckpt: Path, lookup: Lookup | None) -> None:
    """Make the history end where the checkpoint does (a kill may fall between the two)."""
    records = read_epochs(hist_path)
    saved: list[dict[str, Any]] = []
    if ckpt.exists():
        import torch

        try:
            saved = list(torch.load(ckpt, map_location="cpu", weights_only=True)["history"])
        except Exception as exc:  # noqa: BLE001 - any unreadable file is reported the same way
            raise UsageError(f"{ckpt} is not a readable one-shot checkpoint ({exc}); delete its "
                             "run folder to start that run again.") from None
    elif records:
        raise UsageError(f"{ckpt} is missing while {hist_path} holds {len(records)} epochs; "
                         "delete the run folder to start that run again.")
    if len(records) > len(saved) or any(a["derived"] != b["derived"]
                                        for a, b in zip(records, saved, strict=False)):
        raise UsageError(f"{hist_path} and {ckpt} disagree ({len(records)} and {len(saved)} "
                         "epochs); delete the run folder to start that run again.")
    if len(saved) > len(records):
        history = _History(hist_path)
        for record in saved[len(records):]:
            history.append(record if lookup is None
                           else {**record, "table": lookup(record["derived"])})
        history.close()


def _aggregate(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per algorithm over seeds: table value (mean, std, best), parameter-free edges (mean)."""
    out: dict[str, dict[str, Any]] = {}
    for algo in dict.fromkeys(e["algorithm"] for e in entries):
        ok = [e for e in entries if e["algorithm"] == algo and e.get("arch")]
        agg: dict[str, Any] = {"n_runs": sum(e["algorithm"] == algo for e in entries),
                               "n_failed": sum(e["algorithm"] == algo and not e.get("arch")
                                               for e in entries)}
        if ok:
            agg["parameter_free_edges_mean"] = float(np.mean([e["parameter_free_edges"]
                                                              for e in ok]))
        values = [e["table"]["value"] for e in ok
                  if "table" in e and e["table"]["value"] is not None]
        if values:
            agg.update({"value_mean": float(np.mean(values)), "value_std": float(np.std(values)),
                        "value_best": float(np.max(values))})
        out[algo] = agg
    return out


def format_summary(summ: dict[str, Any]) -> str:
    """The summary as a text table, one row per run: the super-net's validation accuracy on the
    architecture steps' batches of the last epoch (``net val``), on NB201 the derived cell's
    table value and rank, its parameter-free edges, and the cell or the genotype file."""
    cfg = summ["config"]
    head = (f"one-shot search on {summ['benchmark'] or 'the DARTS space (no table)'}; "
            f"{cfg['epochs']} epoch(s), data {cfg['data']}")
    tables = any(e.get("table") for e in summ["runs"])
    metric = next((e["table"]["metric"] for e in summ["runs"] if e.get("table")), "")
    rows = [head, f"{'algorithm':<10} {'seed':>4} {'net val':>7} "
                  + (f"{metric:>13} {'rank':>11} " if tables else "")
                  + f"{'free':>5} " + ("derived cell" if tables else "genotype")]
    for e in summ["runs"]:
        if not e.get("arch"):
            rows.append(f"{e['algorithm']:<10} {e['seed']:>4} failed: {e.get('error')}")
            continue
        row = f"{e['algorithm']:<10} {e['seed']:>4} {e['valid_acc']:>7.2f} "
        t = e.get("table")
        if tables:
            value = f"{t['value']:.2f}" if t and t["value"] is not None else "-"
            rank = f"{t['rank']}/{t['cells']}" if t and t["rank"] is not None else "-"
            row += f"{value:>13} {rank:>11} "
        row += f"{e['parameter_free_edges']}/{e['edges']:<3} "
        rows.append(row + (e["arch"] if t else f"{e['genotype_file']} ({e['params'] / 1e6:.2f}"
                           " M params at to_network's default width)"))
    for algo, a in summ["aggregate"].items():
        if "value_mean" in a:
            rows.append(f"{algo}: mean {a['value_mean']:.2f} +- {a['value_std']:.2f} over "
                        f"{a['n_runs'] - a['n_failed']} runs (table optimum "
                        f"{summ['optimum']:.2f})")
    return "\n".join(rows)
