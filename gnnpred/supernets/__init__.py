"""One-shot super-nets: EnTranNAS's Engine- and Transit-cells, with DARTS in the same code.

EnTranNAS: Yang, You, Li, Wang, Qian & Lin, "Towards Improving the Consistency, Efficiency, and
Flexibility of Differentiable Neural Architecture Search", CVPR 2021,
https://arxiv.org/abs/2101.11342. DARTS: Liu, Simonyan & Yang, "DARTS: Differentiable
Architecture Search", ICLR 2019, https://arxiv.org/abs/1806.09055 (first order).

- :mod:`~gnnpred.supernets.mixing`: softmax and sparse (exact-zero) architecture weights;
- :class:`SearchCell`: one cell DAG run as an Engine-cell (weighted candidates) or a Transit-cell
  (the derived cell only), with feature sharing;
- :class:`NB201SuperNet` and :class:`DARTSSuperNet`: the two spaces' super-nets;
- :func:`oneshot_search`: alternating weight / architecture steps with Lightning on any image
  data module of :mod:`gnnpred.training`, per-epoch records, checkpoint and resume.

Choices this package makes where the paper leaves room: a Transit-cell runs the operation
modules (the same parameters) of the Engine-cell of its type and width, and keeps its own where
there is none (:func:`~gnnpred.supernets.cells.share_transit_ops`). The Engine-cells are the
first cell of each NAS-Bench-201 stage and the first normal and first reduction cell of a DARTS
network (``engine_cells`` changes this). The sparse weights are the paper's EnTranNAS-DST
thresholds (:func:`node_threshold`) on NAS-Bench-201 and the DARTS space with topology search;
on the standard DARTS space, whose nodes keep exactly two inputs and which the paper derives
with the top-2 rule, they are a capped-simplex projection (sparsemax per edge, a sum of 2 per
node). The temperature dividing the parameters is annealed over the epochs.
"""

from gnnpred.supernets.base import ALGORITHMS, SuperNet
from gnnpred.supernets.cells import SearchCell
from gnnpred.supernets.darts import DARTSSuperNet
from gnnpred.supernets.mixing import capped_simplex, node_threshold, sparsemax
from gnnpred.supernets.module import OneShotModule
from gnnpred.supernets.nasbench201 import NB201SuperNet
from gnnpred.supernets.search import OneShotResult, build_supernet, oneshot_search

__all__ = [
    "ALGORITHMS",
    "DARTSSuperNet",
    "NB201SuperNet",
    "OneShotModule",
    "OneShotResult",
    "SearchCell",
    "SuperNet",
    "build_supernet",
    "capped_simplex",
    "node_threshold",
    "oneshot_search",
    "sparsemax",
]
