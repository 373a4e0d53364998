"""Summaries of finished searches: per-run entries, aggregates, a text table and a plot."""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from search.engine import SearchResult
from search.folder import write_atomic


def aggregate(results: Sequence[SearchResult]) -> dict[str, dict[str, Any]]:
    """Per-algorithm aggregates over seeds.

    Queries to the optimum count runs that never reached it as infinite, so the median is
    ``None`` when fewer than half of the runs reached it. Runs without a successful query have
    no best value and are left out of the best-value statistics (``None`` when no run has one).

    Args:
        results: Finished runs (any mix of algorithms and seeds).

    Returns:
        ``{algorithm: {"n_runs", "n_failed", "best_value_median", "best_value_mean",
        "best_value_std", "queries_to_best_median", "queries_to_optimum_median",
        "reached_optimum", "time_mean"}}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r.algorithm for r in results):
        runs = [r for r in results if r.algorithm == name and r.n_queries]
        if not runs:
            continue
        ok = [r for r in runs if r.best_index is not None]
        best = np.array([r.best_value for r in ok], dtype=float)
        qto = np.array([r.queries_to_optimum or math.inf for r in runs], dtype=float)
        med_qto = float(np.median(qto))
        out[name] = {
            "n_runs": len(runs),
            "n_failed": int(sum(r.n_failed for r in runs)),
            "best_value_median": float(np.median(best)) if ok else None,
            "best_value_mean": float(np.mean(best)) if ok else None,
            "best_value_std": float(np.std(best)) if ok else None,
            "queries_to_best_median": (float(np.median([r.queries_to_best for r in ok]))
                                       if ok else None),
            "queries_to_optimum_median": med_qto if math.isfinite(med_qto) else None,
            "reached_optimum": (int(np.sum(np.isfinite(qto)))
                                if runs[0].optimum is not None else None),
            "time_mean": float(np.mean([r.times[-1] for r in runs])),
        }
    return out


def summary(results: Sequence[SearchResult], space: Any, config: dict[str, Any],
            **fields: Any) -> dict[str, Any]:
    """The content of ``summary.json``: ``{"config", "runs", "aggregate"}`` and ``fields``
    (e.g. ``benchmark=`` its description, ``optimum=``)."""
    return {
        "config": dict(config),
        **fields,
        "runs": [r.summary(space) for r in results],
        "aggregate": aggregate(results),
    }


def strict_json(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by ``None``, so that it is strict JSON
    (``json.dumps(..., allow_nan=False)`` accepts it; other tools reject NaN literals)."""
    if isinstance(obj, dict):
        return {k: strict_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict_json(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_summary(summ: dict[str, Any], path: str | Path) -> Path:
    """Write a :func:`summary` to ``path`` as strict JSON, atomically."""
    text = json.dumps(strict_json(summ), indent=2, allow_nan=False) + "\n"
    return write_atomic(path, text)


def write_runs_csv(results: Sequence[SearchResult], space: Any, path: str | Path) -> Path:
    """Write every query of ``results`` to a CSV, atomically, one row per query.

    Columns: ``algorithm, seed, index, arch, value, time, failed``, then one per report metric.
    A failed query has an empty ``value``.
    """
    extra = list(dict.fromkeys(m for r in results for m in r.extra))
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(["algorithm", "seed", "index", "arch", "value", "time", "failed", *extra])
    for r in results:
        for i, arch in enumerate(r.archs):
            row = [r.algorithm, r.seed, i, space.to_string(arch), _cell(r.values[i]),
                   f"{r.times[i]:.4f}", int(not math.isfinite(r.values[i]))]
            out.writerow(row + [_cell(r.extra[m][i]) if m in r.extra else "" for m in extra])
    return write_atomic(path, buf.getvalue())


def _cell(x: float) -> str:
    return repr(float(x)) if math.isfinite(x) else ""


def format_table(summ: dict[str, Any], *, optimum: float | None = None,
                 benchmark: str | None = None) -> str:
    """A plain-text table of a :func:`summary`: one row per run, then one per algorithm.

    Args:
        summ: The output of :func:`summary`.
        optimum: The benchmark's optimum, shown in the title when known.
        benchmark: What the benchmark is, shown in the title when given.

    Returns:
        The table (no trailing newline).
    """
    runs = summ["runs"]
    extra = [k for k in (runs[0] if runs else {})
             if k.startswith("best_") and k not in ("best_arch", "best_value")]
    head = ("algorithm", "seed", "best value", *(k.replace("_", " ", 1) for k in extra),
            "to best", "to optimum", "failed", "time (s)", "best cell")
    rows = [head]
    for r in runs:
        rows.append((r["algorithm"], str(r["seed"]), _num(r["best_value"]),
                     *(_num(r[k]) for k in extra), _int(r["queries_to_best"]),
                     _int(r["queries_to_optimum"]), str(r.get("n_failed", 0)),
                     f"{r['time']:.1f}", "-" if r["best_arch"] is None else str(r["best_arch"])))
    lines = _render(rows)
    agg = summ["aggregate"]
    if agg and any(a["n_runs"] > 1 for a in agg.values()):
        rows = [("algorithm", "runs", "median best", "mean ± std", "median to best",
                 "median to optimum", "reached")]
        for name, a in agg.items():
            reached = ("-" if a["reached_optimum"] is None
                       else f"{a['reached_optimum']}/{a['n_runs']}")
            rows.append((name, str(a["n_runs"]), _num(a["best_value_median"]),
                         f"{_num(a['best_value_mean'])} ± {_num(a['best_value_std'])}",
                         _num(a["queries_to_best_median"]), _num(a["queries_to_optimum_median"]),
                         reached))
        lines += [""] + _render(rows)
    title = "Search summary" + (f" (benchmark optimum {_num(optimum)})" if optimum is not None
                                else "")
    if benchmark:
        title += f"\nBenchmark: {benchmark}"
    return "\n".join([title, ""] + lines)


def _num(x: float | None) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.4f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.4g}"


def _int(x: int | None) -> str:
    return "-" if x is None else str(x)


def _render(rows: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    out.insert(1, "  ".join("-" * w for w in widths))
    return out


def best_curves(results: Sequence[SearchResult], n: int) -> np.ndarray:
    """Best value so far after 1..n queries, one row per run, ``[runs, n]``.

    Runs stopped early (e.g. at the optimum) carry their last best value forward.
    """
    out = np.full((len(results), n), np.nan)
    for i, r in enumerate(results):
        if r.n_queries:
            curve = r.best_curve()[:n]
            out[i, : len(curve)] = curve
            out[i, len(curve):] = curve[-1]
    return out


def plot(results: Sequence[SearchResult], path: str | Path, *, metric: str = "value",
         optimum: float | None = None, title: str | None = None) -> Path:
    """Plot the best value vs queries: median and interquartile band over seeds, per algorithm.

    Failed queries do not move a curve; a run is drawn from its first successful query on, and
    runs without one are left out (an all-failed search gives an empty plot, not an error).
    The file is written atomically.

    Args:
        results: Finished runs.
        path: The PNG file to write.
        metric: The y-axis label.
        optimum: Drawn as a dashed line when given.
        title: Plot title.

    Returns:
        The written path.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    lows, highs = [], []
    for name in dict.fromkeys(r.algorithm for r in results):
        runs = [r for r in results if r.algorithm == name and r.best_index is not None]
        if not runs:
            continue
        n = max(r.n_queries for r in runs)
        curves = best_curves(runs, n)
        x = np.arange(1, n + 1)
        with warnings.catch_warnings():  # columns where no run has succeeded yet are NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            med = np.nanmedian(curves, axis=0)
            lo, hi = np.nanpercentile(curves, [25, 75], axis=0)
            early = curves[:, max(1, n // 20) - 1]  # zoom past the first 5%
            low = np.nanpercentile(early, 25) if np.isfinite(early).any() else np.nanmin(curves)
        lows.append(float(low))
        highs.append(float(np.nanmax(curves)))
        line, = ax.plot(x, med, label=f"{name} ({len(runs)} seed{'' if len(runs) == 1 else 's'})")
        if len(runs) > 1:
            ax.fill_between(x, lo, hi, color=line.get_color(), alpha=0.2, linewidth=0)
    if optimum is not None:
        ax.axhline(optimum, color="k", linestyle="--", linewidth=0.8, label="optimum")
    if lows:
        top = max(highs + ([optimum] if optimum is not None else []))
        margin = 0.05 * (top - min(lows)) or 1e-3
        ax.set_ylim(min(lows) - margin, top + margin)
    ax.set_xlabel("benchmark queries")
    ax.set_ylabel(f"best {metric} so far")
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120)
    plt.close(fig)
    return write_atomic(path, buf.getvalue())
