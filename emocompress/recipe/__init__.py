"""Recipes: the YAML schema, loading, validation."""
