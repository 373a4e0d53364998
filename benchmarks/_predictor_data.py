"""Spaces of benchmarks/predictor.py: each benchmark table, the unlabelled pool the assessor and
label propagation see, and the cached zero-cost proxy scores of the table's cells.

Pools are transductive, as in semi-supervised NAS: they hold every cell of the table (the cells
predicted) and, for NB101, more cells drawn from the 423,624-cell enumeration
(``nb101_pool`` cells in all; the enumeration is cached by ``gnnpred.spaces``).

Zero-cost scores (the data-free proxies synflow, params and flops, network initialisation seed
0) are computed once per table and cached in the user cache dir
(``platformdirs.user_cache_dir("gnnpred")``, the place ``benchmarks/proxies.py`` writes NB201's),
chunk by chunk, so an interrupted computation resumes where it stopped.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

#: ``key -> (description, datasets.load arguments)``.
SPACES: dict[str, tuple[str, dict]] = {
    "nb201": ("NB201 CIFAR-10 test accuracy (shared CSV)",
              {"name": "nasbench201", "path": SHARED / "nb201_cifar10.csv"}),
    "nb201-embedded": ("NB201 CIFAR-10 (embedded AnalogNAS-Bench table)",
                       {"name": "nasbench201"}),
    "nb101": ("NB101 valid_accuracy_108 (20k sample CSV)",
              {"name": "nasbench101", "path": SHARED / "nb101_sample20k.csv"}),
    **{f"nbg-{d}": (f"NAS-Bench-Graph {d} valid_perf",
                    {"name": "nasbench-graph", "dataset": d, "metric": "valid_perf"})
       for d in ("cora", "citeseer", "pubmed", "arxiv")},
}
#: Default size of the NB101 unlabelled pool (the table's cells plus cells of the enumeration).
NB101_POOL = 50_000
ZC_NAMES = ("synflow", "params", "flops")


@dataclass
class Table:
    """One space of the sweep: cells, labels, the assessor's pool and the proxy cache."""

    key: str
    description: str
    space: object
    archs: list
    values: np.ndarray
    pool: list
    zc_cache: Path
    network_kwargs: dict | None = None
    _zc: np.ndarray | None = field(default=None, repr=False)
    _graf: np.ndarray | None = field(default=None, repr=False)

    def graf(self) -> np.ndarray:
        """GRAF features ``[len(archs), f]`` of the table's cells (computed once)."""
        if self._graf is None:
            from gnnpred.proxies.graf import graf_features

            self._graf = graf_features(self.space, self.archs)
        return self._graf

    def zero_cost(self, n_jobs: int = 1) -> np.ndarray:
        """``[len(archs), 3]`` log-scaled data-free proxy scores of the table (cached)."""
        if self._zc is None:
            from gnnpred.proxies.features import signed_log1p

            raw = score_table(self, n_jobs)
            self._zc = signed_log1p(raw)
        return self._zc


def load_table(key: str, nb101_pool: int = NB101_POOL, seed: int = 0) -> Table:
    """The :class:`Table` of ``key`` (raises what ``datasets.load`` raises when data is missing).

    ``nb101_pool`` is the NB101 pool size (table cells included; at least the table's size, at
    most the 423,624 cells of the space):
    larger pools give the autoencoder and the similarity graph more of the space, at a cost
    linear in the pool for embedding and quadratic for the kNN graph.
    """
    import datasets

    description, spec = SPACES[key]
    spec = dict(spec)
    bench = datasets.load(spec.pop("name"), **spec)
    space, archs, values = bench.space, bench.archs(), np.asarray(bench.values(), dtype=float)
    pool, kwargs = list(archs), None
    if space.name == "nasbench101":
        pool = _nb101_pool(space, archs, nb101_pool, seed)
        description += f"; pool {len(pool)} cells"
    if space.name == "nasbench-graph":
        from gnnpred.networks.nasbench_graph import DATASET_SETTINGS

        in_channels, num_classes, hidden, num_post = DATASET_SETTINGS[spec["dataset"]]
        kwargs = {"in_channels": in_channels, "num_classes": num_classes, "hidden": hidden,
                  "num_post": num_post}
    return Table(key, description, space, archs, values, pool, zc_cache_path(key), kwargs)


def _nb101_pool(space, archs: list, size: int, seed: int) -> list:
    """The table's cells plus distinct cells of the enumeration, ``size`` cells in all."""
    have = {space.hash(a) for a in archs}
    extra = max(0, size - len(archs))
    rng = np.random.default_rng(seed)
    draw = min(len(space), extra + len(archs))  # the table's cells may be drawn again
    drawn = [c for c in space.sample_unique(draw, rng) if space.hash(c) not in have]
    return [*archs, *drawn[:extra]]


def zc_cache_path(key: str) -> Path:
    """The proxy score cache of a table (NB201's is the one ``benchmarks/proxies.py`` writes)."""
    from platformdirs import user_cache_dir

    folder = Path(user_cache_dir("gnnpred"))
    if key.startswith("nb201"):  # the scores depend on the cells, not on the table's labels
        return folder / "nb201_cifar10_proxies_seed0.npz"
    return folder / f"predictor_{key}_proxies_seed0.npz"


def zc_cached(table: Table) -> bool:
    """Whether ``table.zc_cache`` holds the proxy scores of every cell of the table."""
    from gnnpred.proxies.features import load_scores

    if not table.zc_cache.exists():
        return False
    keys = set(load_scores(table.zc_cache)["keys"])
    return all(str(table.space.hash(a)) in keys for a in table.archs)


def score_table(table: Table, n_jobs: int = 1, chunk: int = 500) -> np.ndarray:
    """Raw data-free proxy scores ``[len(archs), 3]`` of every cell of the table, computing and
    caching (after each chunk) the ones missing from ``table.zc_cache``."""
    from tqdm.auto import tqdm

    from gnnpred.proxies import score
    from gnnpred.proxies.features import load_scores, save_scores

    space = table.space
    keys = [str(space.hash(a)) for a in table.archs]
    done: dict[str, np.ndarray] = {}
    if table.zc_cache.exists():
        stored = load_scores(table.zc_cache)
        if stored["space"] != space.name or list(stored["names"]) != list(ZC_NAMES):
            raise SystemExit(f"{table.zc_cache} holds other scores ({stored['space']}, "
                             f"{stored['names']}); move it away.")
        done = dict(zip(stored["keys"], stored["scores"], strict=True))
    todo = list({k: a for k, a in zip(keys, table.archs, strict=True) if k not in done}.items())
    if todo:
        print(f"[{table.key}] zero-cost proxies: {len(done)} cells cached in {table.zc_cache}, "
              f"{len(todo)} to score ({n_jobs} process(es))", flush=True)
        t0 = time.perf_counter()
        with tqdm(total=len(todo), desc=f"{table.key} zero-cost proxies") as bar:
            for lo in range(0, len(todo), chunk):
                part = todo[lo:lo + chunk]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # synflow 0: a valid score
                    res = score(space, [a for _, a in part], ZC_NAMES, device="cpu",
                                network_kwargs=table.network_kwargs, n_jobs=n_jobs,
                                verbose=False)
                for j, (k, _) in enumerate(part):
                    done[k] = np.array([res[n][j] for n in ZC_NAMES])
                save_scores(table.zc_cache, space.name, ZC_NAMES, list(done),
                            np.array(list(done.values())), 0)
                bar.update(len(part))
        print(f"[{table.key}] scored {len(todo)} cells in {time.perf_counter() - t0:.0f} s",
              flush=True)
    return np.array([done[k] for k in keys])
