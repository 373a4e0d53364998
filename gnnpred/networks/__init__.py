"""Real, untrained PyTorch networks of each search space's cells (for proxies and training).

Each class takes the space's cell value and builds the network on the benchmark's own macro
skeleton: :class:`NB201Network` (NAS-Bench-201), :class:`NB101Network` (NAS-Bench-101) and
:class:`GraphNetwork` (NAS-Bench-Graph, PyTorch Geometric layers) and
:class:`DARTSNetwork` (the DARTS evaluation network).
"""

from gnnpred.networks.darts import DARTSNetwork
from gnnpred.networks.nasbench101 import NB101Network
from gnnpred.networks.nasbench201 import NB201Network
from gnnpred.networks.nasbench_graph import GraphNetwork

__all__ = ["NB101Network", "NB201Network", "GraphNetwork", "DARTSNetwork"]
