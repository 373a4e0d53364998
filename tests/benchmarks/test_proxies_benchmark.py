"""benchmarks/proxies.py --neighbours: how often a proxy's favourite neighbour improves on a
cell."""

import re

import numpy as np
import pytest

from tests.benchmarks.conftest import load_script


@pytest.fixture()
def proxies_script(nb201_csv):
    return load_script("proxies")


def test_neighbour_picks_count_improving_favourites(proxies_script, nb201_csv, capsys):
    from gnnpred.spaces import get_space

    space = get_space("nasbench201")
    strings, acc = proxies_script.read_table(nb201_csv)
    archs = [space.from_string(t) for t in strings]
    counts = space.param_counts(archs).astype(float)
    band, n, seed = (93.5, 94.2), 12, 3
    # "minus" prefers the smallest network, the opposite of "params": both are counted on their own
    proxies_script.neighbour_picks(
        space, strings, acc, {"params": counts, "minus": -counts}, n, band, seed
    )
    out = capsys.readouterr().out
    shown = {m[0]: float(m[1]) for m in re.findall(r"^\s+(\w+)\s+([\d.]+)%", out, flags=re.M)}

    # the same figures, counted independently: rows are keyed by string, neighbours
    # deduplicated by hash
    row = {t: i for i, t in enumerate(strings)}
    inside = np.flatnonzero((acc >= band[0]) & (acc < band[1]))
    pick = np.random.default_rng(seed).choice(inside, n, replace=False)
    hits = {"params": [], "minus": [], "random": []}
    for i in pick:
        rows = {}
        for nb in space.neighbours(archs[i]):
            j = row[space.to_string(nb)]
            if space.hash(archs[j]) != space.hash(archs[i]):
                rows.setdefault(space.hash(archs[j]), j)
        js = np.array(list(rows.values()))
        hits["params"].append(acc[js[np.argmax(counts[js])]] > acc[i])
        hits["minus"].append(acc[js[np.argmax(-counts[js])]] > acc[i])
        hits["random"].append(np.mean(acc[js] > acc[i]))
    for name, h in hits.items():
        assert shown[name] == pytest.approx(100 * np.mean(h), abs=0.05)
    assert shown["params"] > shown["minus"]  # on the plateau, larger neighbours improve more often
