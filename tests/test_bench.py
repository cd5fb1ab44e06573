"""`plexus.bench.run_rows`: every row is a real run in a worker process; results come back
keyed and in the rows' order, with one progress line per finished row on stderr."""

from __future__ import annotations

import os

from plexus.bench import run_rows


def test_run_rows_returns_every_row_in_order_and_reports_progress(tmp_path, capfd, shared_datasets):
    os.environ["PLEXUS_DATA"] = str(shared_datasets)  # inherited by the spawned workers
    rows = {
        ("pop", 10): ("pop", "movielens-100k", ["ks=[10]"]),
        ("pop", 50): ("pop", "movielens-100k", ["ks=[50]"]),
    }
    results = run_rows(rows, str(tmp_path), jobs=2)
    assert list(results) == list(rows)
    for (_, k), (result, wall) in results.items():
        assert result["method"] == "pop" and wall > 0
        assert f"test_recall@{k}" in result["metrics"], sorted(result["metrics"])
    err = capfd.readouterr().err
    assert err.count("[bench ") == 2 and "[bench 2/2]" in err
