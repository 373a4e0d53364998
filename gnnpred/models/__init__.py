"""Model families of the assessor: graph autoencoder, kNN GCN, fine-tuned encoder regressor."""

from gnnpred.models.autoencoder import AutoencoderTask, GINEncoder, GraphAutoencoder
from gnnpred.models.dense import DenseGraphs, DirectedGINLayer, to_dense
from gnnpred.models.gcn import KNNGCN, GCNTask, MeanAdjacency, ReceptivePlan
from gnnpred.models.losses import pairwise_ranking_loss, rank_regression_loss
from gnnpred.models.regressor import GraphRegressor, RegressorTask

__all__ = [
    "GINEncoder", "GraphAutoencoder", "AutoencoderTask", "DenseGraphs", "DirectedGINLayer",
    "to_dense",
    "KNNGCN", "GCNTask", "MeanAdjacency", "ReceptivePlan", "GraphRegressor", "RegressorTask",
    "pairwise_ranking_loss", "rank_regression_loss",
]
