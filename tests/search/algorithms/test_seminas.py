"""SemiNAS search through its public methods: valid, new proposals on NB201 and NB101, gradient
ascent that raises the prediction, the decoder's likelihood, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from search.algorithms import SemiNASSearch, get_algorithm
from search.domain import Domain
from tests.search.cli_helpers import history
from tests.search.conftest import FAST_SEMINAS, drive


def _algo(**extra) -> SemiNASSearch:
    return SemiNASSearch(**{**FAST_SEMINAS, **extra})


def _check_new_and_valid(domain, proposed, busy):
    """Every proposed cell is a valid table cell whose key is neither busy nor repeated."""
    keys = [domain.key(a) for a in proposed]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & busy
    for a in proposed:
        domain.space.validate(a)
        assert a in domain


def test_proposals_are_valid_and_never_evaluated_or_pending(embedded_bench, embedded_domain):
    algo = _algo()
    drive(algo, embedded_bench, FAST_SEMINAS["n_init"], seed=3, domain=embedded_domain)
    observed = {embedded_domain.key(a) for a in algo.archs}
    rng = np.random.default_rng(0)
    pending = embedded_domain.dedupe_list([embedded_domain.sample(rng) for _ in range(40)],
                                          observed)[:30]
    for _ in range(4):  # each batch spans rounds; observe it and keep some cells pending
        batch = algo.propose(5, pending=pending)
        _check_new_and_valid(embedded_domain, batch,
                             observed | {embedded_domain.key(a) for a in pending})
        for cell in batch[:3]:
            algo.observe(cell, embedded_bench.query(cell))
            observed.add(embedded_domain.key(cell))
        pending = pending[2:] + batch[3:]
    assert algo.round >= 3 and algo.n_decoded_ > 0


def test_decoded_cells_come_from_the_ascent(embedded_bench, embedded_domain):
    # with one start point and one step, decoding gives at most one cell a round: the rest of
    # the round is the mutation fallback, and the proposals stay valid and new
    algo = _algo(top_k=1, ascent_steps=1, per_round=3)
    archs, _ = drive(algo, embedded_bench, FAST_SEMINAS["n_init"] + 9, seed=4,
                     domain=embedded_domain)
    _check_new_and_valid(embedded_domain, archs, set())
    assert algo.n_decoded_ == algo.round and algo.n_mutated_ == 2 * algo.round == 6


@pytest.fixture(scope="module")
def searched(embedded_bench, embedded_domain):
    """A search after its initial design and two rounds."""
    algo = _algo()
    drive(algo, embedded_bench, FAST_SEMINAS["n_init"] + 6, seed=5, domain=embedded_domain)
    return algo


def test_gradient_steps_raise_the_predicted_score(searched):
    from gnnpred.models.seminas import ascend

    algo = searched
    model, z = algo.predictor_, algo.embedding_
    rows = torch.as_tensor(np.random.default_rng(1).choice(len(z), 50, replace=False))
    with torch.no_grad():
        before = model(z[rows])
        small = model(ascend(model, z[rows], step_size=0.01, steps=1)[0])
        path = ascend(model, z[rows], step_size=algo.step_size, steps=algo.ascent_steps)
        along = torch.stack([model(p) for p in path])  # [steps, 50]
    assert bool((small > before).all())
    assert float(along[-1].mean()) > float(before.mean())
    # the step is normalised: every step moves each point by step_size
    dist = torch.cat([z[rows][None], path]).diff(dim=0).norm(dim=-1)
    assert torch.allclose(dist, torch.full_like(dist, algo.step_size), atol=1e-4)


def test_decoder_likelihood_matches_the_reconstruction_loss(searched):
    from gnnpred.assessor import training as T
    from gnnpred.models.seminas import DecoderTargets

    algo = searched
    space, ae = algo.space, algo.autoencoder_
    cells = [space.canonical(c) for c in algo.cells_[:7]]
    graphs = T.dense_graphs(space, cells, ae.max_nodes)
    z = torch.randn(4, algo.embedding_.shape[1])
    ll = DecoderTargets(graphs).log_likelihood(ae, z)  # [4, 7]
    with torch.no_grad():
        op_logits, adj_logits = ae.decode(z)
    x, adj, mask = graphs.tensors()
    for b in range(4):
        for i in range(7):
            target = torch.where(mask[i], x[i].argmax(-1), torch.full_like(mask[i], ae.num_ops,
                                                                            dtype=torch.long))
            ops = F.cross_entropy(op_logits[b], target, reduction="sum")
            pair = (mask[i][:, None] & mask[i][None, :]).float()
            bce = F.binary_cross_entropy_with_logits(adj_logits[b], adj[i], reduction="none")
            assert float(ll[b, i]) == pytest.approx(-float(ops + (bce * pair).sum()), rel=1e-4)


def test_nb101_proposals_are_valid_table_cells(nb101_sample20k, tmp_path):
    import datasets

    # the first 2,000 rows of the real 20k sample: a table that covers a small part of its space
    lines = nb101_sample20k.read_text(encoding="utf-8").splitlines()[:2001]
    path = tmp_path / "nb101_2k.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bench = datasets.load("nasbench101", path=path, metric="valid_accuracy_108")
    domain = Domain(bench)
    algo = _algo(pool_size=1000, n_pseudo=100)
    archs, values = drive(algo, bench, FAST_SEMINAS["n_init"] + 9, seed=0, domain=domain)
    _check_new_and_valid(domain, archs, set())
    assert algo.round >= 3 and algo.n_decoded_ > 0 and np.isfinite(values).all()


@pytest.mark.parametrize(("name", "value"), [
    ("step_size", 0.0), ("step_size", -1.0), ("upsample", 0), ("top_k", 0), ("pool_size", 1),
    ("ascent_steps", 1.5), ("n_pseudo", -1),
])
def test_bad_hyper_parameters_are_named(name, value):
    with pytest.raises(ValueError, match=f"'{name}' parameter of SemiNASSearch.*{value!r}"):
        get_algorithm("seminas", **{name: value})


def test_cli_search_is_reproducible(tmp_path, capsys):
    from search.run import main

    params = json.dumps({"seminas": FAST_SEMINAS})
    runs = []
    for out in ("a", "b"):
        code = main(["--algorithm", "seminas", "--budget", "15", "--seeds", "0", "--device",
                     "auto", "--params", params, "--out", str(tmp_path / out), "--quiet"])
        assert code == 0, capsys.readouterr().err
        runs.append([(r["arch"], r["value"]) for r in history(tmp_path / out, "seminas", 0)])
    assert len(runs[0]) == 15 and runs[0] == runs[1]
    assert len({a for a, _ in runs[0]}) == 15
