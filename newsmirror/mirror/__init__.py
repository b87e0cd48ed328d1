"""Writing the mirror tree: safe paths, atomic files, the catalog, pages."""
