"""`plexus bench glem`'s table: the rows it prints, and a killed suite's missing rows."""

from plexus.eval.aggregate import summarize_runs
from plexus.methods.glem import bench


def _glem_metrics():
    stages = ("lm_pretrain", "gnn_pretrain", "lm_e1", "gnn_m1")
    records = []
    for seed in range(2):
        r = {f"{p}_acc_{s}": 0.5 + 0.1 * i + 0.01 * seed for i, s in enumerate(stages) for p in ("val", "test")}
        r.update({f"seconds_{s}": 60.0 for s in stages})
        r.update({"val_acc_glem_lm": r["val_acc_lm_e1"], "test_acc_glem_lm": r["test_acc_lm_e1"],
                  "val_acc_glem_gnn": r["val_acc_gnn_m1"], "test_acc_glem_gnn": r["test_acc_gnn_m1"]})
        records.append(r)
    return summarize_runs(records)


def test_table_rows_and_missing_runs():
    gnn = summarize_runs([{"val_acc": 0.7, "test_acc": 0.6}, {"val_acc": 0.8, "test_acc": 0.7}])
    results = {("glem", "supervised"): {"protocol": "GLEM ...", "metrics": _glem_metrics()},
               ("GCN on TF-IDF", "supervised"): {"metrics": gnn}}
    walls = {("glem", "supervised"): 480.0, ("GCN on TF-IDF", "supervised"): 60.0}
    text = bench.table(results, walls)
    lines = text.splitlines()
    assert "| supervised | GCN on TF-IDF | 2 | 75.0 ± 7.1 | 65.0 ± 7.1 | 1.0 |" in lines
    assert "| supervised | GLEM-GNN | 2 | 80.5 ± 0.7 | 80.5 ± 0.7 | 8.0 |" in lines
    assert "| supervised | GCN on fine-tuned MiniLM (GLEM's gnn_pretrain stage) | 2 | 60.5 ± 0.7 | 60.5 ± 0.7 | 2.0 |" in lines
    assert "| supervised | MLP on frozen MiniLM | 0 | not finished | | |" in lines
    assert "| semi | GLEM (all rows) | 0 | not finished | | |" in lines
