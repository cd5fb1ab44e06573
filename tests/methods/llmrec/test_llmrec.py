"""The "llmrec" method (plexus.methods.llmrec.algorithm): the side-feature model, candidates,
one training batch by hand, bad input, and runs end to end — without an LLM (the LightGCN and
+ text rows), and against the real local SmolLM2 server of `plexus.llm` (no mock)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from plexus.errors import InputError
from plexus.methods.llmrec.algorithm import Config, run
from plexus.methods.llmrec.candidates import top_k_unseen
from plexus.methods.llmrec.model import LLMRecModel, Rates, SideFeatures, mean_operators
from plexus.methods.llmrec.training import AugmentedTriples, LossSettings, batch_loss
from plexus.methods.recommenders.lightgcn import LightGCN, normalized_bipartite
from plexus.train.rundir import RunDir

U, I, F = 6, 8, 5


def tiny_train() -> torch.Tensor:
    pairs = [(0, 0), (0, 1), (1, 1), (1, 2), (2, 3), (3, 4), (3, 5), (4, 6), (5, 7), (5, 0), (2, 2)]
    return torch.tensor(pairs).t()


def make_model(rates: Rates, feats: SideFeatures | None = None, seed: int = 0, mask_rate: float = 0.0):
    torch.manual_seed(seed)
    train = tiny_train()
    adj = normalized_bipartite(train, U, I)
    g = torch.Generator().manual_seed(1)
    feats = feats or SideFeatures(torch.randn(I, F, generator=g), torch.randn(U, F, generator=g),
                                  torch.randn(I, F, generator=g))
    return LLMRecModel(U, I, 4, 2, adj, train, feats, rates, mask_rate=mask_rate), adj


def test_rates_zero_is_lightgcn_exactly():
    model, adj = make_model(Rates(0.0, 0.0, 0.0), mask_rate=0.1)
    torch.manual_seed(0)
    ref = LightGCN(U, I, 4, 2, adj)
    assert [n for n, _ in model.named_parameters()] == ["base.embedding"]  # nothing else to train
    assert torch.equal(model.embedding, ref.embedding)
    user, item = model.final()
    ref_user, ref_item = ref.final()
    assert torch.equal(user, ref_user) and torch.equal(item, ref_item)


def test_side_features_shapes_and_terms():
    model, _ = make_model(Rates(0.5, 0.0, 0.0))
    model.eval()
    user, item = model.final()
    assert user.shape == (U, 4) and item.shape == (I, 4)
    base_user, base_item = model.base.final()
    # the text term: rate * normalize(R_u W T) for users, rate * normalize(R_i R_u W T) for items
    ru, ri = mean_operators(tiny_train(), U, I)
    t = model.text_proj(model.text_x)
    tu = ru.dense() @ t
    assert torch.allclose(user, base_user + 0.5 * torch.nn.functional.normalize(tu, dim=1), atol=1e-6)
    assert torch.allclose(item, base_item + 0.5 * torch.nn.functional.normalize(ri.dense() @ tu, dim=1), atol=1e-6)
    # R_u averages a user's training items: user 0 has items 0 and 1
    assert torch.allclose(ru.dense()[0], torch.tensor([0.5, 0.5, 0, 0, 0, 0, 0, 0]))
    full, _ = make_model(Rates(0.02, 0.72, 0.003), mask_rate=0.25)
    assert {"text_proj.weight", "profiles_proj.weight", "attributes_proj.weight", "user_token", "item_token",
            "user_decoder.0.weight", "item_decoder.0.weight"} <= {n for n, _ in full.named_parameters()}
    full.train()
    out = full(torch.Generator().manual_seed(0))
    assert out["sce"].item() > 0 and out["user"].shape == (U, 4)
    full.eval()
    assert full(torch.Generator().manual_seed(0))["sce"].item() == 0.0  # no masking at evaluation


def test_candidates_exclude_training_items():
    train = tiny_train()
    g = torch.Generator().manual_seed(0)
    user_emb, item_emb = torch.randn(U, 3, generator=g), torch.randn(I, 3, generator=g)
    cand = top_k_unseen(user_emb, item_emb, train, 4, batch_size=4)  # batches split the users
    seen = {(u, i) for u, i in train.t().tolist()}
    for u in range(U):
        assert not any((u, i) in seen for i in cand[u].tolist())
        scores = user_emb[u] @ item_emb.t()
        unseen = [i for i in range(I) if (u, i) not in seen]
        assert cand[u].tolist() == sorted(unseen, key=lambda i: -scores[i].item())[:4]


def test_one_batch_loss_by_hand_with_pruned_augmented_triples():
    model, _ = make_model(Rates(0.0, 0.0, 0.0))
    u, p, n = torch.tensor([0, 1]), torch.tensor([0, 1]), torch.tensor([5, 6])
    au, ap, an = torch.tensor([2, 3, 4]), torch.tensor([5, 6, 7]), torch.tensor([0, 1, 2])
    s = LossSettings(batch_size=2, reg=0.1, aug_sample_rate=1.0, prune_loss_drop_rate=0.34, prune_scope="augmented",
                     feat_reg_decay=0.0, att_re_rate=0.0)
    loss, parts = batch_loss(model, u, p, n, (au, ap, an), s, None)
    ue, ie = model.final()

    def bpr(a, b, c):
        return torch.nn.functional.softplus((ue[a] * ie[c]).sum() - (ue[a] * ie[b]).sum()).item()

    main = [bpr(0, 0, 5), bpr(1, 1, 6)]
    aug = sorted([bpr(2, 5, 0), bpr(3, 6, 1), bpr(4, 7, 2)])[:2]  # floor(0.34 * 3) = 1 dropped: the largest
    rows = torch.tensor([0, 1, 0 + U, 1 + U, 5 + U, 6 + U, 2, 3, 4, 5 + U, 6 + U, 7 + U, 0 + U, 1 + U, 2 + U])
    reg = 0.1 * 0.5 * model.embedding[rows].pow(2).sum().item() / 2
    assert math.isclose(parts["bpr_loss"], sum(main + aug) / 4, rel_tol=1e-5)
    assert math.isclose(loss.item(), sum(main + aug) / 4 + reg, rel_tol=1e-5)
    assert parts["aug_kept"] == 2


def test_augmented_triples_sample_only_users_with_a_triple():
    aug = AugmentedTriples(torch.tensor([[1, 3], [10, 11], [20, 21]]), num_users=5)
    users, liked, disliked = aug.sample(torch.tensor([0, 1, 2, 3, 4]), 1.0, torch.Generator().manual_seed(0))
    assert sorted(zip(users.tolist(), liked.tolist(), disliked.tolist())) == [(1, 10, 20), (3, 11, 21)]
    assert aug.sample(torch.tensor([0, 1]), 0.4, torch.Generator())[0].numel() == 0  # floor(0.8) = 0 drawn


def write_tiny_tables(folder: Path, users: int = 12, items: int = 15, empty_text: bool = False) -> tuple[Path, Path]:
    g = torch.Generator().manual_seed(0)
    rows = ["user,item"]
    for u in range(users):
        for i in torch.randperm(items, generator=g)[:6].tolist():
            rows.append(f"u{u},m{i}")
    inter = folder / "inter.csv"
    inter.write_text("\n".join(rows) + "\n")
    genres = ["Drama", "Comedy", "Action"]
    text = ["item,text"] + [f"m{i},{'' if empty_text and i == 3 else f'Movie {i} ({1990 + i}) | {genres[i % 3]}'}"
                            for i in range(items)]
    item_text = folder / "items.csv"
    item_text.write_text("\n".join(text) + "\n")
    return inter, item_text


def tiny_config(inter: Path, item_text: Path, **kw) -> Config:
    cfg = Config(dataset="tiny", epochs=4, eval_every=2, candidates=3, candidate_epochs=2, ks=[2, 5],
                 select="recall@5", split="ratio", val_ratio=0.2, test_ratio=0.2, seeds=1, threads=1, **kw)
    cfg.interactions.path, cfg.interactions.item_text = str(inter), str(item_text)
    return cfg


def test_run_without_llm_lightgcn_and_text_rows(tmp_path):
    inter, item_text = write_tiny_tables(tmp_path)
    results = {}
    for name, rate in (("lightgcn", 0.0), ("text", 0.02)):
        cfg = tiny_config(inter, item_text, model_cat_rate=rate, user_cat_rate=0.0, item_cat_rate=0.0,
                          aug_sample_rate=0.0)
        res = run(cfg, RunDir.create(tmp_path / "runs", "llmrec", name), quiet=True)
        results[name] = res
        assert res.metrics["aug_calls"] == 0.0
        assert not (res.run_dir / "artifacts" / "augmentation").exists()  # no LLM was needed
        assert 0 <= res.metrics["test_recall@5"]["mean"] <= 1
    assert "no side features" in results["lightgcn"].protocol and "item text" in results["text"].protocol


def test_empty_item_text_names_file_and_line(tmp_path):
    inter, item_text = write_tiny_tables(tmp_path, empty_text=True)
    cfg = tiny_config(inter, item_text, user_cat_rate=0.0, item_cat_rate=0.0, aug_sample_rate=0.0)
    with pytest.raises(InputError, match=r"items.csv: 1 item\(s\) have no text: item 'm3' \(line 5: empty text\)"):
        run(cfg, RunDir.create(tmp_path / "runs", "llmrec", "bad"), quiet=True)


def test_missing_column_names_the_file(tmp_path):
    inter, item_text = write_tiny_tables(tmp_path)
    inter.write_text(inter.read_text().replace("user,item", "usr,item", 1))
    cfg = tiny_config(inter, item_text, user_cat_rate=0.0, item_cat_rate=0.0, aug_sample_rate=0.0)
    with pytest.raises(InputError, match="inter.csv"):
        run(cfg, RunDir.create(tmp_path / "runs", "llmrec", "bad"), quiet=True)


def test_unreachable_endpoint_is_a_clear_error(tmp_path):
    from plexus.llm.errors import LLMError

    inter, item_text = write_tiny_tables(tmp_path)
    cfg = tiny_config(inter, item_text, llm_cache=str(tmp_path / "cache.sqlite"))
    cfg.llm.base_url = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    cfg.llm.max_retries = 0
    with pytest.raises(LLMError, match="127.0.0.1:9"):
        run(cfg, RunDir.create(tmp_path / "runs", "llmrec", "down"), quiet=True)


def _local_run(tmp_path: Path, users: int, **kw):
    inter, item_text = write_tiny_tables(tmp_path, users=users)
    cache = tmp_path / "cache.sqlite"
    cfg = tiny_config(inter, item_text, llm_cache=str(cache), **kw)
    # one request at a time with a long timeout: on a loaded CI machine a queued request to the
    # one-slot local server would otherwise time out and be retried while the server works on it
    cfg.llm.concurrency, cfg.llm.timeout_s = 1, 600.0
    res = run(cfg, RunDir.create(tmp_path / "runs", "llmrec", "full"), quiet=True)
    return cfg, res


def test_end_to_end_against_the_local_llm_server(tmp_path):
    """A handful of users through the real SmolLM2 server: artefacts, counts, then a rerun
    reusing them (`augmentation_from`) and a second run answered from the cache."""
    cfg, res = _local_run(tmp_path, users=3, augment_items=3)
    m = res.metrics
    folder = res.run_dir / "artifacts" / "augmentation"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["parts"] == ["implicit_feedback", "item_attributes", "user_profile"]
    st = manifest["stats"]["implicit_feedback"]
    assert st["prompts"] == 3 and st["accepted"] + st["unanswered"] + st["not_candidate"] + st["same_item"] \
        + st["training_item"] == 3
    assert m["aug_calls"] >= 3 + 3 + 3 and m["aug_triples"] == st["accepted"]
    assert manifest["stats"]["item_attributes"]["prompts"] == 3
    cands = [json.loads(x)["candidates"] for x in (folder / "candidates.jsonl").read_text().splitlines()]
    assert len(cands) == 3 and all(len(c) == 3 for c in cands)
    # reuse: no LLM at all
    again = Config(**{**cfg.__dict__, "augmentation_from": str(res.run_dir)})
    res2 = run(again, RunDir.create(tmp_path / "runs", "llmrec", "reuse"), quiet=True)
    assert res2.metrics["aug_triples"] == m["aug_triples"]
    assert (res2.run_dir / "artifacts" / "augmentation" / "manifest.json").read_text() == \
        (folder / "manifest.json").read_text()
    # a fresh run with the same cache: every answer is a cache hit
    res3 = run(cfg, RunDir.create(tmp_path / "runs", "llmrec", "cached"), quiet=True)
    assert res3.metrics["aug_calls"] == 0 and res3.metrics["aug_cache_hits"] >= 9


@pytest.mark.slow
def test_quick_preset_through_the_cli(tmp_path):
    """`plexus run llmrec -c configs/llmrec/quick.yaml` end to end with the local server."""
    import subprocess

    from cli_support import plexus_cmd

    repo = Path(__file__).resolve().parents[3]
    env = {**__import__("os").environ, "PLEXUS_CACHE": str(tmp_path / "cache")}
    proc = subprocess.run([*plexus_cmd(), "run", "llmrec", "-c", str(repo / "configs" / "llmrec" / "quick.yaml"),
                           "--out", str(tmp_path / "runs"), "--json"],
                          capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(proc.stdout)
    assert res["metrics"]["aug_calls"] >= 70 and res["metrics"]["aug_triples"] > 0
    assert "smollm2-135m-instruct" in res["protocol"]


def test_bench_rows_and_table():
    from plexus.methods.llmrec.bench import BUDGET, METRICS, ROWS, table

    assert list(ROWS)[:5] == ["LightGCN", "LightGCN + text features", "+ u-i augmentation", "+ profiles/attributes",
                              "LLMRec (full)"]
    assert ROWS["w/o-u&i"] == {"user_cat_rate": 0, "item_cat_rate": 0}
    summary = {"mean": 0.25, "std": 0.01, "se": 0.005, "n": 2}
    metrics = {**{f"test_{k}": summary for k in METRICS}, "best_epoch": 10.0, "epochs_run": 20.0,
               "aug_calls": 450.0, "aug_cache_hits": 0.0, "aug_rejects": 3.0, "aug_wall_s": 600.0, "aug_triples": 140.0,
               "aug_profiles": 150.0, "aug_attributes": 150.0}
    res = {"metrics": metrics, "protocol": "split; LLM: smollm2-135m-instruct at local; BPR"}
    text = table({name: (res, 120.0) for name in ROWS}, BUDGET["full"], "movielens-100k")
    assert text.count("0.2500 ± 0.0100") == len(ROWS) * len(METRICS) and "| NDCG@20 |" in text
    assert "LLM: smollm2-135m-instruct at local." in text and "450 LLM calls" in text and "10.0 min" in text


def test_principal_components_keep_the_geometry_of_low_rank_features():
    from plexus.methods.llmrec.algorithm import principal_components

    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 2, generator=g) @ torch.randn(2, 12, generator=g) + 5.0  # rank 2 after centring
    z = principal_components(x, 2)
    assert z.shape == (30, 2)
    assert torch.allclose(torch.cdist(z.double(), z.double()), torch.cdist(x.double(), x.double()), atol=1e-4)
    assert principal_components(x, 0) is x and principal_components(x, 12) is x
