"""Node-classification splits: random supervised ratios and the Planetoid-style semi-supervised one.

Both are drawn from a seed, so seed i of every method in a benchmark sees the same nodes.
Only nodes with a label (y >= 0) are placed; unlabelled nodes stay outside every split.

* ``supervised``: a random 60/20/20 train/val/test partition of the labelled nodes (the
  TAPE/GLEM protocol on CiteSeer); other ratios through `train_ratio`/`val_ratio`.
* ``semi``: `per_class` labelled nodes of every class for training (20 in Kipf & Welling),
  then `num_val` (500) validation and `num_test` (1000) test nodes drawn at random from
  the rest — the Planetoid split shape, drawn per seed.
* ``given``: the dataset's own train/val/test masks (e.g. OGB's time split on ogbn-arxiv),
  the same for every seed (`given_split`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from plexus.errors import ConfigError, InputError

SPLITS = ("supervised", "semi")


@dataclass(frozen=True)
class NodeSplit:
    train: torch.Tensor  # node ids, ascending
    val: torch.Tensor
    test: torch.Tensor
    description: str  # one phrase for a Result's protocol

    def counts(self) -> str:
        return f"{self.train.numel()}/{self.val.numel()}/{self.test.numel()} train/val/test nodes"


def split_nodes(
    y: torch.Tensor,
    kind: str,
    seed: int,
    *,
    train_ratio: float = 0.6,
    val_ratio: float = 0.2,
    per_class: int = 20,
    num_val: int = 500,
    num_test: int = 1000,
) -> NodeSplit:
    """The split `kind` ("supervised" or "semi") of the labelled nodes of `y`, drawn from `seed`."""
    if kind not in SPLITS:
        raise ConfigError(f"Unknown split {kind!r}; choose one of {', '.join(SPLITS)}.")
    y = torch.as_tensor(y).long()
    labelled = torch.nonzero(y >= 0).view(-1)
    if labelled.numel() == 0:
        raise InputError("No node has a label; node classification needs labels.")
    gen = torch.Generator().manual_seed(int(seed))
    perm = labelled[torch.randperm(labelled.numel(), generator=gen)]
    if kind == "supervised":
        if not (0 < train_ratio < 1 and 0 <= val_ratio < 1 and train_ratio + val_ratio < 1):
            raise ConfigError(
                f"train_ratio {train_ratio} and val_ratio {val_ratio} must be in (0, 1) with a "
                "sum below 1 (the rest is the test set)."
            )
        n = perm.numel()
        n_train, n_val = int(round(train_ratio * n)), int(round(val_ratio * n))
        parts = perm[:n_train], perm[n_train:n_train + n_val], perm[n_train + n_val:]
        test_ratio = 1 - train_ratio - val_ratio
        desc = (f"random {train_ratio:.0%}/{val_ratio:.0%}/{test_ratio:.0%} split of the "
                f"labelled nodes drawn per seed")
    else:
        train = []
        for c in torch.unique(y[labelled]).tolist():
            of_class = perm[y[perm] == c]
            if of_class.numel() <= per_class:
                raise InputError(
                    f"Class {c} has {of_class.numel()} labelled nodes; the semi-supervised split "
                    f"takes {per_class} per class for training and needs more to test on."
                )
            train.append(of_class[:per_class])
        train_t = torch.cat(train)
        rest = perm[~torch.isin(perm, train_t)]
        if rest.numel() < num_val + num_test:
            raise InputError(
                f"{rest.numel()} labelled nodes remain after {per_class} per class for training; "
                f"the semi-supervised split needs {num_val} validation + {num_test} test nodes "
                "(set split_val / split_test lower)."
            )
        parts = train_t, rest[:num_val], rest[num_val:num_val + num_test]
        desc = (f"semi-supervised split ({per_class} labelled nodes per class, {num_val} "
                f"validation, {num_test} test, drawn per seed)")
    train, val, test = (torch.sort(p).values for p in parts)
    if train.numel() == 0 or val.numel() == 0 or test.numel() == 0:
        raise InputError(f"The {kind} split of {labelled.numel()} labelled nodes leaves an empty part.")
    return NodeSplit(train, val, test, desc)


def given_split(data) -> NodeSplit:
    """The split the dataset ships: its `train_mask`, `val_mask` and `test_mask` as node ids."""
    masks = {part: getattr(data, f"{part}_mask", None) for part in ("train", "val", "test")}
    missing = [f"{part}_mask" for part, mask in masks.items() if mask is None]
    if missing:
        raise InputError(
            f"The given split needs the dataset's own train/val/test masks; this graph has no "
            f"{', '.join(missing)}. Use the supervised or semi split instead."
        )
    train, val, test = (torch.nonzero(torch.as_tensor(m).view(-1)).view(-1) for m in masks.values())
    if train.numel() == 0 or val.numel() == 0 or test.numel() == 0:
        raise InputError("The dataset's given split leaves an empty part.")
    placed = torch.cat([train, val, test])
    if placed.unique().numel() != placed.numel():
        raise InputError("The dataset's given train/val/test masks overlap.")
    return NodeSplit(train, val, test, "the dataset's given split")
