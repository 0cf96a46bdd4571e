"""prune: structured (heads, FFN, hidden, layers), vocabulary and unstructured pruning, then recovery."""
