"""`plexus.text.finetune`: the LM classifier's loss, inference and their 2-process (gloo) path.

A tiny randomly initialised BERT (built from a config, no download) without dropout makes
every number exact: the loss a step reports, the rows inference encodes, and the weights two
DDP processes end with against one process.
"""

import os
import tempfile

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from plexus.text.encoder import load_tokenizer
from plexus.text.finetune import LMClassifier, LMTrainConfig, TokenizedTexts, infer, train_classifier
from plexus.train import distributed
from plexus.train.pseudo_labels import build_targets, mixed_loss

TEXTS = [f"paper {i} about {'databases' if i % 3 == 0 else 'neural networks' if i % 3 == 1 else 'interfaces'} "
         f"and {'joins' if i % 2 else 'queries'}" for i in range(14)]


def _model(seed: int = 0) -> tuple[LMClassifier, TokenizedTexts]:
    from transformers import BertConfig, BertModel

    tok = load_tokenizer("default")
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    model = LMClassifier(BertModel(config, add_pooling_layer=False), 3, "mean", dropout=0.0)
    return model, TokenizedTexts(tok, TEXTS, 24)


def _targets():
    probs = torch.softmax(torch.randn(len(TEXTS), 3, generator=torch.Generator().manual_seed(1)), 1)
    gold = torch.tensor([0, 3, 5, 8, 11])
    pseudo = torch.tensor([1, 2, 4, 6, 7, 9, 10, 12, 13])
    return build_targets(gold, torch.tensor([0, 0, 2, 2, 2]), 3, pseudo, probs)


@pytest.mark.parametrize("w", [0.8, 0.05])
def test_the_reported_loss_is_the_mixed_loss_with_the_given_weight(w):
    model, tokens = _model()
    targets = _targets()
    order = torch.randperm(targets.nodes.numel(), generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        logits, _ = model(**tokens.batch(targets.nodes[order], torch.device("cpu")))
    expected = mixed_loss(logits, targets.dist[order], targets.is_gold[order], w)
    cfg = LMTrainConfig(lr=0.0, epochs=1.0, batch_size=targets.nodes.numel(), precision="fp32", warmup=0.0)
    stats = train_classifier(model, tokens, targets, w, cfg, torch.Generator().manual_seed(7))
    assert stats["steps"] == 1
    assert stats["loss"] == pytest.approx(float(expected), rel=1e-5)
    other = mixed_loss(logits, targets.dist[order], targets.is_gold[order], 0.85 - w)
    assert abs(float(other) - float(expected)) > 1e-3  # alpha and beta give different losses here


def test_infer_encodes_every_text_once_in_the_callers_order():
    model, tokens = _model()
    counter = {}
    cfg = LMTrainConfig(precision="fp32", infer_batch_size=4)
    emb, logits = infer(model, tokens, cfg, counter)
    assert counter["texts"] == len(TEXTS)
    with torch.no_grad():
        for i in (0, 5, 13):
            out, pooled = model(**tokens.batch(torch.tensor([i]), torch.device("cpu")))
            assert torch.allclose(pooled[0], emb[i], atol=1e-5) and torch.allclose(out[0], logits[i], atol=1e-5)


def test_collectives_are_identities_in_one_process(monkeypatch):
    t = torch.arange(3.0)
    assert distributed.sum_across_ranks(t) is t and distributed.broadcast(t) is t
    assert distributed.comm_device() == torch.device("cpu")
    assert distributed.local_device("cpu") == torch.device("cpu")
    # under torchrun, a CUDA config means this rank's own GPU, whatever index it names
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("LOCAL_RANK", "1")
    assert distributed.local_device("cuda:0") == torch.device("cuda", 1)
    assert distributed.local_device("cpu") == torch.device("cpu")


def _train(rank: int, world: int, init_file: str, out: str) -> None:
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    model, tokens = _model()
    cfg = LMTrainConfig(lr=1e-3, epochs=2.0, batch_size=6, precision="fp32", warmup=0.0, infer_batch_size=4)
    train_classifier(model, tokens, _targets(), 0.8, cfg, torch.Generator().manual_seed(3))
    counter = {}
    emb, _ = infer(model, tokens, cfg, counter)
    if rank == 0:
        torch.save({"state": model.state_dict(), "emb": emb, "texts": counter["texts"]}, out)
    if world > 1:
        dist.destroy_process_group()


def test_two_gloo_processes_train_the_same_weights_as_one(tmp_path):
    """DDP over 2 processes (each a slice of every global batch of 6, gold / pseudo mixed unevenly)
    ends with the one-process weights: the slice losses are normalised by the global batch's
    counts, so the averaged gradient is the whole batch's. Only float summation order differs."""
    one, two = tmp_path / "one.pt", tmp_path / "two.pt"
    _train(0, 1, "", str(one))
    with tempfile.TemporaryDirectory() as d:
        mp.spawn(_train, args=(2, os.path.join(d, "init"), str(two)), nprocs=2, join=True)
    a, b = torch.load(one, weights_only=True), torch.load(two, weights_only=True)
    assert b["texts"] == len(TEXTS)  # inference split across ranks: every text once in all
    for k in a["state"]:
        assert torch.allclose(a["state"][k], b["state"][k], atol=1e-5), k
    assert torch.allclose(a["emb"], b["emb"], atol=1e-5)
