"""GNNs from PyG convolutions: models, training steps (full / mini-batch), inference."""

from plexus.gnn.inference import predict
from plexus.gnn.models import GNN, KINDS, make_gnn
from plexus.gnn.train import full_batch_step, mini_batch_epoch, mini_batch_step

__all__ = ["GNN", "KINDS", "full_batch_step", "make_gnn", "mini_batch_epoch",
           "mini_batch_step", "predict"]
