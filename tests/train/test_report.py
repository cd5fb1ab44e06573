"""report.md and its plots are written atomically (temp file, fsync, rename)."""

from __future__ import annotations

from pathlib import Path

import plexus.atomic
from plexus.result import Result
from plexus.train.report import write_report
from plexus.train.rundir import RunDir


def test_report_and_plots_go_through_atomic_write(tmp_path, monkeypatch):
    written = []
    real = plexus.atomic.atomic_write

    def spy(path, write):
        written.append(Path(path).name)
        return real(path, write)

    monkeypatch.setattr(plexus.atomic, "atomic_write", spy)
    run = RunDir.create(tmp_path, "vgae", "cora")
    for epoch in (1, 2, 3):
        run.log(seed=0, epoch=epoch, loss=1.0 / epoch)
    result = Result("vgae", "cora", "a protocol", {"test_auc": 0.9}, run.path, {})
    write_report(run, result, curves=["loss"])
    assert "report.md" in written and "curve_loss.png" in written
    assert (run.path / "curve_loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![curve_loss.png](curve_loss.png)" in (run.path / "report.md").read_text()
    assert not [p for p in run.path.iterdir() if p.name.startswith(".tmp-")]


def test_a_method_that_logs_stages_gets_its_curves(tmp_path):
    """GLEM logs stages, not epochs: its report plots validation accuracy over stage_index."""
    run = RunDir.create(tmp_path, "glem", "citeseer-tag")
    for i, stage in enumerate(["gnn_frozen", "lm_pretrain", "gnn_pretrain", "lm_e1", "gnn_m1"]):
        run.log(seed=0, stage=stage, stage_index=i, val_acc=0.5 + i / 20)
    result = Result("glem", "citeseer-tag", "a protocol", {"test_acc_glem_gnn": 0.7}, run.path, {})
    write_report(run, result, curves=["val_acc"])  # over epochs: nothing to plot
    assert not (run.path / "curve_val_acc.png").exists()
    write_report(run, result, curves=["val_acc"], x_key="stage_index")
    assert (run.path / "curve_val_acc.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![curve_val_acc.png](curve_val_acc.png)" in (run.path / "report.md").read_text()
