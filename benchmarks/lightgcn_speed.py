"""LightGCN training speed: Plexus vs PyG's `torch_geometric.nn.models.LightGCN`, side by side,
and full-ranking evaluation throughput.

Same data (the training split Plexus trains on), same batches of (user, positive, negative)
triples (the official per-user sampler, uniform negatives), same model size (64-d, 3 layers,
mean of the layers), same loss (BPR + 1e-4 L2 on the batch's layer-0 embeddings), same Adam
(lr 0.001) and the same thread count. One full propagation per batch for every variant, as the
official code does:

- `pyg`: the PyG example's way (`examples/lightgcn.py`): `model(edge_index, edge_label_index)`
  with `edge_index` message passing (`LGConv`: gcn_norm and gather/scatter on every call),
  `model.recommendation_loss`;
- `pyg-sparse`: the same PyG model given a `torch.sparse` CSR adjacency instead of `edge_index`
  (LGConv then runs a sparse matmul);
- `plexus-autograd`: Plexus's fixed CSR operator (`SparseOperator`) with plain autograd;
- `plexus`: what `plexus run lightgcn` trains with: the CSR operator, the last layer only for the
  batch's rows and a hand-written Horner backward (`plexus.methods.recommenders.lightgcn._LayerMeanRows`):
  2(K-1) full sparse products per step instead of 2K.

An epoch is ceil(#train / batch) batches (the official sampler draws #train triples). On 2 CPU
cores a PyG epoch on Gowalla takes many minutes, so each repeat times `--batches` consecutive
batches after a warm-up, and the epoch time is the best per-batch time x batches per epoch
(`--full-epoch` also times one real Plexus epoch). Evaluation throughput: users/s of the full
ranking (`plexus.eval.ranking.full_ranking_metrics`, all items scored, training items masked,
top-20) over every test user.

    python benchmarks/lightgcn_speed.py [--dataset gowalla] [--threads 1] [--batches 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import torch
from torch_geometric.nn.models import LightGCN as PygLightGCN

from plexus.eval.ranking import full_ranking_metrics
from plexus.methods.recommenders import lightgcn
from plexus.methods.recommenders.bpr import TripleSampler, bpr_loss, train_epoch
from plexus.methods.recommenders.data import load_split
from plexus.train.optim import make_optimizer

warnings.filterwarnings("ignore", message=".*Sparse CSR tensor support is in beta.*")


def make_batches(split, batch: int, count: int, seed: int):
    gen = torch.Generator().manual_seed(seed)
    sampler = TripleSampler(split.train, split.num_users, split.num_items, "uniform", 0.75, "user", gen)
    users, pos = sampler.epoch()
    out = []
    for b in range(count):
        u, p = users[b * batch:(b + 1) * batch], pos[b * batch:(b + 1) * batch]
        out.append((u, p, sampler.negatives_for(u, p)))
    return out


def plexus_step(split, custom: bool):
    torch.manual_seed(0)
    model = lightgcn.LightGCN(split.num_users, split.num_items, 64, 3,
                              lightgcn.normalized_bipartite(split.train, split.num_users, split.num_items))
    opt = make_optimizer(model.parameters(), 0.001)
    nu = split.num_users

    def step(u, p, n):
        if custom:
            final, layer0 = model.batch_rows(u, p, n)
        else:
            idx = torch.cat([u, p + nu, n + nu])
            final = lightgcn.layer_mean(model.embedding, model.adj, 3)[idx]
            layer0 = model.embedding[idx]
        bpr, reg = bpr_loss(final, layer0, 1e-4)
        opt.zero_grad(set_to_none=True)
        (bpr + reg).backward()
        opt.step()

    return step, model


def pyg_step(split, sparse: bool):
    torch.manual_seed(0)
    nu, n = split.num_users, split.num_users + split.num_items
    u, i = split.train
    edge_index = torch.stack([torch.cat([u, i + nu]), torch.cat([i + nu, u])])
    if sparse:
        adj = torch.sparse_coo_tensor(edge_index, torch.ones(edge_index.size(1)), (n, n)).coalesce()
        edge_index = adj.to_sparse_csr()
    model = PygLightGCN(n, 64, 3)
    torch.nn.init.normal_(model.embedding.weight, std=0.1)
    opt = make_optimizer(model.parameters(), 0.001)

    def step(users, pos, neg):
        label = torch.stack([torch.cat([users, users]), torch.cat([pos, neg]) + nu])
        pos_rank, neg_rank = model(edge_index, label).chunk(2)
        loss = model.recommendation_loss(pos_rank, neg_rank, node_id=label.unique())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def time_batches(step, batches, warmup: int, repeats: int) -> float:
    """Best (over repeats) mean seconds per batch."""
    for b in batches[:warmup]:
        step(*b)
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for b in batches[warmup:]:
            step(*b)
        best = min(best, (time.perf_counter() - t0) / (len(batches) - warmup))
    return best


def eval_throughput(model, split, repeats: int) -> tuple[float, float]:
    model.eval()
    best = math.inf
    with torch.no_grad():
        for _ in range(repeats):
            t0 = time.perf_counter()
            user_emb, item_emb = model.final()
            item_t = item_emb.t().contiguous()
            m = full_ranking_metrics(lambda us: user_emb[us] @ item_t, split.test, [split.train, split.val],
                                     split.num_users, split.num_items, ks=(20,), batch_size=1024)
            best = min(best, time.perf_counter() - t0)
    return m["num_eval_users"] / best, best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset", default="gowalla")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=2048)
    ap.add_argument("--batches", type=int, default=10, help="timed batches per repeat")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--variants", default="plexus,plexus-autograd,pyg,pyg-sparse")
    ap.add_argument("--full-epoch", action="store_true", help="also time one real Plexus training epoch")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    split = load_split(lightgcn.Config(dataset=args.dataset))
    n_train = split.train.size(1)
    per_epoch = math.ceil(n_train / args.batch)
    batches = make_batches(split, args.batch, args.warmup + args.batches, seed=0)
    variants = args.variants.split(",")
    per_batch = {}
    model = None
    for name in variants:
        if name == "plexus":
            step, model = plexus_step(split, custom=True)
        elif name == "plexus-autograd":
            step, _ = plexus_step(split, custom=False)
        elif name == "pyg":
            step = pyg_step(split, sparse=False)
        elif name == "pyg-sparse":
            step = pyg_step(split, sparse=True)
        else:
            raise SystemExit(f"unknown variant {name}")
        per_batch[name] = time_batches(step, batches, args.warmup, args.repeats)
        print(f"  {name}: {1e3 * per_batch[name]:.1f} ms/batch", flush=True)

    ref = per_batch.get("plexus")
    print(f"\n{args.dataset}: {split.num_users:,} users, {split.num_items:,} items, {n_train:,} training "
          f"interactions -> {per_epoch} batches of {args.batch} per epoch; 64-d, 3 layers; {args.threads} "
          f"thread(s); best of {args.repeats} x {args.batches} batches\n")
    print("| variant | ms / batch | s / epoch | Plexus speed-up |")
    print("|---|---|---|---|")
    for name in variants:
        speed = f"{per_batch[name] / ref:.2f}x" if ref else "-"
        print(f"| {name} | {1e3 * per_batch[name]:.1f} | {per_batch[name] * per_epoch:.1f} | {speed} |")

    if model is not None:
        ups, secs = eval_throughput(model, split, args.repeats)
        print(f"\nFull-ranking evaluation (test, all {split.num_items:,} items, top-20, 1024 users per batch): "
              f"{ups:,.0f} users/s ({secs:.1f} s for all test users, propagation included)")
    if args.full_epoch:
        torch.manual_seed(0)
        gen = torch.Generator().manual_seed(0)
        sampler = TripleSampler(split.train, split.num_users, split.num_items, "uniform", 0.75, "user", gen)
        _, model = plexus_step(split, custom=True)
        opt = make_optimizer(model.parameters(), 0.001)
        t0 = time.perf_counter()
        train_epoch(model, opt, sampler, args.batch, 1e-4, torch.device("cpu"))
        print(f"\nOne real Plexus training epoch ({per_epoch} batches, sampling included): "
              f"{time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
