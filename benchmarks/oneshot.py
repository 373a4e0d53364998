"""EnTranNAS vs DARTS: peak memory and seconds per search step, and the NB201 cells they derive.

EnTranNAS (Yang, You et al., CVPR 2021, https://arxiv.org/abs/2101.11342) claims that its
Transit-cells, which run only the derived sub-graph, spare memory and time against DARTS (Liu,
Simonyan & Yang, ICLR 2019, https://arxiv.org/abs/1806.09055), whose cells all mix every
candidate operation; the goal set in issue 18 is EnTranNAS <= 0.6x DARTS's memory and <= 0.7x
its time per step. DARTS is also known to collapse to parameter-free cells on NAS-Bench-201.

Part 1, cost. For each space (NB201 and DARTS super-nets) and algorithm, a fresh child process
builds the super-net of the same width on the same data (scikit-learn's digits at 32x32, as
CIFAR-10 cannot be downloaded here) and runs ``--warmup`` + ``--steps`` search steps of
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
(:func:`gnnpred.supernets.oneshot_search`); the derived cell is looked up in the NB201 table (the
embedded AnalogNAS-Bench table, or ``--path`` to the official CSV) with its rank among the
15,625 cells and how many of its six edges are parameter-free (none, skip_connect, avg_pool).

Usage (from the repository root):
    .venv/bin/python benchmarks/oneshot.py                 # full: C=16, NB201 N=5, DARTS 8 cells
    .venv/bin/python benchmarks/oneshot.py --quick         # tiny, Transit-cells kept
    .venv/bin/python benchmarks/oneshot.py --path ../shared/data/nb201_cifar10.csv --epochs 50
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


def derived_cells(args: argparse.Namespace, seeds: list[int]) -> list[dict[str, Any]]:
    """Search the NB201 cell with each algorithm and seed; look the derived cell up."""
    import datasets
    from gnnpred.supernets import oneshot_search
    from gnnpred.training import DigitsDataModule
    from search.oneshot import Lookup, parameter_free

    bench = datasets.load("nasbench201", path=args.path)
    lookup = Lookup(bench, None)
    rows = []
    for algo in ALGORITHMS:
        for seed in seeds:
            data = DigitsDataModule(batch_size=args.batch_size, image_size=args.image_size,
                                    seed=seed)
            res = oneshot_search("nasbench201", algo, data, epochs=args.epochs,
                                 channels=args.channels, cells=args.nb201_cells, seed=seed,
                                 device=args.device, steps_per_epoch=args.steps_per_epoch)
            free, edges = parameter_free(res.arch)
            rows.append({"algorithm": algo, "seed": seed, "arch": res.arch_string,
                         **lookup(res.arch_string), "parameter_free": free, "edges": edges,
                         "consistent": res.consistent, "seconds": res.seconds,
                         "optimum": lookup.optimum})
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="tiny super-nets and searches (checks the script, not the claim)")
    p.add_argument("--channels", type=int, default=16, help="super-net width (default 16)")
    p.add_argument("--nb201-cells", type=int, default=5, help="NB201 cells per stage (5)")
    p.add_argument("--darts-cells", type=int, default=8, help="DARTS super-net cells (8)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--warmup", type=int, default=3, help="untimed steps (default 3)")
    p.add_argument("--steps", type=int, default=20, help="timed steps (default 20)")
    p.add_argument("--epochs", type=int, default=25, help="NB201 search epochs (default 25)")
    p.add_argument("--steps-per-epoch", type=int, default=None,
                   help="NB201 search batches per epoch (default: all of digits' train split)")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--path", default=None, help="NB201 table (default: the embedded one)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", default=None, help="also write every number to this file")
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.quick:  # smaller and shorter, with Transit-cells in both spaces as in a full run
        args.channels, args.nb201_cells, args.darts_cells = 4, 2, 5
        args.batch_size, args.image_size, args.warmup, args.steps = 16, 16, 1, 3
        args.epochs, args.steps_per_epoch = 1, 4
    seeds = [int(s) for s in args.seeds.split(",")]
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
    table = "embedded AnalogNAS-Bench NB201 table" if args.path is None else args.path
    print(f"Derived NB201 cells: {args.epochs} epoch(s) on digits, width {args.channels}, "
          f"{args.nb201_cells} cell(s) per stage; accuracy from the {table} "
          f"(optimum {rows[0]['optimum']:.2f})")
    print(f"{'algorithm':<10} {'seed':>4} {'accuracy':>8} {'rank':>11} {'param-free':>10}  cell")
    for r in rows:
        acc = "-" if r["value"] is None else f"{r['value']:.2f}"
        rank = "-" if r["rank"] is None else f"{r['rank']}/{r['cells']}"
        print(f"{r['algorithm']:<10} {r['seed']:>4} {acc:>8} {rank:>11} "
              f"{r['parameter_free']:>7}/{r['edges']}  {r['arch']}")
    for algo in ALGORITHMS:
        vals = [r["value"] for r in rows if r["algorithm"] == algo and r["value"] is not None]
        free = [r["parameter_free"] for r in rows if r["algorithm"] == algo]
        if vals:
            print(f"{algo}: accuracy mean {statistics.mean(vals):.2f} over {len(vals)} seeds; "
                  f"parameter-free edges mean {statistics.mean(free):.1f} of 6")
    if args.json:
        Path(args.json).write_text(json.dumps({"cost": cost, "cells": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
