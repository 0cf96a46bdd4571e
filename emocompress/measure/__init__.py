"""Measuring a variant: evaluation, metrics, inference, FLOPs, Pareto, summary, gates; bench/ for speed and memory."""
