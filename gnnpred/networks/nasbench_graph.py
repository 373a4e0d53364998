"""The NAS-Bench-Graph network: a four-node GNN DAG for node classification.

Reference: Qin et al., "NAS-Bench-Graph: Benchmarking Graph Neural Architecture Search",
NeurIPS 2022 Datasets and Benchmarks, https://arxiv.org/abs/2206.09166 (Section 3.1).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch_geometric.nn import ARMAConv, ChebConv, GATConv, GCNConv, GINConv, GraphConv, SAGEConv

from gnnpred._common import check_positive_int

__all__ = ["GraphNetwork", "GRAPH_OPS", "DATASET_SETTINGS"]

#: Operation names of NAS-Bench-Graph.
GRAPH_OPS: tuple[str, ...] = ("gat", "gcn", "gin", "cheb", "sage", "arma", "graph", "fc", "skip")

#: ``(in_channels, num_classes, hidden, num_post)`` of the benchmark's networks per dataset: the
#: datasets' feature and class counts with the width and post-processing depth the benchmark
#: trained. Only datasets whose stored ``para`` counts these settings reproduce exactly are
#: listed (CS, Physics, Computers and Proteins could not be matched; build those directly).
DATASET_SETTINGS: dict[str, tuple[int, int, int, int]] = {
    "cora": (1433, 7, 256, 1),
    "citeseer": (3703, 6, 256, 1),
    "pubmed": (500, 3, 128, 0),
    "photo": (745, 8, 128, 0),
    "arxiv": (128, 40, 128, 1),
}


class _Linear(nn.Module):
    """``fc``: a node-wise linear layer that ignores the graph."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.lin = nn.Linear(c_in, c_out)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return self.lin(x)


class _Skip(nn.Module):
    """``skip``: the identity."""

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        return x


def _make_op(name: str, c_in: int, c_out: int, normalize: bool) -> nn.Module:
    if name == "gat":  # 4 heads of c_out // 4 channels, concatenated
        return GATConv(c_in, c_out // 4, heads=4, concat=True, add_self_loops=normalize)
    if name == "gcn":
        return GCNConv(c_in, c_out, add_self_loops=True, normalize=normalize)
    if name == "gin":
        return GINConv(nn.Linear(c_in, c_out))
    if name == "cheb":
        return ChebConv(c_in, c_out, K=2)
    if name == "sage":
        return SAGEConv(c_in, c_out)
    if name == "arma":
        return ARMAConv(c_in, c_out)
    if name == "graph":  # k-GNN
        return GraphConv(c_in, c_out)
    if name == "fc":
        return _Linear(c_in, c_out)
    if name == "skip":
        return _Skip()
    raise ValueError(f"Unknown NAS-Bench-Graph operation {name!r}; expected one of {GRAPH_OPS}.")


class GraphNetwork(nn.Module):
    """A NAS-Bench-Graph network for one cell.

    Node ``i`` (1..4) applies ``ops[i-1]`` to node ``link[i-1]`` (0 is the input features).
    Inputs of a GNN layer that are not raw features (nor a chain of ``skip`` from them) first
    pass through BatchNorm -> ReLU -> dropout. Leaf nodes (no successor) are concatenated,
    passed through ReLU and a linear layer, then ``num_post`` linear post-processing layers
    (ELU between them) give the logits. With :meth:`for_dataset` the sizes are the benchmark's.
    Paper: https://arxiv.org/abs/2206.09166

    Args:
        arch: A ``NASBenchGraphCell`` value (``link`` and ``ops`` attributes, four each) or a
            ``(link, ops)`` pair.
        in_channels: Node feature dimension.
        num_classes: Output classes.
        hidden: Width of every GNN layer (the benchmark used 64, 128 or 256 per dataset).
        num_post: Linear layers after the cell (0 or 1 in the benchmark).
        dropout: Dropout probability on the input and before each GNN layer.
        normalize: GCN normalisation / GAT self-loops (the benchmark turned them off only for
            ogbn-proteins).

    Raises:
        ValueError: If the cell or a size is invalid.
    """

    def __init__(
        self,
        arch: Any,
        in_channels: int,
        num_classes: int,
        *,
        hidden: int = 256,
        num_post: int = 1,
        dropout: float = 0.5,
        normalize: bool = True,
    ) -> None:
        super().__init__()
        link, ops = (arch.link, arch.ops) if hasattr(arch, "link") else arch
        link, ops = tuple(int(v) for v in link), tuple(ops)
        if len(link) != 4 or len(ops) != 4 or any(not 0 <= v <= i for i, v in enumerate(link)) \
                or any(op not in GRAPH_OPS for op in ops):
            raise ValueError(
                f"A NAS-Bench-Graph cell needs 4 links (link[i] in 0..i) and 4 ops from "
                f"{GRAPH_OPS}. Got link={link!r}, ops={ops!r}."
            )
        for name, value in (
            ("in_channels", in_channels),
            ("num_classes", num_classes),
            ("hidden", hidden),
        ):
            check_positive_int(name, value)
        if "gat" in ops and hidden % 4:
            raise ValueError(f"hidden must be a multiple of 4 for 'gat' (4 heads). Got {hidden}.")
        if not isinstance(num_post, int) or num_post < 0:
            raise ValueError(f"num_post must be a non-negative int. Got {num_post!r} instead.")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1). Got {dropout!r} instead.")
        self.link, self.ops = link, ops
        self.in_channels, self.num_classes = in_channels, num_classes
        # raw[i]: node i holds raw input features (the input, or skips of it).
        raw = [True] + [False] * 4
        dims = [in_channels] + [0] * 4
        for i, (src, op) in enumerate(zip(link, ops, strict=True), start=1):
            raw[i] = raw[src] and op == "skip"
            dims[i] = dims[src] if op == "skip" else hidden
        self._raw = tuple(raw)
        self.leaves = tuple(i for i in range(5) if i not in link)
        self.convs = nn.ModuleList(
            _make_op(op, dims[src], hidden, normalize) for src, op in zip(link, ops, strict=True)
        )
        # One BN per node as in the benchmark (used only on non-raw inputs).
        self.norms = nn.ModuleList(nn.BatchNorm1d(hidden) for _ in ops)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        out_dim = hidden if num_post else num_classes
        self.cell_out = nn.Linear(sum(dims[i] for i in self.leaves), out_dim)
        self.post = nn.ModuleList(
            nn.Linear(hidden, num_classes if k == num_post - 1 else hidden) for k in range(num_post)
        )
        self.post_act = nn.ELU()

    @classmethod
    def for_dataset(cls, arch: Any, dataset: str, **kwargs: Any) -> GraphNetwork:
        """The network with the benchmark's sizes for one of its nine datasets.

        Args:
            arch: The cell (see the class docstring).
            dataset: One of :data:`DATASET_SETTINGS` (``"cora"``, ``"citeseer"``, ...).
            **kwargs: Overrides of the constructor's keyword arguments.

        Returns:
            The network.

        Raises:
            ValueError: If the dataset is unknown.
        """
        key = str(dataset).lower()
        if key not in DATASET_SETTINGS:
            raise ValueError(
                f"Unknown NAS-Bench-Graph dataset {dataset!r}. "
                f"Available: {sorted(DATASET_SETTINGS)}."
            )
        in_channels, num_classes, hidden, num_post = DATASET_SETTINGS[key]
        params: dict[str, Any] = {"hidden": hidden, "num_post": num_post}
        params.update(kwargs)
        return cls(arch, in_channels, num_classes, **params)

    def forward(self, x: Tensor, edge_index: Tensor) -> Tensor:
        """Logits ``[num_nodes, num_classes]`` of node features ``x`` ``[num_nodes, in_channels]``
        on the graph ``edge_index`` ``[2, num_edges]``."""
        nodes = [self.drop(x)]
        for src, conv, norm in zip(self.link, self.convs, self.norms, strict=True):
            h = nodes[src]
            if not self._raw[src]:
                h = self.drop(self.act(norm(h)))
            nodes.append(conv(h, edge_index))
        h = torch.cat([nodes[i] for i in self.leaves], dim=1)
        h = self.cell_out(self.act(h))
        for k, lin in enumerate(self.post):
            h = lin(h)
            if k < len(self.post) - 1:
                h = self.post_act(h)
        return h

    def reset_parameters(self) -> None:
        """Re-initialise every layer."""
        for m in self.modules():
            if m is not self and hasattr(m, "reset_parameters"):
                m.reset_parameters()

    def example_inputs(
        self, batch_size: int = 1, generator: torch.Generator | None = None, num_nodes: int = 64
    ) -> tuple[Tensor, Tensor]:
        """A random graph for proxies: standard-normal features ``[num_nodes, in_channels]`` and
        an undirected ring plus random chords (``2 * num_nodes`` undirected edges).

        ``batch_size`` is accepted for interface compatibility; the graph is the batch.
        """
        x = torch.randn(num_nodes, self.in_channels, generator=generator)
        ring = torch.arange(num_nodes)
        src = torch.cat([ring, torch.randint(0, num_nodes, (num_nodes,), generator=generator)])
        dst = torch.cat(
            [(ring + 1) % num_nodes, torch.randint(0, num_nodes, (num_nodes,), generator=generator)]
        )
        edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
        return x, edge_index

    def extra_repr(self) -> str:
        return f"link={self.link}, ops={self.ops}, num_classes={self.num_classes}"
