"""Search spaces: architectures as immutable values, and their graphs/networks."""

from gnnpred.spaces._batched import BatchedSpace, CellBatch
from gnnpred.spaces.base import (
    SearchSpace,
    available_spaces,
    get_space,
    register_space,
    resolve_name,
)
from gnnpred.spaces.darts import DARTSCell, DARTSSpace
from gnnpred.spaces.nasbench101 import NASBench101Cell, NASBench101Space
from gnnpred.spaces.nasbench201 import NASBench201Cell, NASBench201Space
from gnnpred.spaces.nasbench_graph import NASBenchGraphCell, NASBenchGraphSpace

__all__ = [
    "SearchSpace",
    "BatchedSpace",
    "CellBatch",
    "get_space",
    "register_space",
    "available_spaces",
    "resolve_name",
    "NASBench101Cell",
    "NASBench101Space",
    "NASBench201Cell",
    "NASBench201Space",
    "NASBenchGraphCell",
    "NASBenchGraphSpace",
    "DARTSCell",
    "DARTSSpace",
]
