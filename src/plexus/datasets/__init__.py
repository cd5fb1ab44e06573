"""Named datasets: lookup (`registry`), loaders (one module per family), download (`fetch`)."""

from plexus.datasets.registry import DatasetInfo, dataset_names, get_info, load_dataset, locate

__all__ = ["DatasetInfo", "dataset_names", "get_info", "load_dataset", "locate"]
