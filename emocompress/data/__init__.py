"""Labelled text: readers (GoEmotions TSV, CSV/JSONL, hub, demo), labels, batching."""
