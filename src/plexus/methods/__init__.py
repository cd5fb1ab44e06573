"""One module per method; each exposes a `Config` dataclass and `run(cfg, run_dir) -> Result`."""
