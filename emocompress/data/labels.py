"""The GoEmotions label set: the one definition of the 28 names, in id order."""

from __future__ import annotations

GOEMOTIONS_LABELS: tuple[str, ...] = (
    "admiration", "amusement", "anger", "annoyance", "approval", "caring", "confusion",
    "curiosity", "desire", "disappointment", "disapproval", "disgust", "embarrassment",
    "excitement", "fear", "gratitude", "grief", "joy", "love", "nervousness", "optimism",
    "pride", "realization", "relief", "remorse", "sadness", "surprise", "neutral",
)  # fmt: skip

NUM_GOEMOTIONS_LABELS = len(GOEMOTIONS_LABELS)
assert NUM_GOEMOTIONS_LABELS == 28
