"""The `plexus` command line: run, bench, datasets, embed.

User errors (`PlexusError`) are printed as one paragraph on stderr with exit status 2 and
no traceback; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from plexus.errors import PlexusError

# The hub is not forced offline here: the bundled LM and local folders load with
# local_files_only (plexus.text.encoder), so only a hub model the user names reaches the hub.

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Plexus: machine learning on graphs that carry text.")
datasets_app = typer.Typer(no_args_is_help=True, help="List, inspect and download datasets.")
app.add_typer(datasets_app, name="datasets")


def user_errors(fn):
    """Turn PlexusError into a one-paragraph message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except PlexusError as e:
            typer.echo(f"error: {e}", err=True)
            raise typer.Exit(2) from None

    return wrapper


@app.command(context_settings={"allow_extra_args": False})
@user_errors
def run(
    method: str = typer.Argument(..., help="Method name, e.g. gae, vgae."),
    overrides: Optional[List[str]] = typer.Argument(None, help="Config overrides key=value, e.g. seeds=10 lr=0.005."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="A dataset name (see `plexus datasets list`)."),
    config: Optional[Path] = typer.Option(None, "--config", "-c", help="A YAML config (e.g. configs/vgae/cora.yaml)."),
    inputs: Optional[List[str]] = typer.Option(None, "--input", "-i", help="Your own data: KIND=PATH, e.g. "
                                               "nodes=papers.csv, edges=cites.csv, interactions=log.csv, "
                                               "triples=kg.tsv, molecules=start.csv; columns are overrides "
                                               "(tables.text_col=abstract). Repeatable."),
    nodes: Optional[Path] = typer.Option(None, "--nodes", help="Your node table (.csv/.tsv/.parquet)."),
    edges: Optional[Path] = typer.Option(None, "--edges", help="Your edge table (.csv/.tsv/.parquet)."),
    id_col: Optional[str] = typer.Option(None, "--id-col", help="Node id column \\[id]."),
    text_col: Optional[str] = typer.Option(None, "--text-col", help="Node text column \\[text]."),
    label_col: Optional[str] = typer.Option(None, "--label-col", help="Node label column \\[label]."),
    src_col: Optional[str] = typer.Option(None, "--src-col", help="Edge source column \\[src]."),
    dst_col: Optional[str] = typer.Option(None, "--dst-col", help="Edge target column \\[dst]."),
    interactions: Optional[Path] = typer.Option(None, "--interactions", help="Your user-item interaction table (recommenders)."),
    user_col: Optional[str] = typer.Option(None, "--user-col", help="Interaction user column \\[user]."),
    item_col: Optional[str] = typer.Option(None, "--item-col", help="Interaction item column \\[item]."),
    rating_col: Optional[str] = typer.Option(None, "--rating-col", help="Interaction rating column (optional)."),
    time_col: Optional[str] = typer.Option(None, "--time-col", help="Interaction time column (optional)."),
    min_rating: Optional[float] = typer.Option(None, "--min-rating", help="Drop interactions rated below this."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Look for datasets here first."),
    out: Path = typer.Option(Path("runs"), "--out", help="Parent folder of the run directory."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue a killed run in this run directory."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as one JSON line at the end."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress output."),
):
    """Run METHOD on a dataset or on your own files (--input KIND=PATH), writing a run directory.

    --nodes/--edges/--interactions are the older spellings of --input nodes=/edges=/interactions=."""
    from plexus.runner import build_config, execute, resume_config

    aliases = [f"{kind}={path}" for kind, path in (("nodes", nodes), ("edges", edges), ("interactions", interactions))
               if path is not None]
    table_opts = {"tables.id_col": id_col, "tables.text_col": text_col, "tables.label_col": label_col,
                  "tables.src_col": src_col, "tables.dst_col": dst_col, "interactions.user_col": user_col,
                  "interactions.item_col": item_col, "interactions.rating_col": rating_col,
                  "interactions.time_col": time_col, "interactions.min_rating": min_rating,
                  "data_dir": data_dir and str(data_dir)}
    if resume:
        given = {"--dataset": dataset, "--config": config, "--input": inputs, "--nodes": nodes, "--edges": edges,
                 "--interactions": interactions, "--data-dir": data_dir, "--id-col": id_col,
                 "--text-col": text_col, "--label-col": label_col, "--src-col": src_col, "--dst-col": dst_col,
                 "--user-col": user_col, "--item-col": item_col, "--rating-col": rating_col,
                 "--time-col": time_col, "--min-rating": min_rating}
        for flag, value in given.items():
            if value is not None and value != []:
                raise PlexusError(f"{flag} cannot be used with --resume: a resumed run continues on the data and "
                                  f"settings in {resume / 'config.yaml'} (start a new run to change them).")
        cfg = resume_config(method, resume, overrides=overrides)
    else:
        cfg = build_config(method, dataset=dataset, config_file=config, overrides=overrides,
                           inputs=aliases + list(inputs or []), **table_opts)
    if not quiet:
        typer.echo(f"plexus run {method} on {cfg.dataset}", err=True)
    t0 = time.perf_counter()
    result = execute(method, cfg, out=out, resume=resume, quiet=quiet)
    from plexus.train import distributed

    if not distributed.is_main():  # under torchrun, rank 0 reports
        return
    if not quiet:
        _print_metrics(result, time.perf_counter() - t0)
    if as_json:
        sys.stdout.write(result.dumps() + "\n")


def _print_table(table) -> None:
    """A rich table on stdout: the terminal's width, or unwrapped when piped."""
    from rich.console import Console
    from rich.measure import Measurement

    console = Console()
    if not console.is_terminal:
        wide = Console(width=10_000)
        console = Console(width=max(80, Measurement.get(wide, wide.options, table).maximum))
    console.print(table)


def _print_metrics(result, wall: float) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{result.method} on {result.dataset}", caption=result.protocol, caption_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in result.metrics.items():
        if isinstance(v, dict):
            table.add_row(k, f"{v['mean']:.4f} ± {v['std']:.4f}  (se {v['se']:.4f}, n={v['n']})")
        else:
            table.add_row(k, f"{v:.4f}" if isinstance(v, float) else str(v))
    console = Console(stderr=True)
    console.print(table)
    console.print(f"run directory: {result.run_dir}  ({wall:.1f} s)")


@app.command()
@user_errors
def bench(
    method: str = typer.Argument(..., help="Method whose reproduction suite to run."),
    quick: bool = typer.Option(False, "--quick", help="Fewer seeds: a smoke run of the whole table."),
    out: Path = typer.Option(Path("runs/bench"), "--out", help="Where the suite's run directories go."),
    jobs: Optional[int] = typer.Option(None, "--jobs", "-j", help="Worker processes \\[one per core]."),
):
    """Run METHOD's reproduction suite and print a markdown table beside the paper's."""
    from plexus.registry import get_method

    bench_fn = get_method(method).bench_fn()
    if bench_fn is None:
        raise PlexusError(f"{method} has no reproduction suite yet.")
    t0 = time.perf_counter()
    table = bench_fn(quick=quick, quiet=True, out=str(out), jobs=jobs)
    typer.echo(table)
    typer.echo(f"\nTotal wall time: {time.perf_counter() - t0:.0f} s")


@app.command()
@user_errors
def methods():
    """Every method: its paper, task, the inputs it reads and whether it has a bench."""
    from rich.table import Table

    from plexus.registry import get_method, method_names

    table = Table()
    for col in ("method", "paper", "task", "inputs (--input KIND=PATH)", "bench"):
        table.add_column(col)
    for name in method_names():
        spec = get_method(name)
        table.add_row(name, spec.paper, spec.task, ", ".join(spec.inputs) or "-", "yes" if spec.bench else "-")
    _print_table(table)


@datasets_app.command("list")
@user_errors
def datasets_list(data_dir: Optional[Path] = typer.Option(None, "--data-dir")):
    """Every registered dataset: task, size, source, licence, and where it was found."""
    from rich.table import Table

    from plexus.datasets import dataset_names, get_info, locate

    table = Table()
    for col in ("name", "task", "size", "source", "licence", "found"):
        table.add_column(col)
    for name in dataset_names():
        info = get_info(name)
        found = locate(info, data_dir)
        table.add_row(name, info.task, info.size, info.source, info.licence,
                      f"yes ({found[0]})" if found else "no")
    _print_table(table)


@datasets_app.command("info")
@user_errors
def datasets_info(name: str, data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
                  load: bool = typer.Option(True, "--load/--no-load", help="Load it and print its structure.")):
    """What a dataset is, where it was found, and (loaded) its structure."""
    from plexus.datasets import get_info, load_dataset, locate

    info = get_info(name)
    found = locate(info, data_dir)
    typer.echo(f"{info.name}: {info.description or info.task}")
    typer.echo(f"  task:    {info.task}\n  size:    {info.size}\n  source:  {info.source}\n  licence: {info.licence}")
    typer.echo(f"  bundled: {'yes' if info.bundled else 'no'}")
    typer.echo(f"  found:   {f'{found[1]} ({found[0]})' if found else 'no'}")
    if found and load:
        typer.echo(f"  loaded:  {load_dataset(name, data_dir)}")


@datasets_app.command("fetch")
@user_errors
def datasets_fetch(name: str, dest: Optional[Path] = typer.Option(None, "--dest", help="Data root to write into \\[~/.cache/plexus]."),
                   base_url: Optional[str] = typer.Option(None, "--base-url", help="A mirror serving the same files.")):
    """Download a dataset from its canonical source into the cache (needs internet)."""
    from plexus.datasets.fetch import fetch_dataset
    from plexus.datasets.registry import CACHE_DIR

    path = fetch_dataset(name, dest_root=dest or CACHE_DIR, base_url_override=base_url)
    typer.echo(f"{name}: {path}")


@app.command()
@user_errors
def embed(
    run_dir: Optional[Path] = typer.Argument(None, help="A PinSage run directory (with --new-items)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help="A dataset with node text."),
    model: str = typer.Option("default", "--model", help="Hugging Face model id or local path \\[all-MiniLM-L6-v2]."),
    pooling: str = typer.Option("mean", "--pooling", help="mean or cls."),
    new_items: Optional[Path] = typer.Option(None, "--new-items", help="Items the run never saw: a table of id and text."),
    new_interactions: Optional[Path] = typer.Option(None, "--new-interactions", help="Interactions (user, item) of the new items."),
    item_col: str = typer.Option("item", "--item-col", help="Item id column of --new-items / --new-interactions."),
    text_col: str = typer.Option("text", "--text-col", help="Text column of --new-items."),
    user_col: str = typer.Option("user", "--user-col", help="User id column of --new-interactions."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output .npy \\[runs/embed-<dataset>/embeddings.npy]; "
                                                           "with --new-items a folder \\[RUN_DIR/inductive]."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir"),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
):
    """Encode a dataset's node text with an LM (cached on disk), or, with RUN_DIR --new-items,
    embed unseen items into a trained PinSage run without retraining."""
    if run_dir is not None or new_items is not None or new_interactions is not None:
        if run_dir is None or new_items is None or dataset is not None:
            raise PlexusError("inductive embedding takes RUN_DIR and --new-items (and optionally "
                              "--new-interactions), not --dataset.")
        from plexus.methods.pinsage.inductive import embed_new_items

        summary = embed_new_items(run_dir, new_items, new_interactions, item_col=item_col, text_col=text_col,
                                  user_col=user_col, out=out)
        typer.echo(json.dumps(summary))
        return
    if dataset is None:
        raise PlexusError("give --dataset (encode its node text) or RUN_DIR --new-items (embed new items).")
    _embed_dataset(dataset, model, pooling, out, data_dir, quiet)


def _embed_dataset(dataset: str, model: str, pooling: str, out: Optional[Path], data_dir: Optional[Path],
                   quiet: bool) -> None:
    import io

    import numpy as np

    from plexus.datasets import load_dataset
    from plexus.text import encode_texts
    from plexus.atomic import atomic_write_bytes

    data = load_dataset(dataset, data_dir)
    # Node text lives on the node store: data.text, or data[node_type].text for HeteroData.
    stores = {"": data} if not hasattr(data, "node_types") else {t: data[t] for t in data.node_types}
    texts = {t: list(st.text) for t, st in stores.items() if getattr(st, "text", None) is not None}
    if not texts:
        raise PlexusError(f"Dataset {dataset!r} has no node text to embed.")
    out = out or Path("runs") / f"embed-{dataset}" / "embeddings.npy"
    written = {}
    for node_type, node_texts in texts.items():
        emb = encode_texts(node_texts, model=model, pooling=pooling, progress=not quiet)
        path = out if not node_type else out.with_name(f"{out.stem}_{node_type}{out.suffix}")
        buf = io.BytesIO()
        np.save(buf, emb.numpy())
        atomic_write_bytes(path, buf.getvalue())
        written[node_type or "node"] = {"shape": list(emb.shape), "path": str(path)}
    typer.echo(json.dumps({"dataset": dataset, "model": model, "pooling": pooling, "embeddings": written}))


@app.command()
@user_errors
def recommend(
    run_dir: Path = typer.Argument(..., help="A recommender's run directory."),
    user: str = typer.Option(..., "--user", "-u", help="External user id."),
    k: int = typer.Option(10, "-k", min=1, max=1000, help="How many items."),
    ef_search: Optional[int] = typer.Option(None, "--ef-search", min=1, help="HNSW efSearch (approximate indexes; default: as the run saved it)."),
    nprobe: Optional[int] = typer.Option(None, "--nprobe", min=1, help="IVF lists probed (approximate indexes; default: as the run saved it)."),
):
    """Top-k items for a user, excluding what the user has already seen."""
    from plexus.retrieval.artifacts import recommend_cli

    typer.echo(recommend_cli(run_dir, user, k, ef_search=ef_search, nprobe=nprobe))


@app.command()
@user_errors
def similar(
    run_dir: Path = typer.Argument(..., help="A recommender's run directory."),
    item: str = typer.Option(..., "--item", "-i", help="External item id."),
    k: int = typer.Option(10, "-k", min=1, max=1000, help="How many items."),
    ef_search: Optional[int] = typer.Option(None, "--ef-search", min=1, help="HNSW efSearch (approximate indexes; default: as the run saved it)."),
    nprobe: Optional[int] = typer.Option(None, "--nprobe", min=1, help="IVF lists probed (approximate indexes; default: as the run saved it)."),
):
    """The k items nearest to an item in the run's embedding space (FAISS)."""
    from plexus.retrieval.artifacts import similar_cli

    typer.echo(similar_cli(run_dir, item, k, ef_search=ef_search, nprobe=nprobe))


@app.command()
@user_errors
def serve(
    run_dir: Path = typer.Argument(..., help="A recommender's run directory."),
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port"),
    ef_search: Optional[int] = typer.Option(None, "--ef-search", min=1, help="HNSW efSearch (approximate indexes; default: as the run saved it)."),
    nprobe: Optional[int] = typer.Option(None, "--nprobe", min=1, help="IVF lists probed (approximate indexes; default: as the run saved it)."),
):
    """HTTP API over a run directory: /recommend, /similar, /health, docs at /docs."""
    from plexus.serve.app import serve as run_server

    run_server(run_dir, host=host, port=port, ef_search=ef_search, nprobe=nprobe)


@app.command()
@user_errors
def generate(
    run_dir: Path = typer.Argument(..., help="A GCPN run directory."),
    n: int = typer.Option(1000, "-n", min=1, help="How many molecules to sample."),
    out: Optional[Path] = typer.Option(None, "--out", help="CSV to write [RUN_DIR/artifacts/generated_N.csv]."),
):
    """Sample molecules from a trained GCPN policy: a CSV of SMILES with every property, and a
    grid of the top molecules in the run's report.md."""
    from plexus.methods.gcpn.generate import generate_cli

    typer.echo(generate_cli(run_dir, n, out))

if __name__ == "__main__":
    app()
