"""Layers and operators PyG does not have."""
