"""The run directory: typed models of its files, their names, atomic writes."""
