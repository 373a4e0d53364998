"""Search spaces: architectures as immutable values, and their graphs/networks."""

from gnnpred.spaces.base import SearchSpace, available_spaces, get_space, register_space
from gnnpred.spaces.nasbench101 import NASBench101Space, NB101Cell
from gnnpred.spaces.nasbench201 import NASBench201Space, NB201Cell
from gnnpred.spaces.nasbench_graph import GraphCell, NASBenchGraphSpace

__all__ = [
    "SearchSpace", "get_space", "register_space", "available_spaces",
    "NB101Cell", "NASBench101Space", "NB201Cell", "NASBench201Space",
    "GraphCell", "NASBenchGraphSpace",
]
