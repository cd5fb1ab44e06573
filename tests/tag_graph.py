"""A small text-attributed graph written as user tables (importable: tests/ is on pythonpath)."""

from pathlib import Path

import torch

TOPICS = [
    "query optimization in relational database systems with indexes and joins",
    "neural networks trained by gradient descent for image recognition",
    "user interfaces and usability studies of interactive web applications",
]


def write_graph(folder: Path, n: int = 60) -> tuple[Path, Path]:
    """n papers in 3 topics; each cites two papers of its own topic and one at random."""
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    lines = ["id,text,label"]
    for i in range(n):
        words = TOPICS[int(labels[i])].split()
        pick = torch.randperm(len(words), generator=gen)[:5].tolist()
        lines.append(f"p{i},\"{' '.join(words[j] for j in pick)} paper {i}\",c{int(labels[i])}")
    (folder / "nodes.csv").write_text("\n".join(lines) + "\n")
    edges = ["src,dst"]
    for i in range(n):
        same = [j for j in range(n) if labels[j] == labels[i] and j != i]
        for j in torch.randperm(len(same), generator=gen)[:2].tolist():
            edges.append(f"p{i},p{same[j]}")
        edges.append(f"p{i},p{int(torch.randint(n, (1,), generator=gen))}")
    (folder / "edges.csv").write_text("\n".join(edges) + "\n")
    return folder / "nodes.csv", folder / "edges.csv"
