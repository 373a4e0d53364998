"""Training helpers of :class:`gnnpred.Assessor`: Lightning runs, dense graph conversion and
batched inference."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import lightning as L
import torch
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from gnnpred._lightning import CtrlC, interruptible, quiet_lightning
from gnnpred.models.autoencoder import AutoencoderTask, GraphAutoencoder
from gnnpred.models.dense import DenseGraphs, fused_inference, to_dense
from gnnpred.models.gcn import KNNGCN, GCNTask
from gnnpred.models.regressor import GraphRegressor, RegressorTask

_CHUNK = 8192
#: Cells per regressor forward at inference: small blocks of padded graphs stay in cache.
_INFER_CHUNK = 512


@contextlib.contextmanager
def torch_threads(n: int | None):
    """Temporarily use ``n`` intra-op threads (``None``: leave torch's setting).

    The assessor's tensors are small: extra threads buy little and, on a busy machine, their
    spin-waiting makes training much slower. The previous setting is restored on exit.
    """
    old = torch.get_num_threads()
    if n is not None and n != old:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != old:
            torch.set_num_threads(old)


def run_lightning(task: L.LightningModule, loader, device: torch.device, verbose: bool,
                  max_epochs: int = -1, max_steps: int = -1) -> None:
    """Fit ``task`` on ``loader`` with a quiet, checkpoint-free Lightning trainer.

    Raises:
        KeyboardInterrupt: If training is interrupted (Ctrl-C, taken at the next batch
            boundary), instead of Lightning's exit.
    """
    with quiet_lightning(verbose):
        trainer = L.Trainer(
            accelerator="gpu" if device.type == "cuda" else "cpu",
            devices=[device.index or 0] if device.type == "cuda" else 1,
            max_epochs=max_epochs, max_steps=max_steps, logger=False, enable_checkpointing=False,
            enable_progress_bar=verbose, enable_model_summary=False, num_sanity_val_steps=0,
            barebones=not verbose, callbacks=[CtrlC()],
            **({"log_every_n_steps": 1} if verbose else {}),
        )
        with interruptible(trainer):
            trainer.fit(task, train_dataloaders=loader)
    if device.type != "cpu":
        task.to("cpu")  # fitted attributes live on CPU; inference moves what it needs


def dense_graphs(space, archs: Sequence, max_nodes: int) -> DenseGraphs:
    """Padded dense tensors of ``archs`` (converted in chunks through ``space.to_batch``)."""
    parts = [to_dense(space.to_batch(archs[i : i + _CHUNK]), max_nodes)
             for i in range(0, len(archs), _CHUNK)]
    return DenseGraphs.cat(parts)


def max_nodes_of(space, archs: Sequence) -> int:
    """Largest node count among ``archs`` (through ``to_batch`` on chunks)."""
    best = 0
    for i in range(0, len(archs), _CHUNK):
        b = space.to_batch(archs[i : i + _CHUNK])
        best = max(best, int(b.ptr.diff().max()) if b.num_graphs else 0)
    return best


def batch_loader(tensors: Sequence[torch.Tensor], batch_size: int,
                 gen: torch.Generator) -> DataLoader:
    """Shuffled mini-batches of whole tensor slices (no per-item collation)."""
    ds = TensorDataset(*tensors)
    sampler = BatchSampler(RandomSampler(ds, generator=gen), batch_size=batch_size, drop_last=False)
    return DataLoader(ds, sampler=sampler, batch_size=None)


def pretrain_autoencoder(model: GraphAutoencoder, graphs: DenseGraphs, *, steps: int,
                         batch_size: int, lr: float, gen: torch.Generator, device: torch.device,
                         verbose: bool) -> dict:
    """Pretrain ``model`` on ``graphs`` for ``steps`` optimiser steps; return the last metrics."""
    task = AutoencoderTask(model, lr=lr)
    loader = batch_loader(graphs.tensors(), min(batch_size, len(graphs)), gen)
    run_lightning(task, loader, device, verbose, max_steps=steps)
    model.eval()
    return task.last_metrics


@torch.no_grad()
def embed(model: GraphAutoencoder, graphs: DenseGraphs, device: torch.device,
          chunk: int = _CHUNK) -> torch.Tensor:
    """Embeddings ``[n, d]`` (CPU) of padded graphs, in chunks on ``device``."""
    model.eval().to(device)
    out = [model.embed(*graphs[i : i + chunk].to(device).tensors()).cpu()
           for i in range(0, len(graphs), chunk)]
    model.to("cpu")
    return torch.cat(out) if out else torch.empty(0, model.encoder.out_channels)


def train_gcn(model: KNNGCN, x: torch.Tensor, nbr: torch.Tensor, idx: torch.Tensor,
              y: torch.Tensor, w: torch.Tensor | None, *, epochs: int, lr: float,
              rank_weight: float, device: torch.device, verbose: bool) -> None:
    """Full-batch training of one GCN head."""
    task = GCNTask(model, x, nbr, idx, y, w, lr=lr, rank_weight=rank_weight)
    loader = DataLoader([0], batch_size=None)
    run_lightning(task, loader, device, verbose, max_epochs=epochs)
    model.eval()


@torch.no_grad()
def gcn_pool_forward(model: KNNGCN, x: torch.Tensor, nbr: torch.Tensor, device: torch.device):
    """Transductive scores ``[n]`` and per-layer states of the pool (CPU)."""
    model.eval().to(device)
    out, states = model(x.to(device), nbr.to(device), return_states=True)
    model.to("cpu")
    return out.cpu(), [s.cpu() for s in states]


def train_regressor(model: GraphRegressor, graphs: DenseGraphs, extra: torch.Tensor,
                    y: torch.Tensor, w: torch.Tensor, *, steps: int, batch_size: int, lr: float,
                    rank_weight: float, gen: torch.Generator, device: torch.device,
                    verbose: bool) -> None:
    """Fine-tune one encoder+head regressor on (pseudo-)labelled cells for ``steps`` steps."""
    task = RegressorTask(model, lr=lr, rank_weight=rank_weight)
    loader = batch_loader((*graphs.tensors(), extra, y, w), min(batch_size, len(y)), gen)
    run_lightning(task, loader, device, verbose, max_steps=steps)
    model.eval()


@torch.no_grad()
def regressor_forward(model: GraphRegressor, graphs: DenseGraphs, extra: torch.Tensor,
                      device: torch.device, chunk: int = _INFER_CHUNK) -> torch.Tensor:
    """Scores ``[n]`` (CPU) of padded graphs, in chunks on ``device``."""
    model.eval().to(device)
    out = []
    with fused_inference():
        for i in range(0, len(graphs), chunk):
            e = extra[i : i + chunk].to(device)
            g = graphs[i : i + chunk].to(device)
            out.append(model(*g.tensors(), e if e.shape[-1] else None).cpu())
    model.to("cpu")
    return torch.cat(out) if out else torch.empty(0)
