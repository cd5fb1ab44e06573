"""Training plumbing shared by methods: seeds, run directories, atomic checkpoints, reports."""
