"""GAE/VGAE epoch time: Plexus vs the same model written the usual PyG way, side by side.

The peer is Kipf's model and loss written with stock PyG pieces: two `GCNConv` layers
(no bias, cached normalisation) inside `torch_geometric.nn.VGAE`, and the weighted
full-adjacency BCE as `F.binary_cross_entropy_with_logits` on the dense N x N logits.
Plexus uses a fixed CSR operator for A_hat and sparse features, and the blockwise
symmetric loss with a hand-written gradient (`plexus.methods.gae.algorithm`). Same data, split,
initial weights' shapes, optimiser and thread count. Prints a markdown table.

    python benchmarks/gae_speed.py [--threads 1] [--epochs 30]
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GCNConv, VGAE

from plexus.datasets import load_dataset
from plexus.graph.splits import split_edges
from plexus.methods.gae import algorithm as gae


class PygEncoder(nn.Module):
    def __init__(self, in_dim: int):
        super().__init__()
        self.conv1 = GCNConv(in_dim, 32, bias=False, cached=True)
        self.conv_mu = GCNConv(32, 16, bias=False, cached=True)
        self.conv_logstd = GCNConv(32, 16, bias=False, cached=True)

    def forward(self, x, edge_index):
        h = F.relu(self.conv1(x, edge_index))
        return self.conv_mu(h, edge_index), self.conv_logstd(h, edge_index)


def pyg_step_fn(data, split):
    n = data.num_nodes
    ei = split.train_edge_index()
    model = VGAE(PygEncoder(data.x.size(1)))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    labels = torch.zeros(n, n)
    labels[ei[0], ei[1]] = 1
    labels.fill_diagonal_(1)
    num_pos = float(labels.sum())
    pos_weight = torch.tensor((n * n - num_pos) / num_pos)
    norm = n * n / (2 * (n * n - num_pos))

    def step():
        opt.zero_grad()
        z = model.encode(data.x, ei)
        loss = norm * F.binary_cross_entropy_with_logits(z @ z.t(), labels, pos_weight=pos_weight)
        loss = loss + model.kl_loss() / n
        loss.backward()
        opt.step()

    return step


def plexus_step_fn(data, split):
    x = gae.as_sparse_if_sparse(data.x.float())
    adj = gae.normalized_adjacency(split.train_edge_index(), data.num_nodes)
    model = VGAE(gae.GCNEncoder(x.shape[1], 32, 16, True, 0.0))
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    target = gae.DenseTarget.from_split(split)

    def step():
        opt.zero_grad()
        z = model.encode(x, adj)
        loss = gae.dense_recon_loss(z, target) + model.kl_loss() / data.num_nodes
        loss.backward()
        opt.step()

    return step


def time_epochs(step, epochs: int, repeats: int = 3) -> float:
    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(epochs):
            step()
        best = min(best, (time.perf_counter() - t0) / epochs)
    return best * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=torch.get_num_threads())
    ap.add_argument("--epochs", type=int, default=30)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print(f"| dataset | PyG-style VGAE (ms/epoch) | Plexus VGAE (ms/epoch) | speed-up |  (threads={args.threads})")
    print("|---|---|---|---|")
    for name in ("cora", "citeseer"):
        data = load_dataset(name)
        split = split_edges(data.edge_index, data.num_nodes, generator=torch.Generator().manual_seed(0))
        peer = time_epochs(pyg_step_fn(data, split), args.epochs)
        ours = time_epochs(plexus_step_fn(data, split), args.epochs)
        print(f"| {name} | {peer:.1f} | {ours:.1f} | {peer / ours:.1f}x |")


if __name__ == "__main__":
    main()
