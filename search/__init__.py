"""Search on NAS benchmark tables: algorithms, the resumable search loop, reports and the CLI.

Example::

    import datasets, search
    bench = datasets.load("nasbench201")
    result = search.run_search("evolution", bench, budget=100, seed=0)
    print(result.best_value, result.queries_to_optimum)
"""

from search.algorithms import ALGORITHMS, SearchAlgorithm, get_algorithm
from search.domain import Domain
from search.engine import SearchResult, run_search
from search.history import HistoryWriter, Record, read_history

__all__ = [
    "ALGORITHMS", "SearchAlgorithm", "get_algorithm", "Domain", "SearchResult", "run_search",
    "HistoryWriter", "Record", "read_history",
]
