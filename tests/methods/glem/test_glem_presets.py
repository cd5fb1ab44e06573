"""Presets: every one under configs/ loads and names a dataset Plexus knows; GLEM's ogbn-arxiv
presets are the official commands (AndyJZhao/GLEM, OGB/ogbn-arxiv/README.md)."""

from pathlib import Path

import pytest

from plexus.config import load_yaml
from plexus.datasets.registry import dataset_names
from plexus.registry import get_method
from plexus.runner import build_config

REPO = Path(__file__).resolve().parents[3]
PRESETS = sorted((REPO / "configs").glob("*/*.yaml"))


@pytest.mark.parametrize("preset", PRESETS, ids=[f"{p.parent.name}/{p.name}" for p in PRESETS])
def test_every_preset_names_a_dataset_that_exists(preset):
    method = load_yaml(preset).get("method", preset.parent.name)
    cfg = build_config(method, config_file=preset)
    if not hasattr(cfg, "dataset"):
        pytest.skip(f"{method} has no dataset key")
    assert cfg.dataset in dataset_names(), f"{preset}: dataset {cfg.dataset!r} is not in the catalog"
    assert get_method(method) is not None


def test_arxiv_presets_are_the_official_commands():
    gcn = build_config("glem", config_file=REPO / "configs/glem/arxiv-gnn-first.yaml")
    rev = build_config("glem", config_file=REPO / "configs/glem/arxiv-lm-first.yaml")
    for cfg in (gcn, rev):  # arxiv_TA on OGB's own split, 2 EM iterations, T 0.2, DeBERTa-base, 512 tokens
        assert (cfg.dataset, cfg.split.kind, cfg.em_iters, cfg.temperature) == ("ogbn-arxiv", "given", 2, 0.2)
        assert (cfg.lm.model, cfg.lm.max_length, cfg.lm.pooling) == ("microsoft/deberta-base", 512, "cls")
        assert not cfg.frozen_start
    # GLEM+GCN: GNN-first, label input, per-model ratios and weights, confidence filter
    assert (gcn.em_order, gcn.alpha, gcn.beta, gcn.lm_pl_ratio, gcn.gnn_pl_ratio) == ("gnn-first", 0.5, 0.7, 0.1, 0.2)
    assert (gcn.pl_filter, gcn.gnn_label_input, gcn.lm_init, gcn.lm.em_lr) == (0.8, True, "prev", 3e-5)
    assert (gcn.gnn.kind, gcn.gnn.epochs, gcn.gnn.patience) == ("gcn", 500, 300)
    # GLEM+RevGAT's EM settings: LM-first, no label input, no filter, each E-step from DeBERTa again
    assert (rev.em_order, rev.alpha, rev.beta, rev.lm_pl_ratio, rev.gnn_pl_ratio) == ("lm-first", 0.8, 0.05, 1.0, 1.0)
    assert (rev.pl_filter, rev.gnn_label_input, rev.lm_init, rev.lm.em_epochs) == (1.0, False, "fresh", 3)
