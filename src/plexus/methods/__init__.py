"""The methods, one package each (see docs/adding-a-method.md).

A package's `__init__.py` lists its methods in `METHODS` (`plexus.methods.spec.MethodSpec`)
and imports nothing heavy; `plexus.registry` walks this folder to find them. The module a
spec names holds `Config` and `run` and reads as the paper's algorithm.
"""
