"""Running recipes: the runner, the dry run, experiment tracking."""
