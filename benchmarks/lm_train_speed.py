"""GLEM's LM training loop against a bare Hugging Face loop, side by side (issue 3, Speed).

Both train the same model (all-MiniLM-L6-v2 + mean pooling + a linear head) on the same
CiteSeer texts, with the same batch and sequence length (only texts with at least
`--length` tokens, so no batch carries padding in either loop), AdamW, fp32 or bf16
autocast:

* bare:   pre-tokenized [B, L] tensors -> forward -> cross-entropy -> backward -> step;
* plexus: `plexus.text.finetune.train_classifier` (per-batch collation, gold/pseudo loss
          mixing, gradient clipping, LR schedule) on the same texts.

Rounds alternate between the two so drift on a shared machine hits both; the table gives
the median sequences/s of each and the ratio (target >= 0.90).

    python benchmarks/lm_train_speed.py [--length 128] [--batch 32] [--steps 12] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from plexus.datasets.registry import load_dataset  # noqa: E402
from plexus.text.encoder import cpu_has_native_bf16  # noqa: E402
from plexus.text.finetune import LMTrainConfig, TokenizedTexts, load_classifier, train_classifier  # noqa: E402
from plexus.text.pooling import mean_pool  # noqa: E402
from plexus.train.pseudo_labels import build_targets  # noqa: E402


def bare_loop(model, ids, mask, labels, batch, steps, precision) -> float:
    """Sequences/s of a plain forward/backward/step loop over fixed tensors."""
    backbone, head = model.backbone, model.head
    opt = torch.optim.AdamW(model.parameters(), lr=5e-5)
    model.train()
    t0 = time.perf_counter()
    for s in range(steps):
        rows = slice((s * batch) % (ids.size(0) - batch), (s * batch) % (ids.size(0) - batch) + batch)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            hidden = backbone(input_ids=ids[rows], attention_mask=mask[rows]).last_hidden_state
            logits = head(mean_pool(hidden, mask[rows]))
        loss = F.cross_entropy(logits.float(), labels[rows])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return steps * batch / (time.perf_counter() - t0)


def plexus_loop(model, tokens, nodes, labels, batch, steps, precision) -> float:
    targets = build_targets(nodes, labels, int(labels.max()) + 1)
    cfg = LMTrainConfig(lr=5e-5, epochs=steps * batch / nodes.numel(), batch_size=batch, precision=precision)
    return train_classifier(model, tokens, targets, 0.0, cfg, torch.Generator().manual_seed(0))["seqs_per_s"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--length", type=int, default=128)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    data = load_dataset("citeseer-tag", None)
    tokenizer, model = load_classifier("default", 6)
    tokens = TokenizedTexts(tokenizer, data.text, args.length)
    full = torch.nonzero(tokens.lengths == args.length).view(-1)  # texts truncated to exactly L
    need = args.steps * args.batch + args.batch
    full = full[:need]
    labels = data.y[full]
    ids = torch.stack([tokens.ids[i] for i in full.tolist()])
    mask = torch.ones_like(ids)
    precisions = ["fp32", "bf16"] if cpu_has_native_bf16() else ["fp32"]

    rows = []
    for precision in precisions:
        bare_loop(model, ids, mask, labels, args.batch, 2, precision)  # warm up kernels
        plexus_loop(model, tokens, full, labels, args.batch, 2, precision)
        bare, ours = [], []
        for _ in range(args.rounds):
            bare.append(bare_loop(model, ids, mask, labels, args.batch, args.steps, precision))
            ours.append(plexus_loop(model, tokens, full, labels, args.batch, args.steps, precision))
        b, o = statistics.median(bare), statistics.median(ours)
        rows.append((precision, b, o, o / b))

    print(f"all-MiniLM-L6-v2 classifier, {args.length} tokens, batch {args.batch}, {args.steps} steps x "
          f"{args.rounds} alternating rounds, {torch.get_num_threads()} threads\n")
    print("| precision | bare HF loop (seq/s) | plexus train_classifier (seq/s) | ratio |")
    print("|---|---|---|---|")
    for precision, b, o, r in rows:
        print(f"| {precision} | {b:.1f} | {o:.1f} | {r:.2f} |")


if __name__ == "__main__":
    main()
