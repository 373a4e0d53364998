"""EnTranNAS vs DARTS: peak memory and seconds per search step, and the NB201 cells they derive.

EnTranNAS (Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342) claims that its
Transit-cells, which run only the derived sub-graph, spare memory and time against DARTS (Liu,
Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055), whose cells all mix every
candidate operation; the goal set in issue 18 is EnTranNAS <= 0.6x DARTS's memory and <= 0.7x
its time per step. DARTS is also known to collapse to parameter-free cells on NAS-Bench-201.

Both parts use the same data (scikit-learn's digits, upscaled to ``--image-size``, as CIFAR-10
cannot be downloaded here), batch size and super-net width for both algorithms.

Part 1, cost. For each space (NB201 super-net with the benchmark's 5 cells per stage, DARTS's
8-cell search network) and algorithm, a fresh child process builds the super-net and runs
``--warmup`` + ``--steps`` search steps of
:class:`gnnpred.supernets.OneShotModule` (one step = an architecture step on a validation batch
and a weight step on a training batch, each a forward and backward pass). Reported:

- seconds per step: median over the steps after the warm-up;
- peak memory of the steps: on CUDA ``torch.cuda.max_memory_allocated`` minus the memory
  allocated before the first step (tensors only); on a CPU the growth of the child's resident
  set: its peak (``VmHWM``, reset through ``/proc/self/clear_refs`` before the first step) minus
  its size before the first step. This counts every allocation of the steps (activations kept
  for backward, gradients, optimiser state), including what the allocators keep cached, and is
  comparable between the algorithms, which run the same code in the same kind of process.

Part 2, derived cells. For seeds 0-2, each algorithm searches the NB201 cell on digits
(:func:`gnnpred.supernets.oneshot_search`, ``--epochs`` x ``--steps-per-epoch`` steps) with a
super-net of ``--search-cells`` cells per stage (an Engine- and a Transit-cell per stage by
default, so that the searches fit the run); the derived cell is looked up in the embedded
AnalogNAS-Bench table and in the official NB201 CSV (``--path``, or
``../shared/data/nb201_cifar10.csv`` when present), with its rank among the 15,625 cells, and
how many of its six edges are parameter-free (none, skip_connect, avg_pool).

Usage (from the repository root):
    .venv/bin/python benchmarks/oneshot.py            # full: C=8, 16x16, part 2 10 x 10 steps
    .venv/bin/python benchmarks/oneshot.py --quick    # tiny and short, Transit-cells kept
    .venv/bin/python benchmarks/oneshot.py --channels 16 --image-size 32 --epochs 50 \
        --steps-per-epoch 34                          # closer to a paper's search (hours)
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ALGORITHMS = ("entrannas", "darts")
SHARED_CSV = ROOT.parent / "shared" / "data" / "nb201_cifar10.csv"
SPACES = ("nasbench201", "darts")
#: Issue 18's goal, the paper's claim: EnTranNAS / DARTS at most these.
GOAL = {"memory": 0.6, "time": 0.7}


def _status(key: str) -> int:
    """A ``/proc/self/status`` entry in bytes (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def child(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the search steps of one (space, algorithm) in this process and measure them."""
    import torch

    from gnnpred._common import resolve_device
    from gnnpred.supernets import OneShotModule, build_supernet
    from gnnpred.supernets.module import run
    from gnnpred.training import DigitsDataModule

    device = resolve_device(spec["device"])
    cuda = device.type == "cuda"
    data = DigitsDataModule(batch_size=spec["batch_size"], image_size=spec["image_size"], seed=0)
    torch.manual_seed(0)
    net = build_supernet(spec["space"], spec["algorithm"], channels=spec["channels"],
                         cells=spec["cells"], **data.network_kwargs())
    times: list[float] = []
    memory: dict[str, Any] = {}

    class Timed(OneShotModule):
        def on_train_start(self) -> None:
            if cuda:
                torch.cuda.synchronize(device)
                torch.cuda.reset_peak_memory_stats(device)
                memory["base"] = torch.cuda.memory_allocated(device)
                return
            try:
                Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to VmRSS
                memory["reset"] = True
            except OSError:
                memory["reset"] = False
            memory["base"] = _status("VmRSS")

        def training_step(self, batch: Any, batch_idx: int) -> None:
            start = time.perf_counter()
            super().training_step(batch, batch_idx)
            if cuda:
                torch.cuda.synchronize(device)
            times.append(time.perf_counter() - start)

    module = Timed(net, data, epochs=1, seed=0)
    run(module, device, 1, False, spec["warmup"] + spec["steps"])
    peak = torch.cuda.max_memory_allocated(device) if cuda else _status("VmHWM")
    weights = sum(p.numel() for p in net.weight_parameters())
    return {**spec, "seconds_per_step": statistics.median(times[spec["warmup"]:]),
            "peak_memory_mib": (peak - memory["base"]) / 2**20,
            "measured": "cuda tensors" if cuda else
            ("rss growth" if memory["reset"] else "rss growth (peak since start)"),
            "weights": weights, "engine_cells": int(sum(net.engine)),
            "cells_total": len(net.engine)}


def measure(spec: dict[str, Any]) -> dict[str, Any]:
    """:func:`child` in a fresh process (so that peaks do not mix), its result."""
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)], cwd=ROOT,
                          capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{spec['space']} {spec['algorithm']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tables(path: str | None) -> dict[str, Any]:
    """Name -> :class:`search.oneshot.Lookup` of the NB201 tables to look derived cells up in:
    the embedded AnalogNAS-Bench table, and the official NB201 CSV (``path``, or the shared
    ``../shared/data/nb201_cifar10.csv`` when it is there)."""
    import datasets
    from search.oneshot import Lookup

    out = {"embedded": Lookup(datasets.load("nasbench201"), None)}
    csv = Path(path) if path is not None else SHARED_CSV
    if path is not None or csv.exists():
        out["NB201 CSV"] = Lookup(datasets.load("nasbench201", path=str(csv)), None)
    return out


def derived_cells(args: argparse.Namespace, seeds: list[int]) -> list[dict[str, Any]]:
    """Search the NB201 cell with each algorithm and seed; look the derived cell up."""
    from gnnpred.supernets import oneshot_search
    from gnnpred.training import DigitsDataModule
    from search.oneshot import parameter_free

    lookups = tables(args.path)
    rows = []
    for algo in ALGORITHMS:
        for seed in seeds:
            data = DigitsDataModule(batch_size=args.batch_size, image_size=args.image_size,
                                    seed=seed)
            res = oneshot_search("nasbench201", algo, data, epochs=args.epochs,
                                 channels=args.channels, cells=args.search_cells, seed=seed,
                                 device=args.device, steps_per_epoch=args.steps_per_epoch)
            free, edges = parameter_free(res.arch)
            rows.append({"algorithm": algo, "seed": seed, "arch": res.arch_string,
                         "tables": {name: {**lk(res.arch_string), "optimum": lk.optimum}
                                    for name, lk in lookups.items()},
                         "parameter_free": free, "edges": edges,
                         "consistent": res.consistent, "seconds": res.seconds})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny super-nets and searches (checks the script, not the claim)")
    p.add_argument("--channels", type=int, default=8,
                   help="super-net width of both parts (default 8)")
    p.add_argument("--nb201-cells", type=int, default=5,
                   help="part 1: NB201 cells per stage (default 5, the benchmark's)")
    p.add_argument("--darts-cells", type=int, default=8,
                   help="part 1: DARTS super-net cells (default 8, DARTS's search network)")
    p.add_argument("--batch-size", type=int, default=32, help="both parts (default 32)")
    p.add_argument("--image-size", type=int, default=16, help="both parts (default 16)")
    p.add_argument("--warmup", type=int, default=1, help="part 1: untimed steps (default 1)")
    p.add_argument("--steps", type=int, default=5, help="part 1: timed steps (default 5)")
    p.add_argument("--search-cells", type=int, default=2,
                   help="part 2: NB201 cells per stage of the searched super-net (default 2: "
                        "an Engine- and a Transit-cell per stage)")
    p.add_argument("--epochs", type=int, default=10, help="part 2: search epochs (default 10)")
    p.add_argument("--steps-per-epoch", type=int, default=10,
                   help="part 2: batches per epoch (default 10; digits' train split has 34 at "
                        "batch 32)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--path", default=None,
                   help="part 2: the official NB201 CSV, looked up besides the embedded table "
                        "(default: ../shared/data/nb201_cifar10.csv when present)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None, help="also write every number to this file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    sys.stdout.reconfigure(line_buffering=True)  # part 1 shows before part 2 runs
    if args.quick:  # smaller and shorter, with Transit-cells in both spaces as in a full run
        args.channels, args.nb201_cells, args.darts_cells, args.search_cells = 4, 2, 5, 2
        args.batch_size, args.image_size, args.warmup, args.steps = 16, 8, 1, 3
        args.epochs, args.steps_per_epoch = 1, 4
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        p.error(f"--seeds must be comma-separated ints, e.g. 0,1,2 (got {args.seeds!r})")
    if args.path is not None and not Path(args.path).is_file():
        p.error(f"--path {args.path} is not a file")  # part 2 needs it after part 1's minutes
    cost = []
    for space in SPACES:
        for algo in ALGORITHMS:
            cells = args.nb201_cells if space == "nasbench201" else args.darts_cells
            cost.append(measure({"space": space, "algorithm": algo, "channels": args.channels,
                                 "cells": cells, "batch_size": args.batch_size,
                                 "image_size": args.image_size, "warmup": args.warmup,
                                 "steps": args.steps, "device": args.device}))
    print(f"Cost per search step (architecture + weight step), digits {args.image_size}x"
          f"{args.image_size}, batch {args.batch_size}, width {args.channels}, median of "
          f"{args.steps} steps after {args.warmup}; memory: {cost[0]['measured']}")
    print(f"{'space':<12} {'algorithm':<10} {'cells':>5} {'engine':>6} {'s/step':>8} "
          f"{'peak MiB':>9} {'time x':>7} {'mem x':>6}")
    for r in cost:
        ref = next(c for c in cost if c["space"] == r["space"] and c["algorithm"] == "darts")
        t_x = r["seconds_per_step"] / ref["seconds_per_step"]
        m_x = r["peak_memory_mib"] / max(ref["peak_memory_mib"], 1e-9)
        print(f"{r['space']:<12} {r['algorithm']:<10} {r['cells_total']:>5} "
              f"{r['engine_cells']:>6} {r['seconds_per_step']:>8.3f} "
              f"{r['peak_memory_mib']:>9.1f} {t_x:>7.2f} {m_x:>6.2f}")
    print(f"(goal, the paper's claim: EnTranNAS <= {GOAL['memory']}x DARTS memory and <= "
          f"{GOAL['time']}x its time per step)\n")
    rows = derived_cells(args, seeds)
    names = list(rows[0]["tables"])
    print(f"Derived NB201 cells: {args.epochs} epoch(s) of {args.steps_per_epoch} steps on "
          f"digits {args.image_size}x{args.image_size}, batch {args.batch_size}, width "
          f"{args.channels}, {args.search_cells} cell(s) per stage; CIFAR-10 test accuracy and "
          "rank of the cell in each table (optimum: "
          + ", ".join(f"{n} {rows[0]['tables'][n]['optimum']:.2f}" for n in names) + ")")
    print(f"{'algorithm':<10} {'seed':>4} " + " ".join(f"{n:>22}" for n in names)
          + f" {'param-free':>10} {'consistent':>10}  cell")
    for r in rows:
        cols = []
        for n in names:
            t = r["tables"][n]
            acc = "-" if t["value"] is None else f"{t['value']:.2f}"
            rank = "-" if t["rank"] is None else f"{t['rank']}/{t['cells']}"
            cols.append(f"{acc + ' (' + rank + ')':>22}")
        print(f"{r['algorithm']:<10} {r['seed']:>4} " + " ".join(cols)
              + f" {r['parameter_free']:>7}/{r['edges']} {str(r['consistent']):>10}  {r['arch']}")
    for algo in ALGORITHMS:
        free = [r["parameter_free"] for r in rows if r["algorithm"] == algo]
        means = []
        for n in names:
            vals = [r["tables"][n]["value"] for r in rows
                    if r["algorithm"] == algo and r["tables"][n]["value"] is not None]
            if vals:
                means.append(f"{n} {statistics.mean(vals):.2f}")
        print(f"{algo}: accuracy mean over {len(free)} seeds: {', '.join(means) or '-'}; "
              f"parameter-free edges mean {statistics.mean(free):.1f} of 6")
    if args.json:
        Path(args.json).write_text(json.dumps({"cost": cost, "cells": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
