"""Chemistry for molecule-generation methods (RDKit): the graph-building environment
(`env`), molecular properties and rewards (`properties`), and the structural filters
(`filters`). Importing this package is light; each submodule imports RDKit itself."""
