"""JAKET with the real bundled MiniLM: the LM split, E^(0), the masked-entity batch, a whole
pretraining run with exact resume and `load_pretrained` (on UMLS: 135 entities, seconds),
and (slow) the quick preset on FB15k-237 through the CLI."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
import torch

from plexus.methods.jaket import algorithm
from plexus.methods.jaket.corpus import TokenizedCorpus, build_corpus, tokenize_corpus
from plexus.methods.jaket.knowledge import KnowledgeGraph
from plexus.methods.jaket.model import from_base_lm, load_pretrained, span_mean
from plexus.methods.jaket.tasks import PairRelations, make_batch
from plexus.runner import build_config, execute

TINY = ["dataset=umls", "steps=4", "batch_size=4", "max_length=32", "warmup_steps=1", "km_layers=1",
        "km_heads=2", "walks_per_root=2", "entity_random=4", "entity_neighbours=2", "memory_init=1",
        "memory_growth=1", "memory_every=1", "ckpt_every=2", "log_every=2", "threads=1"]


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return from_base_lm(km_layers=1, km_heads=2, num_categories=3, num_relations=2)


def test_lm1_then_lm2_is_the_whole_encoder(model):
    enc = model.tokenizer(["El Paso, city in Texas", "a"], padding=True, return_tensors="pt")
    model.eval()
    with torch.no_grad():
        z = model.lm1(enc["input_ids"], enc["attention_mask"])
        split = model.lm2(z, enc["attention_mask"])
        whole = model.mlm.base_model(**enc).last_hidden_state
        # no mentions: fusion is the identity, so the base LM is unchanged
        fused = model.fuse(z, torch.zeros((0, 4), dtype=torch.long), torch.zeros((0, model.hidden)))
    assert model.split == 3 and model.hidden == 384
    assert torch.equal(split, whole) and torch.equal(fused, z)
    spans = torch.tensor([[0, 1, 2, 0], [1, 1, 1, 1]])
    with torch.no_grad():
        e0 = model.describe(enc["input_ids"], enc["attention_mask"], spans)
    assert torch.allclose(e0[0], (z[0, 1] + z[0, 2]) / 2) and torch.allclose(e0[1], z[1, 1])
    assert torch.equal(e0, span_mean(z, spans))
    # the MLM head's decoder is the word embedding matrix (MiniLM ships no MLM head)
    assert model.mlm.get_output_embeddings().weight is model.mlm.get_input_embeddings().weight


def _toy(model) -> tuple[TokenizedCorpus, KnowledgeGraph, PairRelations]:
    names = ["Texas", "United States", "El Paso", "Austin"]
    texts = ["Texas, state of the United States", "United States, country",
             "El Paso, city in Texas, United States", "Austin, capital of Texas"]
    ei, et = np.array([[2, 0, 3], [0, 1, 0]]), np.array([0, 0, 1])
    corpus = build_corpus(texts, names, ["/location/location/contains", "/location/capital/of"],
                          ["contains", "capital of"], ei, et)
    tok = tokenize_corpus(corpus, model.tokenizer, 32)
    return tok, KnowledgeGraph(4, 2, torch.from_numpy(ei), torch.from_numpy(et)), PairRelations(4, ei, et)


def test_masked_entity_targets_are_the_dropped_mentions_entities(model):
    tok, kg, pairs = _toy(model)
    gen = torch.Generator().manual_seed(0)
    b = make_batch(tok, kg, pairs, np.array([2, 3]), model.tokenizer, gen, mlm_prob=0.15, mention_drop=1.0,
                   entity_neighbours=1, entity_random=2)
    # every mention dropped: El Paso's text holds El Paso (own), Texas, United States; Austin's: Austin, Texas
    assert b.drop_targets.tolist() == [2, 0, 1, 3, 0]
    assert b.candidates[:, 0].tolist() == b.drop_targets.tolist()
    ids = [tok.ids[2], tok.ids[3]]
    for (row, s, e), target in zip(b.drop_spans.tolist(), b.drop_targets.tolist()):
        text = model.tokenizer.decode(ids[row][s:e + 1])
        assert text == ["texas", "united states", "el paso", "austin"][[0, 1, 2, 3].index(target)]
    assert len(b.fuse_spans) == 0  # nothing left to fuse
    # none dropped: every mention fuses its own entity's KM vector
    b = make_batch(tok, kg, pairs, np.array([2, 3]), model.tokenizer, torch.Generator().manual_seed(0),
                   mention_drop=0.0)
    assert len(b.drop_spans) == 0
    assert [int(b.roots[s]) for s in b.fuse_spans[:, 3]] == [2, 0, 1, 3, 0]
    # relation pairs: co-occurring and linked in the KG (El Paso -> Texas r0, Austin -> Texas r1) and
    # one random triple per description entity; every pair's label is a relation that holds
    for (h, t), r in zip(b.pair_entities.tolist(), b.pair_labels.tolist()):
        assert r in pairs.lookup(h, t).tolist()
    assert {(2, 0, 0), (3, 0, 1)} <= {(h, t, r) for (h, t), r in zip(b.pair_entities.tolist(), b.pair_labels.tolist())}


def _trainers(cfg, n):
    """`n` Pretrainers with identical starting weights (one model load, deep-copied)."""
    import copy

    from plexus.methods.jaket.model import JaketModel
    from plexus.text.encoder import load_tokenizer

    torch.manual_seed(0)
    data = algorithm.load_data(cfg, load_tokenizer(cfg.model))
    m = JaketModel(cfg.model, cfg.km_layers, cfg.km_heads, len(data.corpus.category_names), data.num_relations,
                   None, cfg.max_length, "fp32")
    return [algorithm.Pretrainer(cfg, copy.deepcopy(m), data, cfg.seed) for _ in range(n)]


def test_resume_from_a_checkpoint_is_exact(shared_datasets, monkeypatch):
    monkeypatch.setenv("PLEXUS_DATA", str(shared_datasets))
    cfg = build_config("jaket", overrides=TINY)
    straight, first, second = _trainers(cfg, 3)
    straight.build_memories()
    losses = [straight.step() for _ in range(4)]
    assert all(set(r) >= {"category", "relation", "mlm", "loss"} for r in losses)
    assert straight.kg.entity_memory.refreshes == 3  # T(i) = 1: refreshed before steps 1, 2 and 3

    first.build_memories()
    for _ in range(2):
        first.step()
    state = first.state()
    second.load(state)
    for _ in range(2):
        second.step()
    for (name, a), (_, b) in zip(straight.model.state_dict().items(), second.model.state_dict().items()):
        assert torch.equal(a, b), name
    assert torch.equal(straight.kg.entity_memory.vectors, second.kg.entity_memory.vectors)


def test_run_writes_a_model_that_load_pretrained_reads(shared_datasets, monkeypatch, tmp_path):
    monkeypatch.setenv("PLEXUS_DATA", str(shared_datasets))
    cfg = build_config("jaket", overrides=TINY)
    res = execute("jaket", cfg, out=tmp_path / "runs", quiet=True)
    m = res.metrics
    assert m["steps_done"] == 4 and m["count_entities"] == 135
    assert m["tokens_per_s"] > 0 and m["entities_per_s"] > 0
    hist = [json.loads(line) for line in open(res.run_dir / "history.jsonl")]
    assert [h["step"] for h in hist] == [2, 4]
    assert {"category", "relation", "mlm", "loss"} <= set(hist[0])
    report = (res.run_dir / "report.md").read_text()  # a curve per task loss, over steps
    assert "![curve_mlm.png](curve_mlm.png)" in report and (res.run_dir / "curve_loss.png").exists()
    model, info = load_pretrained(res.run_dir)
    assert info["step"] == 4 and len(info["entity_ids"]) == 135
    assert info["entity_memory"]["vectors"].shape == (135, 384)
    saved = torch.load(res.run_dir / "artifacts" / "jaket_model.pt", weights_only=True)["model"]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in saved.items())
    # a finished run resumes to the same result without training
    again = execute("jaket", cfg, resume=res.run_dir, quiet=True)
    assert again.metrics["steps_done"] == 4


@pytest.mark.slow
def test_quick_preset_through_the_cli(shared_datasets, tmp_path):
    from cli_support import plexus_cmd

    env = {**__import__("os").environ, "PLEXUS_DATA": str(shared_datasets), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([*plexus_cmd(), "run", "jaket", "-c", "configs/jaket/quick.yaml", "--out",
                          str(tmp_path), "--json", "--quiet"], capture_output=True, text=True, env=env,
                         cwd=__import__("pathlib").Path(__file__).resolve().parents[3], timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout)
    assert res["metrics"]["steps_done"] == 20 and res["metrics"]["count_entities"] == 300


def test_one_step_of_all_four_losses_runs_under_bf16_autocast(model):
    from plexus.methods.jaket import tasks as T
    from plexus.methods.jaket.knowledge import build_memory, build_relation_memory, sample_neighbourhood

    tok, kg, pairs = _toy(model)
    kg.entity_memory, kg.relation_memory = build_memory(model, tok), build_relation_memory(model, tok)
    gen = torch.Generator().manual_seed(1)
    b = make_batch(tok, kg, pairs, np.array([0, 2, 3]), model.tokenizer, gen, mention_drop=0.5,
                   entity_neighbours=1, entity_random=2)
    model.precision = "bf16"
    try:
        model.train()
        with model.autocast():
            z = model.lm1(b.input_ids, b.attention_mask)
            on = torch.is_autocast_enabled("cpu")
            low = model.km.layers[0].W(torch.ones(1, model.hidden)).dtype
            g = sample_neighbourhood(kg, b.roots, 1, 2, gen, exclude_pairs=b.pair_entities)
            e_km = model.knowledge(g)
            z_lm = model.lm2(model.fuse(z, b.fuse_spans, e_km), b.attention_mask)
            losses = [T.category_loss(model, e_km, torch.tensor([0, 1, 2, 0])[b.roots].clamp(max=2)),
                      T.relation_loss(model, e_km, b.pairs, b.pair_labels.clamp(max=1)),
                      T.mlm_loss(model, z_lm, b.mlm_labels),
                      T.entity_loss(model, z_lm, b.drop_spans, b.candidates, kg.entity_memory.vectors[b.candidates])]
        assert on and low == torch.bfloat16
        total = sum(losses)
        total.backward()
        assert torch.isfinite(total) and all(l.dtype == torch.float32 for l in losses)
    finally:
        model.precision = "fp32"
        model.zero_grad(set_to_none=True)
