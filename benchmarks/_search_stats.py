"""Statistics and tables of ``benchmarks/search.py``: queries to a target quality, medians with
paired bootstrap intervals, and the per-benchmark headline.

A run is stored as plain numbers: its ``improvements`` are the ``[query, best value so far]``
pairs at which the best (search metric) rose, so the queries a run needed to reach any target
can be read back without re-running it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

TOL = 1e-9  # a value within TOL of the target reaches it (float noise of the tables)


def queries_to(run: dict, target: float) -> float:
    """Queries ``run`` spent until its best reached ``target`` (``inf`` if it never did)."""
    for q, v in run["improvements"]:
        if v >= target - TOL:
            return float(q)
    return math.inf


def median(xs: Sequence[float]) -> float:
    """Median of ``xs`` (``inf`` entries count, so a median may be ``inf``)."""
    return float(np.median(np.asarray(xs, dtype=float)))


def paired_bootstrap(
    a: dict[int, float], b: dict[int, float], n_boot: int = 2000, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap interval of ``median(a) / median(b)`` over the seeds both share.

    Seeds are resampled with replacement, the same seeds for both (paired: a seed that is hard
    for one is often hard for the other). Infinite entries stay infinite, so a bound may be
    ``inf`` or ``nan``.
    """
    seeds = sorted(set(a) & set(b))
    if not seeds:
        return float("nan"), float("nan")
    x = np.array([a[s] for s in seeds], dtype=float)
    y = np.array([b[s] for s in seeds], dtype=float)
    idx = np.random.default_rng(0).integers(len(seeds), size=(n_boot, len(seeds)))
    with np.errstate(invalid="ignore"):
        ratios = np.median(x[idx], axis=1) / np.median(y[idx], axis=1)
    tail = (1 - level) / 2
    # inverted_cdf picks observed ratios instead of interpolating, so infinite ones stay inf
    lo, hi = np.nanquantile(ratios, [tail, 1 - tail], method="inverted_cdf")
    return float(lo), float(hi)


def median_interval(xs: Sequence[float], n_boot: int = 2000, level: float = 0.95) -> tuple:
    """Percentile bootstrap interval of the median of ``xs``."""
    x = np.asarray(xs, dtype=float)
    idx = np.random.default_rng(0).integers(len(x), size=(n_boot, len(x)))
    tail = (1 - level) / 2
    lo, hi = np.quantile(np.median(x[idx], axis=1), [tail, 1 - tail], method="inverted_cdf")
    return float(lo), float(hi)


def headline(rows: list[dict], full_budget: int, heavy: str = "assessor") -> dict | None:
    """The queries ``heavy`` needs to reach evolution's final quality, relative to evolution.

    The target is the median over seeds of evolution's best value after ``full_budget`` queries
    (on a table whose optimum evolution reaches, the optimum). For every seed, each algorithm's
    queries to that target; the figure is ``median(heavy) / median(evolution)`` with a paired
    bootstrap interval. ``None`` when either algorithm has no runs.
    """
    evo = [r for r in rows if r["algorithm"] == "evolution"]
    other = [r for r in rows if r["algorithm"] == heavy]
    if not evo or not other:
        return None
    target = median([best_at(r, full_budget) for r in evo])
    qa = {r["seed"]: queries_to(r, target) for r in other}
    qe = {r["seed"]: queries_to(r, target) for r in evo}
    ma, me = median(list(qa.values())), median(list(qe.values()))
    if math.isfinite(me):  # a heavy median past its budget is an infinite ratio, a lower bound
        ratio = ma / me if math.isfinite(ma) else math.inf
    else:
        ratio = float("nan")
    lo, hi = paired_bootstrap(qa, qe)
    return {"target": target, "heavy": heavy, "queries": ma, "evolution": me, "ratio": ratio,
            "interval": (lo, hi)}


def best_at(run: dict, n: int) -> float:
    """Best value of ``run`` within its first ``n`` queries (a run stopped at the optimum keeps
    it; ``nan`` before the first success)."""
    best = math.nan
    for q, v in run["improvements"]:
        if q > n:
            break
        best = v
    return best


def report_at(run: dict, n: int) -> float:
    """The report metric of the best-by-search-metric cell within the first ``n`` queries."""
    best = math.nan
    for q, v in run.get("report_improvements") or ():
        if q > n:
            break
        best = v
    return best


def _fmt_q(q: float, cap: int) -> str:
    return f"{q:.1f}" if math.isfinite(q) else f">{cap}"


def print_table(title: str, rows: list[dict], budgets: dict[str, int],
                checkpoints: Sequence[int], report: str | None,
                heavy: Sequence[str] = ("assessor",)) -> None:
    """Print one benchmark's table: per algorithm the median queries to the optimum, the median
    best (and report metric) at each checkpoint, then the headline of each ``heavy`` algorithm
    against evolution."""
    opt = rows[0]["optimum"]
    n_seeds = len({r["seed"] for r in rows})
    print(f"\n{title}: optimum {opt:.4f}, {n_seeds} seeds")
    head = ["algorithm", "budget", "median q->opt", "reached",
            *[f"best @{n}" for n in checkpoints],
            *([f"{report} of best @{n}" for n in checkpoints] if report else []), "s/run"]
    lines = [head]
    for algo in dict.fromkeys(r["algorithm"] for r in rows):
        rs = [r for r in rows if r["algorithm"] == algo]
        qto = [r["queries_to_optimum"] or math.inf for r in rs]
        cells = [f"{median([best_at(r, n) for r in rs]):.4f}" for n in checkpoints]
        if report:
            cells += [f"{median([report_at(r, n) for r in rs]):.4f}" for n in checkpoints]
        lines.append([algo, str(budgets[algo]), _fmt_q(median(qto), budgets[algo]),
                      f"{sum(math.isfinite(q) for q in qto)}/{len(rs)}", *cells,
                      f"{np.mean([r['time'] for r in rs]):.1f}"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    for i, row in enumerate(lines):
        print("  ".join(c.rjust(w) if j else c.ljust(w)
                        for j, (c, w) in enumerate(zip(row, widths, strict=True))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    for h in heavy:
        hl = headline(rows, checkpoints[-1], h)
        if hl is None:
            continue
        lo, hi = hl["interval"]
        ratio = (f">{budgets[h] / hl['evolution']:.2f}" if math.isinf(hl["ratio"])
                 else f"{hl['ratio']:.2f}")
        print(f"headline: {h} reaches evolution's median best after {checkpoints[-1]} queries "
              f"({hl['target']:.4f}) in a median of {_fmt_q(hl['queries'], budgets[h])} queries, "
              f"evolution in {_fmt_q(hl['evolution'], budgets['evolution'])}: ratio "
              f"{ratio} (95% paired bootstrap over seeds {lo:.2f}-{hi:.2f}; "
              "goal <= 0.5)")
