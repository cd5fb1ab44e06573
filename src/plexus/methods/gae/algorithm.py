"""GAE and VGAE (Kipf & Welling, "Variational Graph Auto-Encoders", 2016).

The paper's model and protocol:
- encoder: 2-layer GCN (32 -> 16) over the symmetrically normalised training adjacency
  with self-loops; VGAE has a second 16-d head for log sigma and samples z = mu + sigma*eps;
- decoder: inner product, sigma(z_i . z_j);
- loss: weighted binary cross-entropy over *every* entry of the reconstructed adjacency
  (positives up-weighted by #neg/#pos, scaled by N^2 / (2 #neg)), as the official code,
  minus (for VGAE) the KL term divided by N;
- Adam, lr 0.01, 200 epochs, no dropout; featureless runs use the identity as features;
- 85/5/10 edge split, equal negatives for val/test, test with the mean embedding, 10 runs.

For graphs too large for an N x N reconstruction, `recon=sampled` uses one random negative
pair per positive instead (the PyG variant); `recon=auto` picks dense up to 20k nodes.
"""

from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch_geometric.nn import GAE, VGAE
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from plexus.atomic import atomic_write_bytes
from plexus.config import BaseConfig
from plexus.datasets.source import load_graph
from plexus.inputs import TablesConfig
from plexus.errors import ConfigError
from plexus.eval.aggregate import summarize_seeds
from plexus.eval.link_prediction import link_metrics
from plexus.graph.splits import LinkSplit, split_edges
from plexus.nn.sparse import SparseOperator
from plexus.result import Result
from plexus.train.loop import Fitted, LoopSettings, SeedParts, train_seed
from plexus.train.report import write_report
from plexus.train.rundir import RunDir

DENSE_MAX_NODES = 20_000


@dataclass
class Config(BaseConfig):
    dataset: str = "cora"
    tables: TablesConfig = field(default_factory=TablesConfig)  # --input nodes=... edges=...
    variational: bool = False  # VGAE when true
    features: Literal["auto", "raw", "none", "text"] = "auto"  # auto: raw > text > none
    text_model: str = "default"  # LM for features=text (see plexus.text)
    hidden: int = 32
    latent: int = 16
    lr: float = 0.01
    epochs: int = 200
    dropout: float = 0.0
    val_ratio: float = 0.05
    test_ratio: float = 0.10
    recon: Literal["auto", "dense", "sampled"] = "auto"
    select: Literal["last", "best_val"] = "last"  # paper: last epoch; best_val: best val AUC
    ckpt_every: int = 50  # epochs between mid-seed checkpoints
    hits_k: list[int] = field(default_factory=lambda: [10, 50, 100])
    seeds: int = 10


class GCNEncoder(nn.Module):
    """Kipf's encoder: A_hat relu(A_hat X W0) W_mu (and W_sigma for VGAE), no biases.

    Featureless input (x is None) is the identity, so the first layer is A_hat W0.
    """

    def __init__(self, in_dim: int, hidden: int, latent: int, variational: bool, dropout: float):
        super().__init__()
        self.w0 = nn.Parameter(torch.empty(in_dim, hidden))
        self.w_mu = nn.Parameter(torch.empty(hidden, latent))
        self.w_logstd = nn.Parameter(torch.empty(hidden, latent)) if variational else None
        self.variational = variational
        self.dropout = dropout
        for w in self.parameters():
            nn.init.xavier_uniform_(w)  # glorot, as the official code

    def forward(self, x: torch.Tensor | SparseOperator | None, adj: SparseOperator):
        if x is None:
            h = self.w0
        elif isinstance(x, SparseOperator):  # no input dropout on sparse features (0 in the paper)
            h = x @ self.w0
        else:
            h = F.dropout(x, self.dropout, self.training) @ self.w0
        h = F.relu(adj @ h)
        h = F.dropout(h, self.dropout, self.training)
        mu = adj @ (h @ self.w_mu)
        if not self.variational:
            return mu
        return mu, adj @ (h @ self.w_logstd)


def normalized_adjacency(edge_index: torch.Tensor, num_nodes: int) -> SparseOperator:
    """D^-1/2 (A + I) D^-1/2 (PyG's gcn_norm) as a fixed sparse operator."""
    ei, w = gcn_norm(edge_index, None, num_nodes, add_self_loops=True)
    adj = torch.sparse_coo_tensor(ei, w, (num_nodes, num_nodes), check_invariants=False)
    return SparseOperator(adj, symmetric=True)


def as_sparse_if_sparse(x: torch.Tensor, max_density: float = 0.1) -> torch.Tensor | SparseOperator:
    """Bag-of-words features are ~1% non-zero: a sparse matmul is far cheaper then."""
    density = float((x != 0).sum()) / max(x.numel(), 1)
    return SparseOperator(x.to_sparse()) if density <= max_density else x


@dataclass
class DenseTarget:
    """The positives of A_train + I, with Kipf's positive weight and normaliser."""

    pos_index: torch.Tensor  # [2, P]: training edges (both directions) and the diagonal
    pos_weight: float
    norm: float

    @classmethod
    def from_split(cls, split: LinkSplit) -> "DenseTarget":
        n = split.num_nodes
        loops = torch.arange(n).repeat(2, 1)
        pos = torch.cat([split.train_edge_index(), loops], dim=1)
        num_pos = pos.size(1)
        return cls(pos, (n * n - num_pos) / num_pos, n * n / (2 * (n * n - num_pos)))


class _SoftplusGramSum(torch.autograd.Function):
    """sum_ij softplus(z_i . z_j) and its gradient, in blocks, never holding N x N.

    The Gram matrix is symmetric, so only blocks on and above the diagonal are computed
    (half the work), and the gradient 2 sigmoid(Z Z^T) Z is accumulated in the forward pass
    while each block of logits is in cache. The value needs no separate softplus pass:
    softplus(l) = l - log sigmoid(l), and the sum of l over a block is (sum z_i).(sum z_j).
    A block whose sigmoid underflows to 0 (l < -87) falls back to the exact softplus.
    """

    @staticmethod
    def forward(ctx, z: torch.Tensor, block: int) -> torch.Tensor:
        total = z.new_zeros(())
        grad = torch.zeros_like(z)
        n = z.size(0)
        for i0 in range(0, n, block):
            zi = z[i0 : i0 + block]
            zi_t = zi.t().contiguous()  # (zi^T s)^T is ~2x faster than s^T zi
            for j0 in range(i0, n, block):
                zj = z[j0 : j0 + block]
                logits = zi @ zj.t()
                sig = torch.sigmoid(logits)
                log_sig = torch.log(sig).sum()
                if torch.isfinite(log_sig):
                    value = zi.sum(0) @ zj.sum(0) - log_sig
                else:
                    value = F.softplus(logits).sum()
                total += value if i0 == j0 else 2.0 * value
                grad[i0 : i0 + block] += sig @ zj
                if i0 != j0:
                    grad[j0 : j0 + block] += (zi_t @ sig).t()
        ctx.save_for_backward(grad)
        return total

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        (grad,) = ctx.saved_tensors
        return 2 * grad_out * grad, None


def dense_recon_loss(z: torch.Tensor, target: DenseTarget, block: int = 1024) -> torch.Tensor:
    """Kipf's weighted BCE over all N^2 entries of A_train + I.

    Equal to `norm * binary_cross_entropy_with_logits(z z^T, labels, pos_weight)`:
    BCE_ij = softplus(l_ij) for non-edges and pw * softplus(-l_ij) for positives, so the sum
    is sum_all softplus(l) plus a correction over the P positives. The N^2 part runs in
    blocks with a hand-written gradient (`_SoftplusGramSum`), ~4x faster than the generic op.
    """
    pos = target.pos_index
    lp = (z[pos[0]] * z[pos[1]]).sum(-1)
    total = _SoftplusGramSum.apply(z, block) + (target.pos_weight * F.softplus(-lp) - F.softplus(lp)).sum()
    return target.norm * total / (z.size(0) ** 2)


def sampled_recon_loss(model: GAE, z: torch.Tensor, split: LinkSplit) -> torch.Tensor:
    """One uniformly random negative pair per training positive (PyG's recon_loss)."""
    return model.recon_loss(z, split.train_edge_index())


def _features(cfg: Config, data, quiet: bool = False) -> tuple[torch.Tensor | SparseOperator | None, str]:
    has_x = getattr(data, "x", None) is not None
    has_text = getattr(data, "text", None) is not None
    mode = cfg.features
    if mode == "auto":
        mode = "raw" if has_x else "text" if has_text else "none"
    if mode == "raw":
        if not has_x:
            raise ConfigError(f"features=raw: dataset {cfg.dataset!r} has no feature matrix; use features=text or none.")
        return as_sparse_if_sparse(data.x.float()), "raw node features"
    if mode == "text":
        if not has_text:
            raise ConfigError(f"features=text: dataset {cfg.dataset!r} has no node text.")
        from plexus.text import encode_texts

        return encode_texts(list(data.text), model=cfg.text_model, progress=not quiet), f"LM text embeddings ({cfg.text_model})"
    return None, "no features (identity)"


def _evaluate(model: GAE, x, adj, pos: torch.Tensor, neg: torch.Tensor, ks) -> dict[str, float]:
    """Link metrics of the mean embedding (eval mode: VGAE.encode returns mu)."""
    model.eval()
    with torch.no_grad():
        z = model.encode(x, adj)
        pos_s = torch.sigmoid((z[pos[0]] * z[pos[1]]).sum(-1))
        neg_s = torch.sigmoid((z[neg[0]] * z[neg[1]]).sum(-1))
    return link_metrics(pos_s, neg_s, tuple(ks))


def _train_seed(cfg: Config, data, x, seed_index: int, run: RunDir, quiet: bool) -> dict:
    """Train one seed through `plexus.train.loop` (resuming from its checkpoint); its record.

    The paper reports the last epoch (`select=last`); `select=best_val` keeps the epoch of
    the best validation AUC instead. Validation never steers training otherwise."""
    held: dict = {}

    def setup(gen: torch.Generator) -> SeedParts:
        split = held["split"] = split_edges(data.edge_index, data.num_nodes, cfg.val_ratio, cfg.test_ratio, gen)
        adj = held["adj"] = normalized_adjacency(split.train_edge_index(), data.num_nodes)
        in_dim = data.num_nodes if x is None else x.shape[1]
        encoder = GCNEncoder(in_dim, cfg.hidden, cfg.latent, cfg.variational, cfg.dropout)
        model = held["model"] = VGAE(encoder) if cfg.variational else GAE(encoder)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        dense = cfg.recon == "dense" or (cfg.recon == "auto" and data.num_nodes <= DENSE_MAX_NODES)
        target = DenseTarget.from_split(split) if dense else None

        def train_epoch(epoch: int) -> dict[str, float]:
            model.train()
            opt.zero_grad()
            z = model.encode(x, adj)
            loss = dense_recon_loss(z, target) if dense else sampled_recon_loss(model, z, split)
            if cfg.variational:
                loss = loss + model.kl_loss() / data.num_nodes
            loss.backward()
            opt.step()
            return {"loss": loss.item()}

        return SeedParts(model, opt, train_epoch,
                         validate=lambda: _evaluate(model, x, adj, split.val_pos, split.val_neg, cfg.hits_k),
                         test=lambda: _evaluate(model, x, adj, split.test_pos, split.test_neg, cfg.hits_k),
                         generators=[gen])

    def finish(fitted: Fitted, test: dict) -> dict:
        model, split, adj = held["model"], held["split"], held["adj"]
        val = _evaluate(model, x, adj, split.val_pos, split.val_neg, cfg.hits_k)
        with torch.no_grad():
            z = model.encode(x, adj)
        if not quiet:
            print(f"  seed {seed_index}: test AUC {test['auc']:.4f}  AP {test['ap']:.4f}  (val AUC {val['auc']:.4f})",
                  file=sys.stderr)
        return {"metrics": {**{f"val_{k}": v for k, v in val.items()}, **{f"test_{k}": v for k, v in test.items()}},
                "embeddings": z, "epoch": fitted.epochs_run}

    settings = LoopSettings(cfg.epochs, eval_every=1, select="auc" if cfg.select == "best_val" else None,
                            ckpt_every=cfg.ckpt_every)
    return train_seed(run, seed_index, cfg.seed + seed_index, setup, settings, finish, quiet)


def run(cfg: Config, run_dir: RunDir, quiet: bool = False) -> Result:
    method = "vgae" if cfg.variational else "gae"
    for key in ("seeds", "epochs", "hidden", "latent", "ckpt_every"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{key} must be at least 1, got {getattr(cfg, key)}.")
    if not (0 < cfg.val_ratio < 1 and 0 < cfg.test_ratio < 1 and cfg.val_ratio + cfg.test_ratio < 1):
        raise ConfigError(f"need 0 < val_ratio, 0 < test_ratio and val_ratio + test_ratio < 1 "
                          f"(got val_ratio={cfg.val_ratio}, test_ratio={cfg.test_ratio}).")
    data = load_graph(cfg.dataset, cfg.data_dir, cfg.tables)
    x, feature_desc = _features(cfg, data, quiet)
    t0 = time.perf_counter()
    records = [_train_seed(cfg, data, x, i, run_dir, quiet) for i in range(cfg.seeds)]
    wall = time.perf_counter() - t0

    metrics, best_seed = summarize_seeds(records, "val_auc", wall)
    emb_path = run_dir.artifacts / "embeddings.npy"
    buf = io.BytesIO()
    np.save(buf, records[best_seed]["embeddings"].numpy())
    atomic_write_bytes(emb_path, buf.getvalue())
    protocol = (
        f"Kipf & Welling link prediction: undirected edges split {100 - 100 * (cfg.val_ratio + cfg.test_ratio):.0f}/"
        f"{100 * cfg.val_ratio:.0f}/{100 * cfg.test_ratio:.0f} (new split per seed), equal random non-edge negatives "
        f"for val/test, encoder sees train edges only; {feature_desc}; "
        f"{'weighted full-adjacency' if cfg.recon != 'sampled' else 'sampled-negative'} reconstruction loss; "
        f"{cfg.epochs} epochs, {'last epoch' if cfg.select == 'last' else 'epoch of best val AUC'}; "
        f"test with the mean embedding; mean ± std (se) over {cfg.seeds} seeds; "
        f"Hits@K/MRR rank test positives against the test negatives"
    )
    protocol += f"; artifacts/embeddings.npy holds seed {best_seed}'s (best val AUC) mean embeddings"
    result = Result(method, cfg.dataset, protocol, metrics, run_dir.path, {"embeddings": emb_path})
    run_dir.write_metrics(result.to_json())
    write_report(run_dir, result, curves=["loss", "val_auc"])
    return result
