"""A Planetoid-format graph on disk (Cora, CiteSeer, PubMed ...) for the NAS-Bench-Graph GNNs.

The Planetoid format (Yang et al., ICML 2016, https://arxiv.org/abs/1603.08861; the files of
Kipf & Welling's GCN) is eight files ``ind.<name>.<part>`` in one folder:

- ``x`` / ``allx`` / ``tx``: feature matrices (SciPy sparse) of the labelled training nodes, of
  every non-test node, and of the test nodes;
- ``y`` / ``ally`` / ``ty``: their one-hot labels (NumPy arrays);
- ``graph``: a dict ``node -> list of neighbours``;
- ``test.index``: the test nodes' ids, one per line.

PyTorch Geometric's reader unpickles these files without restriction; here they are read with an
unpickler that rebuilds only NumPy arrays, CSR/CSC matrices (as a local stand-in) and the
neighbour dict, so a tampered folder cannot run code. The graph is then assembled exactly as
:func:`torch_geometric.io.read_planetoid_data` does (the public split: the ``y`` nodes train, the
next 500 validate, ``test.index`` tests), nothing is downloaded. NAS-Bench-Graph (Qin et al.,
NeurIPS 2022, https://arxiv.org/abs/2206.09166) trained its GNNs on these splits.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import scipy.sparse as sp
import torch
from torch.utils.data import DataLoader
from torch_geometric.data import Data
from torch_geometric.io.planetoid import edge_index_from_dict

from gnnpred._pickle import load_arrays

__all__ = ["PlanetoidFolderDataModule", "read_planetoid"]

_PARTS = ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index")
_NUM_VAL = 500  # the public split's validation nodes


class _Sparse:
    """Stand-in for a pickled SciPy CSR/CSC matrix: keeps its state, rebuilds it on demand."""

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state

    def toarray(self, label: str) -> np.ndarray:
        s = getattr(self, "state", {})
        shape = s.get("_shape", s.get("shape"))
        fmt = s.get("format", "csr")
        if fmt not in ("csr", "csc") or shape is None or not all(
                isinstance(s.get(k), np.ndarray) for k in ("data", "indices", "indptr")):
            raise ValueError(f"{label} holds a sparse matrix in an unsupported form ({fmt}); "
                             f"expected a SciPy CSR or CSC matrix.")
        cls = sp.csr_matrix if fmt == "csr" else sp.csc_matrix
        return cls((s["data"], s["indices"], s["indptr"]), shape=tuple(shape)).toarray()


def _reconstructor(cls: Any, base: Any, state: Any = None) -> _Sparse:
    # copyreg._reconstructor, as protocols 0 and 1 rebuild objects.
    if cls is not _Sparse:
        raise ValueError(f"refusing to rebuild {cls!r}")
    return _Sparse()


def _defaultdict(factory: Any = None) -> dict:
    return {}  # the neighbour lists follow as plain items


_SPARSE = {(m, c): _Sparse for m in ("scipy.sparse.csr", "scipy.sparse._csr",
                                     "scipy.sparse.csc", "scipy.sparse._csc")
           for c in ("csr_matrix", "csc_matrix", "csr_array", "csc_array")}
_EXTRA = {
    **_SPARSE,
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("collections", "defaultdict"): _defaultdict,
    ("__builtin__", "list"): list,
    ("builtins", "list"): list,
}


def _matrix(path: Path) -> torch.Tensor:
    value = load_arrays(path, _EXTRA)
    if isinstance(value, _Sparse):
        value = value.toarray(str(path))
    if not isinstance(value, np.ndarray) or value.ndim != 2:
        raise ValueError(f"{path} is not a Planetoid matrix: got {type(value).__name__}.")
    return torch.from_numpy(np.asarray(value, dtype=np.float32))


def _paths(folder: Path, name: str) -> dict[str, Path]:
    prefix = name.lower()
    paths = {part: folder / f"ind.{prefix}.{part}" for part in _PARTS}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise FileNotFoundError(
            f"{folder} is not a Planetoid folder for {name!r}: missing {', '.join(missing)}. "
            f"Expected ind.{prefix}.{{{','.join(_PARTS)}}} (the files of "
            f"https://github.com/kimiyoung/planetoid or of PyG's Planetoid 'raw' folder)."
        )
    return paths


def read_planetoid(folder: str | PathLike, name: str) -> Data:
    """Read the Planetoid files ``ind.<name>.*`` of ``folder`` into one graph.

    Args:
        folder: The folder holding the eight files.
        name: The dataset prefix (``"cora"``, ``"citeseer"``, ``"pubmed"`` ...), lower-cased
            (NELL, whose features PyG rebuilds from relations, is not supported).

    Returns:
        ``Data(x, edge_index, y, train_mask, val_mask, test_mask)``, as PyTorch Geometric's
        ``Planetoid`` gives it before transforms.

    Raises:
        FileNotFoundError: If a file is missing (names them all).
        ValueError: If a file is corrupt, not trusted, or the parts do not fit together.
    """
    folder = Path(folder)
    paths = _paths(folder, str(name))
    x, tx, allx, y, ty, ally = (_matrix(paths[p]) for p in ("x", "tx", "allx", "y", "ty", "ally"))
    graph = load_arrays(paths["graph"], _EXTRA)
    if not isinstance(graph, dict):
        raise ValueError(f"{paths['graph']} is not a Planetoid graph: got {type(graph).__name__}.")
    test_index = torch.as_tensor(np.loadtxt(paths["test.index"], dtype=np.int64, ndmin=1))
    sorted_test = test_index.sort()[0]
    span = int(test_index.max() - test_index.min()) + 1
    if span > len(tx):  # isolated test nodes (CiteSeer): zero rows fill the gaps
        tx_ext, ty_ext = torch.zeros(span, tx.size(1)), torch.zeros(span, ty.size(1))
        tx_ext[sorted_test - test_index.min()] = tx
        ty_ext[sorted_test - test_index.min()] = ty
        tx, ty = tx_ext, ty_ext
    features = torch.cat([allx, tx])
    labels = torch.cat([ally, ty]).argmax(dim=1)
    n = len(labels)
    if int(test_index.max()) >= n or len(y) + _NUM_VAL > len(allx) or x.size(0) != len(y):
        raise ValueError(
            f"The Planetoid files of {name!r} in {folder} do not fit together: {len(y)} labelled "
            f"training nodes + {_NUM_VAL} validation nodes must fit in allx ({len(allx)} rows) "
            f"and test ids ({int(test_index.min())}..{int(test_index.max())}) in {n} nodes."
        )
    features[test_index] = features[sorted_test]
    labels[test_index] = labels[sorted_test]
    masks = {}
    for split, index in (("train", torch.arange(len(y))),
                         ("val", torch.arange(len(y), len(y) + _NUM_VAL)), ("test", test_index)):
        masks[f"{split}_mask"] = torch.zeros(n, dtype=torch.bool).index_fill_(0, index, True)
    edge_index = edge_index_from_dict({int(k): [int(v) for v in vs] for k, vs in graph.items()},
                                      num_nodes=n)
    return Data(x=features, edge_index=edge_index, y=labels, **masks)


def _only(batch: list[Data]) -> Data:
    return batch[0]


class PlanetoidFolderDataModule(L.LightningDataModule):
    """One Planetoid graph from a folder, for full-batch node classification.

    Every loader yields the whole graph; the module picks the nodes of its split through
    ``train_mask`` / ``val_mask`` / ``test_mask``.

    Args:
        root: The folder with the ``ind.<name>.*`` files, or a folder holding them in
            ``<name>/raw`` (the layout of PyTorch Geometric's ``Planetoid(root, name)``).
        name: The dataset prefix (``"cora"``, ``"citeseer"``, ``"pubmed"`` ...).
        normalize_features: Scale each node's features to sum to one (as GCN and PyG's
            ``NormalizeFeatures`` do).

    Raises:
        FileNotFoundError: If the files are missing (on construction, naming them).
    """

    def __init__(self, root: str | PathLike, name: str, *,
                 normalize_features: bool = True) -> None:
        super().__init__()
        root, self.name = Path(root).expanduser(), str(name)
        nested = root / self.name / "raw"
        flat = (root / f"ind.{self.name.lower()}.x").is_file()
        self.folder = nested if nested.is_dir() and not flat else root
        self.normalize_features = bool(normalize_features)
        _paths(self.folder, self.name)  # fail now, naming the missing files
        self.data: Data | None = None

    def setup(self, stage: str | None = None) -> None:
        """Read the graph (once).

        Raises:
            ValueError: If a file is corrupt or not trusted.
        """
        if self.data is not None:
            return
        data = read_planetoid(self.folder, self.name)
        if self.normalize_features:
            data.x = data.x / data.x.sum(dim=1, keepdim=True).clamp(min=1e-12)
        self.data = data

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        self.setup()
        return int(self.data.y.max()) + 1

    @property
    def in_channels(self) -> int:
        """Node feature dimension."""
        self.setup()
        return int(self.data.x.size(1))

    def network_kwargs(self) -> dict[str, int]:
        """``in_channels`` and ``num_classes`` for ``space.to_network(cell, **kwargs)``."""
        return {"in_channels": self.in_channels, "num_classes": self.num_classes}

    def _loader(self) -> DataLoader:
        self.setup()
        return DataLoader([self.data], batch_size=1, collate_fn=_only)

    def train_dataloader(self) -> DataLoader:
        """The graph, once per epoch."""
        return self._loader()

    def val_dataloader(self) -> DataLoader:
        """The graph (validation nodes by ``val_mask``)."""
        return self._loader()

    def test_dataloader(self) -> DataLoader:
        """The graph (test nodes by ``test_mask``)."""
        return self._loader()
